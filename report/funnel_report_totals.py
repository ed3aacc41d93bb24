"""The funnel analysis's totals, kept by the funnel's write paths through the ORM.

The funnel analysis has one row per phase line, five to ten per contact: at a million contacts
each grouped read of its pivot scanned eight million lines. Its groups by phase, account type,
salesperson, company, state, outcome or reason are instead summed from totals per combination
of those columns (a few thousand rows): ``crm.plus.funnel.total``.

They are kept as Odoo CRM keeps ``crm.lead.scoring.frequency`` and crm_plus its suggested-score
statistics (``crm.plus.phase.stat._follow_contacts``): a block that changes contacts' lines or
the contacts themselves (the state machine's ``_apply``, a line's create, write or unlink, a
contact's salesperson, company, archiving, type or deletion, a merge, a phase's type) reads
those contacts' contribution before and after, one query each for the batch, and creates a
row of the difference per group that changed (one INSERT). Rows are only ever added: two
users moving contacts of the same phase never write the same row, so they never wait on each
other. A read sums the rows per group; a cron folds them every few minutes, and the daily
recount counts them again from the lines: the safety net for what no ORM path sees (SQL
written by hand, a restore).
"""

from contextlib import contextmanager
from typing import NamedTuple

from odoo import api, fields, models
from odoo.tools import SQL, split_every

from ..models.funnel_rules import (
    ANALYSIS_LINE_FIELDS,
    LINES_WITH_CONTACT_SQL,
    WEIGHTED_SQL,
    currency_sql,
    giving_way,
)

TOTALS = "crm_plus_funnel_total"
# The tables, functions and triggers of 1.0.x, which kept the totals in the database: dropped
# by the 1.1.0 migration and by the uninstall hook (a database restored from 1.0.x).
LEGACY_DELTAS = "crm_plus_funnel_total_delta"
LEGACY_TRIGGERS = (
    ("crm_plus_funnel_total_insert", "crm_plus_phase_line"),
    ("crm_plus_funnel_total_update", "crm_plus_phase_line"),
    ("crm_plus_funnel_total_delete", "crm_plus_phase_line"),
    ("crm_plus_funnel_total_partners", "res_partner"),
    ("crm_plus_funnel_total_partner_delete", "res_partner"),
)
LEGACY_FUNCTIONS = (
    "crm_plus_funnel_total_lines",
    "crm_plus_funnel_total_partners",
    "crm_plus_funnel_total_partner_delete",
)

# Per line: only an open contact has a current line in its active funnel (closing completes
# it), so "open" is said on the line alone.
LINE_IS_OPEN = "(l.state = 'current' AND l.is_active_funnel)"
_STARTED = "l.date_start IS NOT NULL AND l.state <> 'todo'"
# Days from the start of a completed phase to its completion.
DAYS_DONE_SQL = (
    f"CASE WHEN {_STARTED} AND l.date_done IS NOT NULL"
    " THEN date_part('epoch', l.date_done - l.date_start) / 86400 END"
)
# The start, in days since 1970, of the phase an open contact is in: its time in the phase is
# now minus that, so the totals hold the sum of the starts and read it against now.
OPEN_SINCE_SQL = (
    f"CASE WHEN {_STARTED} AND l.date_done IS NULL AND {LINE_IS_OPEN}"
    " THEN date_part('epoch', l.date_start) / 86400 END"
)
NOW_DAYS_SQL = "date_part('epoch', NOW() AT TIME ZONE 'UTC') / 86400"
# A phase the deal went through: the current one, or a done one that started. A phase done
# without ever starting was skipped by a jump (the state machine completes the phases passed
# over, by the user who jumped, without a start) unless no one completed it: the earlier
# phases of a deal imported in a later phase, whose history says it got past them.
_WENT_THROUGH = "(l.date_start IS NOT NULL OR l.done_by_id IS NULL)"
REACHED_SQL = (
    f"CASE WHEN l.state = 'current' OR (l.state = 'done' AND {_WENT_THROUGH}) THEN 1 ELSE 0 END"
)
# Reached, then left for a later phase (or won from the closing one): not the phase a deal
# was lost in, nor the one it is in.
MOVED_ON_SQL = (
    f"CASE WHEN l.state = 'done' AND {_WENT_THROUGH}"
    " AND l.close_outcome IS DISTINCT FROM 'lost' THEN 1 ELSE 0 END"
)
# One line per deal (a contact's funnel in an account type): the phase it is in, or the one
# it was closed in. Every deal starts in its type's first phase: the deals are those that
# entered the funnel.
DEAL_SQL = "CASE WHEN l.state = 'current' OR l.close_outcome IS NOT NULL THEN 1 ELSE 0 END"
WON_SQL = "CASE WHEN l.close_outcome = 'won' THEN 1 ELSE 0 END"

# The report's columns the totals group by: name -> (expression over the line l and the
# contact p, SQL type). The report's view selects the same expressions.
DIMENSIONS = {
    "account_type_id": ("l.account_type_id", "integer"),
    "phase_id": ("l.phase_id", "integer"),
    "phase_type": ("l.phase_type", "varchar"),
    "state": ("l.state", "varchar"),
    "is_active_funnel": ("COALESCE(l.is_active_funnel, FALSE)", "boolean"),
    "funnel_state": ("p.funnel_state", "varchar"),
    "user_id": ("p.user_id", "integer"),
    "company_id": ("l.company_id", "integer"),
    "close_reason_id": ("l.close_reason_id", "integer"),
    "close_outcome": ("l.close_outcome", "varchar"),
    # Archived contacts count nowhere: their lines are kept apart, and read_sql leaves them
    # out as the report's view does.
    "partner_active": ("COALESCE(p.active, FALSE)", "boolean"),
}

# What the totals sum per group: name -> (value per line, SQL type of the report's read).
MEASURES = {
    "line_count": ("1", "bigint"),
    "reached": (REACHED_SQL, "bigint"),
    "moved_on": (MOVED_ON_SQL, "bigint"),
    "deal_count": (DEAL_SQL, "bigint"),
    "won_count": (WON_SQL, "bigint"),
    "score_sum": ("l.score", "bigint"),
    "score_count": ("CASE WHEN l.score IS NOT NULL THEN 1 ELSE 0 END", "bigint"),
    "forecast_value": ("COALESCE(l.forecast_value, 0)", "numeric"),
    "weighted_value": (WEIGHTED_SQL, "numeric"),
    "recurring_value_monthly": ("COALESCE(l.recurring_value_monthly, 0)", "numeric"),
    "open_forecast_value": (
        f"CASE WHEN {LINE_IS_OPEN} THEN COALESCE(l.forecast_value, 0) ELSE 0 END",
        "numeric",
    ),
    "open_weighted_value": (f"CASE WHEN {LINE_IS_OPEN} THEN {WEIGHTED_SQL} ELSE 0 END", "numeric"),
    "days_done_sum": (f"({DAYS_DONE_SQL})::numeric", "numeric"),
    "days_done_count": (f"CASE WHEN ({DAYS_DONE_SQL}) IS NOT NULL THEN 1 ELSE 0 END", "bigint"),
    "open_since_sum": (f"({OPEN_SINCE_SQL})::numeric", "numeric"),
    "open_since_count": (
        f"CASE WHEN ({OPEN_SINCE_SQL}) IS NOT NULL THEN 1 ELSE 0 END",
        "bigint",
    ),
}

# The report's aggregates the totals answer (field:aggregator -> SQL over the totals columns);
# any other one (partner count, a date, a partner) reads the lines.
_T = '"crm_plus_funnel_report"'
AGGREGATES = {
    "__count": f"SUM({_T}.line_count)",
    "score:avg": f"(SUM({_T}.score_sum)::numeric / NULLIF(SUM({_T}.score_count), 0))",
    "days_in_phase:avg": (
        f"((SUM({_T}.days_done_sum) + SUM({_T}.open_since_count) * ({NOW_DAYS_SQL})::numeric"
        f" - SUM({_T}.open_since_sum))"
        f" / NULLIF(SUM({_T}.days_done_count) + SUM({_T}.open_since_count), 0))::float8"
    ),
}
MONEY_MEASURES = (
    "forecast_value",
    "weighted_value",
    "recurring_value_monthly",
    "open_forecast_value",
    "open_weighted_value",
)
# Sums of amounts and counts, and the amounts' currencies: the ORM's own SQL over the totals'
# columns of the same names.
ORM_AGGREGATES = frozenset(
    f"{name}:{func}" for name in MONEY_MEASURES for func in ("sum", "sum_currency")
) | {"deal_count:sum", "won_count:sum", "currency_id:array_agg_distinct"}
# The conversion measures: the report's SQL (_read_group_select), over the sums of the same
# columns in the lines and in the totals.
RATIO_AGGREGATES = frozenset(
    {"reached:sum", "moved_on:sum", "reached_percent:avg", "phase_conversion:avg"}
)
SUPPORTED_AGGREGATES = frozenset(AGGREGATES) | ORM_AGGREGATES | RATIO_AGGREGATES

# The time in phase in whole days, which its median reads: the calendar days (UTC) from the day
# a phase started to the day it was completed, or to today while an open contact is in it.
WHOLE_DAYS_DONE_SQL = (
    f"CASE WHEN {_STARTED} AND l.date_done IS NOT NULL"
    " THEN l.date_done::date - l.date_start::date END"
)
OPEN_SINCE_DATE_SQL = (
    f"CASE WHEN {_STARTED} AND l.date_done IS NULL AND {LINE_IS_OPEN} THEN l.date_start::date END"
)
TODAY_SQL = "(NOW() AT TIME ZONE 'UTC')::date"
WHOLE_DAYS_SQL = f"COALESCE({WHOLE_DAYS_DONE_SQL}, {TODAY_SQL} - ({OPEN_SINCE_DATE_SQL}))"


class Kept(NamedTuple):
    """A table of sums per group of phase lines that the funnel's write paths keep."""

    model: str
    # name -> (expression over the line l and the contact p, SQL type)
    dimensions: dict
    # name -> (value per line, SQL type of the report's read)
    measures: dict
    # The lines it counts: a condition on l.
    counted: str = "TRUE"

    @property
    def table(self):
        return self.model.replace(".", "_")


TOTALS_KEPT = Kept("crm.plus.funnel.total", DIMENSIONS, MEASURES)
# A median cannot be summed, but it can be read from how many lines spent each number of days:
# per group of the totals' columns, the lines per whole days of a completed phase, and per start
# date of an open one (its days grow with today without a write).
DAYS_KEPT = Kept(
    "crm.plus.funnel.days",
    {
        **DIMENSIONS,
        # 0 for an open line (an integer field holds no NULL): its open_since_date says it.
        "days_done": (f"COALESCE({WHOLE_DAYS_DONE_SQL}, 0)", "integer"),
        "open_since_date": (OPEN_SINCE_DATE_SQL, "date"),
    },
    {"line_count": ("1", "bigint")},
    f"({WHOLE_DAYS_SQL}) IS NOT NULL",
)
KEPT = (TOTALS_KEPT, DAYS_KEPT)


MANY2ONES = {
    "account_type_id": "crm.plus.account.type",
    "phase_id": "crm.plus.lead.phase",
    "user_id": "res.users",
    "company_id": "res.company",
    "close_reason_id": "crm.plus.close.reason",
}
# The line's and the contact's fields the totals read: flushed before a contribution is read.
LINE_FIELDS = ANALYSIS_LINE_FIELDS
PARTNER_FIELDS = ("active", "funnel_state", "user_id")

# {id(cursor): partner ids} of the contacts a _follow_contacts block follows on that cursor: a
# block within it leaves them to the outer one, which would otherwise count them twice.
_FOLLOWED = {}
# {id(cursor): [(partner ids, condition, contribution before)]} of the blocks within a
# contacts' create (_after_create).
_DEFERRED = {}


def contribution_sql(kept):
    """SELECT of ``kept``'s columns from every line it counts (the recount); groups that sum
    to nothing are left out."""
    dims = ", ".join(f"{expr} AS {name}" for name, (expr, _type) in kept.dimensions.items())
    sums = [f"COALESCE(SUM({expr}), 0)" for expr, _type in kept.measures.values()]
    return (
        f"SELECT {dims}, "
        + ", ".join(f"{total} AS {name}" for total, name in zip(sums, kept.measures, strict=True))
        + f" FROM {LINES_SOURCE} WHERE {kept.counted} GROUP BY "
        + ", ".join(str(position) for position in range(1, len(kept.dimensions) + 1))
        + " HAVING "
        + " OR ".join(f"{total} <> 0" for total in sums)
    )


LINES_SOURCE = LINES_WITH_CONTACT_SQL
# Every Kept's columns, in order (each Kept's dimensions are a subset).
ALL_DIMENSIONS = {name: spec for kept in KEPT for name, spec in kept.dimensions.items()}


def _contribution_rows():
    """{GROUPING() of a Kept's rows in contributions_sql (a bit set per column of ALL_DIMENSIONS it
    does not group by): (the Kept, its dimensions' positions in a row, its measures' slice)}."""
    position = {name: index for index, name in enumerate(ALL_DIMENSIONS)}
    rows, start = {}, len(ALL_DIMENSIONS) + 1
    for kept in KEPT:
        away = [
            1 << (len(position) - 1 - i) for n, i in position.items() if n not in kept.dimensions
        ]
        keys = tuple(position[name] for name in kept.dimensions)
        rows[sum(away)] = (kept, keys, slice(start, start + len(kept.measures)))
        start += len(kept.measures)
    return rows


CONTRIBUTION_ROW = _contribution_rows()


def contributions_sql(condition):
    """contribution_sql of every Kept in one SELECT over the lines ``condition`` says (the
    actions' read before and after): a grouping set per Kept, each measure summed over the lines
    its Kept counts, a row's GROUPING() saying whose it is (CONTRIBUTION_ROW). Rows that sum to
    nothing are dropped by the reader: a HAVING over every sum doubled the expressions to plan,
    and planning is most of a contact's read (1.9 ms with it, 1.1 ms without, 200 reads)."""
    exprs = [expr for expr, _type in ALL_DIMENSIONS.values()]
    sums, sets = [], []
    for kept, _keys, _measures in CONTRIBUTION_ROW.values():
        only = "" if kept.counted == "TRUE" else f" FILTER (WHERE {kept.counted})"
        sums += [f"COALESCE(SUM({expr}){only}, 0)" for expr, _type in kept.measures.values()]
        sets.append(f"({', '.join(expr for expr, _type in kept.dimensions.values())})")
    return (
        f"SELECT {', '.join(exprs)}, GROUPING({', '.join(exprs)}), {', '.join(sums)}"
        f" FROM {LINES_SOURCE} WHERE {condition} GROUP BY GROUPING SETS ({', '.join(sets)})"
    )


def _kept_sql():
    """The totals' rows summed per group, in the report's SQL types: a group they empty is
    gone."""
    dims = ", ".join(DIMENSIONS)
    sums = ", ".join(
        f"SUM({name})::{sql_type} AS {name}" for name, (_expr, sql_type) in MEASURES.items()
    )
    return f"SELECT {dims}, {sums} FROM {TOTALS} GROUP BY {dims} HAVING SUM(line_count) <> 0"


def read_sql():
    """The rows the report's grouped reads sum, in place of its view (its ``_table_query``):
    those of contacts not archived, with the currency of their amounts (as the view gives
    them)."""
    return (
        f"SELECT NULL::integer AS id, kept.*, {currency_sql('kept.company_id')} AS currency_id"
        f" FROM ({_kept_sql()}) AS kept WHERE kept.partner_active"
    )


def days_read_sql():
    """The rows the report's median reads instead of its view: per group of the totals' columns
    and whole days in phase, how many lines of contacts not archived spent them."""
    dims = ", ".join(f"d.{name}" for name in DIMENSIONS)
    return (
        f"SELECT NULL::integer AS id, {dims}, d.line_count,"
        f" COALESCE({TODAY_SQL} - d.open_since_date, d.days_done) AS whole_days_in_phase"
        f" FROM {DAYS_KEPT.table} AS d WHERE d.partner_active"
    )


def _mismatch_sql(kept):
    truth = contribution_sql(kept)
    columns = ", ".join([*kept.dimensions, *kept.measures])
    both = (
        f"SELECT 1 AS s, {columns} FROM ({truth}) AS truth"
        f" UNION ALL SELECT -1, {columns} FROM {kept.table}"
    )
    differs = " OR ".join(
        f"SUM(s * {name}) <> 0"
        if sql_type == "bigint"
        else f"abs(SUM(s * {name}::numeric)) > 1e-9 * GREATEST(1, MAX(abs({name}::numeric)))"
        for name, (_expr, sql_type) in kept.measures.items()
    )
    dims = ", ".join(kept.dimensions)
    return (
        f"SELECT '{kept.table}' AS kept, {', '.join(DIMENSIONS)} FROM (SELECT {dims}"
        f" FROM ({both}) AS both_sides GROUP BY {dims} HAVING {differs}) AS mismatch"
    )


def mismatch_query():
    """The groups where the totals or the days in phase are not what the lines give (none when
    they are kept right): what the tests, the live suites and the benches check after their
    runs. Counts compare exactly, amounts and days within a relative 1e-9 (the totals add
    floats)."""
    return " UNION ALL ".join(_mismatch_sql(kept) for kept in KEPT)


def drop_legacy(cr):
    """The 1.0.x triggers, functions and tables, when present."""
    cr.execute(SQL("SELECT to_regclass(%s) IS NOT NULL", LEGACY_DELTAS))
    had_legacy = cr.fetchone()[0]
    for name, table in LEGACY_TRIGGERS:
        cr.execute(
            SQL("DROP TRIGGER IF EXISTS %s ON %s", SQL.identifier(name), SQL.identifier(table))
        )
    for function in LEGACY_FUNCTIONS:
        cr.execute(SQL("DROP FUNCTION IF EXISTS %s() CASCADE", SQL.identifier(function)))
    cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(LEGACY_DELTAS)))
    return had_legacy


class CrmPlusFunnelSums(models.AbstractModel):
    """Sums per group of the funnel analysis's columns (a ``Kept``: ``_kept``): rows are added
    by the funnel's write paths (the differences they make, crm.plus.funnel.total's
    ``_follow_contacts``), folded by a cron and recounted daily; never read but summed per
    group."""

    _name = "crm.plus.funnel.sums"
    _description = "Funnel Analysis Sums"
    _kept = None

    account_type_id = fields.Many2one("crm.plus.account.type", ondelete="cascade")
    phase_id = fields.Many2one("crm.plus.lead.phase", ondelete="cascade")
    phase_type = fields.Char()
    state = fields.Char()
    is_active_funnel = fields.Boolean()
    funnel_state = fields.Char()
    # As the contacts' and the lines' own references: a user, company or reason deleted
    # leaves their sums without one, as it leaves the contacts and lines.
    user_id = fields.Many2one("res.users", ondelete="set null")
    company_id = fields.Many2one("res.company", ondelete="set null")
    close_reason_id = fields.Many2one("crm.plus.close.reason", ondelete="set null")
    close_outcome = fields.Char()
    partner_active = fields.Boolean()
    line_count = fields.Integer()

    @api.model
    def _add_difference(self, before, after):
        """A row per group whose sums changed from ``before`` to ``after``: one INSERT."""
        width = len(self._kept.measures)
        vals_list = []
        for key in before.keys() | after.keys():
            old = before.get(key) or (0,) * width
            new = after.get(key) or (0,) * width
            change = [b - a for a, b in zip(old, new, strict=True)]
            if any(change):
                vals_list.append(self._row_vals(key, change))
        if vals_list:
            self.sudo().create(vals_list)

    @api.model
    def _fold(self):
        """The rows of each group summed into one (none when they sum to nothing): a read sums
        few rows. Rows added meanwhile by other transactions are left for the next run.
        Returns how many rows were folded away."""
        self.flush_model()
        dims = ", ".join(self._kept.dimensions)
        sums = ", ".join(f"SUM({name})" for name in self._kept.measures)
        self.env.cr.execute(
            SQL(
                f"SELECT {dims}, {sums}, array_agg(id) FROM {self._table} GROUP BY {dims}"
                " HAVING count(*) > 1 OR SUM(line_count) = 0"
            )
        )
        width = len(self._kept.dimensions)
        folded, vals_list = [], []
        for row in self.env.cr.fetchall():
            folded += row[-1]
            if any(row[width:-1]):
                vals_list.append(self._row_vals(row[:width], row[width:-1]))
        for ids in split_every(10000, folded, list):
            self.sudo().browse(ids).unlink()
        if vals_list:
            self.sudo().create(vals_list)
        return len(folded) - len(vals_list)

    def _row_vals(self, key, measures):
        vals = dict(zip(self._kept.dimensions, key, strict=True))
        for name in MANY2ONES:
            vals[name] = vals[name] or False
        for name, value in zip(self._kept.measures, measures, strict=True):
            is_float = isinstance(self._fields[name], fields.Float)
            vals[name] = float(value or 0) if is_float else int(value or 0)
        return vals

    @api.model
    def _recount(self):
        """The sums counted again from the lines (the daily safety net)."""
        self.env.flush_all()
        self.env.cr.execute(SQL(contribution_sql(self._kept)))
        width = len(self._kept.dimensions)
        vals_list = [self._row_vals(row[:width], row[width:]) for row in self.env.cr.fetchall()]
        for ids in split_every(10000, self.sudo().search([]).ids, list):
            self.sudo().browse(ids).unlink()
        if vals_list:
            self.sudo().create(vals_list)
        return True


class CrmPlusFunnelTotal(models.Model):
    """The funnel analysis's totals: per group of the report's columns, the sums of its
    lines' measures. The funnel's write paths follow contacts through it (``_follow_contacts``):
    it keeps these totals and the days in phase (crm.plus.funnel.days) in step."""

    _name = "crm.plus.funnel.total"
    _inherit = ["crm.plus.funnel.sums"]
    _description = "Funnel Analysis Totals"
    _kept = TOTALS_KEPT
    # Rows only added and summed: who wrote one and when says nothing, and each of a close's
    # ~30 rows would check two foreign keys more. Odoo reads it from the model's own class.
    _log_access = False

    # Counts: integers; sums of scores, amounts and days: floats (a score sum may pass 2^31).
    reached = fields.Integer()
    moved_on = fields.Integer()
    deal_count = fields.Integer()
    won_count = fields.Integer()
    score_sum = fields.Float()
    score_count = fields.Integer()
    forecast_value = fields.Float()
    weighted_value = fields.Float()
    recurring_value_monthly = fields.Float()
    open_forecast_value = fields.Float()
    open_weighted_value = fields.Float()
    days_done_sum = fields.Float()
    days_done_count = fields.Integer()
    open_since_sum = fields.Float()
    open_since_count = fields.Integer()

    # ------------------------------------------------------------------ contributions

    @api.model
    def _read_contributions(self, where):
        """{kept model: {group: measures}} of the lines ``where`` (SQL on the line ``l`` and the
        contact ``p``) says, their lines and contacts flushed first: one query."""
        self.env["crm.plus.phase.line"].flush_model(LINE_FIELDS)
        self.env["res.partner"].flush_model(PARTNER_FIELDS)
        self.env.cr.execute(SQL(contributions_sql("%s"), where))
        contributions = {kept.model: {} for kept in KEPT}
        for row in self.env.cr.fetchall():
            kept, keys, measures = CONTRIBUTION_ROW[row[len(ALL_DIMENSIONS)]]
            if any(row[measures]):
                contributions[kept.model][tuple(row[key] for key in keys)] = row[measures]
        return contributions

    @api.model
    def _add_differences(self, before, after):
        for kept in KEPT:
            self.env[kept.model]._add_difference(before[kept.model], after[kept.model])

    @contextmanager
    def _follow(self, where):
        before = self._read_contributions(where)
        yield
        self._add_differences(before, self._read_contributions(where))

    @contextmanager
    def _follow_contacts(self, partner_ids):
        """Keep the totals in step with what the block does to ``partner_ids`` (their lines
        and themselves): their contribution is read before and after it, and the totals move
        by the difference. A block within another follows only the contacts the outer one
        does not."""
        followed = _FOLLOWED.setdefault(id(self.env.cr), set())
        partner_ids = [pid for pid in dict.fromkeys(partner_ids) if pid and pid not in followed]
        followed.update(partner_ids)
        deferred = _DEFERRED.get(id(self.env.cr))
        try:
            if not partner_ids:
                yield
                return
            where = SQL("l.partner_id = ANY(%s)", partner_ids)
            if deferred is None:
                with self._follow(where):
                    yield
                return
            # Within a contacts' create: read after it (_after_create), once their fields
            # computed from the lines are.
            deferred.append((partner_ids, where, self._read_contributions(where)))
            yield
        finally:
            if deferred is None:
                followed.difference_update(partner_ids)
                if not followed:
                    _FOLLOWED.pop(id(self.env.cr), None)

    @contextmanager
    def _after_create(self):
        """A contacts' create: its contacts' fields computed from their lines (the funnel
        state) are computed once the create is done; the blocks within it are read then."""
        if id(self.env.cr) in _DEFERRED:
            yield
            return
        deferred = _DEFERRED[id(self.env.cr)] = []
        try:
            yield
            for _partner_ids, where, before in deferred:
                self._add_differences(before, self._read_contributions(where))
        finally:
            _DEFERRED.pop(id(self.env.cr), None)
            followed = _FOLLOWED.get(id(self.env.cr), set())
            for partner_ids, _where, _before in deferred:
                followed.difference_update(partner_ids)
            if not followed:
                _FOLLOWED.pop(id(self.env.cr), None)

    @contextmanager
    def _follow_phases(self, phase_ids):
        """As _follow_contacts, for every line of ``phase_ids`` (a phase's type changed)."""
        with self._follow(SQL("l.phase_id = ANY(%s)", list(phase_ids))):
            yield

    # ------------------------------------------------------------------ crons

    @api.model
    def _fold_all(self):
        return self._on_each_kept("_fold", sum, "crm_plus.crm_plus_funnel_report_cron_fold")

    @api.model
    def _recount_all(self):
        return self._on_each_kept("_recount", all, "crm_plus.crm_plus_funnel_report_cron_recount")

    def _on_each_kept(self, method, combine, cron_xmlid):
        """``method`` on each sums table, its results combined, as the scheduled action
        ``cron_xmlid``. The fold and the recount both delete rows of these tables: run at the
        same time (by two servers' cron workers), the one that deletes a row the other deleted
        since it started gives way (giving_way). Users only add rows: they never meet either."""
        return giving_way(
            self.env,
            cron_xmlid,
            lambda: combine(getattr(self.env[kept.model], method)() for kept in KEPT),
        )
