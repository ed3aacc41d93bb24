"""Issue 30: a stateful property-based test of the funnel over the ORM (Hypothesis's
``RuleBasedStateMachine``).

Hypothesis mixes the ways Odoo offers into the funnel, as three users: a CRM+ manager, a CRM+
user and a user without CRM+ rights (who may create and edit contacts: Contact Creation).
The operations: create with a phased type or none, create with context defaults (``create`` and
``name_create``), write the account type (also as a float id, as some JSON clients send it),
the form's save (``web_save``, new or existing), an import (``load``), advance, move (write
``lead_phase_id``), close won or lost, reopen, copy, archive / unarchive, unlink, merge, and the
bulk wizard's ``_funnel_assign_account_type``.

An operation a user may not do raises AccessError / UserError / ValidationError and changes
nothing (it runs in a savepoint). After every step the invariants are checked, recomputed here
from the rows in the database, never with the addon's own computes:

- a contact whose type has phases has one funnel (one line per phase of the type) with exactly
  one current line while open, and none once closed, the line states ordered along the phases;
- the contact's funnel fields (lead phase, state, close reason, close date, score, forecast)
  are what its lines say, with the money definition of the shared brief: the amount is the
  current line's while open, the closed line's once closed (also after a won close switched
  the contact to a type without phases); the score is the line's while open, 100 when won,
  0 when lost;
- the suggested-score statistics (``crm.plus.phase.stat``) equal a fresh recount
  (``_read_counts``);
- the funnel analysis's totals and days in phase equal a recount from the lines
  (``mismatch_query``);
- no user without CRM+ rights changed funnel data (lines, funnel fields, statistics).

``make test`` runs a bounded, derandomized number of examples (CI is deterministic);
``make property`` runs many more, random ones (``CRM_PLUS_HYPOTHESIS_EXAMPLES``,
``CRM_PLUS_HYPOTHESIS_STEPS``).
"""

import logging
import os
from datetime import datetime

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import SQL

from ..compat import USER_GROUPS_FIELD
from ..models.crm_plus_funnel_import import HISTORY_FIELDS
from ..report.funnel_report_totals import mismatch_query
from .common import CrmPlusCase

_logger = logging.getLogger(__name__)

REFUSALS = (AccessError, UserError, ValidationError)
DEFAULT_EXAMPLES = 25
DEFAULT_STEPS = 15
# A contact's funnel as the snapshots compare it (with its lines).
CONTACT_COLUMNS = ("account_type_id", *HISTORY_FIELDS, "funnel_score", "funnel_forecast_value")


def hypothesis_settings():
    """Bounded and derandomized in ``make test``; ``make property`` sets the number of examples
    (and steps) through the environment."""
    examples = int(os.environ.get("CRM_PLUS_HYPOTHESIS_EXAMPLES") or DEFAULT_EXAMPLES)
    steps = int(os.environ.get("CRM_PLUS_HYPOTHESIS_STEPS") or DEFAULT_STEPS)
    long_run = "CRM_PLUS_HYPOTHESIS_EXAMPLES" in os.environ
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        derandomize=not long_run,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


@tagged("post_install", "-at_install")
class TestFunnelProperties(CrmPlusCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A user without CRM+ rights who may create and edit contacts (Contact Creation): the
        # one who could reach the funnel through Odoo's own paths.
        cls.user_outsider = (
            cls.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": "T-Outsider",
                    "login": "t_crm_plus_outsider",
                    USER_GROUPS_FIELD: [
                        Command.set(
                            [
                                cls.env.ref("base.group_user").id,
                                cls.env.ref("base.group_partner_manager").id,
                            ]
                        )
                    ],
                }
            )
        )
        cls.env["ir.config_parameter"].sudo().set_param("crm_plus.won_switches_type", "True")

    def test_funnel_state_machine(self):
        case = self

        class FunnelMachine(FunnelStateMachine):
            test = case

        try:
            run_state_machine_as_test(FunnelMachine, settings=hypothesis_settings())
        except BaseException as error:
            # The falsifying steps are in the exception's notes: log them whole, as Odoo's
            # runner may show only the last line of a long traceback.
            for failure in getattr(error, "exceptions", [error]):
                _logger.error(
                    "Falsifying example (%s: %s):\n%s",
                    type(failure).__name__,
                    failure,
                    "\n".join(getattr(failure, "__notes__", [])),
                )
            raise


class FunnelStateMachine(RuleBasedStateMachine):
    """One example: a savepoint, opened here and rolled back by ``teardown``."""

    test = None  # the TestFunnelProperties instance (set by the test)
    partners = Bundle("partners")

    def __init__(self):
        super().__init__()
        t = self.test
        self.env = t.env
        self.savepoint = self.env.cr.savepoint()
        self.env.cr.execute("SELECT COALESCE(MAX(id), 0) FROM res_partner")
        self.start_id = self.env.cr.fetchone()[0]
        self.actors = {
            "manager": t.user_manager,
            "sales": t.user_sales,
            "outsider": t.user_outsider,
        }
        self.types = {
            "lead": t.lead_type,
            "prospect": t.prospect_type,
            "customer": t.customer_type,
            "none": t.AccountType,
        }
        self.phased_types = {
            account_type.id: account_type.phase_ids.sorted(lambda p: (p.sequence, p.id)).ids
            for account_type in (t.lead_type, t.prospect_type)
        }
        self.phase_type = {
            phase_id: type_id
            for type_id, phase_ids in self.phased_types.items()
            for phase_id in phase_ids
        }
        self.phases = {
            "lead first": t.phase_first,
            "lead qualification": t.phase_qualif,
            "lead proposal": t.phase_proposal,
            "lead closing": t.phase_closing,
            "prospect first": t.prospect_type.phase_ids.sorted("sequence")[0],
            "prospect closing": t.prospect_type.phase_ids.sorted("sequence")[1],
        }
        self.reasons = {"won": t.reason_won, "lost": t.reason_lost}
        self.counter = 0

    def teardown(self):
        self.savepoint.close(rollback=True)
        self.env.invalidate_all(flush=False)

    # ------------------------------------------------------------------ helpers

    def new_name(self):
        self.counter += 1
        return f"HP-{self.counter}"

    def as_user(self, actor, model="res.partner"):
        return self.env[model].with_user(self.actors[actor])

    def attempt(self, actor, operation):
        """Run ``operation`` in a savepoint: a refusal must be one of Odoo's clear errors and
        change nothing; a user without CRM+ rights changes no funnel data either way."""
        before = self.snapshot()
        try:
            with self.env.cr.savepoint():
                result = operation()
                self.env.flush_all()
        except REFUSALS:
            self.env.invalidate_all(flush=False)
            assert self.snapshot() == before, "a refused operation changed funnel data"
            return None, False
        self.env.invalidate_all()
        if actor == "outsider":
            # A contact that only carries a type without phases (a label, no deal) may go with
            # a delete or a merge of contacts; a contact with funnel lines may not.
            after = self.snapshot()
            keep = set(after[0]) | {pid for pid, (_row, lines) in before[0].items() if lines}
            before = ({pid: v for pid, v in before[0].items() if pid in keep}, *before[1:])
            after = ({pid: v for pid, v in after[0].items() if pid in keep}, *after[1:])
            assert after == before, (
                "a user without CRM+ rights changed funnel data:\n"
                f"before {before}\nafter  {after}"
            )
        return result, True

    def rows(self, query, params=()):
        self.env.flush_all()
        self.env.cr.execute(query, params or None)
        return self.env.cr.dictfetchall()

    def funnel_rows(self):
        """({partner id: contact row}, {partner id: [line rows]}) of the contacts made here."""
        partners = {
            row["id"]: row
            for row in self.rows(
                SQL(
                    "SELECT id, active, %s FROM res_partner WHERE id > %s ORDER BY id",
                    SQL(", ").join(SQL.identifier(fname) for fname in CONTACT_COLUMNS),
                    self.start_id,
                )
            )
        }
        lines = {partner_id: [] for partner_id in partners}
        for row in self.rows(
            """SELECT l.id, l.partner_id, l.phase_id, ph.account_type_id, l.state, l.score,
                      l.forecast_value, l.close_outcome, l.close_reason_id, l.close_date,
                      l.date_done, ph.sequence
                 FROM crm_plus_phase_line AS l
                 JOIN crm_plus_lead_phase AS ph ON ph.id = l.phase_id
                WHERE l.partner_id > %s
                ORDER BY l.partner_id, ph.sequence, l.phase_id""",
            [self.start_id],
        ):
            lines.setdefault(row["partner_id"], []).append(row)
        return partners, lines

    def stat_rows(self):
        phase_ids = list(self.phase_type)
        return {
            (row["company_id"], row["phase_id"]): (row["reached_closed"], row["reached_won"])
            for row in self.rows(
                """SELECT company_id, phase_id, reached_closed, reached_won
                     FROM crm_plus_phase_stat WHERE phase_id = ANY(%s)""",
                [phase_ids],
            )
            if (row["reached_closed"], row["reached_won"]) != (0, 0)
        }

    def snapshot(self):
        """The funnel data of the contacts made here, and the statistics of their types."""
        partners, lines = self.funnel_rows()
        contacts = {
            partner_id: (
                tuple(row[fname] for fname in CONTACT_COLUMNS),
                tuple(
                    (
                        line["phase_id"],
                        line["state"],
                        line["score"],
                        line["forecast_value"],
                        line["close_outcome"],
                        line["close_reason_id"],
                        line["close_date"],
                    )
                    for line in lines.get(partner_id, [])
                ),
            )
            for partner_id, row in partners.items()
        }
        # A contact outside any funnel carries no funnel data.
        contacts = {
            partner_id: data
            for partner_id, data in contacts.items()
            if data[1] or any(value for value in data[0])
        }
        return contacts, self.stat_rows()

    def partner_ids(self, partners):
        return [partner_id for partner_id in partners if self.exists(partner_id)]

    def existing(self, actor, partner_id):
        """The contact as ``actor`` sees it; empty once deleted (a merge, an unlink)."""
        return self.as_user(actor).browse(partner_id if self.exists(partner_id) else [])

    def exists(self, partner_id):
        self.env.cr.execute("SELECT 1 FROM res_partner WHERE id = %s", [partner_id])
        return bool(self.env.cr.fetchone())

    # ------------------------------------------------------------------ rules

    actors_st = st.sampled_from(["manager", "sales", "outsider"])
    types_st = st.sampled_from(["lead", "prospect", "customer", "none"])

    @rule(
        target=partners,
        actor=actors_st,
        type_name=types_st,
        forecast=st.sampled_from([0, 1000, 2500.5]),
    )
    def create_contact(self, actor, type_name, forecast):
        account_type = self.types[type_name]
        vals = {"name": self.new_name(), "email": "hp@example.com"}
        if account_type:
            vals["account_type_id"] = account_type.id
        partner, done = self.attempt(actor, lambda: self.as_user(actor).create(vals))
        if not done:
            return multiple()
        if forecast and partner.sudo().funnel_state == "open":
            line = partner.sudo().funnel_line_ids.filtered(lambda line: line.state == "current")
            self.attempt(
                actor,
                lambda: line.with_user(self.actors[actor]).write({"forecast_value": forecast}),
            )
        return partner.id

    @rule(
        target=partners,
        actor=actors_st,
        defaults=st.sampled_from(
            [
                ("default_account_type_id",),
                ("default_account_type_id", "default_lead_phase_id"),
                ("default_lead_phase_id",),
                ("default_account_type_id", "default_lead_phase_id", "default_close_reason_id"),
                ("default_close_reason_id", "default_funnel_phase_date_start"),
                ("default_account_type_id", "default_funnel_state"),
            ]
        ),
        phase_name=st.sampled_from(["lead qualification", "lead closing", "prospect first"]),
        outcome=st.sampled_from(["won", "lost"]),
        via=st.sampled_from(["create", "name_create"]),
    )
    def create_with_defaults(self, actor, defaults, phase_name, outcome, via):
        phase = self.phases[phase_name]
        values = {
            "default_account_type_id": phase.account_type_id.id,
            "default_lead_phase_id": phase.id,
            "default_close_reason_id": self.reasons[outcome].id,
            "default_funnel_phase_date_start": "2025-01-02 09:00:00",
            "default_funnel_state": outcome,
        }
        model = self.as_user(actor).with_context(**{key: values[key] for key in defaults})
        name = self.new_name()

        def operation():
            if via == "name_create":
                return model.browse(model.name_create(name)[0])
            return model.create({"name": name, "email": "hp@example.com"})

        partner, done = self.attempt(actor, operation)
        return partner.id if done else multiple()

    @rule(actor=actors_st, partner_id=partners, type_name=types_st)
    def write_type(self, actor, partner_id, type_name):
        if not self.exists(partner_id):
            return
        account_type = self.types[type_name]
        partner = self.as_user(actor).browse(partner_id)
        self.attempt(actor, lambda: partner.write({"account_type_id": account_type.id}))

    @rule(actor=st.sampled_from(["manager", "sales"]), partner_id=partners, type_name=types_st)
    def write_type_as_float(self, actor, partner_id, type_name):
        """A JSON client sends ids as floats (2.0): the type it names, or a clear error."""
        if not self.exists(partner_id):
            return
        account_type = self.types[type_name]
        if not account_type:
            return
        partner = self.as_user(actor).browse(partner_id)
        _result, done = self.attempt(
            actor, lambda: partner.write({"account_type_id": float(account_type.id)})
        )
        if done:
            assert partner.sudo().account_type_id == account_type, (
                f"account_type_id: {float(account_type.id)} gave "
                f"{partner.sudo().account_type_id.name or 'no type'}, not {account_type.name}"
            )

    @rule(
        target=partners,
        actor=actors_st,
        partner_id=st.one_of(st.none(), partners),
        type_name=types_st,
        phase_name=st.sampled_from([None, "lead qualification", "lead closing", "prospect first"]),
    )
    def form_save(self, actor, partner_id, type_name, phase_name):
        """The contact form's Save (``web_save``), a new contact or an existing one: the type
        and the phase in one call, as the form sends what was edited."""
        if partner_id is not None and not self.exists(partner_id):
            return multiple()
        vals = {"account_type_id": self.types[type_name].id or False}
        if phase_name:
            vals["lead_phase_id"] = self.phases[phase_name].id
        if partner_id is None:
            vals.update(name=self.new_name(), email="hp@example.com")
        partner = self.as_user(actor).browse(partner_id or [])
        saved, done = self.attempt(actor, lambda: partner.web_save(vals, {"display_name": {}}))
        return saved[0]["id"] if done and partner_id is None else multiple()

    @rule(
        target=partners,
        actor=actors_st,
        type_name=types_st,
        phase_name=st.sampled_from([None, "lead qualification", "prospect closing"]),
    )
    def import_contact(self, actor, type_name, phase_name):
        """Contacts → Import (base_import's ``load``), the type and the phase by name. A row
        the import refuses comes back as a message, not an exception: it changes nothing."""
        columns, row = ["name", "email"], [self.new_name(), "hp@example.com"]
        if account_type := self.types[type_name]:
            columns.append("account_type_id")
            row.append(account_type.name)
        if phase_name:
            columns.append("lead_phase_id")
            row.append(self.phases[phase_name].name)
        before = self.snapshot()
        model = self.as_user(actor).with_context(import_file=True)
        result, done = self.attempt(actor, lambda: model.load(columns, [row]))
        if not done:
            return multiple()
        if any(message["type"] == "error" for message in result["messages"]):
            assert not result["ids"], f"an import with errors created contacts: {result}"
            assert self.snapshot() == before, "an import refused with a message changed data"
            return multiple()
        return result["ids"][0]

    @rule(actor=actors_st, partner_id=partners)
    def advance(self, actor, partner_id):
        if not (partner := self.existing(actor, partner_id)):
            return
        before = partner.sudo().lead_phase_id
        _result, done = self.attempt(actor, partner.action_advance_phase)
        if done:
            assert partner.sudo().lead_phase_id != before, "advance did not move"

    @rule(
        actor=actors_st,
        partner_id=partners,
        phase_name=st.sampled_from(
            [
                "lead first",
                "lead qualification",
                "lead proposal",
                "lead closing",
                "prospect first",
                "prospect closing",
            ]
        ),
    )
    def move(self, actor, partner_id, phase_name):
        if not self.exists(partner_id):
            return
        phase = self.phases[phase_name]
        partner = self.as_user(actor).browse(partner_id)
        _result, done = self.attempt(actor, lambda: partner.write({"lead_phase_id": phase.id}))
        if done:
            assert partner.sudo().lead_phase_id == phase, "the move did not reach its phase"

    @rule(actor=actors_st, partner_id=partners, outcome=st.sampled_from(["won", "lost"]))
    def close(self, actor, partner_id, outcome):
        if not (partner := self.existing(actor, partner_id)):
            return
        reason = self.reasons[outcome]
        _result, done = self.attempt(actor, lambda: partner.action_close(reason.id))
        if done:
            assert partner.sudo().funnel_state == outcome, "the close did not close"

    @rule(actor=actors_st, partner_id=partners)
    def reopen(self, actor, partner_id):
        if not (partner := self.existing(actor, partner_id)):
            return
        _result, done = self.attempt(actor, partner.action_reopen)
        if done:
            assert partner.sudo().funnel_state == "open", "the reopen did not reopen"

    @rule(target=partners, actor=actors_st, partner_id=partners)
    def copy_contact(self, actor, partner_id):
        if not (partner := self.existing(actor, partner_id)):
            return multiple()
        copied, done = self.attempt(actor, partner.copy)
        return copied.id if done else multiple()

    @rule(actor=actors_st, partner_id=partners)
    def toggle_active(self, actor, partner_id):
        if not (partner := self.existing(actor, partner_id)):
            return
        active = partner.sudo().active
        self.attempt(actor, lambda: partner.write({"active": not active}))

    @rule(actor=actors_st, partner_id=consumes(partners))
    def unlink_contact(self, actor, partner_id):
        if not (partner := self.existing(actor, partner_id)):
            return
        self.attempt(actor, partner.unlink)

    @rule(actor=actors_st, source_id=consumes(partners), target_id=partners)
    def merge(self, actor, source_id, target_id):
        """Contacts → select 2 → Action → Merge: the wizard's own merge."""
        if source_id == target_id or not (self.exists(source_id) and self.exists(target_id)):
            return
        wizard = self.as_user(actor, "base.partner.merge.automatic.wizard")
        target = self.env["res.partner"].browse(target_id)
        self.attempt(
            actor, lambda: wizard._merge([source_id, target_id], target.with_user(wizard.env.user))
        )

    @rule(
        actor=actors_st,
        partner_ids=st.lists(partners, min_size=1, max_size=3, unique=True),
        type_name=st.sampled_from(["lead", "prospect", "customer"]),
    )
    def bulk_assign_type(self, actor, partner_ids, type_name):
        """The bulk wizard's method: Action → Set Account Type."""
        partner_ids = self.partner_ids(partner_ids)
        if not partner_ids:
            return
        partners = self.as_user(actor).browse(partner_ids)
        account_type = self.types[type_name].with_user(self.actors[actor])
        self.attempt(actor, lambda: partners._funnel_assign_account_type(account_type))

    # ------------------------------------------------------------------ invariants

    @invariant()
    def funnels_follow_their_lines(self):
        partners, lines_by_partner = self.funnel_rows()
        for partner_id, partner in partners.items():
            lines = lines_by_partner.get(partner_id, [])
            type_id = partner["account_type_id"]
            own = [line for line in lines if line["account_type_id"] == type_id]
            current = [line for line in own if line["state"] == "current"]
            where = f"contact {partner_id} (type {type_id}, lines {self.describe(lines)})"
            if type_id in self.phased_types:
                assert sorted(line["phase_id"] for line in own) == sorted(
                    self.phased_types[type_id]
                ), f"{where}: not one funnel of its type's phases"
                assert len(current) == 1 or any(
                    line["close_outcome"] for line in own
                ), f"{where}: in a funnel, neither open (one current line) nor closed"
            assert len(current) <= 1, f"{where}: {len(current)} current lines"
            if current:
                assert not any(
                    line["close_outcome"] for line in own
                ), f"{where}: open and closed at once"
                order = {"done": 0, "current": 1, "todo": 2}
                states = [order[line["state"]] for line in own]
                assert states == sorted(states), f"{where}: line states out of phase order"
            self.check_contact_fields(partner, own, current, lines, where)

    def check_contact_fields(self, partner, own, current, lines, where):
        closes = [line for line in lines if line["close_outcome"]]
        # The last close: latest close date, then latest completion, then latest line.
        last_close = (
            max(
                closes,
                key=lambda line: (
                    line["close_date"],
                    line["date_done"] or datetime.min,
                    line["id"],
                ),
            )
            if closes
            else None
        )
        if current:
            line = current[0]
            expected = {
                "lead_phase_id": line["phase_id"],
                "funnel_state": "open",
                "close_reason_id": None,
                "close_date": None,
            }
            money = {
                "funnel_score": line["score"],
                "funnel_forecast_value": line["forecast_value"],
            }
        elif last_close:
            expected = {
                "lead_phase_id": last_close["phase_id"]
                if last_close["account_type_id"] == partner["account_type_id"]
                else None,
                "funnel_state": last_close["close_outcome"],
                "close_reason_id": last_close["close_reason_id"],
                "close_date": last_close["close_date"],
            }
            money = {
                "funnel_score": 100 if last_close["close_outcome"] == "won" else 0,
                "funnel_forecast_value": last_close["forecast_value"],
            }
        else:
            expected = dict.fromkeys(
                ("lead_phase_id", "funnel_state", "close_reason_id", "close_date")
            )
            money = {"funnel_score": 0, "funnel_forecast_value": 0}
        actual = {fname: partner[fname] for fname in expected}
        assert actual == expected, f"{where}: fields {actual} but the lines say {expected}"
        actual_money = {
            "funnel_score": partner["funnel_score"] or 0,
            "funnel_forecast_value": round(float(partner["funnel_forecast_value"] or 0), 2),
        }
        money = {
            "funnel_score": money["funnel_score"] or 0,
            "funnel_forecast_value": round(float(money["funnel_forecast_value"] or 0), 2),
        }
        assert actual_money == money, f"{where}: figures {actual_money} but the lines say {money}"

    @staticmethod
    def describe(lines):
        return [
            (line["phase_id"], line["state"], line["close_outcome"], line["score"])
            for line in lines
        ]

    @invariant()
    def statistics_equal_a_recount(self):
        stats = self.env["crm.plus.phase.stat"]
        recount = {
            key: counts
            for key, counts in stats._read_counts(account_type_ids=list(self.phased_types)).items()
            if counts != (0, 0)
        }
        stored = self.stat_rows()
        assert (
            stored == recount
        ), f"suggested-score statistics {stored} but a recount says {recount}"

    @invariant()
    def report_sums_equal_a_recount(self):
        self.env.flush_all()
        self.env.cr.execute(mismatch_query())
        mismatches = self.env.cr.fetchall()
        assert not mismatches, f"funnel analysis sums differ from the lines: {mismatches[:5]}"
