"""1.3.0: the funnel analysis's median days in phase is read from crm.plus.funnel.days, new in
this version: counted once from the phase lines (the daily recount does the same)."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["crm.plus.funnel.days"]._recount()
