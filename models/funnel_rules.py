"""The funnel's rules, each written once: plain functions and constants, no ORM model and no
import of crm_plus's other modules, so that the models, the reports, the importer and the
benches all call the same definition (and none of them imports another for it).

- who works a funnel (its group);
- the values a funnel field takes (the selections);
- the line states along the phases (done before the current phase, to do after it);
- a contact's current line and last close, in Python and in SQL;
- a deal's money (probability, weighted value, the state-pure totals), in Python and in SQL;
- the funnel's currency, in SQL;
- the suggested score and the learned days to close;
- the day boundary in the user's timezone;
- the ORM batching every path shares (grouped writes, prefetched fields);
- how a scheduled action gives way to a concurrent write.
"""

import logging
from collections import defaultdict
from datetime import datetime, time, timedelta

import pytz
from psycopg2.errors import SerializationFailure

from odoo import fields
from odoo.tools import SQL, mute_logger

_logger = logging.getLogger(__name__)

# The group whose users work a funnel (CRM+ User: Own Documents Only, implied by the others):
# the funnel's fields and actions are theirs.
FUNNEL_GROUP = "crm_plus.group_crm_plus_user"

# ------------------------------------------------------------------ the selections

FUNNEL_STATE_SELECTION = [("open", "Open"), ("won", "Won"), ("lost", "Lost")]
OUTCOME_SELECTION = [("won", "Won"), ("lost", "Lost")]
CLOSED_STATES = ("won", "lost")
LINE_STATE_SELECTION = [("todo", "To Do"), ("current", "Current"), ("done", "Done")]
PHASE_TYPE_SELECTION = [("normal", "Normal"), ("closing", "Closing")]
RECURRING_INTERVAL_SELECTION = [("month", "Monthly"), ("quarter", "Quarterly"), ("year", "Yearly")]
MONTHS_PER_INTERVAL = {"month": 1, "quarter": 3, "year": 12}

# A score (a line's, a phase's default) is a likelihood to win in %, from 1 to 100.
SCORE_MIN, SCORE_MAX = 1, 100


def valid_score(score):
    """Whether ``score`` is a whole number from 1 to 100."""
    return isinstance(score, int) and SCORE_MIN <= score <= SCORE_MAX


def monthly(recurring_value, recurring_interval):
    """The monthly equivalent of a recurring value."""
    return (recurring_value or 0.0) / MONTHS_PER_INTERVAL.get(recurring_interval or "month", 1)


# ------------------------------------------------------------------ the line states

# A line's close: set on the line the contact was closed in, cleared when it is reopened.
CLOSE_FIELDS = frozenset({"close_reason_id", "close_outcome", "close_date", "closed_by_id"})
# The line fields a move back to "to do" or a reopen clears: a line holds a close only while the
# contact stays closed in it.
NO_CLOSE = dict.fromkeys(sorted(CLOSE_FIELDS), False)


def state_along(position, current_position):
    """The state of a funnel's line at ``position`` when the line at ``current_position`` is
    current (positions compare as the phases' order): the phases before it are done, the ones
    after it to do."""
    if position < current_position:
        return "done"
    return "current" if position == current_position else "todo"


def in_active_funnel(line_account_type, partner_account_type):
    """The lines of the contact's current account type are its funnel; the others history."""
    return bool(line_account_type) and line_account_type == partner_account_type


def towards(lines, target, now, uid, carry_from=None, keep_start=False):
    """The line changes that make ``target`` the current line of a funnel (``lines``: its rows
    in phase order): the lines before it done, ``target`` current, the lines after it to do,
    none of them closed but the done ones. Figures entered on the phase just left
    (``carry_from``) carry over when the new line has none, so the forecast does not drop to
    zero at each step; forward, the score never drops: the new line's score is the higher of
    the score left and the one the line starts with (its phase's default score, or its
    suggestion), so a deal rated 35 in Qualification does not fall to a Proposal default of
    25. {line id: values} of the lines that change."""
    updates = {}
    index = lines.index(target)
    for position, line in enumerate(lines):
        state = state_along(position, index)
        if state == "done" and line["state"] != "done":
            updates[line["id"]] = {"state": "done", "date_done": now, "done_by_id": uid}
        elif state == "todo" and (line["state"] != "todo" or line["close_outcome"]):
            updates[line["id"]] = {
                "state": "todo",
                "date_start": False,
                "date_done": False,
                "done_by_id": False,
                **NO_CLOSE,
            }
    values = {"state": "current", "date_done": False, "done_by_id": False}
    if not keep_start or not target["date_start"]:
        values["date_start"] = now
    if target["close_outcome"]:
        values.update(NO_CLOSE)
    if carry_from:
        if not target["forecast_value"] and carry_from["forecast_value"]:
            values["forecast_value"] = carry_from["forecast_value"]
        if not target["recurring_value"] and carry_from["recurring_value"]:
            values["recurring_value"] = carry_from["recurring_value"]
            values["recurring_interval"] = carry_from["recurring_interval"]
        forward = carry_from in lines and lines.index(carry_from) < index
        if forward and (carry_from["score"] or 0) > (target["score"] or 0):
            values["score"] = carry_from["score"]
    updates[target["id"]] = values
    return updates


# The phase line's fields the funnel analysis reads (its view, its totals): a write of one of
# them moves the analysis's totals.
ANALYSIS_LINE_FIELDS = (
    "partner_id",
    "phase_id",
    "account_type_id",
    "phase_type",
    "state",
    "is_active_funnel",
    "score",
    "forecast_value",
    "recurring_value_monthly",
    "company_id",
    "date_start",
    "date_done",
    "done_by_id",
    "close_reason_id",
    "close_outcome",
)


# ------------------------------------------------------------------ the last close

# The last close of a contact (the one its state, reason and date show, the one Reopen undoes,
# the one the suggested scores and the calibration count): the latest close date, then the
# latest completion, then the latest line. The same order in Python and in SQL (and in the
# index that serves it).
LAST_CLOSE_SQL_ORDER = "close_date DESC, date_done DESC NULLS LAST, id DESC"


def last_close_key(line):
    """``line``: a phase line record or a row of its columns."""
    line_id = line["id"]
    return (
        line["close_date"],
        line["date_done"] or datetime.min,
        line_id if isinstance(line_id, int) else 0,
    )


def current_and_last_close(lines):
    """(the current line of the contact's own funnel or None, its last close or None), from
    ``lines`` (records or rows): what the contact's lead phase, state and close show."""
    current = last_close = None
    for line in lines:
        if line["state"] == "current" and line["is_active_funnel"]:
            current = line
        if line["close_outcome"] and (
            last_close is None or last_close_key(line) > last_close_key(last_close)
        ):
            last_close = line
    return current, last_close


def counted_closes_sql(line_filter=None):
    """Each contact's last close per account type (``c``: partner, type, company, sequence,
    phase, outcome, close date), unless the contact was reopened since (open again in that
    type): the closes the suggested score, the learned days to close and the calibration
    report count. ``line_filter``: an ``AND ...`` SQL on the phase lines ``l``."""
    return SQL(
        """
        SELECT c.* FROM (
            SELECT DISTINCT ON (l.partner_id, l.account_type_id)
                   l.partner_id, l.account_type_id, l.company_id, l.sequence,
                   l.phase_id, l.close_outcome, l.close_date
              FROM crm_plus_phase_line AS l
             WHERE l.close_outcome IS NOT NULL AND l.account_type_id IS NOT NULL %s
             ORDER BY l.partner_id, l.account_type_id, %s
        ) AS c
         WHERE NOT EXISTS (SELECT 1 FROM crm_plus_phase_line AS o
                            WHERE o.partner_id = c.partner_id AND o.state = 'current'
                              AND o.account_type_id = c.account_type_id
                              AND o.is_active_funnel)
        """,
        line_filter or SQL(),
        SQL(LAST_CLOSE_SQL_ORDER),
    )


# The phases a counted close ``c`` reached: its contact's lines ``r`` of that account type up
# to the one it was closed in.
REACHED_BY_CLOSE_SQL = SQL(
    "r.partner_id = c.partner_id AND r.account_type_id = c.account_type_id"
    " AND (r.sequence, r.phase_id) <= (c.sequence, c.phase_id)"
)


# ------------------------------------------------------------------ a deal's money

# The money a manager reads, as Odoo CRM means it. A deal's amount is the forecast of its line
# (the current one while open, the one it was closed in once closed); its probability is the
# score while open, 100 once won, 0 once lost; its weighted value is amount × probability / 100.
# Four totals, never mixed: open pipeline, weighted pipeline, won revenue, lost.
CLOSED_PROBABILITY = {"won": 100, "lost": 0}
# The contact's state-pure fields: {field: (the state it counts, the figure it carries)}.
STATE_PURE_FIELDS = {
    "funnel_open_value": ("open", "amount"),
    "funnel_open_weighted_value": ("open", "weighted"),
    "funnel_won_value": ("won", "amount"),
    "funnel_lost_value": ("lost", "amount"),
}


def weighted(forecast_value, score):
    """The weighted forecast: forecast × score / 100 (``WEIGHTED_SQL`` in the reports)."""
    return (forecast_value or 0.0) * (score or 0) / 100.0


# The same rule over a phase line's columns, for the reports' SQL (alias ``l``).
WEIGHTED_SQL = "COALESCE(l.forecast_value, 0) * l.score / 100.0"
# What the line reports read (and the funnel analysis's totals count): each phase line ``l``
# with its contact ``p``.
LINES_WITH_CONTACT_SQL = "crm_plus_phase_line l JOIN res_partner p ON p.id = l.partner_id"


def deal_probability(funnel_state, score):
    """The probability of a deal in ``funnel_state`` (open, won, lost, or none) whose line has
    ``score``: the score while open, 100 won, 0 lost; 0 outside a funnel."""
    if funnel_state in CLOSED_PROBABILITY:
        return CLOSED_PROBABILITY[funnel_state]
    return (score or 0) if funnel_state == "open" else 0


def deal_money(funnel_state, amount, score):
    """The figures of a deal in ``funnel_state`` whose line has ``amount`` (forecast value) and
    ``score``: {"probability", "amount", "weighted"} and each state-pure field of
    ``STATE_PURE_FIELDS`` (0 for a deal in another state)."""
    amount = (amount or 0.0) if funnel_state else 0.0
    probability = deal_probability(funnel_state, score)
    figures = {
        "probability": probability,
        "amount": amount,
        "weighted": weighted(amount, probability),
    }
    for fname, (state, figure) in STATE_PURE_FIELDS.items():
        figures[fname] = figures[figure] if funnel_state == state else 0.0
    return figures


# ------------------------------------------------------------------ the currency

# The currency of the funnel's amounts (contacts, lines, every report): the contact's company's,
# else the main company's (base.main_company, else the first company). Not the company the user
# works in: a report is one query for every user, and a contact must show the same currency in
# its form, in the lists' sums and in the reports. In Python (crm_plus_phase_line's
# set_funnel_currency) and in SQL, the same rule.
MAIN_COMPANY_CURRENCY_SQL = (
    "(SELECT mc.currency_id FROM res_company mc"
    " LEFT JOIN ir_model_data md ON md.model = 'res.company' AND md.res_id = mc.id"
    " AND md.module = 'base' AND md.name = 'main_company'"
    " ORDER BY md.id IS NULL, mc.id LIMIT 1)"
)


def currency_sql(company_expr):
    """The funnel's currency, in SQL, for a row whose company is ``company_expr`` (SQL text)."""
    return (
        f"COALESCE((SELECT rc.currency_id FROM res_company rc WHERE rc.id = {company_expr}),"
        f" {MAIN_COMPANY_CURRENCY_SQL})"
    )


# ------------------------------------------------------------------ the suggested score

# Fewer closes than this and the observed rate says more about luck than about the phase.
MIN_CLOSED = 10


def baseline_score(won, closed):
    """round(100 × (won + 1) / (closed + 2)), halves up, within 1–100; None below MIN_CLOSED.
    The +1/+2 (Laplace's rule) keeps 0 of 10 or 10 of 10 off the certain 0 % and 100 %."""
    if closed < MIN_CLOSED:
        return None
    # Integer arithmetic: round() on floats rounds halves to even and 100 × 7 / 12 is inexact.
    score = (200 * (won + 1) + closed + 2) // (2 * (closed + 2))
    return min(SCORE_MAX, max(SCORE_MIN, score))


# The learned expected close date of an open deal: the day (UTC) its phase started plus the
# median days from entering the phase to a won close, over the type's won closes that went
# through it (crm.plus.phase.stat.close_days), when at least MIN_CLOSED of them did; else the
# day it goes stale (the phase's "stale after" days); else none. The same rule in SQL (the
# Forecast report, over the contact p and its phase's stat row s) and in Python
# (res.partner.funnel_learned_close_date).
LEARNED_CLOSE_DATE_SQL = f"""
    CASE WHEN p.funnel_state = 'open' THEN COALESCE(
        CASE WHEN s.close_days_sample >= {MIN_CLOSED}
             THEN p.funnel_phase_date_start::date + s.close_days END,
        p.funnel_stale_deadline::date) END"""


def learned_close_date(state, phase_start, stale_deadline, stat):
    """LEARNED_CLOSE_DATE_SQL in Python; ``stat``: the phase's stat row (dict) or None."""
    if state != "open":
        return False
    if stat and phase_start and (stat["close_days_sample"] or 0) >= MIN_CLOSED:
        return phase_start.date() + timedelta(days=stat["close_days"])
    return stale_deadline.date() if stale_deadline else False


# ------------------------------------------------------------------ the day boundary


def day_start_utc(day, tz_name):
    """Midnight of ``day`` in the timezone ``tz_name``, as a naive UTC datetime: where the
    user's day begins (a stale deadline, a close dated in the past)."""
    tz = pytz.timezone(tz_name or "UTC")
    midnight = tz.localize(datetime.combine(day, time.min))
    return midnight.astimezone(pytz.utc).replace(tzinfo=None)


# ------------------------------------------------------------------ ORM batching


def prefetched_fields(records):
    """The fields the ORM reads together when one of them is read: fetched at once, they leave
    nothing for a later read of the same records to query."""
    return [name for name, field in records._fields.items() if field.prefetch is True]


def write_grouped(records, updates):
    """``updates``: {record id: {field: value}}. One ``write`` per distinct set of values, so a
    batch costs a handful of ORM calls while every override, tracking and recompute runs."""
    by_values = defaultdict(list)
    for record_id, vals in updates.items():
        by_values[tuple(sorted(vals.items()))].append(record_id)
    for frozen, ids in by_values.items():
        records.browse(ids).write(dict(frozen))


# ------------------------------------------------------------------ scheduled actions


def giving_way(env, cron_xmlid, work):
    """``work()`` for the scheduled action ``cron_xmlid``, giving way to a concurrent write: a
    row it writes that another transaction wrote and committed since its own began (a user's
    close, another server's run) cannot serialize. Its work undone, it runs again a minute
    later (ir.cron's ``_trigger``) and returns False; failed, it would wait for its next run
    (a day for most). Users' requests need none of this: Odoo retries them itself."""
    try:
        # As Odoo's own savepoints that expect a conflict (account's partner rank): the failed
        # statement is not logged as an error; any other error still is. The logger is muted
        # around the savepoint, whose closing flush runs the ORM's pending writes.
        with mute_logger("odoo.sql_db"), env.cr.savepoint():
            return work()
    except SerializationFailure:
        _logger.info("%s met a concurrent write: it runs again in a minute", cron_xmlid)
        cron = env.ref(cron_xmlid).sudo()
        cron._trigger(fields.Datetime.now() + timedelta(minutes=1))
        return False
