"""Funnel analysis: one row per phase line, with conversion and time in phase."""

from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL

from ..compat import domain_field_names
from ..models.funnel_rules import (
    FUNNEL_STATE_SELECTION,
    LINE_STATE_SELECTION,
    OUTCOME_SELECTION,
    PHASE_TYPE_SELECTION,
    WEIGHTED_SQL,
    currency_sql,
)
from . import funnel_report_totals as totals
from .crm_plus_report_mixin import AVERAGED, averaged_with_median

# Context key under which the report's grouped reads sum the totals instead of the lines,
# when it holds TOTALS_READ: a Python object, which a client cannot send in its context (JSON
# and XML-RPC carry data, never this object). Any other value reads the lines.
READ_TOTALS = "crm_plus_funnel_read_totals"
TOTALS_READ = object()
# The same key's value under which the median's read counts lines per whole days in phase
# (crm.plus.funnel.days) instead of reading the lines.
DAYS_READ = object()
MEDIAN_SPEC = "days_in_phase_median:avg"


class CrmPlusFunnelReport(models.Model):
    """Funnel analysis: one row per phase line, history included (lines of earlier account
    types, e.g. a won lead's lines after it became a customer, stay in the report).

    Measures:

    A deal is a contact's funnel in an account type: it has a line per phase of the type and
    starts in the first one. Archived contacts are left out, as everywhere.

    * ``reached`` (# Reached): per phase, the deals that went through it (its line is
      current, or done after it started: a phase skipped by a jump is not reached); over
      several phases (a type, the total), the deals, each counted once;
    * ``moved_on`` (# Moved On): per phase, the deals that reached it and left it for a later
      phase, or won from the closing phase; over several phases, the deals won;
    * ``reached_percent`` (Conversion (%)): per phase, # Reached out of the deals of its
      funnel, the conversion from the first phase to this one; over several phases, the
      deals won out of the deals, the conversion from the first phase to won;
    * ``phase_conversion`` (Next Phase (%)): per phase, # Moved On out of # Reached, the
      conversion from the phase to the next; over several phases, as Conversion (%);
    * ``deal_count``, ``won_count``: deals (one line each: the phase it is in, or was closed
      in) and deals won.

    A group's ratio is the ratio of its sums, never an average of percentages: the report's
    SQL (``_read_group_select``) gives the same from the lines and from the totals.
    * ``days_in_phase``: averaged; time spent in the phase (until completed, or until now while
      the partner is still in it); empty for phases never started or skipped;
    * ``days_in_phase_median``: the median of the days in phase, in whole days (calendar
      days from the start to the completion, or to today): a median cannot be summed from
      the totals, so it is read from how many lines spent each number of days
      (crm.plus.funnel.days, ``_read_group_with_medians``), or from the lines
      (``percentile_cont``) for a read those rows cannot answer;
    * ``whole_days_in_phase``: the same whole days of one line, to group by;
    * ``open_forecast_value`` / ``open_weighted_value``: the forecast of the phase the partner is
      in now, only while its funnel is open: the pipeline as of today.
    """

    _name = "crm.plus.funnel.report"
    _inherit = ["crm.plus.report.mixin"]
    _description = "Funnel Analysis"
    _auto = False
    _rec_name = "phase_id"
    _order = "partner_id, phase_sequence, phase_id"
    _medians = {MEDIAN_SPEC: "whole_days_in_phase"}
    # Fields the view reads: flushed before the report is queried, like any stored field.
    _depends = {
        "crm.plus.phase.line": [*totals.LINE_FIELDS, "sequence"],
        "res.partner": ["active", "funnel_state", "user_id"],
        # The totals a grouped read sums instead (_table_query).
        "crm.plus.funnel.total": [*totals.DIMENSIONS, *totals.MEASURES],
        "crm.plus.funnel.days": [*totals.DAYS_KEPT.dimensions, *totals.DAYS_KEPT.measures],
    }

    phase_id = fields.Many2one("crm.plus.lead.phase", string="Lead Phase", readonly=True)
    phase_sequence = fields.Integer(readonly=True, aggregator=None)
    phase_type = fields.Selection(PHASE_TYPE_SELECTION, readonly=True)
    state = fields.Selection(LINE_STATE_SELECTION, string="Line State", readonly=True)
    is_active_funnel = fields.Boolean(
        string="Current Funnel",
        readonly=True,
        help="The line belongs to the partner's current account type; the others are history.",
    )
    funnel_state = fields.Selection(
        FUNNEL_STATE_SELECTION, readonly=True, help="The partner's funnel state today."
    )
    weighted_value = fields.Monetary(
        string="Weighted Forecast", readonly=True, help="Forecast × score / 100."
    )
    recurring_value_monthly = fields.Monetary(string="Monthly Recurring", readonly=True)
    open_forecast_value = fields.Monetary(
        string="Open Pipeline",
        readonly=True,
        help="Forecast of the phase an open partner is in now (zero on the other lines).",
    )
    open_weighted_value = fields.Monetary(
        string="Weighted Open Pipeline",
        readonly=True,
        help="Weighted forecast of the phase an open partner is in now (zero on the other "
        "lines).",
    )
    date_start = fields.Datetime(string="Started", readonly=True)
    date_done = fields.Datetime(string="Completed", readonly=True)
    days_in_phase, days_in_phase_median = averaged_with_median(
        "Days in Phase",
        "From the start of the phase to its completion, or to now while the partner is in it. "
        "Empty when the phase was never started (to do, or skipped).",
        "Days in Phase (median)",
        "The median of the days in phase, in whole days (calendar days from the start of the "
        "phase to its completion, or to today): half the partners spent less, half more.",
    )
    whole_days_in_phase = fields.Integer(
        string="Whole Days in Phase",
        readonly=True,
        aggregator=None,
        help="Calendar days from the start of the phase to its completion, or to today while "
        "the partner is in it: group by it to see how long deals stay.",
    )
    close_reason_id = fields.Many2one(
        "crm.plus.close.reason", string="Close Reason", readonly=True
    )
    close_outcome = fields.Selection(OUTCOME_SELECTION, string="Outcome", readonly=True)
    partner_count = fields.Integer(
        string="# Partners",
        readonly=True,
        aggregator="count_distinct",
        help="Number of distinct partners (the column holds the partner).",
    )
    reached = fields.Integer(
        string="# Reached",
        readonly=True,
        help="Per phase, the deals that went through it (a phase skipped by a jump is not "
        "reached); over several phases (an account type, the total), the deals, each once.",
    )
    moved_on = fields.Integer(
        string="# Moved On",
        readonly=True,
        help="Per phase, the deals that reached it and went on to a later phase (or were won "
        "from the closing phase); over several phases, the deals won.",
    )
    deal_count = fields.Integer(
        string="# Deals",
        readonly=True,
        help="Deals: contacts' funnels in an account type, each counted on the phase it is in "
        "or was closed in. Every deal starts in the first phase.",
    )
    won_count = fields.Integer(string="# Won", readonly=True, help="Deals won.")
    reached_percent = fields.Float(
        string="Conversion (%)",
        **AVERAGED,
        help="Per phase, the share of the funnel's deals that reached it: the conversion from "
        "the first phase. Over several phases (an account type, the total), the share of the "
        "deals won: the conversion from the first phase to won.",
    )
    phase_conversion = fields.Float(
        string="Next Phase (%)",
        **AVERAGED,
        help="Per phase, the share of the deals that reached it and moved on to a later phase "
        "(won, for the closing phase): the conversion to the next phase. Over several phases, "
        "the conversion from the first phase to won.",
    )

    def _select(self):
        return SQL(
            """
            SELECT
                l.id AS id,
                l.partner_id AS partner_id,
                l.account_type_id AS account_type_id,
                l.phase_id AS phase_id,
                l.sequence AS phase_sequence,
                l.phase_type AS phase_type,
                l.state AS state,
                l.is_active_funnel AS is_active_funnel,
                p.funnel_state AS funnel_state,
                p.user_id AS user_id,
                l.company_id AS company_id,
                l.score AS score,
                COALESCE(l.forecast_value, 0) AS forecast_value,
                %(weighted)s AS weighted_value,
                COALESCE(l.recurring_value_monthly, 0) AS recurring_value_monthly,
                CASE WHEN %(is_open)s THEN COALESCE(l.forecast_value, 0) ELSE 0 END
                    AS open_forecast_value,
                CASE WHEN %(is_open)s THEN %(weighted)s ELSE 0 END AS open_weighted_value,
                l.date_start AS date_start,
                l.date_done AS date_done,
                COALESCE(%(days_done)s, %(now_days)s - %(open_since)s) AS days_in_phase,
                (%(whole_days)s)::float8 AS days_in_phase_median,
                %(whole_days)s AS whole_days_in_phase,
                l.close_reason_id AS close_reason_id,
                l.close_outcome AS close_outcome,
                l.partner_id AS partner_count,
                %(reached)s AS reached,
                %(moved_on)s AS moved_on,
                %(deal)s AS deal_count,
                %(won)s AS won_count,
                (100 * %(reached)s)::float8 AS reached_percent,
                CASE WHEN %(reached)s = 1 THEN (100 * %(moved_on)s)::float8 END
                    AS phase_conversion,
                %(currency)s AS currency_id
            """,
            # Only an open contact has a current line in its active funnel (closing completes
            # it): said on the line alone, the measures need no partner. The averages are
            # double precision (date_part, not EXTRACT's numeric): averaged over millions of
            # lines, numeric arithmetic is a good part of a grouped read.
            is_open=SQL(totals.LINE_IS_OPEN),
            weighted=SQL(WEIGHTED_SQL),
            days_done=SQL(totals.DAYS_DONE_SQL),
            open_since=SQL(totals.OPEN_SINCE_SQL),
            now_days=SQL(totals.NOW_DAYS_SQL),
            whole_days=SQL(totals.WHOLE_DAYS_SQL),
            reached=SQL(totals.REACHED_SQL),
            moved_on=SQL(totals.MOVED_ON_SQL),
            deal=SQL(totals.DEAL_SQL),
            won=SQL(totals.WON_SQL),
            currency=SQL(currency_sql("l.company_id")),
        )

    def _where(self):
        # Archived contacts count nowhere (as on the board, in Forecast and Win/Loss).
        return SQL("WHERE p.active")

    # Grouped reads: from the totals when they can answer (see funnel_report_totals).

    @property
    def _table_query(self):
        """The totals, summed per group, for a grouped read they answer; the view otherwise.
        Odoo's hook: the ORM flushes ``_depends`` (the lines, the contacts, the totals)
        before it reads either."""
        if self.env.context.get(READ_TOTALS) is TOTALS_READ:
            return totals.read_sql()
        if self.env.context.get(READ_TOTALS) is DAYS_READ:
            return totals.days_read_sql()
        return None

    def _totals_answer(self, domain, groupby_specs, aggregates):
        """Whether the totals answer a grouped read: grouped and filtered on their columns
        only (the record rules included), with aggregates they hold."""
        if set(aggregates) & self._medians.keys():  # a median is not a sum
            return False
        if not set(aggregates) <= totals.SUPPORTED_AGGREGATES:
            return False
        return self._sums_answer(domain, groupby_specs)

    def _sums_answer(self, domain, groupby_specs):
        """Whether a grouped read's groups and filters (the record rules included) are all
        columns of the totals and of the days in phase."""
        if self.env.context.get("crm_plus_funnel_read_lines"):
            return False
        if not set(groupby_specs) <= totals.DIMENSIONS.keys():
            return False
        rules = self.env["ir.rule"]._compute_domain(self._name, "read")
        read = domain_field_names(domain) | domain_field_names(rules)
        return read <= totals.DIMENSIONS.keys()

    def _medians_answer(self, domain, grouping_sets, aggregates, having=()):
        return (
            MEDIAN_SPEC in aggregates
            and not having
            and all(self._sums_answer(domain, list(groupby)) for groupby in grouping_sets)
        )

    def _read_group_with_medians(self, domain, grouping_sets, aggregates, read):
        """``read(aggregates)`` (a list of rows per grouping set) without the median, which is
        then put back in its place in each row: the median of the group's whole days in
        phase, from how many lines spent each number of days (crm.plus.funnel.days, a few
        rows per group) instead of every line. One read by all the sets' columns answers
        every set (a pivot's rows, columns and totals): each sums its counts from it."""
        position = list(aggregates).index(MEDIAN_SPEC)
        others = [spec for spec in aggregates if spec != MEDIAN_SPEC]
        columns = list(dict.fromkeys(spec for groupby in grouping_sets for spec in groupby))
        counts = self._days_counts(domain, columns)
        merged = []
        for groupby, rows in zip(grouping_sets, read(others), strict=True):
            width, picked = len(groupby), [columns.index(spec) for spec in groupby]
            per_group = defaultdict(list)
            for key, whole_days, count in counts:
                per_group[tuple(key[index] for index in picked)].append((whole_days, count))
            medians = {key: median_of_counts(pairs) for key, pairs in per_group.items()}
            merged.append(
                [
                    (
                        *row[: width + position],
                        medians.get(_group_key(row[:width])),
                        *row[width + position :],
                    )
                    for row in rows
                ]
            )
        return merged

    def _days_counts(self, domain, columns):
        """[(group key by ``columns``, whole days in phase, lines)] of the lines ``domain``
        says, from crm.plus.funnel.days."""
        days = self.with_context(**{READ_TOTALS: DAYS_READ})
        rows = super(CrmPlusFunnelReport, days)._read_group(
            domain, [*columns, "whole_days_in_phase"], ["__count"]
        )
        return [
            (_group_key(group), whole_days, count) for *group, whole_days, count in rows if count
        ]

    def _with_totals_if_they_answer(self, domain, groupby_specs, aggregates):
        if self._totals_answer(domain, groupby_specs, aggregates):
            return self.with_context(**{READ_TOTALS: TOTALS_READ})
        return self.with_context(**{READ_TOTALS: False})

    @api.model
    def _read_group(
        self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None
    ):
        if self._medians_answer(domain, [groupby], aggregates, having):
            return self._read_group_with_medians(
                domain,
                [groupby],
                aggregates,
                lambda others: [
                    self._read_group(domain, groupby, others, having, offset, limit, order)
                ],
            )[0]
        report = self._with_totals_if_they_answer(domain, list(groupby), aggregates)
        return super(CrmPlusFunnelReport, report)._read_group(
            domain, groupby, aggregates, having, offset, limit, order
        )

    if hasattr(models.BaseModel, "_read_grouping_sets"):  # 19.0: the pivot's single read

        @api.model
        def _read_grouping_sets(self, domain, grouping_sets, aggregates=(), order=None):
            if self._medians_answer(domain, grouping_sets, aggregates):
                return self._read_group_with_medians(
                    domain,
                    grouping_sets,
                    aggregates,
                    lambda others: self._read_grouping_sets(
                        domain, grouping_sets, others, order=order
                    ),
                )
            specs = [spec for groupby in grouping_sets for spec in groupby]
            report = self._with_totals_if_they_answer(domain, specs, aggregates)
            return super(CrmPlusFunnelReport, report)._read_grouping_sets(
                domain, grouping_sets, aggregates, order=order
            )

    def _read_group_select(self, aggregate_spec, query):
        if self.env.context.get(READ_TOTALS) is DAYS_READ and aggregate_spec == "__count":
            return SQL("SUM(%s)", SQL.identifier(self._table, "line_count"))
        from_totals = self.env.context.get(READ_TOTALS) is TOTALS_READ
        if from_totals and aggregate_spec in totals.AGGREGATES:
            return SQL(totals.AGGREGATES[aggregate_spec])
        if aggregate_spec in totals.RATIO_AGGREGATES:
            return self._ratio_select(aggregate_spec, query, from_totals)
        return super()._read_group_select(aggregate_spec, query)

    def _ratio_select(self, aggregate_spec, query, from_totals):
        """The conversion measures of a group, from the sums of its columns: the same SQL over
        the lines (0 or 1 each) and over the totals (their sums). A group of one phase counts
        the phase; a group of several (a type, a salesperson, the total) counts deals."""

        def total(fname):
            return SQL("SUM(%s)", self._field_to_sql(self._table, fname, query))

        def percent(part, whole):
            return SQL("(100.0 * %s / NULLIF(%s, 0))", part, whole)

        phase = self._field_to_sql(self._table, "phase_id", query)
        lines = (
            SQL("SUM(%s)", SQL.identifier(self._table, "line_count"))
            if from_totals
            else SQL("COUNT(*)")
        )
        per_phase, overall = {
            "reached:sum": (total("reached"), total("deal_count")),
            "moved_on:sum": (total("moved_on"), total("won_count")),
            "reached_percent:avg": (
                percent(total("reached"), lines),
                percent(total("won_count"), total("deal_count")),
            ),
            "phase_conversion:avg": (
                percent(total("moved_on"), total("reached")),
                percent(total("won_count"), total("deal_count")),
            ),
        }[aggregate_spec]
        result = SQL(
            "CASE WHEN MIN(%s) = MAX(%s) THEN %s ELSE %s END", phase, phase, per_phase, overall
        )
        if aggregate_spec.endswith(":avg"):
            return SQL("(%s)::float8", result)
        return result

    @api.model
    def _cron_fold_totals(self):
        return self.env["crm.plus.funnel.total"]._fold_all()

    @api.model
    def _cron_recount_totals(self):
        return self.env["crm.plus.funnel.total"]._recount_all()


def _group_key(values):
    """A group's values, comparable between two reads (records by their id)."""
    return tuple(value.id if isinstance(value, models.BaseModel) else value for value in values)


def median_of_counts(pairs):
    """The median of values given as [(value, how many)], as PostgreSQL's percentile_cont(0.5)
    gives it over the values repeated: the middle one, or the mean of the two middle ones."""
    total = sum(count for _value, count in pairs)
    ranks = ((total - 1) // 2, total // 2)  # the 0-based ranks of the middle value(s)
    middle, seen = [], 0
    for value, count in sorted(pairs):
        middle += [value for rank in ranks if seen <= rank < seen + count]
        seen += count
    return sum(middle) / 2.0
