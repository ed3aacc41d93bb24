"""The funnel's state machine: the only code that changes a contact's phase lines.

The phase lines are the funnel's one source of truth. A contact's lead phase, funnel state,
close reason, close date and figures are computed from them (res_partner.py), so every path
(advance, a move or a drag, close, reopen, a new account type, an import with history, the bulk
wizards and their background jobs) decides here which lines change, and ``_apply`` writes them
through the ORM, grouped by values, keeping the suggested-score statistics in step.

The state machine is one model in three files: its transitions and its one write (here), its
checks (crm_plus_funnel_checks.py) and its chatter (crm_plus_funnel_chatter.py). Each rule has
one definition:
- the line states along the phases (done / current / todo): ``funnel_rules.towards``;
- the last close of a contact: ``funnel_rules.current_and_last_close``;
- the first active phase of a type: ``crm.plus.account.type._funnel_phases``;
- won only from the closing phase: ``_check_won_from_closing``;
- a close's reason, outcome and date: ``_check_close_values``, ``_check_close_date``.
"""

from collections import defaultdict
from contextlib import nullcontext

from markupsafe import Markup

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from .crm_plus_funnel_import import HISTORY_FIELDS
from .funnel_guard import FUNNEL_OP
from .funnel_rules import (
    CLOSE_FIELDS,
    current_and_last_close,
    day_start_utc,
    prefetched_fields,
    towards,
    write_grouped,
)

# The contact's fields the chatter tracks through a funnel change.
TRACKED_FIELDS = ("account_type_id", "lead_phase_id", "funnel_state", "close_reason_id")
# The contact's stored fields that follow a change of phase without being tracked.
FLUSHED_WITH_PHASE = ("funnel_stale_deadline",)


class CrmPlusFunnel(models.AbstractModel):
    _name = "crm.plus.funnel"
    _description = "CRM+ Funnel State Machine"

    # ------------------------------------------------------------------ reads

    @api.model
    def _line_model(self):
        return self.env["crm.plus.phase.line"].sudo().with_context(crm_plus_funnel_op=FUNNEL_OP)

    @api.model
    def _load(self, partner_ids):
        """``({partner id: row}, {partner id: [line rows]})``: each contact's type settings and
        all its lines whose phase is active, and its closes in archived phases (the contact's
        state shows them, Reopen refuses them), in phase order per type; one query each. Only
        lines of active phases make a funnel (``_funnel_of``, ``phase_active``). The contacts'
        fields computed from the lines are not flushed: the inverse reads them before they are
        checked (see _set_from_contacts)."""
        self.env["crm.plus.phase.line"].flush_model()
        self.env["crm.plus.lead.phase"].flush_model(["active", "phase_type", "activity_type_id"])
        self.env["crm.plus.account.type"].flush_model(["has_phases", "won_account_type_id"])
        self.env["res.partner"].flush_model(["account_type_id", "company_id", "user_id"])
        self.env.cr.execute(
            SQL(
                """
                SELECT p.id, p.account_type_id, p.company_id, p.user_id,
                       COALESCE(t.has_phases, FALSE) AS has_phases, t.won_account_type_id
                  FROM res_partner AS p
                  LEFT JOIN crm_plus_account_type AS t ON t.id = p.account_type_id
                 WHERE p.id = ANY(%s)
                """,
                list(partner_ids),
            )
        )
        partners = {row["id"]: row for row in self.env.cr.dictfetchall()}
        self.env.cr.execute(
            SQL(
                """
                SELECT l.id, l.partner_id, l.phase_id, l.account_type_id, l.state,
                       l.is_active_funnel, l.sequence, l.date_start, l.date_done,
                       l.score, l.forecast_value, l.recurring_value, l.recurring_interval,
                       l.close_outcome, l.close_date, l.close_reason_id,
                       ph.phase_type, ph.activity_type_id, ph.active AS phase_active
                  FROM crm_plus_phase_line AS l
                  JOIN crm_plus_lead_phase AS ph ON ph.id = l.phase_id
                 WHERE l.partner_id = ANY(%s) AND (ph.active OR l.close_outcome IS NOT NULL)
                 ORDER BY l.partner_id, l.sequence, l.phase_id
                """,
                list(partner_ids),
            )
        )
        lines = {partner_id: [] for partner_id in partner_ids}
        for row in self.env.cr.dictfetchall():
            lines[row["partner_id"]].append(row)
        return partners, lines

    @staticmethod
    def _funnel_of(partner, lines):
        """The lines of the contact's own account type whose phase is active: its funnel (the
        others are history)."""
        return [
            line
            for line in lines
            if line["account_type_id"] == partner["account_type_id"] and line["phase_active"]
        ]

    def _name_of(self, partner_id):
        return self.env["res.partner"].browse(partner_id).sudo().display_name

    def _type_name(self, type_id):
        return self.env["crm.plus.account.type"].sudo().browse(type_id).name or self.env._("none")

    # ------------------------------------------------------------------ the salesperson

    @api.model
    def _joining_salesperson(self):
        """The salesperson of a contact that joins a funnel without one, as Odoo CRM gives a new
        lead its creator: the user who puts it there. None when OdooBot (the superuser) does it,
        in a scheduled action or an install: nobody chose that deal, it stays unassigned."""
        if self.env.uid == SUPERUSER_ID or self.env.user.share:
            return False
        return self.env.uid

    @api.model
    def _with_salesperson(self, vals_list):
        """Create values of contacts (after ``_funnel_enter_at_create``): those created in a
        funnel with no salesperson get ``_joining_salesperson``. An import with a Salesperson
        column keeps what the column says, empty included."""
        importing = self.env.context.get("import_file")
        user_id = None
        result = []
        for vals in vals_list:
            joins = vals.get("account_type_id") and any(vals.get(f) for f in HISTORY_FIELDS)
            if joins and not vals.get("user_id") and not (importing and "user_id" in vals):
                if user_id is None:
                    user_id = self._joining_salesperson()
                if user_id:
                    result.append(dict(vals, user_id=user_id))
                    continue
            result.append(vals)
        return result

    # ------------------------------------------------------------------ transitions

    @api.model
    def _advance(self, partners):
        """Complete each contact's current phase and make the next one current."""
        self._check_access(partners)
        rows, lines_by_partner = self._load(partners.ids)
        now = fields.Datetime.now()
        updates, entered = {}, []
        for partner_id in partners.ids:
            partner = rows[partner_id]
            lines = self._funnel_of(partner, lines_by_partner[partner_id])
            current = self._check_open(partner, lines_by_partner[partner_id], "advance")
            if current["phase_type"] == "closing":
                raise UserError(
                    self.env._(
                        "%s is in the closing phase: close it with a close reason (won or lost) "
                        "instead of completing the phase.",
                        self._name_of(partner_id),
                    )
                )
            following = lines[lines.index(current) + 1 :]
            if not following:
                raise UserError(
                    self.env._(
                        "%(partner)s is in the last phase of %(type)s, which has no closing phase "
                        "yet: add a closing phase to the account type, or close it as lost.",
                        partner=self._name_of(partner_id),
                        type=self._type_name(partner["account_type_id"]),
                    )
                )
            updates.update(towards(lines, following[0], now, self.env.uid, carry_from=current))
            if following[0]["activity_type_id"]:
                entered.append(following[0]["id"])
        with self._one_message_each(partners) as funnel:
            funnel._apply(partners, updates, entered=entered)
        return True

    @api.model
    def _move(self, partners, phase, loaded=None):
        """Make ``phase`` each contact's current phase (a drag on the board, a written Lead
        Phase, an import that updates it). ``loaded``: what ``_load`` gave, if already read."""
        self._check_access(partners)
        if not phase:
            raise UserError(
                self.env._("A partner in a funnel always has a lead phase; close it instead.")
            )
        phase = phase.sudo().exists()
        if not phase:
            raise UserError(self.env._("This lead phase does not exist (anymore)."))
        if not phase.active:
            raise UserError(self.env._("The lead phase %s is archived.", phase.name))
        rows, lines_by_partner = loaded or self._load(partners.ids)
        now = fields.Datetime.now()
        updates, entered = {}, []
        for partner_id in partners.ids:
            partner = rows[partner_id]
            if partner["account_type_id"] != phase.account_type_id.id:
                raise ValidationError(
                    self.env._(
                        "The lead phase %(phase)s belongs to %(phase_type)s, not to %(partner)s's "
                        "account type (%(type)s).",
                        phase=phase.name,
                        phase_type=phase.account_type_id.name,
                        partner=self._name_of(partner_id),
                        type=self._type_name(partner["account_type_id"]),
                    )
                )
            lines = self._funnel_of(partner, lines_by_partner[partner_id])
            current = self._check_open(partner, lines_by_partner[partner_id], "move")
            if current["phase_id"] == phase.id:
                continue
            target = next(line for line in lines if line["phase_id"] == phase.id)
            updates.update(towards(lines, target, now, self.env.uid, carry_from=current))
            if target["activity_type_id"]:
                entered.append(target["id"])
        with self._one_message_each(partners) as funnel:
            funnel._apply(partners, updates, entered=entered)
        return True

    @api.model
    def _close_plan(self, partners, close_reason_id, note=None, close_date=None, loaded=None):
        """The checks and decisions of a close, nothing written (a bulk job checks them before
        it is queued): ``(reason, partner rows, line updates)``."""
        self._check_access(partners)
        reason = self._check_reason(close_reason_id)
        if note is not None and not isinstance(note, str):
            raise UserError(self.env._("The close note must be text."))
        rows, lines_by_partner = loaded or self._load(partners.ids)
        now = fields.Datetime.now()
        today = fields.Date.context_today(self)
        updates = {}
        for partner_id in partners.ids:
            partner = rows[partner_id]
            current = self._check_open(partner, lines_by_partner[partner_id], "close")
            if reason.outcome == "won":
                self._check_won_from_closing(
                    lambda partner_id=partner_id: self._name_of(partner_id),
                    self.env["crm.plus.account.type"].browse(partner["account_type_id"]),
                    self.env["crm.plus.lead.phase"].browse(current["phase_id"]),
                )
            day = close_date or today
            if close_date:
                self._check_close_date(
                    self._name_of(partner_id), close_date, current["date_start"]
                )
            done = now
            if close_date:
                # A close dated in the past: the phase was completed that day.
                done = min(max(current["date_start"] or now, self._day_start(day)), now)
            updates[current["id"]] = {
                "state": "done",
                "date_done": done,
                "done_by_id": self.env.uid,
                "close_reason_id": reason.id,
                "close_outcome": reason.outcome,
                "close_date": day,
                "closed_by_id": self.env.uid,
                **({"note": note} if note else {}),
            }
        return reason, rows, updates

    @api.model
    def _close(self, partners, close_reason_id, note=None, close_date=None, loaded=None):
        """Close with a reason: won only from the closing phase, lost from any open phase. A
        won contact whose type names a "type when won" switches to it."""
        reason, rows, updates = self._close_plan(
            partners, close_reason_id, note, close_date, loaded
        )
        body = Markup("<p>%s</p>") % note if note else None
        with self._one_message_each(partners, body) as funnel:
            funnel._apply(partners, updates, body=body)
            if reason.outcome == "won":
                # In the same message: closed won, and the type it switched to.
                funnel._switch_to_won_type(partners, rows)
        return True

    @api.model
    def _reopen(self, partners, loaded=None):
        """Undo each contact's last close: back to the phase it was closed in (and to that
        funnel's type if a won close switched it). The line drops the close; the chatter keeps
        it."""
        self._check_access(partners)
        rows, lines_by_partner = loaded or self._load(partners.ids)
        now = fields.Datetime.now()
        updates, back_to_type = {}, defaultdict(list)
        for partner_id in partners.ids:
            partner = rows[partner_id]
            lines = lines_by_partner[partner_id]
            current, last_close = current_and_last_close(lines)
            if current or not last_close:
                raise UserError(
                    self.env._(
                        "%s is not closed (won or lost): there is nothing to reopen.",
                        self._name_of(partner_id),
                    )
                )
            if not last_close["phase_active"]:
                raise UserError(
                    self.env._(
                        "%(partner)s was closed in the lead phase %(phase)s, which is archived: "
                        "restore the phase (Configuration → Lead phases) to reopen it.",
                        partner=self._name_of(partner_id),
                        phase=self.env["crm.plus.lead.phase"]
                        .sudo()
                        .browse(last_close["phase_id"])
                        .name,
                    )
                )
            funnel = [
                line
                for line in lines
                if line["account_type_id"] == last_close["account_type_id"]
                and line["phase_active"]
            ]
            updates.update(towards(funnel, last_close, now, self.env.uid, keep_start=True))
            if partner["account_type_id"] != last_close["account_type_id"]:
                back_to_type[last_close["account_type_id"]].append(partner_id)
        with self._one_message_each(partners) as funnel:
            # Back to the funnel the close happened in first, so that it resumes where it was.
            for type_id, partner_ids in back_to_type.items():
                funnel.env["res.partner"].browse(partner_ids).sudo().write(
                    {"account_type_id": type_id}
                )
            funnel._apply(partners, updates)
        return True

    @api.model
    def _sync(self, partners, were_open=(), assign=True):
        """Contacts whose account type changed (or created with one): start the new type's
        funnel in its first phase, or resume it where it was (a funnel left open stays open,
        one closed in that type stays closed unless the contact comes from an open funnel,
        ``were_open``); the lines of other types stay as history. A contact whose funnel starts
        without a salesperson gets the user who gave it the type (``_joining_salesperson``),
        unless ``assign`` is false (a manager who adds a type's first phase owns no deal)."""
        if not partners:
            return
        # A new type starts or resumes the contacts' deals: their salesperson's (the lines of
        # contacts joining for the first time are checked once created, _sync_lines).
        self._check_funnel_rule(partners)
        with (
            self._one_message_each(partners) as funnel,
            # The new lines, the salesperson and the first phase: one change of the totals.
            self.env["crm.plus.funnel.total"]._follow_contacts(partners.ids),
        ):
            funnel._sync_lines(partners, were_open, assign)

    @api.model
    def _sync_lines(self, partners, were_open, assign=True):
        created = self._line_model()._funnel_create_missing(partners)
        rows, lines_by_partner = self._load(partners.ids)
        now = fields.Datetime.now()
        updates, entered, unassigned = {}, [], []
        for partner_id in partners.ids:
            lines = self._funnel_of(rows[partner_id], lines_by_partner[partner_id])
            if not lines:
                continue
            current, last_close = current_and_last_close(lines)
            if current or (last_close and partner_id not in were_open):
                continue
            updates.update(towards(lines, lines[0], now, self.env.uid))
            if lines[0]["activity_type_id"]:
                entered.append(lines[0]["id"])
            if not rows[partner_id]["user_id"]:
                unassigned.append(partner_id)
        salesperson = assign and unassigned and self._joining_salesperson()
        if salesperson:
            # In the contacts' same UPDATE as their funnel fields (flushed by _apply).
            partners.browse(unassigned).write({"user_id": salesperson})
        if created:
            self._check_funnel_rule(partners, "create", created)
        self._apply(partners, updates, entered=entered)

    @api.model
    def _set_from_contacts(self, partners):
        """The inverse of the contact's funnel fields (res_partner.py): what was written, read
        from the record cache, against what the lines say. A new contact's values are its
        history (crm.plus.funnel.import); on a contact in a funnel, a close reason closes, an
        open state or no reason reopens, a lead phase moves, a phase start corrects the
        current line. Contacts asking the same change go in one batch."""
        try:
            self._set_from_contacts_checked(partners)
        except Exception:
            # Refused: the contacts show what their lines say again, not the refused values.
            partners.invalidate_recordset(list(HISTORY_FIELDS), flush=False)
            self.env["res.partner"]._funnel_recompute(partners)
            raise

    @api.model
    def _set_from_contacts_checked(self, partners):
        loaded = rows, lines_by_partner = self._load(partners.ids)
        # A contact without any line yet (a new one): its values are its history.
        new = partners.browse(
            [partner_id for partner_id in partners.ids if not lines_by_partner[partner_id]]
        )
        plans = self.env["crm.plus.funnel.import"]._plans(new) if new else {}
        if plans:
            self._start_with_history(partners.browse(list(plans)), plans)
        closes, reopens, moves, starts = defaultdict(list), [], defaultdict(list), {}
        for partner in partners - new:
            lines = lines_by_partner[partner.id]
            current, last_close = current_and_last_close(self._funnel_of(rows[partner.id], lines))
            if not current and not last_close:
                # Outside any funnel of its type (none, or one without phases).
                _current, last_close = current_and_last_close(lines)
            state = partner.funnel_state or False
            reason = partner.close_reason_id
            if current:
                self._check_close_values(
                    lambda partner=partner: partner.display_name,
                    state,
                    reason,
                    partner.close_date,
                )
                if reason:
                    closes[reason.id, partner.close_date or None].append(partner.id)
                elif partner.lead_phase_id.id != current["phase_id"]:
                    moves[partner.lead_phase_id].append(partner.id)
                elif partner.funnel_phase_date_start != current["date_start"]:
                    starts[current["id"]] = partner.funnel_phase_date_start
            elif last_close:
                if state == "open" or not reason:
                    reopens.append(partner.id)
                elif (
                    reason.id != last_close["close_reason_id"]
                    or partner.close_date != last_close["close_date"]
                    or state != last_close["close_outcome"]
                    # The phase it shows: the one it was closed in, while that funnel is its
                    # own (none after a won close switched its type).
                    or partner.lead_phase_id.id
                    not in (last_close["is_active_funnel"] and last_close["phase_id"], False)
                ):
                    raise UserError(
                        self.env._(
                            "%s is closed: reopen it before changing its funnel.",
                            partner.display_name,
                        )
                    )
            elif partner.lead_phase_id or reason or state:
                self._check_open(rows[partner.id], lines, "move")
        for phase, partner_ids in moves.items():
            self._move(partners.browse(partner_ids), phase, loaded)
        for (reason_id, close_date), partner_ids in closes.items():
            self._close(
                partners.browse(partner_ids), reason_id, close_date=close_date, loaded=loaded
            )
        if reopens:
            self._reopen(partners.browse(reopens), loaded)
        if starts:
            # A correction of the current phase's start, written as the user: the line's rules
            # (CRM+ managers only, never in the future…) decide.
            write_grouped(
                self.env["crm.plus.phase.line"],
                {line_id: {"date_start": start} for line_id, start in starts.items()},
            )

    @api.model
    def _start_with_history(self, partners, plans):
        """Contacts created with their funnel history (an import): ``plans`` {partner id: [(phase,
        state, values)]} in phase order, checked by crm.plus.funnel.import. Their lines are
        created as the history says, in one create."""
        requests = [
            (partner_id, phase, state, values)
            for partner_id, plan in plans.items()
            for phase, state, values in plan
        ]
        won = [
            partner_id
            for partner_id, plan in plans.items()
            if any(values.get("close_outcome") == "won" for _phase, _state, values in plan)
        ]
        with self._one_message_each(partners) as funnel:
            funnel._apply(partners, {}, new_lines=requests)
            if won:
                rows, _lines = funnel._load(won)
                funnel._switch_to_won_type(partners.browse(won), rows)

    @api.model
    def _switch_to_won_type(self, partners, rows):
        """Won contacts move to their type's "type when won" (``rows``: from before the close)."""
        if not self._won_switches_type():
            return
        by_type = defaultdict(list)
        for partner_id in partners.ids:
            if rows[partner_id]["won_account_type_id"]:
                by_type[rows[partner_id]["won_account_type_id"]].append(partner_id)
        for type_id, partner_ids in by_type.items():
            self.env["res.partner"].browse(partner_ids).sudo().write({"account_type_id": type_id})

    @api.model
    def _won_switches_type(self):
        return (
            self.env["ir.config_parameter"].sudo().get_param("crm_plus.won_switches_type", "True")
            != "False"
        )

    # ------------------------------------------------------------------ the one write

    @api.model
    def _apply(self, partners, updates, entered=(), body=None, new_lines=()):
        """Write the decided line changes through the ORM, grouped by values, so that overrides,
        Automation Rules and recomputes see each of them. A change that touches a close moves
        the suggested-score statistics by these contacts' own contribution; every change moves
        the funnel analysis's totals by it (crm.plus.funnel.total). ``entered``: the
        lines whose phase schedules an activity; ``body``: logged with the contacts' change;
        ``new_lines``: lines to create, [(partner id, phase, state[, values])]."""
        lines = self._line_model()
        touches_closes = any(
            len(request) > 3 and request[3].get("close_outcome") for request in new_lines
        ) or any(CLOSE_FIELDS.intersection(vals) for vals in updates.values())
        stats = self.env["crm.plus.phase.stat"]
        totals = self.env["crm.plus.funnel.total"]
        entered = list(entered)
        with (
            totals._follow_contacts(partners.ids),
            stats._follow_contacts(partners.ids) if touches_closes else nullcontext(),
        ):
            if updates:
                # Each group's write reads the lines (constraints, the contact whose fields
                # follow), the contacts' fields are computed from all their lines, and the
                # chatter names the phases left and entered: one fetch of each for the batch
                # instead of one per group, per line set and per phase.
                funnel_lines = partners.sudo().phase_line_ids
                funnel_lines.fetch(prefetched_fields(funnel_lines))
                phases = funnel_lines.phase_id
                phases.fetch(prefetched_fields(phases))
            if body:
                partners._track_set_log_message(body)
            write_grouped(lines, updates)
            if new_lines:
                created = lines._funnel_create(new_lines)
                self._check_funnel_rule(partners, "create", created)
                # create() returns the lines in the order of the requests.
                entered += [
                    line_id
                    for line_id, (_partner, phase, state, *_values) in zip(
                        created.ids, new_lines, strict=True
                    )
                    if state == "current" and phase.activity_type_id
                ]
            # The contacts' fields follow their lines now, in this context: tracked by mail
            # (one contact), or not (``mail_notrack``: a batch, or the caller's choice). The
            # stale deadline follows the phase's start: in the same UPDATE, not a second one.
            partners.with_env(self.env).flush_recordset([*TRACKED_FIELDS, *FLUSHED_WITH_PHASE])
        if entered:
            lines.browse(entered)._funnel_schedule_phase_activities()

    @api.model
    def _day_start(self, day):
        """Midnight of ``day`` in the user's timezone, in UTC: where the user's day begins."""
        return day_start_utc(day, self.env.context.get("tz") or self.env.user.tz)
