from collections import defaultdict

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.osv import expression
from odoo.tools.mail import generate_tracking_message_id

# Changes the funnel's batch actions log themselves, in one message per partner.
FUNNEL_TRACKED_FIELDS = ("account_type_id", "lead_phase_id", "funnel_state", "close_reason_id")
FUNNEL_GROUP = "crm_plus.group_crm_plus_user"
LINE_FIELDS_READ = [
    "partner_id",
    "phase_id",
    "state",
    "sequence",
    "phase_type",
    "score",
    "forecast_value",
    "recurring_value",
    "recurring_interval",
    "close_outcome",
    "close_date",
    "close_reason_id",
]


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
        groups=FUNNEL_GROUP,
    )
    funnel_is_stale = fields.Boolean(
        string="Stale",
        compute="_compute_funnel_is_stale",
        search="_search_funnel_is_stale",
        groups=FUNNEL_GROUP,
        help="The partner sits in its current phase longer than the phase allows.",
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

    @api.depends("funnel_state", "funnel_phase_date_start", "lead_phase_id.stale_after_days")
    def _compute_funnel_is_stale(self):
        today = fields.Date.context_today(self)
        for partner in self:
            days = partner.lead_phase_id.stale_after_days
            start = partner.funnel_phase_date_start
            partner.funnel_is_stale = bool(
                partner.funnel_state == "open"
                and days
                and start
                and (today - fields.Date.context_today(self, start)).days > days
            )

    def _search_funnel_is_stale(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("The Stale filter only supports = True / = False."))
        today = fields.Date.context_today(self)
        # Same day arithmetic as the compute: whole days in the user's timezone, no cron needed.
        tz = self.env.context.get("tz") or self.env.user.tz or "UTC"
        self.flush_model(["funnel_state", "funnel_phase_date_start", "lead_phase_id"])
        self.env["crm.plus.lead.phase"].flush_model(["stale_after_days"])
        self.env.cr.execute(
            """
            SELECT p.id
              FROM res_partner p
              JOIN crm_plus_lead_phase ph ON ph.id = p.lead_phase_id
             WHERE p.funnel_state = 'open'
               AND ph.stale_after_days > 0
               AND p.funnel_phase_date_start IS NOT NULL
               AND (%s::date - (p.funnel_phase_date_start AT TIME ZONE 'UTC' AT TIME ZONE %s)::date)
                   > ph.stale_after_days
            """,
            (today, tz),
        )
        stale_ids = [row[0] for row in self.env.cr.fetchall()]
        positive = (operator == "=") == value
        return [("id", "in" if positive else "not in", stale_ids)]

    @api.model
    def _read_group_expand_lead_phase(self, phases, domain):
        """Every phase of the account type(s) the board is filtered on is a column."""
        type_ids = self._funnel_type_ids_from_domain(domain)
        if not type_ids:
            return phases
        return phases | phases.search([("account_type_id", "in", type_ids)])

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
            self = self.with_context(crm_plus_web_client_default=True)
        return super().onchange(values, field_names, fields_spec)

    @api.model_create_multi
    def create(self, vals_list):
        partners = super().create(vals_list)
        in_funnel = partners.filtered(lambda p: p.sudo().account_type_id)
        if in_funnel:
            in_funnel._funnel_sync_account_type()
        return partners

    def write(self, vals):
        if self.env.context.get("crm_plus_funnel_op"):
            return super().write(vals)
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
            type_changed = self.filtered(
                lambda p: p.sudo().account_type_id.id != (vals["account_type_id"] or False)
            )
        target_phase = None
        if "lead_phase_id" in vals:
            target_phase = self.env["crm.plus.lead.phase"].browse(vals["lead_phase_id"] or [])
            vals = {k: v for k, v in vals.items() if k != "lead_phase_id"}
        result = super().write(vals) if vals else True
        if type_changed:
            # Generic tracking (unless disabled) already logs every tracked funnel field.
            ctx = self.env.context
            type_changed._funnel_sync_account_type(
                log=bool(ctx.get("mail_notrack") or ctx.get("tracking_disable"))
                and not ctx.get("crm_plus_logged_by_caller")
            )
        if target_phase is not None:
            self._funnel_move_to_phase(target_phase)
        return result

    # ------------------------------------------------------------------ funnel rules

    def _funnel_check_access(self):
        if not self.env.su and not self.env.user.has_group(FUNNEL_GROUP):
            raise AccessError(self.env._("Only CRM+ users can move contacts through the funnel."))
        self.check_access("write")

    def _funnel_line_model(self):
        return self.env["crm.plus.phase.line"].sudo().with_context(crm_plus_funnel_op=True)

    def _funnel_active_lines(self):
        """{partner_id: lines of its current account type, in phase order}, in one query."""
        lines = self._funnel_line_model().search(
            [("partner_id", "in", self.ids), ("is_active_funnel", "=", True)],
            order="partner_id, sequence, phase_id",
        )
        # Everything the funnel reads from lines and phases, fetched once for the whole batch.
        lines.fetch(LINE_FIELDS_READ)
        lines.phase_id.fetch(["active", "phase_type", "sequence", "default_score"])
        ids_by_partner = defaultdict(list)
        for line in lines:
            ids_by_partner[line.partner_id.id].append(line.id)
        by_partner = defaultdict(lambda: self._funnel_line_model())
        for partner_id, line_ids in ids_by_partner.items():
            by_partner[partner_id] = lines.browse(line_ids).with_prefetch(lines._prefetch_ids)
        return by_partner

    def _funnel_snapshot(self):
        return {
            partner.id: {fname: partner[fname] for fname in FUNNEL_TRACKED_FIELDS}
            for partner in self.sudo()
        }

    def _funnel_log_changes(self, initial, body=None):
        """Log the funnel fields' changes as tracking messages, one per partner, created in a
        single batch (the generic tracking posts them one by one)."""
        partners = self.sudo()
        col_info = partners.fields_get(
            list(FUNNEL_TRACKED_FIELDS),
            attributes=("string", "type", "selection", "currency_field"),
        )
        tracking_model = self.env["mail.tracking.value"]
        author = self.env.user.partner_id
        subtype_id = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note")
        # What mail.thread's _message_log_batch precomputes once, instead of per message.
        reply_to = self.env["mail.thread"]._notify_get_reply_to(default=author.email_formatted)[
            False
        ]
        vals_list = []
        tracking_by_index = []
        for partner in partners:
            before = initial.get(partner.id)
            if before is None:
                continue
            tracking = [
                tracking_model._create_tracking_values(
                    before[fname], partner[fname], fname, col_info[fname], partner
                )
                for fname in FUNNEL_TRACKED_FIELDS
                if before[fname] != partner[fname]
            ]
            if tracking or body:
                vals_list.append(
                    {
                        "model": partner._name,
                        "res_id": partner.id,
                        "author_id": author.id,
                        "email_from": author.email_formatted or False,
                        "message_type": "notification",
                        "is_internal": True,
                        "subtype_id": subtype_id,
                        "body": body or "",
                        "reply_to": reply_to,
                        "message_id": generate_tracking_message_id("message-notify"),
                        "email_add_signature": False,
                        "record_alias_domain_id": False,
                        "record_company_id": False,
                        "record_name": False,
                    }
                )
                tracking_by_index.append(tracking)
        if vals_list:
            messages = self.env["mail.message"].sudo().create(vals_list)
            # One INSERT for all tracking values (nested o2m commands insert per message).
            tracking_model.sudo().create(
                [
                    dict(values, mail_message_id=message.id)
                    for message, tracking in zip(messages, tracking_by_index, strict=True)
                    for values in tracking
                ]
            )

    def _funnel_sync_account_type(self, log=False):
        """Partners whose account type changed: start (or resume) the new type's funnel; the
        lines of other types stay as history. A won/lost partner moved to a type without
        phases keeps its outcome."""
        partners = self.sudo().with_context(crm_plus_funnel_op=True, mail_notrack=True)
        initial = partners._funnel_snapshot()
        # Flush so the stored is_active_funnel flags reflect the new types.
        self.env.flush_all()
        lines_by_partner = partners._funnel_active_lines()
        phases_by_type = {}
        to_create = []
        for partner in partners:
            account_type = partner.account_type_id
            if account_type and account_type not in phases_by_type:
                phases_by_type[account_type] = account_type.phase_ids.filtered("active").sorted(
                    lambda p: (p.sequence, p.id)
                )
            phases = phases_by_type.get(account_type) or self.env["crm.plus.lead.phase"]
            existing = lines_by_partner[partner.id].phase_id
            to_create.extend(
                {
                    "partner_id": partner.id,
                    "phase_id": phase.id,
                    "state": "todo",
                    "score": phase.default_score,
                }
                for phase in phases - existing
            )
        if to_create:
            self._funnel_line_model()._funnel_insert(to_create)
            lines_by_partner = partners._funnel_active_lines()
        now = fields.Datetime.now()
        start_lines = reset_lines = self._funnel_line_model()
        partner_updates = defaultdict(lambda: partners.browse())
        for partner in partners:
            lines = lines_by_partner[partner.id].filtered(lambda line: line.phase_id.active)
            if not lines:
                # Phase-less type (or none): the funnel is left; a past outcome stays readable.
                partner_updates[("leave",)] |= partner
                continue
            current = lines.filtered(lambda line: line.state == "current")[:1]
            closed = lines.filtered("close_outcome").sorted("close_date")[-1:]
            if current:
                partner_updates[("open", current.phase_id.id)] |= partner
            elif closed:
                key = (
                    "closed",
                    closed.phase_id.id,
                    closed.close_outcome,
                    closed.close_reason_id.id,
                )
                partner_updates[(*key, closed.close_date)] |= partner
            else:
                start_lines |= lines[0]
                reset_lines |= lines[1:].filtered(lambda line: line.state != "todo")
                partner_updates[("open", lines[0].phase_id.id)] |= partner
        if reset_lines:
            reset_lines.with_context(crm_plus_funnel_op=True).write(
                {"state": "todo", "date_start": False, "date_done": False, "done_by_id": False}
            )
        if start_lines:
            start_lines.with_context(crm_plus_funnel_op=True)._funnel_enter(now)
        for key, group in partner_updates.items():
            if key[0] == "leave":
                group.write({"lead_phase_id": False})
            elif key[0] == "open":
                group.write(
                    {
                        "lead_phase_id": key[1],
                        "funnel_state": "open",
                        "close_reason_id": False,
                        "close_date": False,
                    }
                )
            else:
                group.write(
                    {
                        "lead_phase_id": key[1],
                        "funnel_state": key[2],
                        "close_reason_id": key[3],
                        "close_date": key[4],
                    }
                )
        if log:
            partners._funnel_log_changes(initial)

    def _funnel_write_phases(self, phase_by_partner, **common_vals):
        """Write each partner's new phase in one write per phase: res.partner.write costs
        queries per call, so the count depends on the number of phases, not of partners."""
        partner_ids_by_phase = defaultdict(list)
        for partner_id, phase_id in phase_by_partner.items():
            partner_ids_by_phase[phase_id].append(partner_id)
        for phase_id, partner_ids in partner_ids_by_phase.items():
            self.browse(partner_ids).write(dict(common_vals, lead_phase_id=phase_id))

    def _funnel_check_open(self, action_label):
        for partner in self.sudo():
            if partner.funnel_state in ("won", "lost"):
                raise UserError(
                    self.env._(
                        "%(partner)s cannot %(action)s: its funnel is closed (%(state)s). "
                        "Reopen it first.",
                        partner=partner.display_name,
                        action=action_label,
                        state=dict(
                            partner._fields["funnel_state"]._description_selection(self.env)
                        ).get(partner.funnel_state),
                    )
                )
            if not partner.account_type_id.has_phases or not partner.lead_phase_id:
                raise UserError(
                    self.env._(
                        "%(partner)s cannot %(action)s: its account type (%(type)s) has no lead "
                        "phases.",
                        partner=partner.display_name,
                        action=action_label,
                        type=partner.account_type_id.name or self.env._("none"),
                    )
                )
            if partner.funnel_state != "open":
                raise UserError(
                    self.env._(
                        "%(partner)s is not in an open funnel.", partner=partner.display_name
                    )
                )

    def action_advance_phase(self):
        """Complete the current phase and make the next one current, for every partner."""
        self._funnel_check_access()
        self._funnel_check_open(self.env._("complete its phase"))
        partners = self.sudo().with_context(crm_plus_funnel_op=True, mail_notrack=True)
        initial = partners._funnel_snapshot()
        lines_by_partner = partners._funnel_active_lines()
        done_lines = self._funnel_line_model()
        next_lines = self._funnel_line_model()
        for partner in partners:
            lines = lines_by_partner[partner.id].filtered(lambda line: line.phase_id.active)
            current = lines.filtered(lambda line: line.state == "current")
            if len(current) != 1:
                raise UserError(
                    self.env._(
                        "%s has no current phase line; reopen or reassign its type.", partner.name
                    )
                )
            if current.phase_type == "closing":
                raise UserError(
                    self.env._(
                        "%s is in the closing phase: close it with a close reason (won or lost) "
                        "instead of completing the phase.",
                        partner.display_name,
                    )
                )
            following = lines[list(lines).index(current) + 1 :]
            if not following:
                raise UserError(
                    self.env._(
                        "%(partner)s is in the last phase of %(type)s, which has no closing phase "
                        "yet: add a closing phase to the account type, or close it as lost.",
                        partner=partner.display_name,
                        type=partner.account_type_id.name,
                    )
                )
            done_lines |= current
            next_lines |= following[0]
        now = fields.Datetime.now()
        done_lines.write({"state": "done", "date_done": now, "done_by_id": self.env.uid})
        next_lines._funnel_enter(now, carry_from=done_lines)
        partners._funnel_write_phases(
            {line.partner_id.id: line.phase_id.id for line in next_lines}
        )
        partners._funnel_log_changes(initial)
        return True

    def _funnel_move_to_phase(self, phase):
        """Set the current phase directly (a drag on the board): earlier lines done, the target
        current, later lines back to todo."""
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
        for partner in self.sudo():
            if partner.account_type_id != phase.account_type_id:
                raise ValidationError(
                    self.env._(
                        "The lead phase %(phase)s belongs to %(phase_type)s, not to %(partner)s's "
                        "account type (%(type)s).",
                        phase=phase.name,
                        phase_type=phase.account_type_id.name,
                        partner=partner.display_name,
                        type=partner.account_type_id.name or self.env._("none"),
                    )
                )
        self._funnel_check_open(self.env._("change phase"))
        partners = self.sudo().with_context(crm_plus_funnel_op=True, mail_notrack=True)
        partners = partners.filtered(lambda p: p.lead_phase_id != phase)
        if not partners:
            return True
        initial = partners._funnel_snapshot()
        lines_by_partner = partners._funnel_active_lines()
        now = fields.Datetime.now()
        to_done = to_todo = to_enter = self._funnel_line_model()
        for partner in partners:
            lines = lines_by_partner[partner.id].filtered(lambda line: line.phase_id.active)
            target = lines.filtered(lambda line, phase=phase: line.phase_id == phase)
            index = list(lines).index(target)
            to_done |= lines[:index].filtered(lambda line: line.state != "done")
            to_todo |= lines[index + 1 :].filtered(lambda line: line.state != "todo")
            to_enter |= target
        carry = to_done | to_todo
        carry = carry.filtered(lambda line: line.state == "current")
        to_done.write({"state": "done", "date_done": now, "done_by_id": self.env.uid})
        to_todo.write({"state": "todo", "date_done": False, "done_by_id": False})
        to_enter._funnel_enter(now, carry_from=carry)
        partners.write({"lead_phase_id": phase.id})
        partners._funnel_log_changes(initial)
        return True

    def action_close(self, close_reason_id, note=None):
        """Close the funnel with a reason: won only from the closing phase, lost from any
        open phase. A won partner whose type names a "type when won" switches to it."""
        self._funnel_check_access()
        reason = self.env["crm.plus.close.reason"].browse(
            close_reason_id.id
            if isinstance(close_reason_id, models.BaseModel)
            else close_reason_id
        )
        if not isinstance(reason.id, int) or not reason.exists():
            raise UserError(self.env._("The close reason %s does not exist.", close_reason_id))
        if not reason.active:
            raise UserError(self.env._("The close reason %s is archived.", reason.name))
        self._funnel_check_open(self.env._("be closed"))
        partners = self.sudo().with_context(crm_plus_funnel_op=True, mail_notrack=True)
        initial = partners._funnel_snapshot()
        lines_by_partner = partners._funnel_active_lines()
        current_lines = self._funnel_line_model()
        for partner in partners:
            current = lines_by_partner[partner.id].filtered(lambda line: line.state == "current")
            if len(current) != 1:
                raise UserError(self.env._("%s has no current phase line.", partner.display_name))
            if reason.outcome == "won" and current.phase_type != "closing":
                closing = partner.account_type_id.closing_phase_id
                if not closing:
                    raise UserError(
                        self.env._(
                            "%(partner)s cannot be closed as won: its account type %(type)s has "
                            "no closing phase yet. Add one in Configuration → Lead phases.",
                            partner=partner.display_name,
                            type=partner.account_type_id.name,
                        )
                    )
                raise UserError(
                    self.env._(
                        "%(partner)s can only be closed as won from the closing phase "
                        "(%(closing)s); it is in %(phase)s. A lost close is possible from any "
                        "phase.",
                        partner=partner.display_name,
                        closing=closing.name,
                        phase=current.phase_id.name,
                    )
                )
            current_lines |= current
        now = fields.Datetime.now()
        today = fields.Date.context_today(self)
        line_vals = {
            "state": "done",
            "date_done": now,
            "done_by_id": self.env.uid,
            "close_reason_id": reason.id,
            "close_outcome": reason.outcome,
            "close_date": today,
            "closed_by_id": self.env.uid,
        }
        if note:
            line_vals["note"] = note
        current_lines.write(line_vals)
        partners.write(
            {"funnel_state": reason.outcome, "close_reason_id": reason.id, "close_date": today}
        )
        if reason.outcome == "won" and self._funnel_won_switches_type():
            by_type = defaultdict(lambda: partners.browse())
            for partner in partners.filtered("account_type_id.won_account_type_id"):
                by_type[partner.account_type_id.won_account_type_id] |= partner
            for won_type, group in by_type.items():
                group.with_context(crm_plus_funnel_op=False, crm_plus_logged_by_caller=True).write(
                    {"account_type_id": won_type.id}
                )
        body = Markup("<p>%s</p>") % note if note else None
        partners._funnel_log_changes(initial, body=body)
        return True

    @api.model
    def _funnel_won_switches_type(self):
        return (
            self.env["ir.config_parameter"].sudo().get_param("crm_plus.won_switches_type", "True")
            != "False"
        )

    def action_reopen(self):
        """Undo a close: the partner returns to the phase it was closed in (and to that
        funnel's type if a won close switched it). The close stays in the line's history."""
        self._funnel_check_access()
        partners = self.sudo().with_context(crm_plus_funnel_op=True, mail_notrack=True)
        for partner in partners:
            if partner.funnel_state not in ("won", "lost"):
                raise UserError(
                    self.env._(
                        "%s is not closed (won or lost): there is nothing to reopen.", partner.name
                    )
                )
        initial = partners._funnel_snapshot()
        closed_lines = self._funnel_line_model().search(
            [("partner_id", "in", partners.ids), ("close_outcome", "!=", False)],
            order="close_date desc, date_done desc, id desc",
        )
        last_close = {}
        for line in closed_lines:
            last_close.setdefault(line.partner_id.id, line)
        reopen_lines = self._funnel_line_model()
        back_to_type = defaultdict(lambda: partners.browse())
        for partner in partners:
            line = last_close.get(partner.id)
            if not line or not line.phase_id.active:
                raise UserError(
                    self.env._("%s has no closed phase to reopen.", partner.display_name)
                )
            if partner.account_type_id != line.account_type_id:
                back_to_type[line.account_type_id] |= partner
            reopen_lines |= line
        for account_type, group in back_to_type.items():
            # Back to the funnel the close happened in, without restarting it.
            super(ResPartner, group).write({"account_type_id": account_type.id})
        self.env.flush_all()
        reopen_lines.write({"state": "current", "date_done": False, "done_by_id": False})
        partners._funnel_write_phases(
            {line.partner_id.id: line.phase_id.id for line in reopen_lines},
            funnel_state="open",
            close_reason_id=False,
            close_date=False,
        )
        partners._funnel_log_changes(initial)
        return True

    def action_open_close_wizard(self):
        self._funnel_check_access()
        self._funnel_check_open(self.env._("be closed"))
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
        action = self.env["ir.actions.act_window"]._for_xml_id("crm_plus.action_crm_plus_pipeline")
        first_type = self.env["crm.plus.account.type"].search([("has_phases", "=", True)], limit=1)
        context = dict(self.env.context, crm_plus_pipeline=True)
        if first_type:
            context["search_default_account_type_id"] = first_type.id
        action["context"] = context
        return action

    @api.model
    def _funnel_open_domain(self):
        return expression.AND([[("funnel_state", "=", "open")], [("lead_phase_id", "!=", False)]])
