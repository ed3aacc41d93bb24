"""The contact's side of the funnel: its fields computed from the phase lines, and their
inverse.

The funnel itself is the contact's phase lines (crm.plus.phase.line); its lead phase, state,
close and figures are computed from them here, and written back through their inverse, which
hands the change to the state machine (crm.plus.funnel). res.partner is extended by concern,
as Odoo's own modules extend it:

- res_partner.py: the fields computed from the lines, the Overview's, the chatter's subtypes;
- res_partner_board.py: the pipeline board and the lists: stale rule, health bands, suggested
  score, learned closing date, the board's columns and indexes;
- res_partner_funnel_write.py: how a create, a write or a deletion of contacts reaches their
  funnel, and its checks;
- res_partner_funnel_actions.py: the funnel's actions (buttons, wizards, RPC);
- res_partner_deal.py: the deal's figures for export and import.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL, sql

from ..compat import check_field_read_access
from .crm_plus_funnel_import import HISTORY_FIELDS
from .crm_plus_phase_line import set_funnel_currency
from .funnel_rules import (
    CLOSED_STATES,
    FUNNEL_GROUP,
    FUNNEL_STATE_SELECTION,
    MAIN_COMPANY_CURRENCY_SQL,
    STATE_PURE_FIELDS,
    current_and_last_close,
    deal_money,
)

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
# The deal's amounts, from the lines, in the funnel's currency.
FROM_LINES_MONEY = dict(FROM_LINES, currency_field="funnel_currency_id", groups=FUNNEL_GROUP)
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
        # the open-funnel index (res_partner_board.py).
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
        FUNNEL_STATE_SELECTION,
        **FROM_LINES_WRITABLE,
        tracking=True,
        # No index of its own: "open" is the open-funnel index's condition
        # (res_partner_board.py); the Won and Lost filters scan, as Odoo CRM's do.
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
        **FROM_LINES_MONEY,
        aggregator=None,
        help="The deal's amount: the forecast of its current phase while open, of the phase "
        "it was closed in once won or lost.",
    )
    funnel_recurring_value = fields.Monetary(
        string="Recurring (monthly)",
        **FROM_LINES_MONEY,
        aggregator=None,
        help="Monthly equivalent of the recurring value of the deal's phase (the current one "
        "while open, the one it was closed in once won or lost).",
    )
    funnel_weighted_value = fields.Monetary(
        string="Weighted Forecast",
        **FROM_LINES_MONEY,
        aggregator=None,
        help="Forecast × score / 100: the forecast itself when won, 0 when lost.",
    )
    # The four totals a manager reads, each of one state (0 for a contact in another state).
    funnel_open_value = fields.Monetary(
        string="Open Pipeline",
        **FROM_LINES_MONEY,
        help="The forecast of an open deal (0 when won, lost or outside a funnel).",
    )
    funnel_open_weighted_value = fields.Monetary(
        string="Weighted Pipeline",
        **FROM_LINES_MONEY,
        help="The weighted forecast (forecast × score / 100) of an open deal (0 when won, lost "
        "or outside a funnel).",
    )
    funnel_won_value = fields.Monetary(
        string="Won Revenue",
        **FROM_LINES_MONEY,
        help="The forecast of a won deal (0 when open, lost or outside a funnel).",
    )
    funnel_lost_value = fields.Monetary(
        string="Lost",
        **FROM_LINES_MONEY,
        help="The forecast of a lost deal (0 when open, won or outside a funnel).",
    )
    funnel_phase_date_start = fields.Datetime(
        string="In Phase Since",
        # Writable for the importer (and a manager's correction of the current phase's start).
        **FROM_LINES_WRITABLE,
        copy=False,
        groups=FUNNEL_GROUP,
    )
    funnel_stale_deadline = fields.Datetime(
        string="Stale From",
        compute="_compute_funnel_stale_deadline",
        store=True,
        groups=FUNNEL_GROUP,
        help="When an open partner that has not moved on becomes stale: the start of its phase "
        "plus the phase's 'stale after' days.",
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
            elif partner.funnel_state in CLOSED_STATES:
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
                partner.funnel_state in CLOSED_STATES and last_close and last_close.phase_id.active
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
            if self.funnel_state == "open" and init_values["funnel_state"] in CLOSED_STATES:
                return self._funnel_subtype("crm_plus.mt_partner_reopened")
        if "lead_phase_id" in init_values and self.lead_phase_id:
            if not init_values["lead_phase_id"]:
                return self._funnel_subtype("crm_plus.mt_partner_joined")
            return self._funnel_subtype("crm_plus.mt_partner_phase")
        return super()._track_subtype(init_values)
