"""1.1.0: the funnel analysis's totals are kept through the ORM (crm.plus.funnel.total), no
longer by database triggers. Drop the triggers (two on res_partner), their functions and the
1.0.x tables before the new model's table is created under the same name; the totals are
counted again after the update (post-recount-funnel-totals.py)."""

from odoo.addons.crm_plus.report import funnel_report_totals
from odoo.tools import SQL


def migrate(cr, version):
    if not version:
        return
    funnel_report_totals.drop_legacy(cr)
    # 1.0.x's totals table had no id: the ORM creates the model's own.
    cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(funnel_report_totals.TOTALS)))
