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
    _kept = DAYS_KEPT
    _log_access = False  # as crm.plus.funnel.total's

    days_done = fields.Integer(
        help="Calendar days from the start of a completed phase to its completion (0 for a "
        "phase an open contact is in)."
    )
    open_since_date = fields.Date(
        help="The day an open contact's current phase started: its days in phase are today "
        "minus this date."
    )
