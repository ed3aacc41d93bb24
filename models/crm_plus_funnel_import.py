"""Contacts that arrive with their funnel history (Contacts → Import, or a create over RPC):
the checks of each row and the lines that history gives, for the state machine to create.

The columns are the contact's own funnel fields (Account Type, Lead Phase, In Phase Since,
Funnel State, Close Reason, Close Date), the same an import-compatible export gives: a file
exported from one database loads back into another with the same funnels. Odoo's importer
reports each refusal on its row.
"""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

# The contact's fields that carry a history in (their inverse brings it to the lines).
HISTORY_FIELDS = (
    "lead_phase_id",
    "funnel_phase_date_start",
    "funnel_state",
    "close_reason_id",
    "close_date",
)


class CrmPlusFunnelImport(models.AbstractModel):
    _name = "crm.plus.funnel.import"
    _description = "CRM+ Funnel History Import"

    @api.model
    def _plans(self, partners):
        """{partner id: [(phase, state, line values)]} for new contacts (no line in their
        type yet) whose funnel fields hold a history, read from the record cache where create
        put them. Every contact is checked before anything is written."""
        funnel = self.env["crm.plus.funnel"]
        now = fields.Datetime.now()
        today = fields.Date.context_today(self)
        uid = self.env.uid
        states = dict(partners._fields["funnel_state"]._description_selection(self.env))
        plans = {}
        for partner in partners.sudo():

            def refuse(message, partner=partner):
                raise ValidationError(
                    self.env._(
                        "%(partner)s: %(error)s",
                        partner=partner.name or self.env._("a contact without name"),
                        error=message,
                    )
                )

            account_type = partner.account_type_id
            phase = partner.lead_phase_id
            start = partner.funnel_phase_date_start
            state = partner.funnel_state
            reason = partner.close_reason_id
            close_date = partner.close_date
            if not (phase or start or reason or close_date or state in ("won", "lost")):
                continue
            phases = account_type._funnel_phases()
            if not phases:
                if not account_type:
                    refuse(
                        self.env._(
                            "a lead phase, a close or In Phase Since needs an account type."
                        )
                    )
                refuse(
                    self.env._(
                        "the account type %s has no lead phases, so there is no phase to be in "
                        "or to close.",
                        account_type.name,
                    )
                )
            phase = phase or phases[0]
            if phase not in phases:
                if not phase.active:
                    refuse(self.env._("the lead phase %s is archived.", phase.name))
                refuse(
                    self.env._(
                        "the lead phase %(phase)s belongs to %(phase_type)s, not to %(type)s.",
                        phase=phase.name,
                        phase_type=phase.account_type_id.name,
                        type=account_type.name,
                    )
                )
            if start and start > now:
                refuse(
                    self.env._(
                        "In Phase Since (%s) is in the future.",
                        fields.Datetime.to_string(
                            fields.Datetime.context_timestamp(self, start).replace(tzinfo=None)
                        ),
                    )
                )
            if (state in ("won", "lost") or close_date) and not reason:
                refuse(self.env._("a closed deal needs its Close Reason (won or lost)."))
            done = None
            if reason:
                if not reason.active:
                    refuse(self.env._("the close reason %s is archived.", reason.name))
                if state and state != reason.outcome:
                    refuse(
                        self.env._(
                            "the close reason %(reason)s is a %(reason_outcome)s reason, but the "
                            "funnel state is %(state)s.",
                            reason=reason.name,
                            reason_outcome=states[reason.outcome],
                            state=states[state],
                        )
                    )
                close_date = close_date or today
                funnel._check_close_date(partner.id, close_date, start)
                if reason.outcome == "won":
                    funnel._check_won_from_closing(
                        partner.id, account_type.id, phase.phase_type, phase.name
                    )
                done = min(max(start or now, funnel._day_start(close_date)), now)
                start = start or done
            start = start or now
            index = list(phases).index(phase)
            plan = [(earlier, "done", {"date_done": start}) for earlier in phases[:index]]
            if reason:
                plan.append(
                    (
                        phase,
                        "done",
                        {
                            "date_start": start,
                            "date_done": done,
                            "done_by_id": uid,
                            "close_reason_id": reason.id,
                            "close_outcome": reason.outcome,
                            "close_date": close_date,
                            "closed_by_id": uid,
                        },
                    )
                )
            else:
                plan.append((phase, "current", {"date_start": start}))
            plan.extend((later, "todo", {}) for later in phases[index + 1 :])
            plans[partner.id] = plan
        return plans
