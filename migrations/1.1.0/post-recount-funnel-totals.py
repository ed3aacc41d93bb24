"""1.1.0: the funnel analysis's totals counted once from the phase lines into the new ORM
model (the daily recount does the same)."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["crm.plus.funnel.total"]._recount()
