"""1.1.0: the learned days to close (crm.plus.phase.stat.close_days) counted once from the
history, for Forecast's learned expected closing (the daily suggested-score run does the
same)."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["crm.plus.phase.stat"]._refresh_close_days()
