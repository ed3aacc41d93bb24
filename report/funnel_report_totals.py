"""The funnel analysis's totals, kept exact by the database.

The funnel analysis has one row per phase line, five to ten per contact: at a million contacts
each grouped read of its pivot scanned eight million lines. Its groups by phase, account type,
salesperson, company, state, outcome or reason are instead summed from totals per combination
of those columns (a few thousand rows).

Triggers keep the totals exact, whatever writes the lines: the funnel's actions, an edit on the
form, an import, Studio or another module's SQL batch load all go through the table. Each
statement that writes phase lines, or a contact's salesperson, funnel state or archiving,
appends its difference to ``crm_plus_funnel_total_delta``. Appends never wait on each other,
where a counter row per phase would queue every advance of the phase behind the others. A read
sums the totals and the differences not folded yet, so it is as current as the lines it stands
for; a cron folds the differences into the totals every few minutes, and a daily one recounts
them from the lines (the safety net for writes made with triggers disabled, such as a partial
restore).

A contribution reads the contact's salesperson, funnel state and active flag: a trigger locks
the rows it reads from the other table (FOR SHARE), so that two transactions changing, one a
contact's lines and the other the contact, cannot both commit on a stale view of each other:
the second gets Odoo's serialization error and is retried.
"""

from odoo.tools import SQL

from ..models.crm_plus_phase_line import WEIGHTED_SQL
from .report_sql import currency_sql

TOTALS = "crm_plus_funnel_total"
DELTAS = "crm_plus_funnel_total_delta"
LOCK_KEY = "crm_plus_funnel_total"

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
    "is_active_funnel": ("l.is_active_funnel", "boolean"),
    "funnel_state": ("p.funnel_state", "varchar"),
    "user_id": ("p.user_id", "integer"),
    "company_id": ("l.company_id", "integer"),
    "close_reason_id": ("l.close_reason_id", "integer"),
    "close_outcome": ("l.close_outcome", "varchar"),
    # Archived contacts count nowhere: their lines are kept apart, and read_sql leaves them
    # out as the report's view does.
    "partner_active": ("p.active", "boolean"),
}

# What the totals sum per group: name -> (value per line, SQL type). Days are numeric so that a
# line's contribution, added then taken away, leaves nothing behind.
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


def _columns():
    return [*DIMENSIONS, *MEASURES]


def contribution_sql(source, sign):
    """SELECT of the totals' columns from ``source`` (a FROM clause naming the line ``l`` and
    the contact ``p``), each line counted ``sign`` times; groups that sum to nothing are
    left out."""
    dims = ", ".join(f"{expr} AS {name}" for name, (expr, _type) in DIMENSIONS.items())
    sums = [f"COALESCE(SUM(({sign}) * ({expr})), 0)" for expr, _type in MEASURES.values()]
    return (
        f"SELECT {dims}, "
        + ", ".join(f"{total} AS {name}" for total, name in zip(sums, MEASURES, strict=True))
        + f" FROM {source} GROUP BY "
        + ", ".join(str(position) for position in range(1, len(DIMENSIONS) + 1))
        + " HAVING "
        + " OR ".join(f"{total} <> 0" for total in sums)
    )


LINES_SOURCE = "crm_plus_phase_line l LEFT JOIN res_partner p ON p.id = l.partner_id"


def _summed_per_group(rows):
    """The totals' columns of ``rows`` (a SELECT of them) summed per group: a group they
    empty is gone."""
    dims = ", ".join(DIMENSIONS)
    sums = ", ".join(f"SUM({name}) AS {name}" for name in MEASURES)
    return f"SELECT {dims}, {sums} FROM ({rows}) AS t GROUP BY {dims} HAVING SUM(line_count) <> 0"


def _kept_sql():
    """The totals and the differences not folded yet, summed per group."""
    columns = ", ".join(_columns())
    return _summed_per_group(
        f"SELECT {columns} FROM {TOTALS} UNION ALL SELECT {columns} FROM {DELTAS}"
    )


def read_sql():
    """The rows the report's grouped reads sum, in place of its view: those of contacts not
    archived, with the currency of their amounts (as the view gives them)."""
    return SQL(
        f"SELECT NULL::integer AS id, kept.*, {currency_sql('kept.company_id')} AS currency_id"
        f" FROM ({_kept_sql()}) AS kept WHERE kept.partner_active"
    )


def mismatch_query():
    """The groups where the totals are not what the lines give (none when they are kept
    right): what the live tests and the benches check after their runs."""
    truth = contribution_sql(LINES_SOURCE, "1")
    kept = _kept_sql()
    return f"(({truth}) EXCEPT ({kept})) UNION ALL (({kept}) EXCEPT ({truth}))"


def _insert(table, select):
    return f"INSERT INTO {table} ({', '.join(_columns())}) {select}"


# The lines a statement wrote, each with its sign: the new ones counted, the old taken away.
_LINE_ROWS = {
    "INSERT": "SELECT 1 AS s, n.* FROM crm_plus_new_lines n",
    "DELETE": "SELECT -1 AS s, o.* FROM crm_plus_old_lines o",
    "UPDATE": "SELECT 1 AS s, n.* FROM crm_plus_new_lines n"
    " UNION ALL SELECT -1, o.* FROM crm_plus_old_lines o",
}


def _functions_sql():
    # One branch per operation: a transition table an operation lacks cannot be named.
    branches = "\n    ELS".join(
        f"""IF TG_OP = '{operation}' THEN
        {_insert(DELTAS, contribution_sql(
            f"({rows}) l LEFT JOIN res_partner p ON p.id = l.partner_id", "l.s"))};"""
        for operation, rows in _LINE_ROWS.items()
    )
    lines_function = f"""
CREATE OR REPLACE FUNCTION crm_plus_funnel_total_lines() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM 1 FROM res_partner
          WHERE id IN (SELECT partner_id FROM crm_plus_new_lines) FOR SHARE;
    END IF;
    {branches}
    END IF;
    RETURN NULL;
END
$body$;
"""
    # Contacts whose salesperson or state changed: their new values counted once, their old
    # ones taken away. Grouped, not joined: a join of the two transition tables (no index, no
    # statistics) may be planned as a nested loop, quadratic on a large UPDATE.
    both_sides = """
        SELECT n.id, n.funnel_state, n.user_id, n.active, 1 AS s FROM crm_plus_new_partners n
        UNION ALL
        SELECT o.id, o.funnel_state, o.user_id, o.active, -1 FROM crm_plus_old_partners o"""
    changed = f"""
        SELECT id, funnel_state, user_id, active, SUM(s) AS s FROM ({both_sides}) AS both_sides
         WHERE id = ANY(changed_ids)
         GROUP BY id, funnel_state, user_id, active HAVING SUM(s) <> 0"""
    partners_function = f"""
CREATE OR REPLACE FUNCTION crm_plus_funnel_total_partners() RETURNS trigger
LANGUAGE plpgsql AS $body$
DECLARE
    changed_ids integer[];
BEGIN
    SELECT array_agg(DISTINCT id) INTO changed_ids FROM (
        SELECT id FROM ({both_sides}) AS both_sides
         GROUP BY id, funnel_state, user_id, active HAVING SUM(s) <> 0
    ) AS changed;
    IF changed_ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM crm_plus_phase_line WHERE partner_id = ANY(changed_ids) FOR SHARE;
    {
        _insert(
            DELTAS,
            contribution_sql(
                f"crm_plus_phase_line l JOIN ({changed}) p ON p.id = l.partner_id"
                " WHERE l.partner_id = ANY(changed_ids)",
                "p.s",
            ),
        )
    };
    RETURN NULL;
END
$body$;
"""
    # A deleted contact's lines go with it (ON DELETE CASCADE), after the contact: by then the
    # lines' trigger finds no contact, so this moves their contribution to "no salesperson, no
    # state" first.
    deleted = """
        SELECT -1 AS s, OLD.id AS id, OLD.funnel_state AS funnel_state, OLD.user_id AS user_id,
               OLD.active AS active
        UNION ALL
        SELECT 1, OLD.id, NULL::varchar, NULL::integer, NULL::boolean"""
    partner_delete_function = f"""
CREATE OR REPLACE FUNCTION crm_plus_funnel_total_partner_delete() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    {_insert(DELTAS, contribution_sql(
        f"crm_plus_phase_line l JOIN ({deleted}) p ON p.id = l.partner_id", "p.s"))};
    RETURN OLD;
END
$body$;
"""
    return [lines_function, partners_function, partner_delete_function]


_TRIGGERS = [
    (
        "crm_plus_funnel_total_insert",
        "crm_plus_phase_line",
        "AFTER INSERT ON crm_plus_phase_line REFERENCING NEW TABLE AS crm_plus_new_lines"
        " FOR EACH STATEMENT EXECUTE FUNCTION crm_plus_funnel_total_lines()",
    ),
    (
        "crm_plus_funnel_total_update",
        "crm_plus_phase_line",
        "AFTER UPDATE ON crm_plus_phase_line REFERENCING OLD TABLE AS crm_plus_old_lines"
        " NEW TABLE AS crm_plus_new_lines"
        " FOR EACH STATEMENT EXECUTE FUNCTION crm_plus_funnel_total_lines()",
    ),
    (
        "crm_plus_funnel_total_delete",
        "crm_plus_phase_line",
        "AFTER DELETE ON crm_plus_phase_line REFERENCING OLD TABLE AS crm_plus_old_lines"
        " FOR EACH STATEMENT EXECUTE FUNCTION crm_plus_funnel_total_lines()",
    ),
    (
        "crm_plus_funnel_total_partners",
        "res_partner",
        "AFTER UPDATE ON res_partner REFERENCING OLD TABLE AS crm_plus_old_partners"
        " NEW TABLE AS crm_plus_new_partners"
        " FOR EACH STATEMENT EXECUTE FUNCTION crm_plus_funnel_total_partners()",
    ),
    (
        "crm_plus_funnel_total_partner_delete",
        "res_partner",
        "BEFORE DELETE ON res_partner FOR EACH ROW"
        " WHEN (OLD.funnel_state IS NOT NULL OR OLD.user_id IS NOT NULL"
        " OR OLD.active IS NOT NULL)"
        " EXECUTE FUNCTION crm_plus_funnel_total_partner_delete()",
    ),
]

_FUNCTIONS = (
    "crm_plus_funnel_total_lines",
    "crm_plus_funnel_total_partners",
    "crm_plus_funnel_total_partner_delete",
)


def install(cr):
    """Tables, functions and triggers (again on each upgrade: their SQL may have changed),
    then the totals counted from the lines."""
    cr.execute(SQL("SELECT pg_advisory_xact_lock(hashtext(%s))", LOCK_KEY))
    columns = ", ".join(
        f"{name} {sql_type}" for name, (_expr, sql_type) in {**DIMENSIONS, **MEASURES}.items()
    )
    for table in (TOTALS, DELTAS):
        # Recreated: the columns follow the code, and the recount fills them.
        cr.execute(SQL(f"DROP TABLE IF EXISTS {table}"))
        cr.execute(SQL(f"CREATE TABLE {table} ({columns})"))
    for function in _functions_sql():
        cr.execute(SQL(function))
    for name, table, definition in _TRIGGERS:
        cr.execute(SQL(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
        cr.execute(SQL(f"CREATE TRIGGER {name} {definition}"))
    recount(cr)


def uninstall(cr):
    for function in _FUNCTIONS:
        cr.execute(SQL(f"DROP FUNCTION IF EXISTS {function}() CASCADE"))
    for table in (TOTALS, DELTAS):
        cr.execute(SQL(f"DROP TABLE IF EXISTS {table}"))


def recount(cr):
    """The totals counted again from the lines; the differences they include are dropped
    (those of transactions committed after this one started stay, to be folded)."""
    cr.execute(SQL("SELECT pg_advisory_xact_lock(hashtext(%s))", LOCK_KEY))
    cr.execute(SQL(f"DELETE FROM {DELTAS}"))
    cr.execute(SQL(f"DELETE FROM {TOTALS}"))
    cr.execute(
        SQL(
            _insert(
                TOTALS,
                contribution_sql(LINES_SOURCE, "1"),
            )
        )
    )
    cr.execute(SQL(f"ANALYZE {TOTALS}"))


def fold(cr):
    """The differences added into the totals, in one statement: a read sees them on one side
    or the other, never both. Returns how many differences were folded."""
    cr.execute(SQL("SELECT pg_advisory_xact_lock(hashtext(%s))", LOCK_KEY))
    cr.execute(SQL(f"SELECT count(*) FROM {DELTAS}"))
    pending = cr.fetchone()[0]
    if not pending:
        return 0
    columns = ", ".join(_columns())
    cr.execute(
        SQL(
            f"""
            WITH folded AS (DELETE FROM {DELTAS} RETURNING {columns}),
                 kept AS (DELETE FROM {TOTALS} RETURNING {columns})
            INSERT INTO {TOTALS} ({columns})
            {_summed_per_group("SELECT * FROM folded UNION ALL SELECT * FROM kept")}
            """
        )
    )
    return pending
