"""Wins and losses: one row per close, by reason, phase and month."""

from odoo import fields, models
from odoo.tools import SQL

from ..models.funnel_rules import FUNNEL_STATE_SELECTION, OUTCOME_SELECTION, currency_sql
from .crm_plus_report_mixin import averaged_with_median, win_rate_field

# The start of a closed line's funnel: its contact's earliest started line in the account type,
# one lookup per close in the lines' partner index (a close is one line in five to ten).
# The start of a close's funnel: the first start of the contact's lines of that type. Joined
# LATERAL, once per close, where a subquery in each of the cycle's two columns ran twice (a
# read of the cycle's average and median, 100k contacts: 2.1 s → 0.8 s); a read that needs
# neither column leaves the join out (PostgreSQL removes an unused left join of one row).
FUNNEL_START_JOIN_SQL = """
    LEFT JOIN LATERAL (
        SELECT MIN(f.date_start)::date AS funnel_start FROM crm_plus_phase_line AS f
         WHERE f.partner_id = l.partner_id AND f.account_type_id = l.account_type_id
    ) AS fs ON TRUE"""


class CrmPlusWinlossReport(models.Model):
    """Win/loss analysis: one row per close recorded on a phase line (the phase the partner was
    closed in). A reopen takes the close off its line, so a partner closed, reopened and closed
    again counts once, by its last close (the chatter keeps the earlier ones).

    The win rate is the measure ``won_percent``: 100 on a won close, 0 on a lost one, with the
    ``avg`` aggregator, so its value on any group (reason, type, salesperson, month…) is
    won / closed × 100.

    The cycle (``cycle_days``, averaged, and ``cycle_days_median``, its median): the days
    from the start of the deal's funnel (its earliest started line in the account type) to
    the close date, both as UTC days; grouped by outcome it gives the cycle to won and to
    lost, per type, salesperson or month.
    """

    _name = "crm.plus.winloss.report"
    _inherit = ["crm.plus.report.mixin"]
    _description = "Win/Loss Analysis"
    _auto = False
    _rec_name = "partner_id"
    _order = "close_date desc, id desc"
    _medians = {"cycle_days_median:avg": "cycle_days"}
    # Fields the view reads: flushed before the report is queried, like any stored field.
    _depends = {
        "crm.plus.phase.line": [
            "partner_id",
            "phase_id",
            "account_type_id",
            "score",
            "forecast_value",
            "recurring_value_monthly",
            "company_id",
            "close_reason_id",
            "close_outcome",
            "close_date",
            "closed_by_id",
            "date_start",
        ],
        "res.partner": ["active", "funnel_state", "user_id"],
    }

    phase_id = fields.Many2one("crm.plus.lead.phase", string="Closed in Phase", readonly=True)
    close_reason_id = fields.Many2one(
        "crm.plus.close.reason", string="Close Reason", readonly=True
    )
    close_outcome = fields.Selection(OUTCOME_SELECTION, string="Outcome", readonly=True)
    funnel_state = fields.Selection(
        FUNNEL_STATE_SELECTION,
        readonly=True,
        help="The partner's funnel state today (open again after a reopen).",
    )
    closed_by_id = fields.Many2one("res.users", string="Closed By", readonly=True)
    close_date = fields.Date(readonly=True)
    closed_count = fields.Integer(string="# Closed", readonly=True)
    won_count = fields.Integer(string="# Won", readonly=True)
    lost_count = fields.Integer(string="# Lost", readonly=True)
    won_percent = win_rate_field()
    won_value = fields.Monetary(
        readonly=True, help="Forecast of the phase the partner was won in."
    )
    lost_value = fields.Monetary(
        readonly=True, help="Forecast of the phase the partner was lost in."
    )
    recurring_value_monthly = fields.Monetary(string="Monthly Recurring", readonly=True)
    cycle_days, cycle_days_median = averaged_with_median(
        "Cycle (days)",
        "Days from the start of the deal's funnel (its first phase) to the close date, "
        "averaged. Empty when the funnel's start is unknown.",
        "Cycle (days, median)",
        "The median of the cycle: half the deals closed faster, half slower.",
    )

    def _select(self):
        return SQL(
            """
            SELECT
                l.id AS id,
                l.partner_id AS partner_id,
                l.account_type_id AS account_type_id,
                l.phase_id AS phase_id,
                l.close_reason_id AS close_reason_id,
                l.close_outcome AS close_outcome,
                p.funnel_state AS funnel_state,
                p.user_id AS user_id,
                l.closed_by_id AS closed_by_id,
                l.company_id AS company_id,
                l.close_date AS close_date,
                l.score AS score,
                1 AS closed_count,
                CASE WHEN l.close_outcome = 'won' THEN 1 ELSE 0 END AS won_count,
                CASE WHEN l.close_outcome = 'lost' THEN 1 ELSE 0 END AS lost_count,
                CASE WHEN l.close_outcome = 'won' THEN 100.0 ELSE 0.0 END AS won_percent,
                COALESCE(l.forecast_value, 0) AS forecast_value,
                CASE WHEN l.close_outcome = 'won' THEN COALESCE(l.forecast_value, 0) ELSE 0 END
                    AS won_value,
                CASE WHEN l.close_outcome = 'lost' THEN COALESCE(l.forecast_value, 0) ELSE 0 END
                    AS lost_value,
                COALESCE(l.recurring_value_monthly, 0) AS recurring_value_monthly,
                (l.close_date - fs.funnel_start)::float8 AS cycle_days,
                (l.close_date - fs.funnel_start)::float8 AS cycle_days_median,
                %s AS currency_id
            """,
            SQL(currency_sql("l.company_id")),
        )

    def _from(self):
        return SQL("%s %s", super()._from(), SQL(FUNNEL_START_JOIN_SQL))

    def _where(self):
        # Archived contacts count nowhere (as on the board, in Forecast and Funnel Analysis).
        return SQL("WHERE l.close_outcome IS NOT NULL AND p.active")
