"""Contacts that arrive with their funnel history (Contacts → Import, or a create over RPC):
the checks of each row and the lines that history gives, for the state machine to create.

The columns are the contact's own funnel fields (Account Type, Lead Phase, In Phase Since,
Funnel State, Close Reason, Close Date), the same an import-compatible export gives: a file
exported from one database loads back into another with the same funnels. Odoo's importer
reports each refusal on its row.
"""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .funnel_rules import CLOSED_STATES, state_along

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
        """{partner id: [(phase, state, line values)]} for new contacts (no line in their type
        yet) whose funnel fields hold a history, read from the record cache where create put
        them. Every contact is checked before anything is written."""
        plans = {}
        for partner in partners.sudo():
            plan = self._plan(
                {fname: partner[fname] for fname in ("name", "account_type_id", *HISTORY_FIELDS)}
            )
            if plan:
                plans[partner.id] = plan
        return plans

    @api.model
    def _plan(self, values):
        """The lines of one contact's history: ``values`` holds its name, type and funnel
        fields (records or ids, dates or their strings, as a create or an import row gives
        them). None without a history; a ValidationError naming the contact for a history the
        funnel refuses."""
        env = self.env
        funnel = env["crm.plus.funnel"]

        def record(model, value):
            return (
                value
                if isinstance(value, models.BaseModel)
                else env[model].sudo().browse(value or [])
            )

        account_type = record("crm.plus.account.type", values.get("account_type_id")).sudo()
        phase = record("crm.plus.lead.phase", values.get("lead_phase_id")).sudo()
        reason = record("crm.plus.close.reason", values.get("close_reason_id")).sudo()
        start = fields.Datetime.to_datetime(values.get("funnel_phase_date_start") or False)
        close_date = fields.Date.to_date(values.get("close_date") or False)
        state = values.get("funnel_state") or False
        if not (phase or start or reason or close_date or state in CLOSED_STATES):
            return None
        name = values.get("name") or env._("a contact without name")

        def refuse(message):
            raise ValidationError(env._("%(partner)s: %(error)s", partner=name, error=message))

        now = fields.Datetime.now()
        today = fields.Date.context_today(self)
        # No exists() here: it would cost a query per row of an import; a record gone since
        # the row was read fails on its first field read, a MissingError the importer reports.
        phases = account_type._funnel_phases() if account_type else phase.browse()
        if not phases and account_type and reason.outcome == "won":
            # A won deal whose type switched when won (Lead → Customer), as an export gives it:
            # it was won in the one funnel that switches to this type.
            won_in = account_type.search([("won_account_type_id", "=", account_type.id)])
            if len(won_in) == 1:
                phases = won_in._funnel_phases()
                account_type = won_in
                phase = phase or account_type.closing_phase_id
        if not phases:
            if not account_type:
                refuse(env._("a lead phase, a close or In Phase Since needs an account type."))
            refuse(
                env._(
                    "the account type %s has no lead phases, so there is no phase to be in or to "
                    "close.",
                    account_type.name,
                )
            )
        phase = phase or phases[0]
        if phase not in phases:
            if not phase.active:
                refuse(env._("the lead phase %s is archived.", phase.name))
            refuse(
                env._(
                    "the lead phase %(phase)s belongs to %(phase_type)s, not to %(type)s.",
                    phase=phase.name,
                    phase_type=phase.account_type_id.name,
                    type=account_type.name,
                )
            )
        if start and start > now:
            refuse(
                env._(
                    "In Phase Since (%s) is in the future.",
                    fields.Datetime.to_string(
                        fields.Datetime.context_timestamp(self, start).replace(tzinfo=None)
                    ),
                )
            )
        funnel._check_close_values(name, state, reason, close_date)
        done = None
        if reason:
            if not reason.active:
                refuse(env._("the close reason %s is archived.", reason.name))
            close_date = close_date or today
            funnel._check_close_date(name, close_date, start)
            if reason.outcome == "won":
                funnel._check_won_from_closing(name, account_type, phase)
            done = min(max(start or now, funnel._day_start(close_date)), now)
            start = start or done
        start = start or now
        uid = env.uid
        # The deal's line: current, or done with its close.
        deal = (
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
            if reason
            else (phase, "current", {"date_start": start})
        )
        # The other lines' states along the phases: done before the deal's, to do after it.
        index = list(phases).index(phase)
        plan = []
        for position, each in enumerate(phases):
            state = state_along(position, index)
            if state == "current":
                plan.append(deal)
            else:
                plan.append((each, state, {"date_done": start} if state == "done" else {}))
        return plan
