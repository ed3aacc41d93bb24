from collections import defaultdict
from datetime import datetime, time, timedelta

import pytz
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.tools import SQL, sql
from odoo.tools.mail import generate_tracking_message_id

from ..compat import (
    FALSE_DOMAIN,
    MESSAGE_CREATE_DEFAULTS,
    PREFETCH_MAX,
    check_field_read_access,
    domain_and,
    domain_or,
    groupby_args,
    message_compute_author,
)
from . import funnel_sql
from .funnel_guard import FUNNEL_OP, BatchDefaults, FunnelRowError, check_vals, is_funnel_op

FUNNEL_GROUP = "crm_plus.group_crm_plus_user"
# Fields of res.partner this module adds: checked for type before the ORM sees them.
FUNNEL_FIELDS = {
    "account_type_id",
    "lead_phase_id",
    "funnel_state",
    "close_reason_id",
    "close_date",
    "expected_close_date",
}
# The columns that bring a contact's funnel history in (Contacts → Import): read by create, never
# stored as such. The phase start is the stored figure itself; the close columns only exist for
# the import, since a contact's own close fields are set by Close and Reopen.
HISTORY_FIELDS = (
    "funnel_phase_date_start",
    "funnel_import_close_outcome",
    "funnel_import_close_reason_id",
    "funnel_import_close_date",
)
MANAGER_GROUP = "crm_plus.group_crm_plus_manager"
# Score bands of the pipeline board's progress bar.
HOT_SCORE = 70
WARM_SCORE = 40


class _FunnelRetryRows(Exception):
    """Not a UserError: load() retries the batch row by row without reporting it."""


def _frozen(vals):
    return tuple(sorted(vals.items()))


def write_grouped(records, updates):
    """``updates``: {record id: {field: value}}. One ``write`` per distinct set of values, so a
    batch costs a handful of ORM calls while every override, tracking and recompute runs."""
    by_values = defaultdict(list)
    for record_id, vals in updates.items():
        by_values[_frozen(vals)].append(record_id)
    for frozen, ids in by_values.items():
        records.browse(ids).write(dict(frozen))


class ResPartner(models.Model):
    _inherit = "res.partner"

    account_type_id = fields.Many2one(
        "crm.plus.account.type",
        string="Account Type",
        tracking=True,
        index=True,
        ondelete="restrict",
        default=lambda self: self._default_account_type_id(),
        group_expand="_read_group_expand_account_type",
        groups=FUNNEL_GROUP,
    )
    has_lead_phases = fields.Boolean(
        related="account_type_id.has_phases", string="Has Lead Phases", groups=FUNNEL_GROUP
    )
    phase_line_ids = fields.One2many(
        "crm.plus.phase.line",
        "partner_id",
        string="Funnel Lines (all)",
        groups=FUNNEL_GROUP,
        help="Every funnel line of the partner, those of earlier account types included.",
    )
    funnel_line_ids = fields.One2many(
        "crm.plus.phase.line",
        "partner_id",
        string="Funnel",
        domain=[("is_active_funnel", "=", True)],
        groups=FUNNEL_GROUP,
    )
    funnel_history_line_ids = fields.One2many(
        "crm.plus.phase.line",
        "partner_id",
        string="Funnel History",
        domain=[("is_active_funnel", "=", False)],
        readonly=True,
        groups=FUNNEL_GROUP,
    )
    lead_phase_id = fields.Many2one(
        "crm.plus.lead.phase",
        string="Lead Phase",
        tracking=True,
        index=True,
        copy=False,
        ondelete="restrict",
        domain="[('account_type_id', '=', account_type_id)]",
        group_expand="_read_group_expand_lead_phase",
        groups=FUNNEL_GROUP,
    )
    lead_phase_type = fields.Selection(
        related="lead_phase_id.phase_type", string="Lead Phase Type", groups=FUNNEL_GROUP
    )
    funnel_state = fields.Selection(
        [("open", "Open"), ("won", "Won"), ("lost", "Lost")],
        tracking=True,
        index=True,
        copy=False,
        readonly=True,
        groups=FUNNEL_GROUP,
        help="Empty for a partner that never entered a funnel.",
    )
    close_reason_id = fields.Many2one(
        "crm.plus.close.reason",
        string="Close Reason",
        tracking=True,
        copy=False,
        readonly=True,
        ondelete="restrict",
        groups=FUNNEL_GROUP,
    )
    close_date = fields.Date(copy=False, readonly=True, groups=FUNNEL_GROUP)
    expected_close_date = fields.Date(
        string="Expected Closing", copy=False, groups=FUNNEL_GROUP, tracking=True
    )
    funnel_currency_id = fields.Many2one(
        "res.currency", compute="_compute_funnel_currency_id", groups=FUNNEL_GROUP
    )
    funnel_score = fields.Integer(
        string="Score", compute="_compute_funnel_figures", store=True, groups=FUNNEL_GROUP
    )
    funnel_forecast_value = fields.Monetary(
        string="Forecast",
        compute="_compute_funnel_figures",
        store=True,
        currency_field="funnel_currency_id",
        groups=FUNNEL_GROUP,
    )
    funnel_recurring_value = fields.Monetary(
        string="Recurring (monthly)",
        compute="_compute_funnel_figures",
        store=True,
        currency_field="funnel_currency_id",
        groups=FUNNEL_GROUP,
        help="Monthly equivalent of the current phase's recurring value.",
    )
    funnel_weighted_value = fields.Monetary(
        string="Weighted Forecast",
        compute="_compute_funnel_figures",
        store=True,
        currency_field="funnel_currency_id",
        groups=FUNNEL_GROUP,
        help="Forecast × score / 100.",
    )
    funnel_phase_date_start = fields.Datetime(
        string="In Phase Since",
        compute="_compute_funnel_figures",
        store=True,
        # Writable for the importer (and a manager's correction): create and write hand the
        # value to the current phase line, from which it is computed.
        readonly=False,
        groups=FUNNEL_GROUP,
    )
    funnel_import_close_outcome = fields.Selection(
        [("won", "Won"), ("lost", "Lost")],
        string="Close Outcome",
        compute="_compute_funnel_import_close",
        readonly=False,
        groups=FUNNEL_GROUP,
        help="Import only: a deal already closed, won or lost, in its lead phase.",
    )
    funnel_import_close_reason_id = fields.Many2one(
        "crm.plus.close.reason",
        string="Close Reason (import)",
        compute="_compute_funnel_import_close",
        readonly=False,
        groups=FUNNEL_GROUP,
        help="Import only: the reason of a deal already closed.",
    )
    funnel_import_close_date = fields.Date(
        string="Close Date (import)",
        compute="_compute_funnel_import_close",
        readonly=False,
        groups=FUNNEL_GROUP,
        help="Import only: when a deal already closed was closed (today when empty).",
    )
    funnel_stale_deadline = fields.Datetime(
        string="Stale From",
        compute="_compute_funnel_stale_deadline",
        store=True,
        groups=FUNNEL_GROUP,
        help="When an open partner that has not moved on becomes stale: the start of its phase "
        "plus the phase's 'stale after' days.",
    )
    funnel_is_stale = fields.Boolean(
        string="Stale",
        compute="_compute_funnel_is_stale",
        search="_search_funnel_is_stale",
        groups=FUNNEL_GROUP,
        help="The partner sits in its current phase longer than the phase allows.",
    )

    funnel_health = fields.Selection(
        [("stale", "Stale"), ("hot", "Hot"), ("warm", "Warm"), ("cold", "Cold")],
        string="Health",
        compute="_compute_funnel_health",
        search="_search_funnel_health",
        groups=FUNNEL_GROUP,
        help="Stale when the partner sits too long in its phase, else its score band: "
        "hot from 70, warm from 40, cold below.",
    )

    funnel_suggested_score = fields.Integer(
        string="Suggested Score",
        compute="_compute_funnel_suggested_score",
        search="_search_funnel_suggested_score",
        groups=FUNNEL_GROUP,
        help="Win rate of the closed contacts of the same company and account type whose "
        "funnel reached the contact's phase, (won + 1) / (closed + 2) in %; empty below 10 "
        "of them, and for contacts not open.",
    )
    funnel_suggested_sample = fields.Integer(
        string="Suggestion Sample",
        compute="_compute_funnel_suggested_score",
        groups=FUNNEL_GROUP,
        help="How many closed contacts the suggested score is learned from.",
    )
    funnel_suggestion_label = fields.Char(
        string="Suggested",
        compute="_compute_funnel_suggested_score",
        groups=FUNNEL_GROUP,
    )
    # What the Overview page shows. A won close may switch the contact to a type without phases
    # (Lead -> Customer): the funnel it was closed in stays in view, with its reason and Reopen.
    funnel_shown_type_id = fields.Many2one(
        "crm.plus.account.type",
        string="Funnel Type",
        compute="_compute_funnel_shown",
        groups=FUNNEL_GROUP,
    )
    has_funnel_to_show = fields.Boolean(
        string="Has a Funnel to Show", compute="_compute_funnel_shown", groups=FUNNEL_GROUP
    )
    funnel_closed_line_ids = fields.Many2many(
        "crm.plus.phase.line",
        string="Closed Funnel",
        compute="_compute_funnel_shown",
        groups=FUNNEL_GROUP,
    )
    funnel_earlier_line_ids = fields.Many2many(
        "crm.plus.phase.line",
        string="Earlier funnels",
        compute="_compute_funnel_shown",
        groups=FUNNEL_GROUP,
    )

    # ------------------------------------------------------------------ computes

    def _compute_funnel_currency_id(self):
        fallback = self.env.company.currency_id
        for partner in self:
            partner.funnel_currency_id = partner.company_id.currency_id or fallback

    @api.depends(
        "lead_phase_id",
        "phase_line_ids.phase_id",
        "phase_line_ids.score",
        "phase_line_ids.forecast_value",
        "phase_line_ids.recurring_value_monthly",
        "phase_line_ids.date_start",
    )
    def _compute_funnel_figures(self):
        lines = self.phase_line_ids
        lines.fetch(
            [
                "partner_id",
                "phase_id",
                "score",
                "forecast_value",
                "recurring_value_monthly",
                "date_start",
            ]
        )
        line_by_phase = {(line.partner_id.id, line.phase_id.id): line for line in lines}
        no_line = self.env["crm.plus.phase.line"]
        for partner in self:
            line = line_by_phase.get((partner.id, partner.lead_phase_id.id), no_line)
            partner.funnel_score = line.score
            partner.funnel_forecast_value = line.forecast_value
            partner.funnel_recurring_value = line.recurring_value_monthly
            partner.funnel_weighted_value = line.forecast_value * line.score / 100.0
            partner.funnel_phase_date_start = line.date_start

    @api.depends(
        "account_type_id.has_phases",
        "funnel_state",
        "phase_line_ids.account_type_id",
        "phase_line_ids.close_outcome",
        "phase_line_ids.close_date",
    )
    def _compute_funnel_shown(self):
        """The contact's own funnel when its type has phases; else, for a won or lost contact,
        the funnel of its last close (the one Reopen goes back to); else none."""
        no_type = self.env["crm.plus.account.type"]
        for partner in self:
            lines = partner.phase_line_ids
            closed_lines = lines.browse()
            if partner.account_type_id.has_phases:
                shown_type = partner.account_type_id
            elif partner.funnel_state in ("won", "lost"):
                closes = lines.filtered("close_outcome").sorted(
                    lambda line: (
                        line.close_date,
                        line.date_done or datetime.min,
                        line.id if isinstance(line.id, int) else 0,
                    )
                )
                shown_type = closes[-1:].account_type_id or no_type
                closed_lines = lines.filtered(
                    lambda line, shown=shown_type: shown and line.account_type_id == shown
                )
            else:
                shown_type = no_type
            partner.funnel_shown_type_id = shown_type
            partner.has_funnel_to_show = bool(shown_type)
            partner.funnel_closed_line_ids = closed_lines
            partner.funnel_earlier_line_ids = (
                lines.filtered(
                    lambda line, own=partner.account_type_id: line.account_type_id != own
                )
                - closed_lines
            )

    @api.depends("funnel_state", "lead_phase_id", "company_id")
    def _compute_funnel_suggested_score(self):
        # One read of the stats (crm.plus.phase.stat) for the whole recordset.
        keys = {
            partner.id: (partner.company_id.id or None, partner.lead_phase_id.id)
            for partner in self
            if partner.funnel_state == "open" and partner.lead_phase_id
        }
        suggestions = self.env["crm.plus.phase.stat"]._suggestions(set(keys.values()))
        # Translated once: formatted per contact below.
        label = self.env._("%(score)s %% of %(closed)s closed")
        for partner in self:
            row = suggestions.get(keys.get(partner.id))
            partner.funnel_suggested_score = row["suggested_score"] if row else False
            partner.funnel_suggested_sample = row["reached_closed"] if row else False
            partner.funnel_suggestion_label = (
                label % {"score": row["suggested_score"], "closed": row["reached_closed"]}
                if row
                else False
            )

    @api.model
    def _funnel_suggestion_keys(self, predicate):
        """{company id or None: [phase ids]} whose suggestion satisfies ``predicate``."""
        stats = self.env["crm.plus.phase.stat"].sudo()
        stats.flush_model()
        self.env.cr.execute(
            "SELECT company_id, phase_id, suggested_score FROM crm_plus_phase_stat "
            "WHERE suggested_score > 0"
        )
        keys = defaultdict(list)
        for company_id, phase_id, score in self.env.cr.fetchall():
            if predicate(score):
                keys[company_id].append(phase_id)
        return keys

    @api.model
    def _funnel_suggestion_domain(self, keys):
        """The open contacts whose (company, phase) is in ``keys``."""
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

    def _search_funnel_suggested_score(self, operator, value):
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
            with_score = self._funnel_suggestion_domain(self._funnel_suggestion_keys(bool))
            return with_score if operator == "!=" else ["!", *with_score]
        if operator in ("in", "not in") and isinstance(value, (list, tuple)):
            wanted = set(value)
            keys = self._funnel_suggestion_keys(lambda score: score in wanted)
            domain = self._funnel_suggestion_domain(keys)
            return domain if operator == "in" else ["!", *domain]
        if operator not in comparisons or isinstance(value, bool) or not isinstance(value, int):
            raise UserError(
                self.env._(
                    "The suggested score is compared with a whole number (=, !=, <, <=, >, >=)."
                )
            )
        compare = comparisons[operator]
        keys = self._funnel_suggestion_keys(lambda score: compare(score, value))
        return self._funnel_suggestion_domain(keys)

    def _compute_funnel_import_close(self):
        # Columns of an import, handed to the funnel by create: nothing to show afterwards.
        self.funnel_import_close_outcome = False
        self.funnel_import_close_reason_id = False
        self.funnel_import_close_date = False

    @api.depends("funnel_state", "funnel_phase_date_start", "lead_phase_id.stale_after_days")
    def _compute_funnel_stale_deadline(self):
        for partner in self:
            days = partner.lead_phase_id.stale_after_days
            start = partner.funnel_phase_date_start
            partner.funnel_stale_deadline = (
                start + timedelta(days=days)
                if partner.funnel_state == "open" and days and start
                else False
            )

    # The stale rule and the health bands are written once, as domains: the computes evaluate
    # them in Python (filtered_domain), the searches return them, the board's progress bar
    # turns them into SQL.

    @api.model
    def _funnel_stale_cutoff(self):
        """Midnight today in the user's timezone, in UTC: a partner is stale once its deadline
        falls on a day before today (whole days, as the user counts them)."""
        tz = pytz.timezone(self.env.context.get("tz") or self.env.user.tz or "UTC")
        today = fields.Date.context_today(self)
        midnight = tz.localize(datetime.combine(today, time.min))
        return midnight.astimezone(pytz.utc).replace(tzinfo=None)

    @api.model
    def _funnel_stale_domains(self):
        """(stale, not stale)"""
        cutoff = self._funnel_stale_cutoff()
        return (
            [("funnel_stale_deadline", "<", cutoff)],
            ["|", ("funnel_stale_deadline", "=", None), ("funnel_stale_deadline", ">=", cutoff)],
        )

    @api.model
    def _funnel_health_bands(self):
        """[(band, domain)]: stale when the partner sits too long in its phase, else its score
        band. The domains exclude each other."""
        stale, fresh = self._funnel_stale_domains()
        return [
            ("stale", stale),
            ("hot", domain_and([fresh, [("funnel_score", ">=", HOT_SCORE)]])),
            (
                "warm",
                domain_and(
                    [
                        fresh,
                        [("funnel_score", ">=", WARM_SCORE), ("funnel_score", "<", HOT_SCORE)],
                    ]
                ),
            ),
            ("cold", domain_and([fresh, [("funnel_score", "<", WARM_SCORE)]])),
        ]

    @api.depends("funnel_stale_deadline")
    @api.depends_context("tz")
    def _compute_funnel_is_stale(self):
        stale = self.filtered_domain(self._funnel_stale_domains()[0])
        for partner in self:
            partner.funnel_is_stale = partner in stale

    def _search_funnel_is_stale(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("The Stale filter only supports = True / = False."))
        stale, fresh = self._funnel_stale_domains()
        return stale if (operator == "=") == value else fresh

    @api.depends("funnel_stale_deadline", "funnel_score")
    @api.depends_context("tz")
    def _compute_funnel_health(self):
        remaining = self
        for band, domain in self._funnel_health_bands():
            matching = remaining.filtered_domain(domain)
            for partner in matching:
                partner.funnel_health = band
            remaining -= matching
        for partner in remaining:
            partner.funnel_health = False

    def _search_funnel_health(self, operator, value):
        if operator not in ("=", "in") or not value:
            raise UserError(self.env._("The Health filter only supports = and in."))
        values = [value] if isinstance(value, str) else list(value)
        return domain_or(
            [domain for band, domain in self._funnel_health_bands() if band in values]
            or [FALSE_DOMAIN]
        )

    def init(self):
        res = super().init()
        # The pipeline board and the forecast read open funnel contacts of one type by phase:
        # a small index next to res_partner's many columns and its closed or non-funnel rows.
        sql.create_index(
            self.env.cr,
            "res_partner_crm_plus_open_funnel_index",
            self._table,
            ["account_type_id", "lead_phase_id"],
            where="funnel_state = 'open'",
        )
        return res

    def _read_group_groupby(self, *args):
        alias, groupby_spec, query = groupby_args(self, args)
        if groupby_spec == "funnel_suggested_score":
            # The contacts list groups by suggestion: the stat row of each open contact's phase.
            check_field_read_access(self, "funnel_suggested_score")
            self.flush_model(["funnel_state", "lead_phase_id", "company_id"])
            self.env["crm.plus.phase.stat"].flush_model()
            return SQL(
                """(SELECT NULLIF(s.suggested_score, 0) FROM crm_plus_phase_stat AS s
                     WHERE s.phase_id = %s AND s.company_id IS NOT DISTINCT FROM %s
                       AND %s = 'open')""",
                self._field_to_sql(alias, "lead_phase_id", query),
                self._field_to_sql(alias, "company_id", query),
                self._field_to_sql(alias, "funnel_state", query),
            )
        # The board's progress bar groups by health: the bands' own domains, as SQL.
        if groupby_spec != "funnel_health":
            return super()._read_group_groupby(*args)
        check_field_read_access(self, "funnel_health")
        self.flush_model(["funnel_stale_deadline", "funnel_score"])
        # sudo: the grouped query applies the record rules already; the bands add conditions.
        model = self.sudo().with_context(active_test=False)
        return SQL(
            "CASE %s END",
            SQL(" ").join(
                SQL("WHEN %s THEN %s", model._search(domain).where_clause, band)
                for band, domain in self._funnel_health_bands()
            ),
        )

    @api.model
    def _read_group_expand_lead_phase(self, phases, domain):
        """Every phase of the account type(s) the board is filtered on is a column. The
        columns of each type stay together, in its order (the phases' own order is by sequence
        only, which would interleave the types)."""
        type_ids = self._funnel_type_ids_from_domain(domain)
        if type_ids:
            phases |= phases.search([("account_type_id", "in", type_ids)])
        return phases.sorted(
            lambda phase: (
                phase.account_type_id.sequence,
                phase.account_type_id.id,
                phase.sequence,
                phase.id,
            )
        )

    @api.model
    def _read_group_expand_account_type(self, account_types, domain):
        return account_types | account_types.search([])

    @api.model
    def _funnel_type_ids_from_domain(self, domain):
        type_ids = set()
        context_type = self.env.context.get("default_account_type_id")
        if context_type:
            type_ids.add(context_type)
        for leaf in domain or []:
            if isinstance(leaf, (list, tuple)) and len(leaf) == 3 and leaf[0] == "account_type_id":
                if leaf[1] == "=" and isinstance(leaf[2], int):
                    type_ids.add(leaf[2])
                elif leaf[1] == "in" and isinstance(leaf[2], (list, tuple)):
                    type_ids.update(v for v in leaf[2] if isinstance(v, int))
        return list(type_ids)

    # ------------------------------------------------------------------ ORM

    @api.model
    def _default_account_type_id(self):
        # Only the web client's form asks (see onchange): imports and RPC creates that pass
        # no type stay without one.
        if not self.env.context.get("crm_plus_web_client_default"):
            return False
        if not self.env.user.has_group(FUNNEL_GROUP):
            return False
        return self.env["crm.plus.account.type"].search([("is_default", "=", True)], limit=1)

    def onchange(self, values, field_names, fields_spec):
        if not field_names and not self:
            # The form of a new record asks for its defaults: the default type applies.
            web_form = self.with_context(crm_plus_web_client_default=True)
            return super(ResPartner, web_form).onchange(values, field_names, fields_spec)
        return super().onchange(values, field_names, fields_spec)

    @api.model_create_multi
    def create(self, vals_list):
        phase_requests, histories = [], []
        if not is_funnel_op(self.env):
            rows = self._funnel_import_rows(vals_list)
            for vals in vals_list:
                check_vals(self, vals, only=FUNNEL_FIELDS.union(HISTORY_FIELDS))
                if {"funnel_state", "close_reason_id", "close_date"}.intersection(vals):
                    raise UserError(
                        self.env._(
                            "The funnel state, close reason and close date are set by Close "
                            "and Reopen, not written directly."
                        )
                    )
            self._funnel_check_field_access(vals_list)
            vals_list = [dict(vals) for vals in vals_list]
            histories = self._funnel_history_plans(vals_list, rows)
            phase_requests = [
                False if history else vals.pop("lead_phase_id", False)
                for vals, history in zip(vals_list, histories, strict=True)
            ]
            self._funnel_enter_at_create(
                [vals for vals, history in zip(vals_list, histories, strict=True) if not history]
            )
        partners = super().create(vals_list)
        if any(histories):
            # Closes brought in by an import count in the suggested scores like any other.
            with self.env["crm.plus.phase.stat"]._follow_contacts(
                [p.id for p, history in zip(partners, histories, strict=True) if history]
            ):
                self._funnel_create_history(partners, histories)
                self._funnel_history_won_switch(partners, histories)
        in_funnel = self.browse(
            [
                partner.id
                for partner, history in zip(
                    partners.sudo(), histories or [None] * len(partners), strict=True
                )
                if partner.account_type_id and not history
            ]
        )
        if in_funnel:
            in_funnel._funnel_sync_account_type()
        # A lead phase given at creation: the funnel starts there (same rules as a drag).
        by_phase = defaultdict(list)
        for partner, phase_id in zip(partners, phase_requests, strict=False):
            if phase_id:
                by_phase[phase_id].append(partner.id)
        for phase_id, partner_ids in by_phase.items():
            self.browse(partner_ids)._funnel_move_to_phase(
                self.env["crm.plus.lead.phase"].browse(phase_id)
            )
        return partners

    @api.model
    def _funnel_enter_at_create(self, vals_list):
        """A contact created with a type that has phases is created in its first phase, open:
        one event for Automation Rules and computed fields, not a create then a write. The sync
        after the create gives it its lines."""
        type_ids = {vals["account_type_id"] for vals in vals_list if vals.get("account_type_id")}
        if not type_ids:
            return
        first_phase = {
            account_type.id: account_type.phase_ids.filtered("active").sorted(
                lambda p: (p.sequence, p.id)
            )[:1]
            for account_type in self.env["crm.plus.account.type"].sudo().browse(type_ids).exists()
        }
        for vals in vals_list:
            phase = first_phase.get(vals.get("account_type_id"))
            if phase:
                vals.update(lead_phase_id=phase.id, funnel_state="open")

    # ------------------------------------------------------------------ import with history

    @api.model
    def get_import_templates(self):
        templates = super().get_import_templates()
        if self.env.user.has_group(FUNNEL_GROUP):
            templates.append(
                {
                    "label": self.env._("Import Template for a Pipeline (CRM+)"),
                    "template": "/crm_plus/static/xls/crm_plus_pipeline_import.csv",
                }
            )
        return templates

    def _load_records(self, data_list, *args, **kwargs):
        # load() reports an error by the rows of the record that raised it, and an error of a
        # batch create by the batch's first row: the funnel's refusals name their own row.
        rows = {
            id(data["values"]): data["info"]["rows"]["from"] + 1
            for data in data_list
            if data.get("info") and data.get("values") is not None
        }
        try:
            # The other arguments pass through (18.0 has ignore_duplicates, 19.0 has not).
            return super(ResPartner, self.with_context(crm_plus_import_rows=rows))._load_records(
                data_list, *args, **kwargs
            )
        except FunnelRowError as error:
            if len(data_list) < 2 or not rows:
                raise
            # load() retries a failed batch row by row and reports each row's own refusal; a
            # UserError of the batch would also be reported once more, on the batch's first
            # row, which may be a good one.
            raise _FunnelRetryRows from error

    @api.model
    def _funnel_import_rows(self, vals_list):
        """The file's row of each values dict of an import (None outside load())."""
        rows = self.env.context.get("crm_plus_import_rows")
        if not isinstance(rows, dict):
            return [None] * len(vals_list)
        return [rows.get(id(vals)) for vals in vals_list]

    @api.model
    def _funnel_day_start(self, day):
        """Midnight of ``day`` in the user's timezone, in UTC."""
        tz = pytz.timezone(self.env.context.get("tz") or self.env.user.tz or "UTC")
        return (
            tz.localize(datetime.combine(day, time.min)).astimezone(pytz.utc).replace(tzinfo=None)
        )

    @api.model
    def _funnel_history_plans(self, vals_list, rows):
        """Contacts created with their funnel history (the import's In Phase Since and close
        columns): check each row, and decide its funnel where it stands: ``vals`` get the phase
        and outcome, the result lists the lines to create, in phase order. [plan or None] in
        the order of ``vals_list``; every row is checked before anything is written."""
        wanted = [any(vals.get(fname) for fname in HISTORY_FIELDS) for vals in vals_list]
        for vals, want in zip(vals_list, wanted, strict=True):
            # Empty columns of an import: nothing to bring in.
            for fname in HISTORY_FIELDS:
                if not want or not vals.get(fname):
                    vals.pop(fname, None)
        # An import row without history that names its phase: refused by its row number too.
        checked = [
            want or bool(row and vals.get("lead_phase_id"))
            for vals, want, row in zip(vals_list, wanted, rows, strict=True)
        ]
        if not any(checked):
            return [None] * len(vals_list)
        Type = self.env["crm.plus.account.type"].sudo()
        types = Type.browse(
            {vals["account_type_id"] for vals in vals_list if vals.get("account_type_id")}
        ).exists()
        phases_of = {
            account_type.id: account_type.phase_ids.filtered("active").sorted(
                lambda p: (p.sequence, p.id)
            )
            for account_type in types
        }
        # What exists, once for the batch: a row's check then costs no query.
        Phase = self.env["crm.plus.lead.phase"].sudo()
        existing_phases = Phase.browse(
            {vals["lead_phase_id"] for vals in vals_list if vals.get("lead_phase_id")}
        ).exists()
        existing_reasons = (
            self.env["crm.plus.close.reason"]
            .sudo()
            .browse(
                {
                    vals["funnel_import_close_reason_id"]
                    for vals in vals_list
                    if vals.get("funnel_import_close_reason_id")
                }
            )
            .exists()
        )
        now = fields.Datetime.now()
        today = fields.Date.context_today(self)
        uid = self.env.uid
        plans = []
        for vals, want, check, row in zip(vals_list, wanted, checked, rows, strict=True):
            if not check:
                plans.append(None)
                continue

            def refuse(message, row=row, vals=vals):
                name = vals.get("name") or self.env._("a contact without name")
                if row:
                    message = self.env._(
                        "Row %(row)s (%(partner)s): %(error)s",
                        row=row,
                        partner=name,
                        error=message,
                    )
                else:
                    message = self.env._("%(partner)s: %(error)s", partner=name, error=message)
                raise FunnelRowError(message)

            type_id = vals.get("account_type_id")
            phases = phases_of.get(type_id)
            if not want:
                # Read through the batch's recordset: one query for every row's phase.
                phase = next((p for p in existing_phases if p.id == vals["lead_phase_id"]), Phase)
                if phase.active and phase not in (phases or Phase):
                    refuse(
                        self.env._(
                            "the lead phase %(phase)s belongs to %(phase_type)s, not to %(type)s.",
                            phase=phase.name,
                            phase_type=phase.account_type_id.name,
                            type=Type.browse(type_id).name or self.env._("none"),
                        )
                    )
                # The rest (a phase gone or archived) as for any create: see create().
                plans.append(None)
                continue
            if not phases:
                if not type_id:
                    refuse(
                        self.env._("In Phase Since and the close columns need an account type.")
                    )
                refuse(
                    self.env._(
                        "the account type %s has no lead phases, so there is no phase to be in "
                        "or to close.",
                        Type.browse(type_id).name,
                    )
                )
            phase = Phase.browse(vals.get("lead_phase_id") or phases[0].id)
            if phase not in existing_phases and phase not in phases:
                refuse(self.env._("This lead phase does not exist (anymore)."))
            if phase not in phases:
                if not phase.active:
                    refuse(self.env._("The lead phase %s is archived.", phase.name))
                refuse(
                    self.env._(
                        "the lead phase %(phase)s belongs to %(phase_type)s, not to %(type)s.",
                        phase=phase.name,
                        phase_type=phase.account_type_id.name,
                        type=Type.browse(type_id).name,
                    )
                )
            start = fields.Datetime.to_datetime(vals.pop("funnel_phase_date_start", False))
            outcome = vals.pop("funnel_import_close_outcome", False)
            reason = (
                self.env["crm.plus.close.reason"]
                .sudo()
                .browse(vals.pop("funnel_import_close_reason_id", False) or [])
            )
            close_date = fields.Date.to_date(vals.pop("funnel_import_close_date", False))
            if start and start > now:
                refuse(
                    self.env._(
                        "In Phase Since (%s) is in the future.",
                        fields.Datetime.to_string(
                            fields.Datetime.context_timestamp(self, start).replace(tzinfo=None)
                        ),
                    )
                )
            if (outcome or close_date) and not reason:
                refuse(self.env._("a closed deal needs its Close Reason (won or lost)."))
            if reason:
                if reason not in existing_reasons:
                    refuse(self.env._("This close reason does not exist (anymore)."))
                if not reason.active:
                    refuse(self.env._("The close reason %s is archived.", reason.name))
                outcome_names = dict(
                    self._fields["funnel_import_close_outcome"]._description_selection(self.env)
                )
                if outcome and outcome != reason.outcome:
                    refuse(
                        self.env._(
                            "the close reason %(reason)s is a %(reason_outcome)s reason, but "
                            "the Close Outcome is %(outcome)s.",
                            reason=reason.name,
                            reason_outcome=outcome_names[reason.outcome],
                            outcome=outcome_names[outcome],
                        )
                    )
                outcome = reason.outcome
                close_date = close_date or today
                if close_date > today:
                    refuse(
                        self.env._(
                            "the Close Date (%s) is in the future.",
                            fields.Date.to_string(close_date),
                        )
                    )
                if start and close_date < fields.Date.context_today(self, start):
                    refuse(
                        self.env._(
                            "the deal was closed on %(close)s, before it entered %(phase)s "
                            "(In Phase Since).",
                            close=fields.Date.to_string(close_date),
                            phase=phase.name,
                        )
                    )
                if outcome == "won" and phase.phase_type != "closing":
                    closing = phases.filtered(lambda p: p.phase_type == "closing")[:1]
                    refuse(
                        self.env._(
                            "a won deal is closed from the closing phase (%(closing)s), not from "
                            "%(phase)s; a lost one from any phase.",
                            closing=closing.name or self.env._("none"),
                            phase=phase.name,
                        )
                    )
                done = max(start or now, self._funnel_day_start(close_date))
                done = min(done, now)
                start = start or done
            start = start or now
            vals.update(
                lead_phase_id=phase.id,
                funnel_state=outcome or "open",
                close_reason_id=reason.id,
                close_date=close_date if reason else False,
            )
            index = list(phases).index(phase)
            lines = [(earlier, "done", {"date_done": start}) for earlier in phases[:index]]
            if reason:
                lines.append(
                    (
                        phase,
                        "done",
                        {
                            "date_start": start,
                            "date_done": done,
                            "done_by_id": uid,
                            "close_reason_id": reason.id,
                            "close_outcome": outcome,
                            "close_date": close_date,
                            "closed_by_id": uid,
                        },
                    )
                )
            else:
                lines.append((phase, "current", {"date_start": start}))
            lines.extend((later, "todo", {}) for later in phases[index + 1 :])
            plans.append(lines)
        return plans

    @api.model
    def _funnel_create_history(self, partners, plans):
        """The lines of the contacts created with their history, in one create: every active
        phase of the type gets its line, and the contact's phase and outcome were set from the
        same plan, so these contacts need no sync after their create."""
        requests = [
            (partner.id, phase, state, values)
            for partner, plan in zip(partners, plans, strict=True)
            if plan
            for phase, state, values in plan
        ]
        lines = self._funnel_line_model()._funnel_create(requests)
        # create() returns the lines in the order of the requests: no read of each line.
        with_activity = {
            phase.id for phase in {request[1] for request in requests} if phase.activity_type_id
        }
        entered = lines.browse(
            [
                line_id
                for line_id, (_partner_id, phase, state, _values) in zip(
                    lines.ids, requests, strict=True
                )
                if state == "current" and phase.id in with_activity
            ]
        )
        if entered:
            entered._funnel_schedule_phase_activities()

    @api.model
    def _funnel_history_won_switch(self, partners, plans):
        """A deal imported as won follows its type's "type when won", as a Close would."""
        won = [
            partner.id
            for partner, plan in zip(partners, plans, strict=True)
            if plan and any(values.get("close_outcome") == "won" for _p, _s, values in plan)
        ]
        if won and self._funnel_won_switches_type():
            self.env.flush_all()
            self.browse(won)._funnel_switch_to_won_type(funnel_sql.load_partners(self.env, won))

    def _funnel_current_lines(self):
        """The current line of each partner; a partner without one (closed, or outside a funnel)
        has no phase whose start could change."""
        self.env.flush_all()
        lines_by_partner = funnel_sql.load_active_lines(self.env, self.ids)
        lines = []
        for partner_id in self.ids:
            current = [line for line in lines_by_partner[partner_id] if line["state"] == "current"]
            if not current:
                raise UserError(
                    self.env._(
                        "%s is not in an open funnel: it has no phase whose start could change.",
                        self._funnel_partner_name(partner_id),
                    )
                )
            lines.append(current[0]["id"])
        return self.env["crm.plus.phase.line"].browse(lines)

    def write(self, vals):
        check_vals(self, vals, only=FUNNEL_FIELDS.union(HISTORY_FIELDS))
        if is_funnel_op(self.env):
            return super().write(vals)
        self._funnel_check_field_access([vals])
        if set(HISTORY_FIELDS).intersection(vals):
            vals = dict(vals)
            phase_start = vals.pop("funnel_phase_date_start", False)
            closes = [vals.pop(fname, False) for fname in HISTORY_FIELDS[1:]]
            if any(closes):
                raise UserError(
                    self.env._(
                        "The close columns (Close Outcome, Close Reason, Close Date) bring "
                        "closed deals in with new contacts only; close an existing contact "
                        "with Close."
                    )
                )
            if phase_start:
                # A correction of the current phase's start: the line's rules (CRM+ managers
                # only, never in the future…) decide.
                self._funnel_current_lines().write({"date_start": phase_start})
            if not vals:
                return True
        funnel_vals = {"lead_phase_id", "funnel_state", "close_reason_id", "close_date"}
        if funnel_vals.intersection(vals) - {"lead_phase_id"}:
            raise UserError(
                self.env._(
                    "The funnel state, close reason and close date are set by Close and Reopen, "
                    "not written directly."
                )
            )
        type_changed = self.browse()
        if "account_type_id" in vals:
            new_type_id = vals["account_type_id"] or False
            type_changed = self.browse(
                self.sudo().filtered(lambda p: p.account_type_id.id != new_type_id).ids
            )
        target_phase = None
        if "lead_phase_id" in vals:
            target_phase = self.env["crm.plus.lead.phase"].browse(vals["lead_phase_id"] or [])
            vals = {k: v for k, v in vals.items() if k != "lead_phase_id"}
        result = super().write(vals) if vals else True
        if type_changed:
            type_changed._funnel_sync_account_type()
        if target_phase is not None:
            # The lead phase is written by this very write, not by a nested one: Automation
            # Rules watching it see one change.
            self._funnel_move_to_phase(
                target_phase,
                write_partners=lambda partners, phase_vals: super(ResPartner, partners).write(
                    phase_vals
                ),
            )
        return result

    @api.model
    def _funnel_check_field_access(self, vals_list):
        """Field groups are enforced by Odoo on write only: a create must not let a user outside
        CRM+ put a contact in a funnel. The types, phases and reasons are read as the user, so
        the multi-company rules refuse another company's: one check for the whole batch."""
        funnel_vals = set()
        for vals in vals_list:
            funnel_vals.update(FUNNEL_FIELDS.union(HISTORY_FIELDS).intersection(vals))
        if not funnel_vals or self.env.su:
            return
        if not self.env.user.has_group(FUNNEL_GROUP):
            raise AccessError(
                self.env._(
                    "Only CRM+ users can set the funnel fields of a contact (%s).",
                    ", ".join(sorted(funnel_vals)),
                )
            )
        for fname, model in (
            ("account_type_id", "crm.plus.account.type"),
            ("lead_phase_id", "crm.plus.lead.phase"),
            ("funnel_import_close_reason_id", "crm.plus.close.reason"),
        ):
            ids = {vals[fname] for vals in vals_list if vals.get(fname)}
            if ids:
                self.env[model].browse(ids).check_access("read")

    def _auto_init(self):
        # Create the stored figure columns empty before the ORM does: empty is right for every
        # contact outside a funnel, so installing on a database of existing contacts neither
        # recomputes nor rewrites them (their write_date stays).
        for column, column_type in (
            ("funnel_score", "int4"),
            ("funnel_forecast_value", "numeric"),
            ("funnel_recurring_value", "numeric"),
            ("funnel_weighted_value", "numeric"),
            ("funnel_phase_date_start", "timestamp"),
            ("funnel_stale_deadline", "timestamp"),
        ):
            if not sql.column_exists(self.env.cr, self._table, column):
                sql.create_column(self.env.cr, self._table, column, column_type)
        return super()._auto_init()

    # ------------------------------------------------------------------ funnel rules
    #
    # Every action below works on the whole recordset: one load of the partners and their lines
    # (models/funnel_sql.py), decisions in Python, then ORM writes grouped by values.

    def _funnel_check_access(self):
        if not all(isinstance(id_, int) and not isinstance(id_, bool) for id_ in self._ids):
            raise UserError(self.env._("Contacts must be given by their database ids."))
        if not self.env.su and not self.env.user.has_group(FUNNEL_GROUP):
            raise AccessError(self.env._("Only CRM+ users can move contacts through the funnel."))
        if len(self._ids) <= PREFETCH_MAX:
            self.check_access("write")
            return
        # The ORM checks record rules in Python on records fetched 1,000 at a time; on a large
        # batch, one search with the rules' domain answers the same question in one query.
        self.env["ir.model.access"].check(self._name, "write")
        domain = self.env["ir.rule"]._compute_domain(self._name, "write")
        if domain and not self.env.su:
            allowed = set(
                self.sudo()
                .with_context(active_test=False)
                ._search(domain_and([[("id", "in", self.ids)], domain]))
            )
            forbidden = self.browse([id_ for id_ in self._ids if id_ not in allowed])
            if forbidden:
                raise self.env["ir.rule"]._make_access_error("write", forbidden)

    def _funnel_line_model(self):
        return self.env["crm.plus.phase.line"].sudo().with_context(crm_plus_funnel_op=FUNNEL_OP)

    def _funnel_partner_name(self, partner_id):
        return self.browse(partner_id).sudo().display_name

    def _funnel_apply(self, line_updates, partner_updates, entered_line_ids=(), body=None):
        """Write the decided changes through the ORM, grouped by values, so that overrides,
        Automation Rules, recomputes and mail's tracking see each of them; schedule the
        activities of the phases entered (``entered_line_ids``: only the lines whose phase names
        an activity type). ``body``: logged with the partners' tracking message."""
        lines = self._funnel_line_model()
        if line_updates:
            # Each group's write reads the lines (constraints, currency, the partner whose
            # figures follow): one fetch for the batch instead of one per group.
            to_write = lines.browse(list(line_updates))
            to_write.fetch(
                [name for name, field in to_write._fields.items() if field.prefetch is True]
            )
        write_grouped(lines, line_updates)
        partners = self.with_context(crm_plus_funnel_op=FUNNEL_OP)
        if body and partner_updates:
            partners.browse(list(partner_updates))._track_set_log_message(body)
        write_grouped(partners, partner_updates)
        if entered_line_ids:
            self._funnel_line_model().browse(entered_line_ids)._funnel_schedule_phase_activities()

    def _funnel_sync_account_type(self):
        """Partners whose account type changed: start (or resume) the new type's funnel; the
        lines of other types stay as history. A won/lost partner moved to a type without
        phases keeps its outcome."""
        self._funnel_line_model()._funnel_create_missing(self)
        self.env.flush_all()
        ids = self.ids
        partners = funnel_sql.load_partners(self.env, ids)
        lines_by_partner = funnel_sql.load_active_lines(self.env, ids)
        now = fields.Datetime.now()
        line_updates, partner_updates, entered = {}, {}, []
        for partner_id in ids:
            lines = lines_by_partner[partner_id]
            if not lines:
                # Phase-less type (or none): the funnel is left; a past outcome stays readable.
                partner_updates[partner_id] = {"lead_phase_id": False}
                continue
            current = next((line for line in lines if line["state"] == "current"), None)
            closed = [line for line in lines if line["close_outcome"]]
            if current:
                partner_updates[partner_id] = {
                    "lead_phase_id": current["phase_id"],
                    "funnel_state": "open",
                    "close_reason_id": False,
                    "close_date": False,
                }
            elif closed and partners[partner_id]["funnel_state"] != "open":
                last = max(closed, key=lambda line: (line["close_date"], line["sequence"]))
                partner_updates[partner_id] = {
                    "lead_phase_id": last["phase_id"],
                    "funnel_state": last["close_outcome"],
                    "close_reason_id": last["close_reason_id"],
                    "close_date": last["close_date"],
                }
            else:
                for line in lines[1:]:
                    if line["state"] != "todo":
                        line_updates[line["id"]] = {
                            "state": "todo",
                            "date_start": False,
                            "date_done": False,
                            "done_by_id": False,
                        }
                line_updates[lines[0]["id"]] = {
                    "state": "current",
                    "date_start": now,
                    "date_done": False,
                    "done_by_id": False,
                }
                if lines[0]["activity_type_id"]:
                    entered.append(lines[0]["id"])
                partner_updates[partner_id] = {
                    "lead_phase_id": lines[0]["phase_id"],
                    "funnel_state": "open",
                    "close_reason_id": False,
                    "close_date": False,
                }
        # Only what differs: a write of an unchanged value still wakes every listener.
        partner_updates = {
            partner_id: {
                fname: value
                for fname, value in values.items()
                if (partners[partner_id][fname] or False) != value
            }
            for partner_id, values in partner_updates.items()
        }
        partner_updates = {pid: vals for pid, vals in partner_updates.items() if vals}
        self._funnel_apply(line_updates, partner_updates, entered)

    def _funnel_assign_account_type(self, account_type):
        """Give every partner of the recordset ``account_type`` (the bulk wizard): one write of
        the partners whose type differs, which starts or resumes the funnels."""
        account_type = self._funnel_assign_account_type_check(account_type)
        changing = self.sudo().filtered(lambda p: p.account_type_id != account_type)
        if changing:
            self.browse(changing.ids).write({"account_type_id": account_type.id})
        return True

    def _funnel_assign_account_type_check(self, account_type):
        """What ``_funnel_assign_account_type`` refuses, without changing anything (a bulk job
        checks it before it is queued): the existing ``account_type``, or an error."""
        self._funnel_check_access()
        account_type = account_type.exists()
        if not account_type:
            raise UserError(self.env._("This account type does not exist (anymore)."))
        self._funnel_check_field_access([{"account_type_id": account_type.id}])
        return account_type

    # ------------------------------------------------------------------ chatter

    def _funnel_subtype(self, xmlid):
        # env.ref checks the record exists, a query per tracked partner; _message_track checks
        # each subtype once.
        return self.env["mail.message.subtype"].browse(
            self.env["ir.model.data"]._xmlid_to_res_id(xmlid)
        )

    def _track_subtype(self, init_values):
        self.ensure_one()
        if "funnel_state" in init_values:
            if self.funnel_state == "won":
                return self._funnel_subtype("crm_plus.mt_partner_won")
            if self.funnel_state == "lost":
                return self._funnel_subtype("crm_plus.mt_partner_lost")
            if self.funnel_state == "open" and init_values["funnel_state"] in ("won", "lost"):
                return self._funnel_subtype("crm_plus.mt_partner_reopened")
        if "lead_phase_id" in init_values and self.lead_phase_id:
            return self._funnel_subtype("crm_plus.mt_partner_phase")
        return super()._track_subtype(init_values)

    def _message_track(self, fields_iter, initial_values_dict):
        """mail's tracking, posted in batch. mail posts one message per record, each with its
        own queries; a funnel action moves thousands of partners at once. The tracking values,
        subtypes and bodies are mail's own; the records that have followers to notify of their
        subtype get mail's ``message_post`` as usual, the others (nobody to notify, the common
        case) are logged with one batched ``_message_create``: the same messages."""
        if not fields_iter:
            return {}
        tracked_fields = self.fields_get(
            fields_iter, attributes=("string", "type", "selection", "currency_field")
        )
        tracking = {}
        for record in self:
            try:
                tracking[record.id] = record._mail_track(
                    tracked_fields, initial_values_dict[record.id]
                )
            except MissingError:
                continue
        precommit = self.env.cr.precommit.data
        bodies = precommit.pop(f"mail.tracking.message.{self._name}", {})
        authors = precommit.pop(f"mail.tracking.author.{self._name}", {})
        entries = []
        subtypes_exist = set()
        for record in self:
            changes, tracking_value_ids = tracking.get(record.id, (None, None))
            if not changes:
                continue
            subtype = record._track_subtype(
                {fname: initial_values_dict[record.id][fname] for fname in changes}
            )
            if subtype and subtype not in subtypes_exist:
                if not subtype.exists():
                    continue
                subtypes_exist.add(subtype)
            if not subtype and not tracking_value_ids:
                continue
            body = (
                bodies[record.id]
                if record.id in bodies
                else record._track_get_default_log_message(changes)
            )
            author = authors.get(record.id)
            entries.append(
                (record, subtype, author.id if author else None, body, tracking_value_ids)
            )
        if not entries:
            return tracking
        notified = self._funnel_followed_subtypes(entries)
        to_log = []
        for record, subtype, author_id, body, tracking_value_ids in entries:
            if subtype and (record.id, subtype.id) in notified:
                record.message_post(
                    body=body,
                    author_id=author_id,
                    subtype_id=subtype.id,
                    tracking_value_ids=tracking_value_ids,
                )
            else:
                to_log.append((record, subtype, author_id, body, tracking_value_ids))
        if to_log:
            self._funnel_log_tracking(to_log)
        return tracking

    def _funnel_followed_subtypes(self, entries):
        """{(partner id, subtype id)} whose partner has a follower, other than the message's
        author, subscribed to that subtype: one query for the batch."""
        subtype_ids = {subtype.id for _r, subtype, *_rest in entries if subtype}
        if not subtype_ids:
            return set()
        self.env["mail.followers"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT f.res_id, rel.mail_message_subtype_id, f.partner_id
                  FROM mail_followers AS f
                  JOIN mail_followers_mail_message_subtype_rel AS rel
                    ON rel.mail_followers_id = f.id
                 WHERE f.res_model = %s AND f.res_id = ANY(%s)
                   AND rel.mail_message_subtype_id = ANY(%s)
                """,
                self._name,
                [record.id for record, *_rest in entries],
                list(subtype_ids),
            )
        )
        followers = defaultdict(set)
        for res_id, subtype_id, partner_id in self.env.cr.fetchall():
            followers[res_id, subtype_id].add(partner_id)
        author_partner = self.env.user.partner_id.id
        return {
            (record.id, subtype.id)
            for record, subtype, author_id, _body, _values in entries
            if subtype
            and followers.get((record.id, subtype.id), set()) - {author_id or author_partner}
        }

    def _funnel_log_tracking(self, entries):
        """What ``_message_log`` (or ``message_post`` with nobody to notify) creates, for many
        records in one ``_message_create``."""
        note = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note")
        by_author = defaultdict(list)
        for entry in entries:
            by_author[entry[2]].append(entry)
        for given_author_id, author_entries in by_author.items():
            author_id, email_from = message_compute_author(self, given_author_id)
            reply_to = self.env["mail.thread"]._notify_get_reply_to(default=email_from)[False]
            values_list, tracking_list = [], []
            for record, subtype, _author, body, tracking_value_ids in author_entries:
                tracking_list.append(tracking_value_ids)
                values_list.append(
                    {
                        "author_id": author_id,
                        "email_from": email_from,
                        "model": self._name,
                        "res_id": record.id,
                        "record_alias_domain_id": False,
                        "record_company_id": False,
                        "body": body or "",
                        "message_type": "notification",
                        "is_internal": subtype.internal if subtype else True,
                        "subtype_id": subtype.id if subtype else note,
                        "email_add_signature": False,
                        "message_id": generate_tracking_message_id("message-notify"),
                        "reply_to": reply_to,
                        **MESSAGE_CREATE_DEFAULTS,
                    }
                )
            # One batch: create() asks the defaults of each message and tracking value.
            batch = self.sudo().with_context(crm_plus_batch_defaults=BatchDefaults())
            messages = batch._message_create(values_list)
            # mail.message creates each message's tracking values apart; all in one create.
            batch.env["mail.tracking.value"].create(
                [
                    dict(command[2], mail_message_id=message.id)
                    for message, commands in zip(messages, tracking_list, strict=True)
                    for command in commands or ()
                ]
            )

    def _funnel_check_open(self, partners, action):
        """``partners``: rows of funnel_sql.load_partners, in the recordset's order; ``action``:
        advance, move or close (one whole sentence each, for translators)."""
        for row in partners:
            if row["funnel_state"] == "open" and row["has_phases"] and row["lead_phase_id"]:
                continue
            name = self._funnel_partner_name(row["id"])
            if row["funnel_state"] in ("won", "lost"):
                state = dict(self._fields["funnel_state"]._description_selection(self.env)).get(
                    row["funnel_state"]
                )
                if action == "advance":
                    message = self.env._(
                        "%(partner)s is closed (%(state)s): reopen it before completing a phase.",
                        partner=name,
                        state=state,
                    )
                elif action == "move":
                    message = self.env._(
                        "%(partner)s is closed (%(state)s): reopen it before changing its phase.",
                        partner=name,
                        state=state,
                    )
                else:
                    message = self.env._(
                        "%(partner)s is already closed (%(state)s).", partner=name, state=state
                    )
                raise UserError(message)
            if not row["has_phases"] or not row["lead_phase_id"]:
                type_name = self.env["crm.plus.account.type"].browse(
                    row["account_type_id"]
                ).sudo().name or self.env._("none")
                if action == "advance":
                    message = self.env._(
                        "%(partner)s has no phase to complete: its account type (%(type)s) has "
                        "no lead phases.",
                        partner=name,
                        type=type_name,
                    )
                elif action == "move":
                    message = self.env._(
                        "%(partner)s cannot change phase: its account type (%(type)s) has no "
                        "lead phases.",
                        partner=name,
                        type=type_name,
                    )
                else:
                    message = self.env._(
                        "%(partner)s has no funnel to close: its account type (%(type)s) has no "
                        "lead phases.",
                        partner=name,
                        type=type_name,
                    )
                raise UserError(message)
            if row["funnel_state"] != "open":
                raise UserError(self.env._("%(partner)s is not in an open funnel.", partner=name))

    def _funnel_load_open(self, action):
        self._funnel_check_access()
        self.env.flush_all()
        partners = funnel_sql.load_partners(self.env, self.ids)
        self._funnel_check_open([partners[pid] for pid in self.ids], action)
        return partners, funnel_sql.load_active_lines(self.env, self.ids)

    def _funnel_current_line(self, partner_id, lines):
        current = [line for line in lines if line["state"] == "current"]
        if len(current) != 1:
            raise UserError(
                self.env._(
                    "%s has no current phase line; reopen it or give it its account type again.",
                    self._funnel_partner_name(partner_id),
                )
            )
        return current[0]

    @staticmethod
    def _funnel_carry(line, previous):
        """Figures entered on the phase just left carry over when the new line has none, so
        the partner's forecast does not drop to zero at each step."""
        values = {}
        if previous and not line["forecast_value"] and previous["forecast_value"]:
            values["forecast_value"] = previous["forecast_value"]
        if previous and not line["recurring_value"] and previous["recurring_value"]:
            values["recurring_value"] = previous["recurring_value"]
            values["recurring_interval"] = previous["recurring_interval"]
        return values

    def action_advance_phase(self):
        """Complete the current phase and make the next one current, for every partner."""
        partners, lines_by_partner = self._funnel_load_open("advance")
        now = fields.Datetime.now()
        line_updates, partner_updates, entered = {}, {}, []
        for partner_id in self.ids:
            lines = lines_by_partner[partner_id]
            current = self._funnel_current_line(partner_id, lines)
            if current["phase_type"] == "closing":
                raise UserError(
                    self.env._(
                        "%s is in the closing phase: close it with a close reason (won or lost) "
                        "instead of completing the phase.",
                        self._funnel_partner_name(partner_id),
                    )
                )
            following = lines[lines.index(current) + 1 :]
            if not following:
                raise UserError(
                    self.env._(
                        "%(partner)s is in the last phase of %(type)s, which has no closing phase "
                        "yet: add a closing phase to the account type, or close it as lost.",
                        partner=self._funnel_partner_name(partner_id),
                        type=self.env["crm.plus.account.type"]
                        .browse(partners[partner_id]["account_type_id"])
                        .sudo()
                        .name,
                    )
                )
            following = following[0]
            line_updates[current["id"]] = {
                "state": "done",
                "date_done": now,
                "done_by_id": self.env.uid,
            }
            line_updates[following["id"]] = {
                "state": "current",
                "date_start": now,
                "date_done": False,
                "done_by_id": False,
                **self._funnel_carry(following, current),
            }
            if following["activity_type_id"]:
                entered.append(following["id"])
            partner_updates[partner_id] = {"lead_phase_id": following["phase_id"]}
        self._funnel_apply(line_updates, partner_updates, entered)
        return True

    def _funnel_move_to_phase(self, phase, write_partners=None):
        """Set the current phase directly (a drag on the board): earlier lines done, the target
        current, later lines back to todo. ``write_partners(partners, vals)``: how the partners
        that move are written (``write`` passes its own ``super().write``)."""
        self._funnel_check_access()
        if not phase:
            raise UserError(
                self.env._("A partner in a funnel always has a lead phase; close it instead.")
            )
        phase = phase.sudo().exists()
        if not phase:
            raise UserError(self.env._("This lead phase does not exist (anymore)."))
        if not phase.active:
            raise UserError(self.env._("The lead phase %s is archived.", phase.name))
        self.env.flush_all()
        partners = funnel_sql.load_partners(self.env, self.ids)
        for partner_id in self.ids:
            if partners[partner_id]["account_type_id"] != phase.account_type_id.id:
                raise ValidationError(
                    self.env._(
                        "The lead phase %(phase)s belongs to %(phase_type)s, not to %(partner)s's "
                        "account type (%(type)s).",
                        phase=phase.name,
                        phase_type=phase.account_type_id.name,
                        partner=self._funnel_partner_name(partner_id),
                        type=self.env["crm.plus.account.type"]
                        .browse(partners[partner_id]["account_type_id"])
                        .sudo()
                        .name
                        or self.env._("none"),
                    )
                )
        self._funnel_check_open([partners[pid] for pid in self.ids], "move")
        moving = [pid for pid in self.ids if partners[pid]["lead_phase_id"] != phase.id]
        lines_by_partner = funnel_sql.load_active_lines(self.env, moving)
        now = fields.Datetime.now()
        line_updates, partner_updates, entered = {}, {}, []
        for partner_id in moving:
            lines = lines_by_partner[partner_id]
            current = self._funnel_current_line(partner_id, lines)
            target = next(line for line in lines if line["phase_id"] == phase.id)
            index = lines.index(target)
            for line in lines[:index]:
                if line["state"] != "done":
                    line_updates[line["id"]] = {
                        "state": "done",
                        "date_done": now,
                        "done_by_id": self.env.uid,
                    }
            for line in lines[index + 1 :]:
                if line["state"] != "todo":
                    line_updates[line["id"]] = {
                        "state": "todo",
                        "date_start": False,
                        "date_done": False,
                        "done_by_id": False,
                    }
            line_updates[target["id"]] = {
                "state": "current",
                "date_start": now,
                "date_done": False,
                "done_by_id": False,
                **self._funnel_carry(target, current),
            }
            if target["activity_type_id"]:
                entered.append(target["id"])
            partner_updates[partner_id] = {"lead_phase_id": phase.id}
        if write_partners is None:
            self._funnel_apply(line_updates, partner_updates, entered)
        else:
            self._funnel_apply(line_updates, {}, entered)
            write_partners(self.browse(list(partner_updates)), {"lead_phase_id": phase.id})
        return True

    def action_close(self, close_reason_id=None, note=None):
        """Close the funnel with a reason: won only from the closing phase, lost from any
        open phase. A won partner whose type names a "type when won" switches to it."""
        reason, partners, line_updates, partner_updates = self._funnel_close_plan(
            close_reason_id, note
        )
        body = Markup("<p>%s</p>") % note if note else None
        with self.env["crm.plus.phase.stat"]._follow_contacts(self.ids):
            self._funnel_apply(line_updates, partner_updates, body=body)
            if reason.outcome == "won" and self._funnel_won_switches_type():
                self._funnel_switch_to_won_type(partners)
        return True

    def _funnel_close_plan(self, close_reason_id=None, note=None):
        """The checks and decisions of ``action_close``, nothing written (a bulk job checks them
        before it is queued): ``(reason, partner rows, line updates, partner updates)``."""
        self._funnel_check_access()
        if isinstance(close_reason_id, models.BaseModel):
            close_reason_id = close_reason_id.id
        if not close_reason_id:
            raise UserError(
                self.env._(
                    "A close reason is needed to close: it says whether it was won or lost."
                )
            )
        if not isinstance(close_reason_id, int) or isinstance(close_reason_id, bool):
            raise UserError(
                self.env._("The close reason must be given by its id (got %s).", close_reason_id)
            )
        reason = self.env["crm.plus.close.reason"].browse(close_reason_id).exists()
        if not reason:
            raise UserError(self.env._("The close reason %s does not exist.", close_reason_id))
        if not reason.active:
            raise UserError(self.env._("The close reason %s is archived.", reason.name))
        if note is not None and not isinstance(note, str):
            raise UserError(self.env._("The close note must be text."))
        partners, lines_by_partner = self._funnel_load_open("close")
        now = fields.Datetime.now()
        today = fields.Date.context_today(self)
        line_updates, partner_updates = {}, {}
        for partner_id in self.ids:
            current = self._funnel_current_line(partner_id, lines_by_partner[partner_id])
            if reason.outcome == "won" and current["phase_type"] != "closing":
                account_type = (
                    self.env["crm.plus.account.type"]
                    .sudo()
                    .browse(partners[partner_id]["account_type_id"])
                )
                closing = account_type.closing_phase_id
                if not closing:
                    raise UserError(
                        self.env._(
                            "%(partner)s cannot be closed as won: its account type %(type)s has "
                            "no closing phase yet. Add one in Configuration → Lead phases.",
                            partner=self._funnel_partner_name(partner_id),
                            type=account_type.name,
                        )
                    )
                raise UserError(
                    self.env._(
                        "%(partner)s can only be closed as won from the closing phase "
                        "(%(closing)s); it is in %(phase)s. A lost close is possible from any "
                        "phase.",
                        partner=self._funnel_partner_name(partner_id),
                        closing=closing.name,
                        phase=self.env["crm.plus.lead.phase"].browse(current["phase_id"]).name,
                    )
                )
            line_updates[current["id"]] = {
                "state": "done",
                "date_done": now,
                "done_by_id": self.env.uid,
                "close_reason_id": reason.id,
                "close_outcome": reason.outcome,
                "close_date": today,
                "closed_by_id": self.env.uid,
                **({"note": note} if note else {}),
            }
            partner_updates[partner_id] = {
                "funnel_state": reason.outcome,
                "close_reason_id": reason.id,
                "close_date": today,
            }
        return reason, partners, line_updates, partner_updates

    def _funnel_switch_to_won_type(self, partners):
        """Won partners move to their type's "type when won" (``partners``: load_partners rows
        from before the close)."""
        by_type = defaultdict(list)
        for partner_id in self.ids:
            won_type = partners[partner_id]["won_account_type_id"]
            if won_type:
                by_type[won_type].append(partner_id)
        for won_type, partner_ids in by_type.items():
            self.browse(partner_ids).sudo()._funnel_assign_account_type(
                self.env["crm.plus.account.type"].browse(won_type)
            )

    @api.model
    def _funnel_won_switches_type(self):
        return (
            self.env["ir.config_parameter"].sudo().get_param("crm_plus.won_switches_type", "True")
            != "False"
        )

    def action_reopen(self):
        """Undo a close: the partner returns to the phase it was closed in (and to that
        funnel's type if a won close switched it). The line drops the close; the chatter keeps
        it."""
        self._funnel_check_access()
        self.env.flush_all()
        partners = funnel_sql.load_partners(self.env, self.ids)
        for partner_id in self.ids:
            if partners[partner_id]["funnel_state"] not in ("won", "lost"):
                raise UserError(
                    self.env._(
                        "%s is not closed (won or lost): there is nothing to reopen.",
                        self._funnel_partner_name(partner_id),
                    )
                )
        self.env.cr.execute(
            SQL(
                """
                SELECT DISTINCT ON (l.partner_id) l.partner_id, l.id, l.phase_id,
                       l.account_type_id, ph.active
                  FROM crm_plus_phase_line AS l
                  JOIN crm_plus_lead_phase AS ph ON ph.id = l.phase_id
                 WHERE l.partner_id = ANY(%s) AND l.close_outcome IS NOT NULL
                 ORDER BY l.partner_id, l.close_date DESC, l.date_done DESC NULLS LAST, l.id DESC
                """,
                self.ids,
            )
        )
        last_close = {row["partner_id"]: row for row in self.env.cr.dictfetchall()}
        line_updates, partner_updates = {}, {}
        back_to_type = {}
        for partner_id in self.ids:
            line = last_close.get(partner_id)
            if not line or not line["active"]:
                raise UserError(
                    self.env._(
                        "%s has no closed phase to reopen.", self._funnel_partner_name(partner_id)
                    )
                )
            if partners[partner_id]["account_type_id"] != line["account_type_id"]:
                back_to_type[partner_id] = line["account_type_id"]
            # The line is open again: the close is no longer its outcome (the chatter keeps
            # it), and no longer counts in the statistics and reports.
            line_updates[line["id"]] = {
                "state": "current",
                "date_done": False,
                "done_by_id": False,
                "close_reason_id": False,
                "close_outcome": False,
                "close_date": False,
                "closed_by_id": False,
            }
            partner_updates[partner_id] = {
                "lead_phase_id": line["phase_id"],
                "funnel_state": "open",
                "close_reason_id": False,
                "close_date": False,
            }
        for partner_id, type_id in back_to_type.items():
            # Back to the funnel the close happened in, without restarting it.
            partner_updates[partner_id]["account_type_id"] = type_id
        # The reopened close stops counting until the contact is closed again.
        with self.env["crm.plus.phase.stat"]._follow_contacts(self.ids):
            self._funnel_apply(line_updates, partner_updates)
        return True

    def action_open_close_wizard(self):
        self._funnel_check_access()
        self._funnel_load_open("close")
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Close"),
            "res_model": "crm.plus.close.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"active_model": self._name, "active_ids": self.ids},
        }

    @api.model
    def action_crm_plus_pipeline(self):
        """The pipeline board, filtered on the first account type with phases so every column
        of that funnel shows, empty ones included."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_plus.res_partner_action_pipeline"
        )
        first_type = self.env["crm.plus.account.type"].search([("has_phases", "=", True)], limit=1)
        context = dict(self.env.context, crm_plus_pipeline=True)
        if first_type:
            context["search_default_account_type_id"] = first_type.id
        action["context"] = context
        return action
