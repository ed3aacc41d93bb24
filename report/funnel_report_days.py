"""The funnel analysis's days in phase, from which its median is read."""

from odoo import fields, models

from .funnel_report_totals import DAYS_KEPT


class CrmPlusFunnelDays(models.Model):
    """Per group of the funnel analysis's columns, how many phase lines spent each number of
    whole days in their phase (``days_done``), or are in it since a date (``open_since_date``,
    open contacts: their days grow with today). A median cannot be summed from totals: it is
    read from these rows (a few per group) instead of every line. Kept by the same write paths
    as the totals (crm.plus.funnel.total's ``_follow_contacts``), folded and recounted by the
    same crons."""

    _name = "crm.plus.funnel.days"
    _inherit = ["crm.plus.funnel.sums"]
    _description = "Funnel Analysis Days in Phase"
    _log_access = False
    _kept = DAYS_KEPT

    days_done = fields.Integer()
    open_since_date = fields.Date()
