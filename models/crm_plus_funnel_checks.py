"""The state machine's checks (crm.plus.funnel): who may move a contact's funnel, and what a
move, a close or a reopen refuses, each refusal a readable error naming the contact. The
transitions (crm_plus_funnel.py) call them before they decide anything."""

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from .funnel_rules import CLOSED_STATES, FUNNEL_GROUP, current_and_last_close


class CrmPlusFunnel(models.AbstractModel):
    _inherit = "crm.plus.funnel"

    @api.model
    def _check_access(self, partners):
        """Moving contacts is a CRM+ user's write on them: the ORM's own access and record rules
        (checked on the whole batch in grouped queries)."""
        if not all(isinstance(id_, int) and not isinstance(id_, bool) for id_ in partners._ids):
            raise UserError(self.env._("Contacts must be given by their database ids."))
        if not self.env.su and not self.env.user.has_group(FUNNEL_GROUP):
            raise AccessError(self.env._("Only CRM+ users can move contacts through the funnel."))
        partners.check_access("write")
        self._check_funnel_rule(partners)

    @api.model
    def _check_closable(self, partners):
        """Every contact of ``partners`` can be closed (the Close dialog opens)."""
        self._check_access(partners)
        rows, lines_by_partner = self._load(partners.ids)
        for partner_id in partners.ids:
            self._check_open(rows[partner_id], lines_by_partner[partner_id], "close")

    @api.model
    def _check_funnel_rule(self, partners, operation="write", lines=None):
        """Who works a funnel is the record rules of its lines (security/crm_plus_security.xml:
        an own-documents user the contacts they are the salesperson of, and unassigned ones; an
        all-documents user every contact). The state machine writes the lines as superuser, so
        it asks Odoo's own rules explicitly: on ``lines`` (``operation``: write, or create for
        the lines it just created), by default all the lines of ``partners``. A contact without
        lines yet is checked on the lines created for it, as Odoo checks a create. An
        AccessError names the first refused contact and its salesperson."""
        refused = self._refused_by_funnel_rule(partners, operation, lines)
        if not refused:
            return
        partner = refused[:1].partner_id.sudo()
        raise AccessError(
            self.env._(
                "You cannot work the funnel of %(partner)s: its salesperson is %(salesperson)s, "
                "and your CRM+ access level (User: Own Documents Only) covers the deals of your "
                "own contacts and of unassigned ones.",
                partner=partner.display_name,
                salesperson=partner.user_id.name or self.env._("none"),
            )
            if partner.user_id and partner.user_id != self.env.user
            else self.env._(
                "You cannot work the funnel of %s: your CRM+ access rights do not cover it.",
                partner.display_name,
            )
        )

    @api.model
    def _refused_by_funnel_rule(self, partners, operation="write", lines=None):
        """The lines (by default all those of ``partners``) whose ``operation`` the record rules
        refuse the user (``_check_funnel_rule``)."""
        if self.env.su:
            return self.env["crm.plus.phase.line"]
        if lines is None:
            lines = partners.sudo().phase_line_ids
        lines = lines.with_env(self.env)
        return lines - lines._filtered_access(operation)

    def _check_open(self, partner, lines, action):
        """The contact's current line (``lines``: all its lines); a clear refusal when it has
        none. ``action``: advance, move or close (one whole sentence each, for translators)."""
        current, last_close = current_and_last_close(lines)
        if current:
            return current
        name = self._name_of(partner["id"])
        if last_close:
            state = dict(
                self.env["res.partner"]._fields["funnel_state"]._description_selection(self.env)
            )[last_close["close_outcome"]]
            messages = {
                "advance": self.env._(
                    "%(partner)s is closed (%(state)s): reopen it before completing a phase."
                ),
                "move": self.env._(
                    "%(partner)s is closed (%(state)s): reopen it before changing its phase."
                ),
                "close": self.env._("%(partner)s is already closed (%(state)s)."),
            }
            raise UserError(messages[action] % {"partner": name, "state": state})
        type_name = self._type_name(partner["account_type_id"])
        messages = {
            "advance": self.env._(
                "%(partner)s has no phase to complete: its account type (%(type)s) has no lead "
                "phases."
            ),
            "move": self.env._(
                "%(partner)s cannot change phase: its account type (%(type)s) has no lead phases."
            ),
            "close": self.env._(
                "%(partner)s has no funnel to close: its account type (%(type)s) has no lead "
                "phases."
            ),
        }
        raise UserError(messages[action] % {"partner": name, "type": type_name})

    def _check_won_from_closing(self, name, account_type, phase):
        """A deal is won from its type's closing phase only; lost from any phase. ``name``:
        the contact's, for the message (or a function that gives it: read only to refuse)."""
        if phase.phase_type == "closing":
            return
        name = name() if callable(name) else name
        closing = account_type.sudo().closing_phase_id
        if not closing:
            raise UserError(
                self.env._(
                    "%(partner)s cannot be closed as won: its account type %(type)s has no "
                    "closing phase yet. Add one in Configuration → Lead phases.",
                    partner=name,
                    type=account_type.sudo().name,
                )
            )
        raise UserError(
            self.env._(
                "%(partner)s can only be closed as won from the closing phase (%(closing)s); it "
                "is in %(phase)s. A lost close is possible from any phase.",
                partner=name,
                closing=closing.name,
                phase=phase.sudo().name,
            )
        )

    @api.model
    def _check_close_values(self, name, state, reason, close_date):
        """A close given as values (an import row, a write of the contact's fields): a won or
        lost state or a close date needs a reason, and the reason's outcome is the state.
        ``name``: as for _check_won_from_closing."""
        if not ((state in CLOSED_STATES or close_date) and not reason) and not (
            reason and state and state != reason.outcome
        ):
            return
        name = name() if callable(name) else name
        if (state in CLOSED_STATES or close_date) and not reason:
            raise ValidationError(
                self.env._("%s: a closed deal needs its close reason (won or lost).", name)
            )
        if reason and state and state != reason.outcome:
            states = dict(
                self.env["res.partner"]._fields["funnel_state"]._description_selection(self.env)
            )
            raise ValidationError(
                self.env._(
                    "%(partner)s: the close reason %(reason)s is a %(reason_outcome)s reason, but "
                    "the funnel state is %(state)s.",
                    partner=name,
                    reason=reason.name,
                    reason_outcome=states[reason.outcome],
                    state=states[state],
                )
            )

    @api.model
    def _check_reason(self, close_reason_id):
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
        return reason

    @api.model
    def _check_close_date(self, name, close_date, date_start):
        """A close date is neither in the future nor before the phase started. ``name``: as
        for _check_won_from_closing."""
        today = fields.Date.context_today(self)
        if close_date <= today and not (
            date_start and close_date < fields.Date.context_today(self, date_start)
        ):
            return
        name = name() if callable(name) else name
        if close_date > today:
            raise ValidationError(
                self.env._(
                    "%(partner)s: the close date (%(date)s) is in the future.",
                    partner=name,
                    date=fields.Date.to_string(close_date),
                )
            )
        if date_start and close_date < fields.Date.context_today(self, date_start):
            raise ValidationError(
                self.env._(
                    "%(partner)s: the close date (%(date)s) is before the phase started.",
                    partner=name,
                    date=fields.Date.to_string(close_date),
                )
            )
