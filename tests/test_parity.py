from datetime import timedelta

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from ..compat import grouped_rows
from .common import CrmPlusCase


@tagged("post_install", "-at_install")
class TestCodes(CrmPlusCase):
    def test_duplicate_code_refused_case_insensitive(self):
        with self.assertRaisesRegex(ValidationError, "already used"):
            self.AccountType.create({"name": "Dup", "code": "t-lead"})
        with self.assertRaisesRegex(ValidationError, "already used"):
            self.Reason.create({"name": "Dup", "code": "T-w", "outcome": "won"})
        with self.assertRaisesRegex(ValidationError, "already used"):
            self.Phase.create(
                {"name": "Dup", "code": "t-fc", "account_type_id": self.lead_type.id}
            )

    def test_same_code_other_company(self):
        other = self.env["res.company"].create({"name": "T-Other Co"})
        self.AccountType.create({"name": "Mine", "code": "SHARED", "company_id": self.company.id})
        # Codes are unique per company only: the second company may use "shared" too (the
        # create raising would fail the test) ...
        self.AccountType.create({"name": "Theirs", "code": "shared", "company_id": other.id})
        # ... and its own "shared" is then taken: the check names the record of that company,
        # not the first company's.
        with self.assertRaisesRegex(ValidationError, "already used by Theirs"):
            self.AccountType.create({"name": "Theirs 2", "code": "Shared", "company_id": other.id})
        with self.assertRaisesRegex(ValidationError, "already used by Mine"):
            self.AccountType.create(
                {"name": "Mine 2", "code": "sHaReD", "company_id": self.company.id}
            )

    def test_search_by_code(self):
        """A record is found by its code, whatever the case, where its name does not match."""
        coded = self.AccountType.create({"name": "Nothing alike", "code": "ZQX-7"})
        for text in ("zqx-7", "ZQX", "Nothing alike"):
            with self.subTest(text=text):
                found = self.AccountType.name_search(text)
                self.assertEqual([record_id for record_id, _name in found], coded.ids)
        self.assertIn(
            self.lead_type.id,
            [record_id for record_id, _name in self.AccountType.name_search("t-lead")],
        )


@tagged("post_install", "-at_install")
class TestDefaultType(CrmPlusCase):
    def test_two_defaults_refused(self):
        self.lead_type.is_default = True
        with self.assertRaisesRegex(ValidationError, "Only one account type"):
            self.prospect_type.is_default = True

    def test_web_client_gets_default_not_code(self):
        self.env["crm.plus.account.type"].search([("is_default", "=", True)]).is_default = False
        self.lead_type.is_default = True
        form = Form(self.Partner)  # the web client's onchange
        form.name = "T-From the form"
        partner = form.save()
        self.assertEqual(partner.account_type_id, self.lead_type)
        self.assertEqual(partner.lead_phase_id, self.phase_first)
        by_code = self.Partner.create({"name": "T-By code"})
        self.assertFalse(by_code.account_type_id)
        explicit = self.Partner.create(
            {"name": "T-Explicit", "account_type_id": self.prospect_type.id}
        )
        self.assertEqual(explicit.account_type_id, self.prospect_type)
        imported = self.Partner.with_context(import_file=True).load(["name"], [["T-Imported"]])
        self.assertFalse(self.Partner.browse(imported["ids"]).account_type_id)

    def test_settings(self):
        settings = self.env["res.config.settings"].create({})
        settings.crm_plus_default_account_type_id = self.prospect_type
        settings.crm_plus_won_switches_type = False
        settings.execute()
        self.assertTrue(self.prospect_type.is_default)
        self.assertFalse(self.env["crm.plus.funnel"]._won_switches_type())
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.crm_plus_default_account_type_id, self.prospect_type)
        self.assertFalse(settings.crm_plus_won_switches_type)


@tagged("post_install", "-at_install")
class TestStale(CrmPlusCase):
    def test_stale_boundary(self):
        self.phase_first.stale_after_days = 10
        start = fields.Datetime.from_string("2026-01-01 12:00:00")
        with freeze_time(start):
            partner = self.make_partners()
        stale = [("funnel_is_stale", "=", True), ("id", "=", partner.id)]
        with freeze_time(start + timedelta(days=10)):
            partner.invalidate_recordset(["funnel_is_stale"])
            self.assertFalse(partner.funnel_is_stale, "10 days in a 10-day phase is not stale yet")
            self.assertFalse(self.Partner.search(stale))
        with freeze_time(start + timedelta(days=11)):
            partner.invalidate_recordset(["funnel_is_stale"])
            self.assertTrue(partner.funnel_is_stale)
            self.assertEqual(self.Partner.search(stale), partner)
            self.assertNotIn(partner, self.Partner.search([("funnel_is_stale", "=", False)]))
            partner.action_advance_phase()  # a new phase starts the clock again
            partner.invalidate_recordset(["funnel_is_stale"])
            self.assertFalse(partner.funnel_is_stale)
            self.assertFalse(self.Partner.search(stale))

    def test_no_limit_never_stale(self):
        with freeze_time("2020-01-01"):
            partner = self.make_partners()
        self.assertFalse(partner.funnel_is_stale)


@tagged("post_install", "-at_install")
class TestPhaseActivities(CrmPlusCase):
    def test_activity_scheduled_once(self):
        call = self.env.ref("mail.mail_activity_data_call")
        self.phase_qualif.write({"activity_type_id": call.id, "activity_delay_days": 3})
        partner = self.make_partners(user_id=self.user_sales.id)

        def activities():
            return self.env["mail.activity"].search(
                [
                    ("res_model", "=", "res.partner"),
                    ("res_id", "=", partner.id),
                    ("activity_type_id", "=", call.id),
                ]
            )

        self.assertFalse(activities())
        partner.action_advance_phase()
        activity = activities()
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.user_sales)
        self.assertEqual(
            activity.date_deadline, fields.Date.context_today(partner) + timedelta(days=3)
        )
        # Re-entry while the first is still open: nothing new.
        partner.write({"lead_phase_id": self.phase_first.id})
        partner.action_advance_phase()
        self.assertEqual(activities(), activity)
        # Once done, a re-entry schedules it again.
        activity.action_feedback(feedback="Called")
        partner.write({"lead_phase_id": self.phase_first.id})
        partner.action_advance_phase()
        self.assertEqual(len(activities()), 1)
        self.assertNotEqual(activities(), activity)

    def test_activity_falls_back_to_current_user(self):
        call = self.env.ref("mail.mail_activity_data_call")
        self.phase_first.activity_type_id = call
        partner = self.make_partners()
        activity = self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", partner.id)]
        )
        self.assertEqual(activity.user_id, self.env.user)


@tagged("post_install", "-at_install")
class TestGroupExpand(CrmPlusCase):
    def test_group_by_phase_shows_empty_phases(self):
        self.make_partners(2)
        rows = grouped_rows(
            self.Partner, [("account_type_id", "=", self.lead_type.id)], "lead_phase_id"
        )
        phases = [phase_id for phase_id, _count, _sums in rows if phase_id]
        self.assertEqual(phases, self.lead_type.phase_ids.sorted(lambda p: (p.sequence, p.id)).ids)
        counts = {phase_id: count for phase_id, count, _sums in rows}
        self.assertEqual(counts[self.phase_first.id], 2)
        self.assertEqual(counts[self.phase_closing.id], 0)
        # The grouped read agrees with a count per phase (a search of its own, by another path).
        for phase in self.lead_type.phase_ids:
            with self.subTest(phase=phase.name):
                self.assertEqual(
                    counts[phase.id],
                    self.Partner.search_count(
                        [
                            ("account_type_id", "=", self.lead_type.id),
                            ("lead_phase_id", "=", phase.id),
                        ]
                    ),
                )

    def test_group_by_type_shows_all_types(self):
        rows = grouped_rows(self.Partner, [("name", "=", "nobody")], "account_type_id")
        type_ids = {type_id for type_id, _count, _sums in rows if type_id}
        self.assertTrue({self.lead_type.id, self.customer_type.id} <= type_ids)

    def test_type_with_phases_via_commands_has_lines_for_existing(self):
        """A type that gains its first phases later: its contacts join the funnel, first phase
        current, as when a type with phases is assigned."""
        account_type = self.AccountType.create({"name": "T-Late"})
        partners = self.make_partners(2, account_type=account_type)
        self.assertFalse(partners.funnel_line_ids)
        self.assertFalse(partners.mapped("funnel_state")[0])
        account_type.write(
            {
                "phase_ids": [
                    Command.create({"name": "T-Late 1", "sequence": 1, "default_score": 15}),
                    Command.create({"name": "T-Late 2", "sequence": 2, "phase_type": "closing"}),
                ]
            }
        )
        first, closing = account_type.phase_ids.sorted("sequence")
        self.assertTrue(account_type.has_phases)
        self.assertTrue(all(partners.mapped("has_lead_phases")))
        self.assertEqual(partners.lead_phase_id, first)
        self.assertEqual(set(partners.mapped("funnel_state")), {"open"})
        self.assertEqual(set(partners.mapped("funnel_score")), {15})
        for partner in partners:
            self.assertEqual(self.line_states(partner), [(first, "current"), (closing, "todo")])
        self.assertFunnelInvariants(partners)
        partners.action_advance_phase()
        self.assertEqual(partners.lead_phase_id, closing)

    def test_won_contact_joins_when_its_new_type_gains_a_phase(self):
        """A contact won as Lead switched to Customer; Customer gaining a phase starts its own
        funnel for that contact (as an assignment would), the Lead history stays."""
        partner = self.make_partners()
        partner.write({"lead_phase_id": self.phase_closing.id})
        partner.action_close(self.reason_won.id)
        self.assertEqual(partner.account_type_id, self.customer_type)
        self.Phase.create(
            {"name": "T-Onboarding", "account_type_id": self.customer_type.id, "sequence": 1}
        )
        self.assertEqual(partner.lead_phase_id.name, "T-Onboarding")
        self.assertEqual(partner.funnel_state, "open")
        won_line = partner.funnel_history_line_ids.filtered("close_outcome")
        self.assertEqual(won_line.close_outcome, "won")

    def test_phase_check_cannot_be_skipped_by_a_context_key(self):
        """An RPC client can send any context: the deferral of the phase order check is not a
        context value it can forge."""
        for forged in (True, 1, "1"):
            with (
                self.subTest(forged=forged),
                self.assertRaisesRegex(ValidationError, "closing phases|must be the last phase"),
            ):
                self.Phase.with_context(crm_plus_defer_phase_check=forged).create(
                    {
                        "name": "T-Second closing",
                        "account_type_id": self.lead_type.id,
                        "sequence": 2,
                        "phase_type": "closing",
                    }
                )


@tagged("post_install", "-at_install")
class TestBoardHealth(CrmPlusCase):
    def test_health_groups_count_stale_per_column(self):
        self.phase_first.stale_after_days = 5
        with freeze_time("2026-03-01 10:00:00"):
            old = self.make_partners(2)
        with freeze_time("2026-03-10 10:00:00"):
            fresh = self.make_partners(3)
            fresh[0].funnel_line_ids[0].score = 80
            fresh[1].funnel_line_ids[0].score = 50
            domain = [("id", "in", (old | fresh).ids)]
            bar = self.Partner.read_progress_bar(
                domain,
                "lead_phase_id",
                {
                    "field": "funnel_health",
                    "colors": {
                        "stale": "danger",
                        "hot": "success",
                        "warm": "warning",
                        "cold": "info",
                    },
                },
            )
            self.assertEqual(
                bar[str(self.phase_first.id)], {"stale": 2, "hot": 1, "warm": 1, "cold": 1}
            )
            self.assertEqual(self.Partner.search([*domain, ("funnel_health", "=", "stale")]), old)
            self.assertEqual(
                self.Partner.search([*domain, ("funnel_health", "in", ["hot", "warm"])]), fresh[:2]
            )
            (old | fresh).invalidate_recordset()
            self.assertEqual(old.mapped("funnel_health"), ["stale", "stale"])
            self.assertEqual(fresh.mapped("funnel_health"), ["hot", "warm", "cold"])
            # The progress bar (a grouped search) agrees with the health each card computes.
            per_card = {}
            for partner in old | fresh:
                per_card[partner.funnel_health] = per_card.get(partner.funnel_health, 0) + 1
            self.assertEqual(bar[str(self.phase_first.id)], per_card)
