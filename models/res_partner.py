"""The contact's side of the funnel: its fields and thin hooks into the ORM.

The funnel itself is the contact's phase lines (crm.plus.phase.line); its lead phase, state,
close and figures are computed from them here, and written back through their inverse, which
hands the change to the state machine (crm.plus.funnel). The suggested score, the stale rule
and the health bands are computed here too, from their single definitions.
"""

from contextlib import nullcontext
from datetime import datetime, time, timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, sql

from ..compat import (
    FALSE_DOMAIN,
    check_field_read_access,
    domain_and,
    domain_or,
    domain_positive_conditions,
    groupby_args,
)
from .crm_plus_funnel_import import HISTORY_FIELDS
from .crm_plus_phase_line import (
    MAIN_COMPANY_CURRENCY_SQL,
    STATE_PURE_FIELDS,
    current_and_last_close,
    deal_money,
    set_funnel_currency,
)
from .crm_plus_phase_stat import learned_close_date
from .funnel_guard import checked_client_values, records_label, values_checked_by_the_orm

FUNNEL_GROUP = "crm_plus.group_crm_plus_user"
MANAGER_GROUP = "crm_plus.group_crm_plus_manager"
# The contact's funnel fields a create or a write may give (CRM+ users only); their many2ones
# take record ids only.
FUNNEL_INPUT_FIELDS = ("account_type_id", "expected_close_date", *HISTORY_FIELDS)
# A contact's fields whose write moves the funnel analysis's totals: its salesperson, company
# (its lines' own), archiving, and its type and funnel (its lines).
FUNNEL_TOTALS_WRITES = frozenset(
    {"active", "user_id", "company_id", "account_type_id", *HISTORY_FIELDS}
)
FUNNEL_MANY2ONES = ("account_type_id", "lead_phase_id", "close_reason_id")
# The pipeline board's and the forecast's index (see init): open funnel contacts only, so a
# write of any other contact (a phone, an email, a module's column) does not touch it. The key
# serves a manager's board (one type), a salesperson's (one type, their own contacts: "My
# Funnel") and the forecast (all of it).
BOARD_INDEX = "res_partner_crm_plus_open_funnel_index"
BOARD_INDEX_KEY = ["account_type_id", "user_id", "lead_phase_id"]
# What the board's progress bar and column sums, and the forecast report, read of them
# (partner_share: res.partner's multi-company record rule reads it).
BOARD_INDEX_INCLUDE = [
    "active",
    "company_id",
    "partner_share",
    "funnel_score",
    "funnel_stale_deadline",
    "funnel_forecast_value",
    "funnel_weighted_value",
    "funnel_recurring_value",
    # The board's column sums (its progress bar's sum_field) and the forecast's totals.
    "funnel_open_value",
    "funnel_open_weighted_value",
]
# The operators a search on an account type's name selects types with (the search view's
# "Search Account Type for: …" is an ilike).
TYPE_NAME_OPERATORS = ("=", "in", "ilike", "=ilike", "like", "=like")
# Score bands of the pipeline board's progress bar.
HOT_SCORE = 70
WARM_SCORE = 40
# The contact's fields computed from its lines, all by _compute_funnel.
DERIVED_FIELDS = (
    *HISTORY_FIELDS,
    "funnel_score",
    "funnel_forecast_value",
    "funnel_recurring_value",
    "funnel_weighted_value",
    *STATE_PURE_FIELDS,
)
# The contact's fields that the lines decide (_compute_funnel), and those a user writes too:
# their inverse hands the change to the state machine.
FROM_LINES = {"compute": "_compute_funnel", "store": True}
# Pre-selected in an import-compatible export (Export → I want to update data), as the contact's
# name is: the file loads back with the same funnels (crm.plus.funnel.import).
FROM_LINES_WRITABLE = dict(
    FROM_LINES, inverse="_inverse_funnel", readonly=False, default_export_compatible=True
)
LINE_DEPENDENCIES = (
    "phase_line_ids.state",
    "phase_line_ids.is_active_funnel",
    "phase_line_ids.phase_id",
    "phase_line_ids.close_outcome",
    "phase_line_ids.close_reason_id",
    "phase_line_ids.close_date",
    "phase_line_ids.date_done",
    "phase_line_ids.date_start",
    "phase_line_ids.score",
    "phase_line_ids.forecast_value",
    "phase_line_ids.recurring_value_monthly",
)


class ResPartner(models.Model):
    _inherit = "res.partner"

    account_type_id = fields.Many2one(
        "crm.plus.account.type",
        string="Account Type",
        check_company=True,
        tracking=True,
        # Only the contacts with a type (the account types' contact counts, a filter by type,
        # the check that a deleted type has none): a write of any other contact skips it.
        index="btree_not_null",
        ondelete="restrict",
        default=lambda self: self._default_account_type_id(),
        group_expand="_read_group_expand_account_type",
        groups=FUNNEL_GROUP,
        default_export_compatible=True,
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
        check_company=True,
        **FROM_LINES_WRITABLE,
        tracking=True,
        # No index of its own: the board and the forecast read the open contacts' phases from
        # the open-funnel index (init).
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
        **FROM_LINES_WRITABLE,
        tracking=True,
        # No index of its own: "open" is the open-funnel index's condition (init); won, lost or
        # any state is most of a funnel's contacts, a scan.
        copy=False,
        groups=FUNNEL_GROUP,
        help="Empty for a partner that never entered a funnel.",
    )
    close_reason_id = fields.Many2one(
        "crm.plus.close.reason",
        string="Close Reason",
        check_company=True,
        **FROM_LINES_WRITABLE,
        tracking=True,
        copy=False,
        ondelete="restrict",
        groups=FUNNEL_GROUP,
    )
    close_date = fields.Date(
        **FROM_LINES_WRITABLE,
        copy=False,
        groups=FUNNEL_GROUP,
    )
    expected_close_date = fields.Date(
        string="Expected Closing", copy=False, groups=FUNNEL_GROUP, tracking=True
    )
    funnel_currency_id = fields.Many2one(
        "res.currency", compute="_compute_funnel_currency_id", groups=FUNNEL_GROUP
    )
    funnel_score = fields.Integer(
        string="Score",
        **FROM_LINES,
        groups=FUNNEL_GROUP,
        help="The deal's probability: its phase's score while open, 100 when won, 0 when lost.",
    )
    # The deal's own figures, whatever its state: shown, never summed (a total of them would
    # mix the open pipeline with closed deals); the state-pure fields below are the totals.
    funnel_forecast_value = fields.Monetary(
        string="Forecast",
        **FROM_LINES,
        currency_field="funnel_currency_id",
        aggregator=None,
        groups=FUNNEL_GROUP,
        help="The deal's amount: the forecast of its current phase while open, of the phase "
        "it was closed in once won or lost.",
    )
    funnel_recurring_value = fields.Monetary(
        string="Recurring (monthly)",
        **FROM_LINES,
        currency_field="funnel_currency_id",
        aggregator=None,
        groups=FUNNEL_GROUP,
        help="Monthly equivalent of the recurring value of the deal's phase (the current one "
        "while open, the one it was closed in once won or lost).",
    )
    funnel_weighted_value = fields.Monetary(
        string="Weighted Forecast",
        **FROM_LINES,
        currency_field="funnel_currency_id",
        aggregator=None,
        groups=FUNNEL_GROUP,
        help="Forecast × score / 100: the forecast itself when won, 0 when lost.",
    )
    # The four totals a manager reads, each of one state (0 for a contact in another state).
    funnel_open_value = fields.Monetary(
        string="Open Pipeline",
        **FROM_LINES,
        currency_field="funnel_currency_id",
        groups=FUNNEL_GROUP,
        help="The forecast of an open deal (0 when won, lost or outside a funnel).",
    )
    funnel_open_weighted_value = fields.Monetary(
        string="Weighted Pipeline",
        **FROM_LINES,
        currency_field="funnel_currency_id",
        groups=FUNNEL_GROUP,
        help="The weighted forecast (forecast × score / 100) of an open deal (0 when won, lost "
        "or outside a funnel).",
    )
    funnel_won_value = fields.Monetary(
        string="Won Revenue",
        **FROM_LINES,
        currency_field="funnel_currency_id",
        groups=FUNNEL_GROUP,
        help="The forecast of a won deal (0 when open, lost or outside a funnel).",
    )
    funnel_lost_value = fields.Monetary(
        string="Lost",
        **FROM_LINES,
        currency_field="funnel_currency_id",
        groups=FUNNEL_GROUP,
        help="The forecast of a lost deal (0 when open, won or outside a funnel).",
    )
    funnel_phase_date_start = fields.Datetime(
        string="In Phase Since",
        # Writable for the importer (and a manager's correction of the current phase's start).
        **FROM_LINES_WRITABLE,
        copy=False,
        groups=FUNNEL_GROUP,
    )
    funnel_days_in_phase = fields.Integer(
        string="Days in Phase",
        compute="_compute_funnel_days_in_phase",
        groups=FUNNEL_GROUP,
        help="Days an open partner has been in its current phase, as you count days: 0 on "
        "the day it entered the phase, 1 the next day.",
    )
    funnel_days_in_phase_label = fields.Char(
        string="Time in Phase", compute="_compute_funnel_days_in_phase", groups=FUNNEL_GROUP
    )
    funnel_learned_close_date = fields.Date(
        string="Learned Expected Closing",
        compute="_compute_funnel_expected_close_date",
        groups=FUNNEL_GROUP,
        help="Learned from the account type's history: the day the phase started plus the "
        "median days from this phase to a won close, once 10 won contacts went through it; "
        "until then the day the partner goes stale in the phase. Open partners only.",
    )
    funnel_expected_close_date = fields.Date(
        string="Expected Closing (or learned)",
        compute="_compute_funnel_expected_close_date",
        groups=FUNNEL_GROUP,
        help="The expected closing a person set, else the learned one: the date Forecast " "uses.",
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
    funnel_can_reopen = fields.Boolean(
        string="Can Reopen",
        compute="_compute_funnel_can_reopen",
        groups=FUNNEL_GROUP,
        help="The contact is closed in a lead phase that is still active: Reopen goes back "
        "to it.",
    )
    funnel_can_work = fields.Boolean(
        string="Can Work the Deal",
        compute="_compute_funnel_can_work",
        groups=FUNNEL_GROUP,
        help="Your CRM+ access level lets you work this contact's deal (User: Own Documents "
        "Only: your own contacts' and unassigned ones').",
    )
    funnel_earlier_line_ids = fields.Many2many(
        "crm.plus.phase.line",
        string="Earlier funnels",
        compute="_compute_funnel_shown",
        groups=FUNNEL_GROUP,
    )

    # ------------------------------------------------------------------ from the lines

    def _compute_funnel_currency_id(self):
        set_funnel_currency(self, "funnel_currency_id")

    def _field_to_sql(self, alias, field_expr, query=None, *args, **kwargs):
        """The funnel's currency in SQL, the rule of ``set_funnel_currency``: the contact's
        company's currency, else the main company's. Grouped reads can then aggregate it,
        and 19.0 gives the funnel's monetary fields an aggregator (it gives none to an amount
        whose currency cannot be aggregated), for the pivot, the graph, the list's sums and
        the board's column sums (read with the currencies of each group)."""
        if field_expr != "funnel_currency_id":
            return super()._field_to_sql(alias, field_expr, query, *args, **kwargs)
        check_field_read_access(self, "funnel_currency_id")
        return SQL(
            "COALESCE((SELECT c.currency_id FROM res_company AS c WHERE c.id = %s), %s)",
            super()._field_to_sql(alias, "company_id", query, *args, **kwargs),
            SQL(MAIN_COMPANY_CURRENCY_SQL),
        )

    @api.depends("account_type_id", *LINE_DEPENDENCIES)
    def _compute_funnel(self):
        """What the lines say: open in the current phase of the contact's own funnel; else won
        or lost by its last close (kept when a won close switched it to a type without
        phases); else outside any funnel."""
        self.phase_line_ids.fetch(
            [fname.split(".", 1)[1] for fname in LINE_DEPENDENCIES] + ["partner_id"]
        )
        # The figures' currency, for the whole batch: the flush of a monetary value asks it
        # record by record.
        self.mapped("funnel_currency_id")
        no_line = self.env["crm.plus.phase.line"]
        for partner in self:
            current, last_close = current_and_last_close(partner.phase_line_ids)
            line = current or (
                last_close if last_close and last_close.is_active_funnel else no_line
            )
            close = last_close if not current and last_close else no_line
            partner.lead_phase_id = line.phase_id
            partner.funnel_state = "open" if current else close.close_outcome
            partner.close_reason_id = close.close_reason_id
            partner.close_date = close.close_date
            partner.funnel_phase_date_start = line.date_start
            # The deal's money: that of its current line while open, of the line it was closed
            # in once closed, also after a won close switched it to a type without phases.
            deal = current or close
            money = deal_money(partner.funnel_state, deal.forecast_value, deal.score)
            partner.funnel_score = money["probability"]
            partner.funnel_forecast_value = money["amount"]
            partner.funnel_weighted_value = money["weighted"]
            partner.funnel_recurring_value = deal.recurring_value_monthly
            for fname in STATE_PURE_FIELDS:
                partner[fname] = money[fname]

    def _inverse_funnel(self):
        """A written lead phase, state, close or phase start goes to the lines, by the state
        machine's rules: a drag moves, a close reason closes, an open state reopens, a new
        contact's columns bring its history in."""
        self.env["crm.plus.funnel"]._set_from_contacts(self)

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
                _current, last_close = current_and_last_close(lines)
                shown_type = last_close.account_type_id if last_close else no_type
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

    @api.depends("user_id")
    @api.depends_context("uid")
    def _compute_funnel_can_work(self):
        """What the state machine checks before it moves a deal (_check_funnel_rule), for the
        form to show only the actions the user may take."""
        saved = self.browse([partner_id for partner_id in self._origin.ids if partner_id])
        refused = self.env["crm.plus.funnel"]._refused_by_funnel_rule(saved).partner_id
        for partner in self:
            partner.funnel_can_work = partner._origin not in refused

    @api.depends("funnel_state", "phase_line_ids.close_outcome", "phase_line_ids.phase_id.active")
    def _compute_funnel_can_reopen(self):
        """Reopen goes back to the phase of the last close: not when that phase is archived
        (the state machine refuses it, _reopen)."""
        for partner in self:
            _current, last_close = current_and_last_close(partner.phase_line_ids)
            partner.funnel_can_reopen = bool(
                partner.funnel_state in ("won", "lost")
                and last_close
                and last_close.phase_id.active
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

    def _search_funnel_suggested_score(self, operator, value):
        return self.env["crm.plus.phase.stat"]._contacts_domain(operator, value)

    @api.depends("funnel_state", "funnel_phase_date_start")
    @api.depends_context("tz")
    def _compute_funnel_days_in_phase(self):
        """Whole days between the day the phase started and today, both in the user's
        timezone (the day boundary of the stale rule, _funnel_stale_cutoff)."""
        today = fields.Date.context_today(self)
        for partner in self:
            start = partner.funnel_phase_date_start
            if partner.funnel_state != "open" or not start:
                partner.funnel_days_in_phase = False
                partner.funnel_days_in_phase_label = False
                continue
            days = max(0, (today - fields.Date.context_today(self, start)).days)
            partner.funnel_days_in_phase = days
            partner.funnel_days_in_phase_label = (
                self.env._("1 day in phase")
                if days == 1
                else self.env._("%(days)s days in phase", days=days)
            )

    @api.depends(
        "funnel_state",
        "funnel_phase_date_start",
        "funnel_stale_deadline",
        "lead_phase_id",
        "company_id",
        "expected_close_date",
    )
    def _compute_funnel_expected_close_date(self):
        # One read of the stats (crm.plus.phase.stat) for the whole recordset.
        keys = {
            partner.id: (partner.company_id.id or None, partner.lead_phase_id.id)
            for partner in self
            if partner.funnel_state == "open" and partner.lead_phase_id
        }
        learned = self.env["crm.plus.phase.stat"]._learned_close(set(keys.values()))
        for partner in self:
            partner.funnel_learned_close_date = learned_close_date(
                partner.funnel_state,
                partner.funnel_phase_date_start,
                partner.funnel_stale_deadline,
                learned.get(keys.get(partner.id)),
            )
            partner.funnel_expected_close_date = (
                partner.expected_close_date or partner.funnel_learned_close_date
            )

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
        # The pipeline board and the forecast read open funnel contacts of one type by phase
        # (a salesperson's board: their own), the progress bar their health, the columns and
        # the forecast their figures: a covering index, read alone (index-only) instead of a
        # heap page per contact, next to res_partner's many columns and its closed or
        # non-funnel rows. (An earlier version's indexes: migrations/1.2.0.)
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS %s ON res_partner (%s) INCLUDE (%s)"
                " WHERE funnel_state = 'open'",
                SQL.identifier(BOARD_INDEX),
                SQL(", ").join(SQL.identifier(column) for column in BOARD_INDEX_KEY),
                SQL(", ").join(SQL.identifier(column) for column in BOARD_INDEX_INCLUDE),
            )
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
        """Every phase of the account type(s) the board is filtered on is a column, so a card
        can be dragged to any of them; those types' columns come first. The columns of each
        type stay together, in its order (the phases' own order is by sequence only, which
        would interleave the types). ``domain``: a list, or a ``Domain`` on 19.0."""
        type_ids = set(self._funnel_type_ids_from_domain(domain))
        if type_ids:
            phases |= phases.search([("account_type_id", "in", list(type_ids))])
        return phases.sorted(
            lambda phase: (
                phase.account_type_id.id not in type_ids,
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
        """The account types a domain selects the contacts of, as the search view builds it:
        by id (a filter, "Group by"), by name ("Search Account Type for: Partner", an
        ``ilike`` on the many2one or on ``account_type_id.name``; 19.0 hands it over as an
        ``any`` on the type's display name) or a sub-domain (``any``). Negated conditions
        select nothing."""
        AccountType = self.env["crm.plus.account.type"]
        type_ids = set()
        for path, operator, value in domain_positive_conditions(domain):
            field_name, _dot, sub_path = path.partition(".")
            if field_name != "account_type_id":
                continue
            if sub_path:
                if operator in TYPE_NAME_OPERATORS:
                    type_ids.update(AccountType.search([(sub_path, operator, value)]).ids)
                continue
            values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
            if operator == "any":
                type_ids.update(AccountType.search(value).ids)
            elif operator in ("=", "in"):
                type_ids.update(v for v in values if isinstance(v, int) and v)
                names = [v for v in values if isinstance(v, str)]
                if names:
                    type_ids.update(AccountType.search([("display_name", "in", names)]).ids)
            elif operator in TYPE_NAME_OPERATORS and isinstance(value, str):
                type_ids.update(AccountType.search([("display_name", operator, value)]).ids)
        # Else the type the board was opened for (an account type's contacts). Not as well:
        # the search view keeps a default facet's value in the context (default_<field>) when
        # the facet is replaced, so the Lead board searched for "Prospect" would keep Lead's
        # empty columns in front.
        context_type = self.env.context.get("default_account_type_id")
        if not type_ids and isinstance(context_type, int):
            type_ids.add(context_type)
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

    @api.model
    def default_get(self, fields_list):
        """A user without CRM+ rights creates contacts outside any funnel: a default for a
        funnel field (a user-defined default, a context key) does not apply to them, as they
        cannot set those fields themselves (a create given such a context key is refused:
        _funnel_check_field_access)."""
        defaults = super().default_get(fields_list)
        if not self._funnel_may_set() and not defaults.keys().isdisjoint(FUNNEL_INPUT_FIELDS):
            defaults = {k: v for k, v in defaults.items() if k not in FUNNEL_INPUT_FIELDS}
        return defaults

    @api.model
    def _funnel_may_set(self):
        return self.env.su or self.env.user.has_group(FUNNEL_GROUP)

    @api.model
    def _funnel_with_defaults(self, vals_list):
        """The funnel fields' values a create will write, defaults included (the ORM adds them
        later, in its own create): the checks and the funnel entry below see what is written,
        whichever path gave it (a value, a context default of a quick create, name_create,
        web_save...)."""
        missing = [
            fname for fname in FUNNEL_INPUT_FIELDS if any(fname not in vals for vals in vals_list)
        ]
        defaults = missing and {k: v for k, v in self.default_get(missing).items() if v}
        if not defaults:
            return vals_list
        return [dict(defaults, **vals) for vals in vals_list]

    @api.model_create_multi
    def create(self, vals_list):
        with values_checked_by_the_orm():
            vals_list = [
                checked_client_values(self.browse(), vals, FUNNEL_MANY2ONES) for vals in vals_list
            ]
            self._funnel_check_field_access(vals_list)
            vals_list = self._funnel_with_defaults(vals_list)
            self._funnel_check_computed(vals_list)
            vals_list = self._funnel_enter_at_create(vals_list)
            vals_list = self.env["crm.plus.funnel"]._with_salesperson(vals_list)
            with self.env["crm.plus.funnel.total"]._after_create():
                partners = super().create(vals_list)
                partners._funnel_check_company()
                # The inverse gave the contacts created in a funnel their lines: their fields,
                # given or not, are what the lines say.
                with_type = partners.sudo().filtered("account_type_id")
                if with_type:
                    self._funnel_recompute(with_type)
                    # Computed now, within the create: Automation Rules see a contact created
                    # in its first phase, one event, not a create then a change.
                    with_type.flush_recordset(list(DERIVED_FIELDS))
                return partners

    @api.model
    def _funnel_enter_at_create(self, vals_list):
        """A contact created with a type that has phases, and no funnel columns of its own, is
        created in the type's first phase, open: one event for Automation Rules, not a create
        then a change; the inverse then gives it its lines. A default type (the Pipeline's
        New or a quick create, ``default_account_type_id``) counts as given: the defaults are
        in ``vals_list`` already (_funnel_with_defaults)."""
        type_ids = {
            vals["account_type_id"]
            for vals in vals_list
            if vals.get("account_type_id")
            and isinstance(vals["account_type_id"], int)
            and not any(vals.get(fname) for fname in HISTORY_FIELDS)
        }
        if not type_ids:
            return vals_list
        types = self.env["crm.plus.account.type"].sudo().browse(type_ids).exists()
        first_phase = {
            account_type.id: account_type._funnel_phases()[:1] for account_type in types
        }
        result = []
        for vals in vals_list:
            phase = first_phase.get(vals.get("account_type_id"))
            enters = phase and not any(vals.get(fname) for fname in HISTORY_FIELDS)
            result.append(
                dict(vals, lead_phase_id=phase.id, funnel_state="open") if enters else vals
            )
        return result

    def write(self, vals):
        # The funnel analysis's totals move by the contacts' change: their salesperson,
        # company, archiving, type or funnel (crm.plus.funnel.total). A phone or an email
        # changes nothing there, and costs nothing more.
        follow_totals = (
            self.env["crm.plus.funnel.total"]._follow_contacts(self.ids)
            if FUNNEL_TOTALS_WRITES.intersection(vals)
            else nullcontext()
        )
        with follow_totals, values_checked_by_the_orm():
            vals = checked_client_values(self, vals, FUNNEL_MANY2ONES)
            self._funnel_check_computed([vals])
            type_changed = were_open = self.browse()
            if "account_type_id" in vals:
                type_changed = self.browse(
                    self.sudo()
                    .filtered(lambda p: p.account_type_id.id != vals["account_type_id"])
                    .ids
                )
                were_open = type_changed.sudo().filtered(lambda p: p.funnel_state == "open")
            funnel = self.env["crm.plus.funnel"]
            if "user_id" in vals and self.env.user.has_group(FUNNEL_GROUP):
                # The salesperson owns the deal: a CRM+ user takes over (or hands on) only the
                # deals they may work (their access level, _check_funnel_rule).
                new_user_id = vals["user_id"]
                new_user_id = getattr(new_user_id, "id", new_user_id) or False
                funnel._check_funnel_rule(
                    self.browse(self.sudo().filtered(lambda p: p.user_id.id != new_user_id).ids)
                )
            if not {"account_type_id", *HISTORY_FIELDS}.intersection(vals):
                return super().write(vals)
            # Many contacts moved at once (the bulk wizard, won closes, a drag of a selection, an
            # import that updates them) are logged in one batch, one message per contact, as the
            # state machine's own actions are; one contact by mail's tracking.
            with funnel._one_message_each(self, fnames=list(self._track_get_fields())) as funnel:
                partners = self.with_env(funnel.env)
                result = super(ResPartner, partners).write(vals)
                if type_changed:
                    funnel._sync(type_changed.with_env(funnel.env), were_open=set(were_open.ids))
                partners._funnel_check_company()
                self._funnel_recompute(partners)
            return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_funnel_of_a_user_without_crm_plus(self):
        """A contact's funnel (its deals, its closes) goes with it: deleting one is a funnel
        change, which only CRM+ users make. Others may still archive it, as any contact."""
        if self._funnel_may_set() or not self.ids:
            return
        in_funnel = (
            self.env["crm.plus.phase.line"]
            .sudo()
            .search_fetch([("partner_id", "in", self.ids)], ["partner_id"], limit=1)
        )
        if in_funnel:
            raise AccessError(
                self.env._(
                    "Only CRM+ users can delete a contact with a sales funnel (%s): "
                    "archive it instead.",
                    in_funnel.partner_id.sudo().display_name,
                )
            )

    def unlink(self):
        # The contacts' lines go with them (ondelete cascade): their closes leave the
        # suggested-score statistics now, as a reopen's would, not at the weekly recount.
        # (An archived contact stays in them: its history still teaches.)
        stats = self.env["crm.plus.phase.stat"]
        with (
            self.env["crm.plus.funnel.total"]._follow_contacts(self.ids),
            stats._follow_contacts(stats._with_closes(self.ids)),
        ):
            return super().unlink()

    def _funnel_check_company(self):
        """check_company on the funnel's fields: 19.0's contacts check it themselves (as Odoo
        checks it on create and write), 18.0's do not."""
        if not self._check_company_auto:
            self._check_company(["account_type_id", "lead_phase_id", "close_reason_id"])

    @api.model
    def _funnel_recompute(self, partners):
        # A written value of a field computed from the lines is kept from recomputation while
        # its inverse runs; the lines decide it once the write is done, and so every field
        # that depends on it (the stale deadline, a Studio field...).
        partners.modified(DERIVED_FIELDS)
        for fname in DERIVED_FIELDS:
            self.env.add_to_compute(self._fields[fname], partners)

    @api.model
    def _funnel_check_field_access(self, vals_list):
        """Odoo 18 enforces field groups on write, not on create: a create must not let a user
        outside CRM+ put a contact in a funnel, by a value or by a context default (refused as
        Odoo 19 refuses a default for a field the user may not write). Called before the
        defaults are added: a user-defined default does not apply to them (default_get)."""
        given = {
            fname for vals in vals_list for fname in FUNNEL_INPUT_FIELDS if vals.get(fname)
        } | {fname for fname in FUNNEL_INPUT_FIELDS if f"default_{fname}" in self.env.context}
        if given and not self._funnel_may_set():
            raise AccessError(
                self.env._(
                    "Only CRM+ users can set the funnel fields of a contact (%s).",
                    ", ".join(sorted(given)),
                )
            )

    def _funnel_check_computed(self, vals_list):
        """The funnel's figures are computed from the lines: a value written for one would
        stand until the next change of the lines (a forged score, forecast, stale date...)."""
        given = {
            fname
            for vals in vals_list
            for fname in vals
            if (field := self._fields.get(fname))
            and field._module == "crm_plus"
            and field.compute
            and not field.inverse
        }
        if given:
            raise UserError(
                self.env._(
                    "%(contact)s: these figures come from the funnel lines (%(fields)s): edit "
                    "the current line, or move the contact through its funnel, instead.",
                    contact=records_label(self, vals_list[0]),
                    fields=", ".join(
                        sorted(self._fields[f]._description_string(self.env) for f in given)
                    ),
                )
            )

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

    def _auto_init(self):
        # Create the stored figure columns empty before the ORM does: empty is right for every
        # contact outside a funnel, so installing on a database of existing contacts neither
        # recomputes nor rewrites them (their write_date stays).
        for column, column_type in (
            ("lead_phase_id", "int4"),
            ("funnel_state", "varchar"),
            ("close_reason_id", "int4"),
            ("close_date", "date"),
            ("funnel_score", "int4"),
            ("funnel_forecast_value", "numeric"),
            ("funnel_recurring_value", "numeric"),
            ("funnel_weighted_value", "numeric"),
            # Filled on upgrade by migrations/1.1.0 for the contacts already in a funnel.
            *((fname, "numeric") for fname in STATE_PURE_FIELDS),
            ("funnel_phase_date_start", "timestamp"),
            ("funnel_stale_deadline", "timestamp"),
        ):
            if not sql.column_exists(self.env.cr, self._table, column):
                sql.create_column(self.env.cr, self._table, column, column_type)
        return super()._auto_init()

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
            if not init_values["lead_phase_id"]:
                return self._funnel_subtype("crm_plus.mt_partner_joined")
            return self._funnel_subtype("crm_plus.mt_partner_phase")
        return super()._track_subtype(init_values)

    # ------------------------------------------------------------------ actions
    #
    # The buttons, the wizards and RPC call these; the rules are the state machine's.

    def action_advance_phase(self):
        """Complete the current phase and make the next one current, for every contact."""
        return self.env["crm.plus.funnel"]._advance(self)

    def action_close(self, close_reason_id=None, note=None):
        """Close the funnel with a reason: won only from the closing phase, lost from any open
        phase. A won contact whose type names a "type when won" switches to it."""
        return self.env["crm.plus.funnel"]._close(self, close_reason_id, note=note)

    def action_reopen(self):
        """Undo a close: back to the phase it was closed in."""
        return self.env["crm.plus.funnel"]._reopen(self)

    def _funnel_assign_account_type(self, account_type):
        """Give every contact of the recordset ``account_type`` (the bulk wizard): one write of
        the contacts whose type differs, which starts or resumes their funnels. Returns them."""
        account_type = self._funnel_assign_account_type_check(account_type)
        changing = self.browse(
            self.sudo().filtered(lambda p: p.account_type_id != account_type).ids
        )
        if changing:
            changing.write({"account_type_id": account_type.id})
        return changing

    def _funnel_assign_account_type_check(self, account_type):
        """What ``_funnel_assign_account_type`` refuses, without changing anything (a bulk job
        checks it before it is queued): the existing ``account_type``, or an error."""
        self.env["crm.plus.funnel"]._check_access(self)
        account_type = account_type.exists()
        if not account_type:
            raise UserError(self.env._("This account type does not exist (anymore)."))
        account_type.check_access("read")
        return account_type

    def action_open_close_wizard(self):
        self.env["crm.plus.funnel"]._check_closable(self)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Close the Deal")
            if len(self) == 1
            else self.env._("Close %s Deals", len(self)),
            "res_model": "crm.plus.close.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"active_model": self._name, "active_ids": self.ids},
        }

    @api.model
    def action_crm_plus_pipeline(self):
        """The pipeline board, filtered on the first account type with phases so every column
        of that funnel shows, empty ones included. A salesperson's board opens on their own
        contacts (My Funnel), as Odoo CRM's opens on "My Pipeline"; a manager's, or that of a
        user who owns no open contact, on everyone's."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_plus.res_partner_action_pipeline"
        )
        first_type = self.env["crm.plus.account.type"].search([("has_phases", "=", True)], limit=1)
        context = dict(self.env.context, crm_plus_pipeline=True)
        if first_type:
            context["search_default_account_type_id"] = first_type.id
        if not self.env.user.has_group(MANAGER_GROUP) and self.search_count(
            [("user_id", "=", self.env.uid), ("funnel_state", "=", "open")], limit=1
        ):
            context["search_default_my_funnel"] = 1
        action["context"] = context
        return action
