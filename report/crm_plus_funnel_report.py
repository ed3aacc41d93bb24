"""Funnel analysis: one row per phase line, with conversion and time in phase."""

from odoo import api, fields, models, tools
from odoo.tools import SQL

from ..compat import domain_field_names
from ..models.crm_plus_funnel import prefetched_fields
from ..models.crm_plus_phase_line import WEIGHTED_SQL
from . import funnel_report_totals as totals

# Context key under which the report's grouped reads sum the totals instead of the lines.
READ_TOTALS = "crm_plus_funnel_read_totals"


def read_group_in_record_order(
    model, super_read_group, domain, groupby, aggregates, having, offset, limit, order
):
    """A report's ``_read_group`` ordered by many2one groups (phase, account type, reason,
    salesperson), the web client's default: the groups are read in the order of their ids and
    put in the records' order afterwards (a search on the few records grouped), where the ORM
    joins the records' table to every row of the report before grouping. That join is a lookup
    per row (millions), and an ORDER BY on joined columns keeps PostgreSQL from grouping in
    parallel. With a limit or an offset (a grouped list's pages), or any other order term, the
    ORM orders as usual."""
    groupby = list(groupby)  # read_group gives dict values
    terms = _group_order_terms(model, order, groupby) if not (limit or offset) else None
    if not terms:
        return super_read_group(domain, groupby, aggregates, having, offset, limit, order)
    rows = super_read_group(domain, groupby, aggregates, having, offset, limit, None)
    # The last term first: Python's sort is stable, so the first term ends up leading.
    for position, descending in reversed(terms):
        records = model.env[model._fields[groupby[position]].comodel_name]
        ids = list({row[position].id for row in rows if row[position]})
        # Ordered and fetched in one query: the groups' labels then read them from the cache.
        ordered = (
            records.sudo()
            .with_context(active_test=False)
            .search_fetch([("id", "in", ids)], prefetched_fields(records))
        )
        rank = {record_id: index for index, record_id in enumerate(ordered.ids)}
        # No record (NULL) sorts last ascending, first descending, as in PostgreSQL.
        rows.sort(
            key=lambda row, position=position, rank=rank: rank.get(row[position].id, len(rank)),
            reverse=descending,
        )
    return rows


def _group_order_terms(model, order, groupby):
    """[(position in groupby, descending)] when every term of ``order`` is a many2one of
    ``groupby``; None otherwise."""
    if not order:
        return None
    terms = []
    for part in order.split(","):
        name, *rest = part.split()
        field = model._fields.get(name)
        if (
            field is None
            or field.type != "many2one"
            or name not in groupby
            or len(rest) > 1
            or (rest and rest[0].upper() not in ("ASC", "DESC"))
        ):
            return None
        terms.append((groupby.index(name), bool(rest) and rest[0].upper() == "DESC"))
    return terms


class CrmPlusFunnelReport(models.Model):
    """Funnel analysis: one row per phase line, history included (lines of earlier account
    types, e.g. a won lead's lines after it became a customer, stay in the report).

    Measures:

    * ``reached``: 1 when the line is done or current, so its sum per phase is the number of
      partners that reached the phase (a partner has one line per phase);
    * ``reached_percent``: the same as 0/100, averaged: per phase, the share of the partners of
      the funnel that reached it, i.e. the conversion from the first phase (every partner
      entering a funnel gets a line for each of its phases and starts in the first one);
    * ``days_in_phase``: averaged; time spent in the phase (until completed, or until now while
      the partner is still in it); empty for phases never started or skipped;
    * ``open_forecast_value`` / ``open_weighted_value``: the forecast of the phase the partner is
      in now, only while its funnel is open: the pipeline as of today.
    """

    _name = "crm.plus.funnel.report"
    _inherit = ["crm.plus.phase.group.mixin"]
    _description = "Funnel Analysis"
    _auto = False
    _rec_name = "phase_id"
    _order = "partner_id, phase_sequence, phase_id"
    _phase_group_fields = {"phase_id": "shared_name"}
    # Fields the view reads: flushed before the report is queried, like any stored field.
    _depends = {
        "crm.plus.phase.line": [
            "partner_id",
            "phase_id",
            "account_type_id",
            "sequence",
            "phase_type",
            "state",
            "is_active_funnel",
            "score",
            "forecast_value",
            "recurring_value_monthly",
            "company_id",
            "date_start",
            "date_done",
            "close_reason_id",
            "close_outcome",
        ],
        "res.partner": ["funnel_state", "user_id"],
    }

    partner_id = fields.Many2one("res.partner", string="Partner", readonly=True)
    account_type_id = fields.Many2one(
        "crm.plus.account.type", string="Account Type", readonly=True
    )
    phase_id = fields.Many2one("crm.plus.lead.phase", string="Lead Phase", readonly=True)
    phase_sequence = fields.Integer(readonly=True, aggregator=None)
    phase_type = fields.Selection([("normal", "Normal"), ("closing", "Closing")], readonly=True)
    state = fields.Selection(
        [("todo", "To Do"), ("current", "Current"), ("done", "Done")],
        string="Line State",
        readonly=True,
    )
    is_active_funnel = fields.Boolean(
        string="Current Funnel",
        readonly=True,
        help="The line belongs to the partner's current account type; the others are history.",
    )
    funnel_state = fields.Selection(
        [("open", "Open"), ("won", "Won"), ("lost", "Lost")],
        readonly=True,
        help="The partner's funnel state today.",
    )
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True)
    # Related, not computed: aggregating Monetary measures (pivot, graph) needs a
    # currency the ORM can read in SQL (Odoo 19 drops the measure otherwise).
    # Related, not set_funnel_currency: a grouped read sums amounts per currency, which must
    # be a column (19.0 refuses to aggregate the amounts otherwise).
    currency_id = fields.Many2one(related="company_id.currency_id")
    score = fields.Integer(readonly=True, aggregator="avg")
    forecast_value = fields.Monetary(string="Forecast", readonly=True)
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
    days_in_phase = fields.Float(
        string="Days in Phase",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
        help="From the start of the phase to its completion, or to now while the partner is "
        "in it. Empty when the phase was never started (to do, or skipped).",
    )
    close_reason_id = fields.Many2one(
        "crm.plus.close.reason", string="Close Reason", readonly=True
    )
    close_outcome = fields.Selection(
        [("won", "Won"), ("lost", "Lost")], string="Outcome", readonly=True
    )
    partner_count = fields.Integer(
        string="# Partners",
        readonly=True,
        aggregator="count_distinct",
        help="Number of distinct partners (the column holds the partner).",
    )
    reached = fields.Integer(
        string="# Reached",
        readonly=True,
        help="Partners that reached the phase (the line is current or done).",
    )
    reached_percent = fields.Float(
        string="Conversion (%)",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
        help="Share of the partners of the funnel that reached the phase: the conversion from "
        "the first phase.",
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
                l.close_reason_id AS close_reason_id,
                l.close_outcome AS close_outcome,
                l.partner_id AS partner_count,
                %(reached)s AS reached,
                (100 * %(reached)s)::float8 AS reached_percent
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
            reached=SQL(totals.REACHED_SQL),
        )

    def _from(self):
        # LEFT, though every line has its partner: PostgreSQL then leaves the join out of the
        # grouped reads that use no partner column (most of them), instead of reading every
        # partner on each of them.
        return SQL(
            """
            FROM crm_plus_phase_line l
            LEFT JOIN res_partner p ON p.id = l.partner_id
            """
        )

    # Grouped reads: from the totals when they can answer (see funnel_report_totals).

    @property
    def _table_sql(self):
        if self.env.context.get(READ_TOTALS):
            return SQL("(%s)", totals.read_sql())
        return super()._table_sql

    def _totals_answer(self, domain, groupby_specs, aggregates):
        """Whether the totals answer a grouped read: grouped and filtered on their columns
        only (the record rules included), with aggregates they hold."""
        if self.env.context.get("crm_plus_funnel_read_lines"):
            return False
        if not set(groupby_specs) <= totals.DIMENSIONS.keys():
            return False
        if not set(aggregates) <= totals.SUPPORTED_AGGREGATES:
            return False
        rules = self.env["ir.rule"]._compute_domain(self._name, "read")
        read = domain_field_names(domain) | domain_field_names(rules)
        return read <= totals.DIMENSIONS.keys()

    def _with_totals_if_they_answer(self, domain, groupby_specs, aggregates):
        if self._totals_answer(domain, groupby_specs, aggregates):
            return self.with_context(**{READ_TOTALS: True})
        return self.with_context(**{READ_TOTALS: False})

    @api.model
    def _read_group(
        self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None
    ):
        report = self._with_totals_if_they_answer(domain, list(groupby), aggregates)
        return read_group_in_record_order(
            report,
            super(CrmPlusFunnelReport, report)._read_group,
            domain,
            groupby,
            aggregates,
            having,
            offset,
            limit,
            order,
        )

    if hasattr(models.BaseModel, "_read_grouping_sets"):  # 19.0: the pivot's single read

        @api.model
        def _read_grouping_sets(self, domain, grouping_sets, aggregates=(), order=None):
            specs = [spec for groupby in grouping_sets for spec in groupby]
            report = self._with_totals_if_they_answer(domain, specs, aggregates)
            return super(CrmPlusFunnelReport, report)._read_grouping_sets(
                domain, grouping_sets, aggregates, order=order
            )

    def _read_group_select(self, aggregate_spec, query):
        if self.env.context.get(READ_TOTALS) and aggregate_spec in totals.AGGREGATES:
            return SQL(totals.AGGREGATES[aggregate_spec])
        # The conversion is the share of the lines reached: from the sum the read computes
        # anyway, instead of averaging a second expression over every line.
        if aggregate_spec == "reached_percent:avg":
            reached = self._field_to_sql(self._table, "reached", query)
            return SQL("(100.0 * SUM(%s) / COUNT(*))::float8", reached)
        return super()._read_group_select(aggregate_spec, query)

    @api.model
    def _cron_fold_totals(self):
        return totals.fold(self.env.cr)

    @api.model
    def _cron_recount_totals(self):
        self.env.flush_all()
        totals.recount(self.env.cr)
        return True

    def _query(self):
        return SQL("%s %s", self._select(), self._from())

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                "CREATE OR REPLACE VIEW %s AS (%s)",
                SQL.identifier(self._table),
                self._query(),
            )
        )
        totals.install(self.env.cr)
