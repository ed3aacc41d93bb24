"""Account types (Lead, Prospect, Customer…): their phases, closing phase, type when won and
default for new contacts, and the order rules of their phases."""

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .funnel_guard import PHASE_CHECK_DEFERRED


class CrmPlusAccountType(models.Model):
    _name = "crm.plus.account.type"
    _inherit = ["crm.plus.code.mixin", "mail.thread"]
    _description = "Account Type"
    _order = "sequence, id"

    color = fields.Integer()
    company_id = fields.Many2one(
        "res.company",
        index=True,
        help="Leave empty to share this account type between companies.",
    )
    phase_ids = fields.One2many(
        "crm.plus.lead.phase", "account_type_id", string="Lead Phases", copy=True
    )
    has_phases = fields.Boolean(
        compute="_compute_has_phases",
        store=True,
        help="Partners of this type go through its lead phases.",
    )
    closing_phase_id = fields.Many2one(
        "crm.plus.lead.phase", compute="_compute_closing_phase_id", string="Closing Phase"
    )
    won_account_type_id = fields.Many2one(
        "crm.plus.account.type",
        string="Type When Won",
        help="A partner of this type closed as won switches to this type (e.g. Lead → Customer).",
    )
    is_default = fields.Boolean(
        string="Default",
        help="Suggested for new contacts created from the web client.",
    )
    partner_count = fields.Integer(compute="_compute_partner_count", string="Contacts")

    def init(self):
        self._init_code_index()
        self.env.cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS crm_plus_account_type_single_default
               ON crm_plus_account_type ((true)) WHERE is_default AND active"""
        )

    @api.depends("phase_ids", "phase_ids.active", "phase_ids.phase_type", "phase_ids.sequence")
    def _compute_has_phases(self):
        for account_type in self:
            account_type.has_phases = bool(account_type.phase_ids.filtered("active"))

    @api.depends("phase_ids.active", "phase_ids.phase_type")
    def _compute_closing_phase_id(self):
        for account_type in self:
            account_type.closing_phase_id = account_type.phase_ids.filtered(
                lambda p: p.active and p.phase_type == "closing"
            )[:1]

    def _funnel_phases(self):
        """The type's funnel: its active phases in order (the first is where a contact starts).
        Empty for no type."""
        if not self:
            return self.env["crm.plus.lead.phase"]
        self.ensure_one()
        return self.phase_ids.filtered("active").sorted(lambda p: (p.sequence, p.id))

    def _compute_partner_count(self):
        counts = dict(
            self.env["res.partner"]._read_group(
                [("account_type_id", "in", self.ids)], ["account_type_id"], ["__count"]
            )
        )
        for account_type in self:
            account_type.partner_count = counts.get(account_type, 0)

    @api.constrains("is_default", "active")
    def _check_single_default(self):
        if self.filtered(lambda t: t.is_default and t.active) and (
            self.search_count([("is_default", "=", True)]) > 1
        ):
            raise ValidationError(
                self.env._("Only one account type can be the default for new contacts.")
            )

    @api.constrains("won_account_type_id")
    def _check_won_account_type(self):
        for account_type in self:
            if account_type.won_account_type_id == account_type:
                raise ValidationError(
                    self.env._(
                        "The account type %s cannot switch to itself when won.", account_type.name
                    )
                )

    def _check_phase_order(self):
        """The funnel's shape: at most one closing phase, and it is the last one. A type being
        configured may have no closing phase yet (nothing can then be closed won in it)."""
        for account_type in self:
            phases = account_type.with_context(active_test=True).phase_ids.sorted(
                lambda p: (p.sequence, p.id)
            )
            closing = phases.filtered(lambda p: p.phase_type == "closing")
            if len(closing) > 1:
                raise ValidationError(
                    self.env._(
                        "The account type %(type)s has %(count)s closing phases (%(phases)s); "
                        "it can have only one.",
                        type=account_type.name,
                        count=len(closing),
                        phases=", ".join(closing.mapped("name")),
                    )
                )
            if closing and phases[-1] != closing:
                raise ValidationError(
                    self.env._(
                        "The closing phase %(closing)s must be the last phase of %(type)s, "
                        "but %(after)s comes after it.",
                        closing=closing.name,
                        type=account_type.name,
                        after=", ".join(phases[phases.ids.index(closing.id) + 1 :].mapped("name")),
                    )
                )

    def _precheck_single_default(self, vals_list):
        # Before the database's unique index answers with a raw error.
        defaults = [vals for vals in vals_list if vals.get("is_default")]
        if not defaults:
            return
        others = self.search([("is_default", "=", True), ("id", "not in", self.ids)], limit=1)
        if others or len(defaults) > 1 or len(self) > 1:
            raise ValidationError(
                self.env._("Only one account type can be the default for new contacts.")
            )

    @api.model_create_multi
    def create(self, vals_list):
        self._precheck_single_default(vals_list)
        types = super(
            CrmPlusAccountType, self.with_context(crm_plus_defer_phase_check=PHASE_CHECK_DEFERRED)
        ).create(vals_list)
        types._check_phase_order()
        return types.with_env(self.env)

    def write(self, vals):
        self._precheck_single_default([vals])
        # Reordering phases in the form writes them one by one; check the result, not each step.
        result = super(
            CrmPlusAccountType, self.with_context(crm_plus_defer_phase_check=PHASE_CHECK_DEFERRED)
        ).write(vals)
        if "phase_ids" in vals:
            self._check_phase_order()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        used = (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("account_type_id", "in", self.ids)], limit=1)
        )
        lines = (
            self.env["crm.plus.phase.line"]
            .sudo()
            .search([("account_type_id", "in", self.ids)], limit=1)
        )
        if used or lines:
            raise UserError(
                self.env._(
                    "The account type %s is used by contacts or their funnel history: "
                    "archive it instead of deleting it.",
                    (used.account_type_id or lines.account_type_id)[:1].name,
                )
            )

    @api.readonly
    def action_view_partners(self):
        """The contacts of this type (the stat button); only reads: on the replica, if any."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_plus.res_partner_action_funnel"
        )
        action["domain"] = [("account_type_id", "=", self.id)]
        action["context"] = {"default_account_type_id": self.id}
        return action
