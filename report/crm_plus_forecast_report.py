"""Forecast: the open contacts' current figures, weighted by their score."""

from odoo import fields, models
from odoo.tools import SQL

from ..models.funnel_rules import LEARNED_CLOSE_DATE_SQL, currency_sql


class CrmPlusForecastReport(models.Model):
    """Forecast: one row per open funnel partner (open and in a lead phase, archived contacts
    left out like on the pipeline board), with the figures of its current phase line:
    forecast, weighted forecast (forecast × score / 100), monthly recurring revenue and its
    yearly equivalent, by phase, salesperson and expected closing date: the one a person set,
    else the one learned from the type's history (LEARNED_CLOSE_DATE_SQL, the rule of the
    contact's ``funnel_learned_close_date``)."""

    _name = "crm.plus.forecast.report"
    _inherit = ["crm.plus.report.mixin"]
    _description = "Funnel Forecast"
    _auto = False
    _rec_name = "partner_id"
    _order = "expected_close_date, id"
    _phase_group_fields = {"lead_phase_id": "shared_name"}
    # Fields the view reads: flushed before the report is queried, like any stored field.
    _depends = {
        "res.partner": [
            "active",
            "account_type_id",
            "lead_phase_id",
            "funnel_state",
            "user_id",
            "company_id",
            "expected_close_date",
            "funnel_phase_date_start",
            "funnel_stale_deadline",
            "funnel_score",
            "funnel_forecast_value",
            "funnel_weighted_value",
            "funnel_recurring_value",
        ],
        "crm.plus.phase.stat": ["company_id", "phase_id", "close_days", "close_days_sample"],
    }

    lead_phase_id = fields.Many2one("crm.plus.lead.phase", string="Lead Phase", readonly=True)
    expected_close_date = fields.Date(
        string="Expected Closing",
        readonly=True,
        help="The expected closing a person set on the contact, else the one learned from the "
        "account type's history (see Learned Date).",
    )
    expected_close_learned = fields.Boolean(
        string="Learned Date",
        readonly=True,
        help="No one set the expected closing: it is learned, the day the phase started plus "
        "the median days from the phase to a won close (from 10 won contacts on), else the "
        "day the partner goes stale in the phase.",
    )
    phase_date_start = fields.Datetime(string="In Phase Since", readonly=True)
    weighted_value = fields.Monetary(
        string="Weighted Forecast", readonly=True, help="Forecast × score / 100."
    )
    mrr = fields.Monetary(string="MRR", readonly=True, help="Monthly recurring revenue.")
    arr = fields.Monetary(string="ARR", readonly=True, help="Annual recurring revenue: MRR × 12.")

    def _select(self):
        return SQL(
            """
            SELECT
                p.id AS id,
                p.id AS partner_id,
                p.account_type_id AS account_type_id,
                p.lead_phase_id AS lead_phase_id,
                p.user_id AS user_id,
                p.company_id AS company_id,
                COALESCE(p.expected_close_date, %s) AS expected_close_date,
                p.expected_close_date IS NULL AS expected_close_learned,
                p.funnel_phase_date_start AS phase_date_start,
                p.funnel_score AS score,
                COALESCE(p.funnel_forecast_value, 0) AS forecast_value,
                COALESCE(p.funnel_weighted_value, 0) AS weighted_value,
                COALESCE(p.funnel_recurring_value, 0) AS mrr,
                COALESCE(p.funnel_recurring_value, 0) * 12 AS arr,
                %s AS currency_id
            """,
            SQL(LEARNED_CLOSE_DATE_SQL),
            SQL(currency_sql("p.company_id")),
        )

    def _from(self):
        # The phase's stat row: the unique index on (company, phase) finds it.
        return SQL(
            """
            FROM res_partner p
            LEFT JOIN crm_plus_phase_stat s
                   ON COALESCE(s.company_id, 0) = COALESCE(p.company_id, 0)
                  AND s.phase_id = p.lead_phase_id
            """
        )

    def _where(self):
        return SQL("WHERE p.funnel_state = 'open' AND p.lead_phase_id IS NOT NULL AND p.active")
