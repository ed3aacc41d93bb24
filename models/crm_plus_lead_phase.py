"""Lead phases of an account type: their settings (score, stale days, activity), and what a
phase added, archived or restored does to the contacts of its type."""

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..compat import NAME_SEARCH_DOMAIN, domain_and
from .funnel_guard import phase_check_deferred
from .funnel_rules import PHASE_TYPE_SELECTION, state_along, valid_score
from .ir_fields_converter import ROW_ACCOUNT_TYPE


def _blank(name):
    return not name or (isinstance(name, str) and not name.strip())


class CrmPlusLeadPhase(models.Model):
    _name = "crm.plus.lead.phase"
    _inherit = ["crm.plus.code.mixin"]
    _description = "Lead Phase"
    # Not by account type first: grouping reports by phase would join the types to sort.
    _order = "sequence, id"

    account_type_id = fields.Many2one(
        "crm.plus.account.type", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="account_type_id.company_id", store=True, index=True)
    phase_type = fields.Selection(
        PHASE_TYPE_SELECTION,
        required=True,
        default="normal",
        help="The closing phase is the last one: there a close reason says won or lost.",
    )
    # Settings of each phase, not quantities: a sum over a group of phases means nothing.
    default_score = fields.Integer(
        default=10,
        aggregator=None,
        help="Score (1–100) a partner's line starts with in this phase.",
    )
    fold = fields.Boolean(string="Folded in Pipeline")
    stale_after_days = fields.Integer(
        string="Stale After (days)",
        aggregator=None,
        help="A partner sitting longer than this in the phase is marked stale. Empty: never.",
    )
    activity_type_id = fields.Many2one(
        "mail.activity.type",
        string="Activity to Schedule",
        help="Entering the phase schedules this activity for the partner's salesperson, once.",
    )
    activity_delay_days = fields.Integer(
        string="Activity Due In (days)", default=0, aggregator=None
    )

    # The ranges of the scores and days are checked once, by _check_score_value and
    # _check_days, with the phase named in the user's language.

    def init(self):
        self._init_code_index()

    @api.readonly
    @api.model
    def name_search(self, name="", *args, **kwargs):
        # An import row's Lead Phase (see ir.fields.converter): the row's own account type
        # first, so a name several types share is no ambiguity. Not found there, the other
        # types' phases as usual: the contact's create then refuses the row, naming the type
        # the phase belongs to.
        type_id = self.env.context.get(ROW_ACCOUNT_TYPE)
        if not type_id:
            return super().name_search(name, *args, **kwargs)
        if args:
            domain, args = args[0], args[1:]
        else:
            domain = kwargs.pop(NAME_SEARCH_DOMAIN, None)
        own_type = domain_and([domain or [], [("account_type_id", "=", type_id)]])
        return super().name_search(name, own_type, *args, **kwargs) or super().name_search(
            name, domain, *args, **kwargs
        )

    @api.constrains("default_score")
    def _check_default_score(self):
        for phase in self:
            self._check_score_value(phase.name, phase.default_score)

    @api.model
    def _check_score_value(self, name, score):
        if not valid_score(score):
            raise ValidationError(
                self.env._(
                    "The default score of %(phase)s must be between 1 and 100 (got %(score)s).",
                    phase=name,
                    score=score,
                )
            )

    @api.constrains("stale_after_days", "activity_delay_days")
    def _check_days(self):
        for phase in self:
            if phase.stale_after_days < 0 or phase.activity_delay_days < 0:
                raise ValidationError(
                    self.env._("Days cannot be negative on the lead phase %s.", phase.name)
                )

    @api.constrains("phase_type", "sequence", "account_type_id", "active")
    def _check_phase_order(self):
        if not phase_check_deferred(self.env):
            self.account_type_id._check_phase_order()

    @api.model_create_multi
    def create(self, vals_list):
        # The row is inserted before constraints run: refuse a bad score before the database
        # check does, so the user gets the readable error.
        for vals in vals_list:
            if _blank(vals.get("name")):
                self._raise_missing_name(vals.get("code"))
            self._check_score_value(vals.get("name") or "?", vals.get("default_score", 10))
        phases = super().create(vals_list)
        phases._funnel_add_lines_to_open_partners()
        return phases

    @api.model
    def _raise_missing_name(self, code):
        """A phase without a name, named in the message (the account type's Lead Phases list
        lets such a line reach the server for this)."""
        if code:
            raise ValidationError(
                self.env._("The lead phase with code %s has no Name: fill in its Name.", code)
            )
        raise ValidationError(
            self.env._("A lead phase has no Name: fill in the Name of each lead phase.")
        )

    def write(self, vals):
        if "name" in vals and _blank(vals["name"]):
            self._raise_missing_name(self[:1].code)
        if "account_type_id" in vals and any(
            phase.account_type_id.id != vals["account_type_id"] for phase in self
        ):
            lines = (
                self.env["crm.plus.phase.line"]
                .sudo()
                .search_count([("phase_id", "in", self.ids)], limit=1)
            )
            if lines:
                raise UserError(
                    self.env._(
                        "A lead phase that has funnel lines cannot move to another account type."
                    )
                )
        if vals.get("active") is False:
            self._funnel_check_can_archive()
        if "phase_type" in vals:
            # The lines' phase type follows: the funnel analysis's totals move by them, apart
            # from the rest of the write (an unarchive's new lines follow their contacts).
            with self.env["crm.plus.funnel.total"]._follow_phases(self.ids):
                super().write({"phase_type": vals["phase_type"]})
            vals = {fname: value for fname, value in vals.items() if fname != "phase_type"}
        result = super().write(vals)
        if "active" in vals:
            if vals["active"]:
                self._funnel_add_lines_to_open_partners()
            else:
                self._funnel_drop_todo_lines()
        return result

    def _funnel_check_can_archive(self):
        current = (
            self.env["crm.plus.phase.line"]
            .sudo()
            .search(
                [
                    ("phase_id", "in", self.ids),
                    ("state", "=", "current"),
                    ("is_active_funnel", "=", True),
                ],
                limit=1,
            )
        )
        if current:
            raise UserError(
                self.env._(
                    "Partners are currently in the lead phase %(phase)s (e.g. %(partner)s): "
                    "move them to another phase before archiving it.",
                    phase=current.phase_id.name,
                    partner=current.partner_id.display_name,
                )
            )

    def _funnel_drop_todo_lines(self):
        # Lines of phases no partner has reached yet hold no history; an archived phase
        # would leave them stranded between done and current lines.
        self.env["crm.plus.funnel"]._line_model().search(
            [("phase_id", "in", self.ids), ("state", "=", "todo")]
        ).unlink()

    def _funnel_add_lines_to_open_partners(self, partner_ids=None):
        """A phase added (or restored) on a type reaches the type's contacts. Open partners get
        its line: todo when it comes after their current phase, done (skipped) when before.
        Contacts not in a funnel (the type had no phase) join it, as when a type with phases is
        assigned: first phase current.

        More contacts than a request should handle are left to a background job
        (crm.plus.funnel.job), which calls this again with ``partner_ids``: one batch of them,
        each still decided from its state at that moment."""
        phases = self.filtered("active")
        if not phases:
            return
        Partner = self.env["res.partner"].sudo().with_context(active_test=False)
        domain = [
            ("account_type_id", "in", phases.account_type_id.ids),
            "|",
            ("funnel_state", "=", "open"),
            ("lead_phase_id", "=", False),
        ]
        if partner_ids is None:
            Job = self.env["crm.plus.funnel.job"]
            if Partner.search_count(domain) > Job._funnel_threshold():
                job = Job._funnel_queue("phase_join", Partner.search(domain, order="id"), phases)
                job._funnel_notify_user(job._funnel_started_message())
                return
        else:
            domain = [("id", "in", list(partner_ids)), *domain]
        partners = Partner.search(domain)
        joining = partners.filtered(lambda p: not p.lead_phase_id)
        partners -= joining
        if partners:
            existing = set(
                self.env["crm.plus.phase.line"]
                .sudo()
                ._read_group(
                    [("phase_id", "in", phases.ids), ("partner_id", "in", partners.ids)],
                    ["partner_id", "phase_id"],
                )
            )
            new_lines = []
            for partner in partners:
                current = partner.lead_phase_id
                for phase in phases.filtered(
                    lambda p, t=partner.account_type_id: p.account_type_id == t
                ):
                    if (partner, phase) in existing:
                        continue
                    # Its state along the phases: done before the current phase, to do after it.
                    state = state_along((phase.sequence, phase.id), (current.sequence, current.id))
                    new_lines.append((partner.id, phase, state))
            self.env["crm.plus.funnel"]._apply(partners, {}, new_lines=new_lines)
        if joining:
            self.env["crm.plus.funnel"]._sync(joining, assign=False)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_has_lines(self):
        line = (
            self.env["crm.plus.phase.line"].sudo().search([("phase_id", "in", self.ids)], limit=1)
        )
        if line:
            raise UserError(
                self.env._(
                    "The lead phase %s has funnel lines on contacts: archive it instead of "
                    "deleting it.",
                    line.phase_id.name,
                )
            )
