"""The suggested score: what closed contacts did after reaching a phase, moved by each close
and reopen, recounted at night, and the contacts' Suggested Score filter."""

import json
from collections import defaultdict
from contextlib import contextmanager
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, split_every

from ..compat import FALSE_DOMAIN, domain_and, domain_or
from .funnel_rules import (
    MIN_CLOSED,
    REACHED_BY_CLOSE_SQL,
    baseline_score,
    counted_closes_sql,
    giving_way,
    write_grouped,
)

DEFAULT_WINDOW_DAYS = 730
# The nightly run moves the stats by the closes that left the window since the last count; this
# often it recounts the whole history instead, for what no incremental path sees (SQL edits,
# deleted contacts, a type's phases reordered).
FULL_RECOUNT_DAYS = 7
# More contacts than this leaving the window at once (the cron stopped for weeks, the window
# shortened by hand): one recount costs less than their contributions read twice.
AGE_OUT_MAX = 50000

# {"on": day counted, "since": first close day counted, "full": day of the last recount}
COUNTED = "crm_plus.suggestion_counted"
# {id(cursor): partner ids} of the contacts a _follow_contacts block follows on that cursor: a
# block within it (a merge writes a type, which moves the funnel) leaves them to the outer one,
# which would otherwise count their change twice. Emptied as each block ends.
_FOLLOWED = {}


class CrmPlusPhaseStat(models.Model):
    """What closed contacts of the same company and account type did after reaching a phase:
    how many were closed, how many won. Kept up to date by every close and reopen (and daily,
    for closes leaving the window), so showing a suggestion reads one row, not the history."""

    _name = "crm.plus.phase.stat"
    _description = "Funnel Phase Win Statistics"
    _order = "company_id, account_type_id, phase_id"
    _rec_name = "phase_id"

    company_id = fields.Many2one("res.company", readonly=True, index=True, ondelete="cascade")
    phase_id = fields.Many2one(
        "crm.plus.lead.phase", required=True, readonly=True, index=True, ondelete="cascade"
    )
    account_type_id = fields.Many2one(
        related="phase_id.account_type_id", store=True, string="Account Type"
    )
    reached_closed = fields.Integer(
        string="Closed", readonly=True, help="Closed contacts whose funnel reached the phase."
    )
    reached_won = fields.Integer(string="Won", readonly=True)
    close_days = fields.Integer(
        string="Days to Close",
        readonly=True,
        help="Median days from entering the phase to a won close, over the won contacts whose "
        "funnel went through it: the open deals' learned expected close date (used from 10 "
        "of them). Recounted nightly.",
    )
    close_days_sample = fields.Integer(
        string="Won Closes Timed",
        readonly=True,
        help="How many won closes the days to close are learned from.",
    )
    suggested_score = fields.Integer(
        compute="_compute_suggested_score",
        store=True,
        help="Observed win rate, (won + 1) / (closed + 2) in %; 0 (none) below 10 closed "
        "contacts.",
    )

    def init(self):
        # One row per company (none included) and phase.
        self.env.cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS crm_plus_phase_stat_company_phase_uniq
               ON crm_plus_phase_stat (COALESCE(company_id, 0), phase_id)"""
        )

    @api.depends("reached_closed", "reached_won")
    def _compute_suggested_score(self):
        for stat in self:
            stat.suggested_score = baseline_score(stat.reached_won, stat.reached_closed) or False

    @api.model
    def _window_days(self):
        # The nightly run reads the contributions as the previous window counted them.
        if self.env.context.get("crm_plus_window_days"):
            return self.env.context["crm_plus_window_days"]
        value = self.env["ir.config_parameter"].sudo().get_param("crm_plus.suggestion_window_days")
        try:
            days = int(value)
        except (TypeError, ValueError):
            return DEFAULT_WINDOW_DAYS
        return days if days > 0 else DEFAULT_WINDOW_DAYS

    @api.model
    def _read_reached(self, aggregates, line_filter, won_only=False, started_only=False):
        """[(company id or None, phase id, *aggregates)]: one grouped read of the history, per
        phase reached by the closes counted (``funnel_rules.counted_closes_sql``: a contact's
        last close per account type, not reopened since) within the window; the phases a
        close reached are its contact's lines of that type up to the one it was closed in
        (``r``, the close ``c``). ``line_filter``: an ``AND ...`` SQL on the lines ``l``."""
        self.env.flush_all()
        since = fields.Date.context_today(self) - timedelta(days=self._window_days())
        self.env.cr.execute(
            SQL(
                """
                WITH last_close AS (%s)
                SELECT c.company_id, r.phase_id, %s
                  FROM last_close AS c
                  JOIN crm_plus_phase_line AS r ON %s %s
                 WHERE c.close_date >= %s %s
                 GROUP BY c.company_id, r.phase_id
                """,
                counted_closes_sql(line_filter),
                aggregates,
                REACHED_BY_CLOSE_SQL,
                SQL("AND r.date_start IS NOT NULL") if started_only else SQL(),
                since,
                SQL("AND c.close_outcome = 'won'") if won_only else SQL(),
            )
        )
        return self.env.cr.fetchall()

    @api.model
    def _line_filter(self, account_type_ids=None, partner_ids=None):
        line_filter = (
            SQL("AND l.account_type_id = ANY(%s)", list(account_type_ids))
            if account_type_ids is not None
            else SQL()
        )
        if partner_ids is not None:
            line_filter = SQL("%s AND l.partner_id = ANY(%s)", line_filter, list(partner_ids))
        return line_filter

    @api.model
    def _read_counts(self, account_type_ids=None, partner_ids=None):
        """{(company id or None, phase id): (closed, won)} (of ``partner_ids`` only when
        given: their contribution to the stats). Each contact counts once per account type:
        by its last close in that type, within the window, unless it was reopened since."""
        rows = self._read_reached(
            SQL("COUNT(*), COUNT(*) FILTER (WHERE c.close_outcome = 'won')"),
            self._line_filter(account_type_ids, partner_ids),
        )
        return {
            (company_id, phase_id): (closed, won) for company_id, phase_id, closed, won in rows
        }

    @api.model
    def _refresh(self, account_type_ids=None):
        """Bring the stats of ``account_type_ids`` (all when None) in line with the history:
        one read, then ORM writes grouped by values, creates for new (company, phase) pairs."""
        counts = self._read_counts(account_type_ids)
        stats = self.sudo().with_context(active_test=False)
        domain = [] if account_type_ids is None else [("account_type_id", "in", account_type_ids)]
        existing = stats.search_fetch(
            domain, ["company_id", "phase_id", "reached_closed", "reached_won"]
        )
        updates, seen = {}, set()
        for stat in existing:
            key = (stat.company_id.id or None, stat.phase_id.id)
            seen.add(key)
            closed, won = counts.get(key, (0, 0))
            if (stat.reached_closed, stat.reached_won) != (closed, won):
                updates[stat.id] = {"reached_closed": closed, "reached_won": won}
        write_grouped(stats, updates)
        new = [
            {
                "company_id": company_id or False,
                "phase_id": phase_id,
                "reached_closed": closed,
                "reached_won": won,
            }
            for (company_id, phase_id), (closed, won) in counts.items()
            if (company_id, phase_id) not in seen
        ]
        if new:
            stats.create(new)
        self._refresh_close_days(account_type_ids)
        today = fields.Date.context_today(self)
        if account_type_ids is None:
            since = today - timedelta(days=self._window_days())
            self._set_counted(today, since, full=today)
        elif (self._get_counted() or {}).get("on") != today:
            # Counted with another window than the other types: the next nightly recounts.
            self._set_counted(None)
        return True

    @api.model
    def _read_close_days(self, account_type_ids=None):
        """{(company id or None, phase id): (median days to a won close, won closes timed)}:
        the closes counted as in ``_read_counts``, won ones only, from the day (UTC) each
        phase started to the close date. A median moves by the whole sample, not by one
        close: its own daily job recounts it (``_cron_learn_close_days``)."""
        rows = self._read_reached(
            SQL(
                "COUNT(*), percentile_cont(0.5) WITHIN GROUP ("
                "ORDER BY c.close_date - r.date_start::date)"
            ),
            self._line_filter(account_type_ids),
            won_only=True,
            started_only=True,
        )
        return {
            (company_id, phase_id): (max(0, round(days)), timed)
            for company_id, phase_id, timed, days in rows
        }

    @api.model
    def _refresh_close_days(self, account_type_ids=None):
        """Bring the learned days to close of ``account_type_ids`` (all when None) in line
        with the history: one read, ORM writes grouped by values, creates for new pairs."""
        learned = self._read_close_days(account_type_ids)
        stats = self.sudo().with_context(active_test=False)
        domain = [] if account_type_ids is None else [("account_type_id", "in", account_type_ids)]
        updates = {}
        for stat in stats.search_fetch(
            domain, ["company_id", "phase_id", "close_days", "close_days_sample"]
        ):
            days, timed = learned.pop((stat.company_id.id or None, stat.phase_id.id), (0, 0))
            if (stat.close_days, stat.close_days_sample) != (days, timed):
                updates[stat.id] = {"close_days": days, "close_days_sample": timed}
        write_grouped(stats, updates)
        if learned:
            stats.create(
                [
                    {
                        "company_id": company_id or False,
                        "phase_id": phase_id,
                        "close_days": days,
                        "close_days_sample": timed,
                    }
                    for (company_id, phase_id), (days, timed) in learned.items()
                ]
            )

    @api.model
    def _learned_close(self, keys):
        """{(company id or None, phase id): {"close_days", "close_days_sample"}} for ``keys``
        with enough won closes timed: one query, whatever the number of contacts asking."""
        phase_ids = list({phase_id for _company, phase_id in keys if phase_id})
        if not phase_ids:
            return {}
        self.sudo().flush_model(["company_id", "phase_id", "close_days", "close_days_sample"])
        self.env.cr.execute(
            SQL(
                """SELECT company_id, phase_id, close_days, close_days_sample
                     FROM crm_plus_phase_stat
                    WHERE phase_id = ANY(%s) AND close_days_sample >= %s""",
                phase_ids,
                MIN_CLOSED,
            )
        )
        return {
            (row["company_id"], row["phase_id"]): row
            for row in self.env.cr.dictfetchall()
            if (row["company_id"], row["phase_id"]) in keys
        }

    @api.model
    def _get_counted(self):
        value = self.env["ir.config_parameter"].sudo().get_param(COUNTED)
        try:
            counted = json.loads(value) if value else None
            return {key: fields.Date.to_date(counted[key]) for key in ("on", "since", "full")}
        except (TypeError, ValueError, KeyError):
            return None

    @api.model
    def _set_counted(self, on, since=None, full=None):
        value = (
            json.dumps({"on": str(on), "since": str(since), "full": str(full)}) if on else False
        )
        self.env["ir.config_parameter"].sudo().set_param(COUNTED, value)

    @contextmanager
    def _follow_contacts(self, partner_ids):
        """Keep the stats in step with what the block does to ``partner_ids``: their contribution
        is counted before and after it, and the stats move by the difference, as Odoo CRM's
        ``crm.lead.scoring.frequency`` moves by one lead. A close or a reopen thus costs that
        contact's lines, never a recount of its type's whole history; the daily ``_refresh``
        stays the safety net (closes leaving the window, SQL edits). A block within another
        follows only the contacts the outer one does not."""
        followed = _FOLLOWED.setdefault(id(self.env.cr), set())
        partner_ids = [pid for pid in dict.fromkeys(partner_ids) if pid not in followed]
        followed.update(partner_ids)
        try:
            before = self._read_counts(partner_ids=partner_ids) if partner_ids else {}
            yield
            if partner_ids:
                self._add_counts(before, self._read_counts(partner_ids=partner_ids))
        finally:
            followed.difference_update(partner_ids)
            if not followed:
                _FOLLOWED.pop(id(self.env.cr), None)

    @api.model
    def _with_closes(self, partner_ids):
        """The contacts of ``partner_ids`` that have a close on a line (the only ones the stats
        count): what a deletion of lines must follow, one read."""
        if not partner_ids:
            return []
        self.env["crm.plus.phase.line"].flush_model(["partner_id", "close_outcome"])
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT partner_id FROM crm_plus_phase_line
                    WHERE partner_id = ANY(%s) AND close_outcome IS NOT NULL""",
                list(partner_ids),
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _add_counts(self, before, after):
        """Move the stats by ``after`` − ``before`` ({(company id or None, phase id): (closed,
        won)}): one write per stat row that changes, creates for new (company, phase) pairs."""
        delta = {}
        for key in before.keys() | after.keys():
            closed_before, won_before = before.get(key, (0, 0))
            closed_after, won_after = after.get(key, (0, 0))
            change = (closed_after - closed_before, won_after - won_before)
            if change != (0, 0):
                delta[key] = change
        if not delta:
            return
        stats = self.sudo().with_context(active_test=False)
        existing = stats.search_fetch(
            [("phase_id", "in", list({phase_id for _company, phase_id in delta}))],
            ["company_id", "phase_id", "reached_closed", "reached_won"],
        )
        updates = {}
        for stat in existing:
            key = (stat.company_id.id or None, stat.phase_id.id)
            if key in delta:
                closed, won = delta.pop(key)
                updates[stat.id] = {
                    "reached_closed": max(0, stat.reached_closed + closed),
                    "reached_won": max(0, stat.reached_won + won),
                }
        write_grouped(stats, updates)
        if delta:
            stats.create(
                [
                    {
                        "company_id": company_id or False,
                        "phase_id": phase_id,
                        "reached_closed": max(0, closed),
                        "reached_won": max(0, won),
                    }
                    for (company_id, phase_id), (closed, won) in delta.items()
                ]
            )

    @api.model
    def _cron_refresh(self):
        # Users' closes write the same rows: the nightly run gives way to them (giving_way).
        return giving_way(self.env, "crm_plus.crm_plus_phase_stat_cron_refresh", self._age_out)

    @api.model
    def _age_out(self):
        """Daily: closes that left the window stop counting (until then, up to a day late).

        The stats move by the contributions of the contacts whose close left the window since
        the last count, read as that window counted them and as today's does: what a close
        costs, times the closes of a day. The whole history is recounted instead weekly, on
        the first run or a second run the same day (run by hand: what was edited outside the
        funnel's actions counts at once), and when the window grew or jumped too far."""
        today = fields.Date.context_today(self)
        since = today - timedelta(days=self._window_days())
        counted = self._get_counted()
        if (
            not counted
            or counted["on"] >= today
            or counted["full"] <= today - timedelta(days=FULL_RECOUNT_DAYS)
            or since < counted["since"]
        ):
            return self._refresh()
        if since > counted["since"]:
            self.env.flush_all()
            self.env.cr.execute(
                """
                SELECT DISTINCT partner_id
                  FROM crm_plus_phase_line
                 WHERE close_outcome IS NOT NULL AND close_date >= %s AND close_date < %s
                """,
                (counted["since"], since),
            )
            partner_ids = [row[0] for row in self.env.cr.fetchall()]
            if len(partner_ids) > AGE_OUT_MAX:
                return self._refresh()
            before_window = self.with_context(crm_plus_window_days=(today - counted["since"]).days)
            for batch in split_every(5000, partner_ids, list):
                self._add_counts(
                    before_window._read_counts(partner_ids=batch),
                    self._read_counts(partner_ids=batch),
                )
        self._set_counted(today, since, full=counted["full"])
        return True

    @api.model
    def _cron_learn_close_days(self):
        """Daily: the learned days to close recounted from the history. A median moves by the
        whole sample, so unlike the counts above no close can keep it: each run reads every
        counted won close again (1.9–4.4 s at a million contacts, doc/benchmarks-scale.md).
        Its own scheduled action, an hour after the suggested scores' (data/crm_plus_cron.xml):
        inside their nightly run it made that run, a few dozen ms otherwise, cost seconds. It
        gives way to users' closes, which write the same rows (giving_way)."""
        return giving_way(
            self.env,
            "crm_plus.crm_plus_phase_stat_cron_close_days",
            lambda: self._refresh_close_days() or True,
        )

    @api.model
    def _suggestions(self, keys):
        """{(company id or None, phase id): stat row} for ``keys``: one query, whatever the
        number of contacts asking."""
        keys = {key for key in keys if key[1]}
        if not keys:
            return {}
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT company_id, phase_id, suggested_score, reached_closed, reached_won
                  FROM crm_plus_phase_stat
                 WHERE phase_id = ANY(%s) AND suggested_score > 0
                """,
                list({phase_id for _company, phase_id in keys}),
            )
        )
        return {
            (row["company_id"], row["phase_id"]): row
            for row in self.env.cr.dictfetchall()
            if (row["company_id"], row["phase_id"]) in keys
        }

    @api.model
    def _contacts_domain(self, operator, value):
        """The open contacts whose suggested score compares with ``value`` (the contact's
        Suggested Score filter): a domain on their company and phase, from the stat rows."""
        comparisons = {
            "=": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }
        # 0 is how an Integer field holds "none": the scores themselves run from 1 to 100.
        if (value is False or value is None or value == 0) and operator in ("=", "!="):
            with_score = self._contacts_with(bool)
            return with_score if operator == "!=" else ["!", *with_score]
        if operator in ("in", "not in") and isinstance(value, (list, tuple)):
            wanted = set(value)
            domain = self._contacts_with(lambda score: score in wanted)
            return domain if operator == "in" else ["!", *domain]
        if operator not in comparisons or isinstance(value, bool) or not isinstance(value, int):
            raise UserError(
                self.env._(
                    "The suggested score is compared with a whole number (=, !=, <, <=, >, >=)."
                )
            )
        compare = comparisons[operator]
        return self._contacts_with(lambda score: compare(score, value))

    @api.model
    def _contacts_with(self, predicate):
        """The open contacts of the (company, phase) pairs whose suggestion satisfies
        ``predicate``."""
        self.sudo().flush_model()
        self.env.cr.execute(
            "SELECT company_id, phase_id, suggested_score FROM crm_plus_phase_stat "
            "WHERE suggested_score > 0"
        )
        keys = defaultdict(list)
        for company_id, phase_id, score in self.env.cr.fetchall():
            if predicate(score):
                keys[company_id].append(phase_id)
        return domain_and(
            [
                [("funnel_state", "=", "open")],
                domain_or(
                    [
                        [("company_id", "=", company_id or False), ("lead_phase_id", "in", ids)]
                        for company_id, ids in keys.items()
                    ]
                    or [FALSE_DOMAIN]
                ),
            ]
        )
