from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import CrmPlusCase


@tagged("post_install", "-at_install")
class TestFunnelEntry(CrmPlusCase):
    def test_create_with_type_starts_funnel(self):
        partner = self.make_partners()
        self.assertEqual(partner.funnel_state, "open")
        self.assertEqual(partner.lead_phase_id, self.phase_first)
        self.assertEqual(
            self.line_states(partner),
            [
                (self.phase_first, "current"),
                (self.phase_qualif, "todo"),
                (self.phase_proposal, "todo"),
                (self.phase_closing, "todo"),
            ],
        )
        first = partner.funnel_line_ids.filtered(lambda line: line.phase_id == self.phase_first)
        self.assertTrue(first.date_start)
        self.assertEqual(first.score, 10)
        self.assertEqual(
            partner.funnel_line_ids.filtered(
                lambda line: line.phase_id == self.phase_proposal
            ).score,
            60,
            "a line starts with its phase's default score",
        )
        self.assertEqual(first.account_type_id, self.lead_type)

    def test_type_without_phases_has_no_funnel(self):
        partner = self.make_partners(account_type=self.customer_type)
        self.assertFalse(partner.funnel_state)
        self.assertFalse(partner.phase_line_ids)
        self.assertFalse(partner.has_lead_phases)
        plain = self.Partner.create({"name": "T-plain"})
        self.assertFalse(plain.funnel_state)

    def test_write_type_in_bulk(self):
        partners = self.Partner.create([{"name": f"T-bulk {i}"} for i in range(7)])
        partners.write({"account_type_id": self.lead_type.id})
        self.assertEqual(set(partners.mapped("funnel_state")), {"open"})
        self.assertEqual(partners.lead_phase_id, self.phase_first)
        self.assertEqual(len(partners.phase_line_ids), 7 * 4)
        self.assertFunnelInvariants(partners)

    def test_bulk_wizard(self):
        partners = self.Partner.create([{"name": f"T-wiz {i}"} for i in range(3)])
        wizard = (
            self.env["crm.plus.account.type.wizard"]
            .with_context(active_model="res.partner", active_ids=partners.ids)
            .create({"account_type_id": self.prospect_type.id})
        )
        self.assertEqual(wizard.partner_count, 3)
        wizard.action_apply()
        self.assertEqual(partners.account_type_id, self.prospect_type)
        self.assertEqual(len(partners.phase_line_ids), 6)

    def test_change_type_keeps_history(self):
        partner = self.make_partners()
        partner.action_advance_phase()
        partner.write({"account_type_id": self.prospect_type.id})
        self.assertEqual(partner.lead_phase_id.account_type_id, self.prospect_type)
        self.assertEqual(len(partner.funnel_line_ids), 2)
        self.assertEqual(len(partner.funnel_history_line_ids), 4)
        history = partner.funnel_history_line_ids.sorted("sequence")
        self.assertEqual(history.mapped("state"), ["done", "current", "todo", "todo"])
        self.assertFunnelInvariants(partner)
        # Back to the first type: the funnel resumes where it was left.
        partner.write({"account_type_id": self.lead_type.id})
        self.assertEqual(partner.lead_phase_id, self.phase_qualif)
        self.assertEqual(len(partner.phase_line_ids), 6)
        self.assertFunnelInvariants(partner)

    def test_phase_added_later_appears_as_todo(self):
        partners = self.make_partners(2)
        partners[1].action_advance_phase()
        partners[1].action_advance_phase()  # in Proposal
        new_phase = self.Phase.create(
            {"name": "T-Demo", "account_type_id": self.lead_type.id, "sequence": 3}
        )
        # sequence 3 ties with Proposal: the later id comes after it
        line0 = partners[0].funnel_line_ids.filtered(lambda line: line.phase_id == new_phase)
        line1 = partners[1].funnel_line_ids.filtered(lambda line: line.phase_id == new_phase)
        self.assertEqual(line0.state, "todo")
        self.assertEqual(line1.state, "todo")
        early = self.Phase.create(
            {"name": "T-Early", "account_type_id": self.lead_type.id, "sequence": 2}
        )
        line_early = partners[1].funnel_line_ids.filtered(lambda line: line.phase_id == early)
        self.assertEqual(line_early.state, "done", "a phase before the current one is skipped")
        self.assertFunnelInvariants(partners)


@tagged("post_install", "-at_install")
class TestFunnelActions(CrmPlusCase):
    def test_advance(self):
        partner = self.make_partners()
        partner.funnel_line_ids[0].write({"forecast_value": 5000, "recurring_value": 300})
        partner.with_user(self.user_sales).action_advance_phase()
        lines = partner.funnel_line_ids.sorted("sequence")
        self.assertEqual(lines.mapped("state"), ["done", "current", "todo", "todo"])
        self.assertEqual(lines[0].done_by_id, self.user_sales)
        self.assertTrue(lines[0].date_done)
        self.assertTrue(lines[1].date_start)
        self.assertEqual(partner.lead_phase_id, self.phase_qualif)
        # Figures carry over to the new phase; the score is the new phase's default.
        self.assertEqual(lines[1].forecast_value, 5000)
        self.assertEqual(partner.funnel_forecast_value, 5000)
        self.assertEqual(partner.funnel_score, 30)
        self.assertEqual(partner.funnel_weighted_value, 1500)
        self.assertEqual(partner.funnel_recurring_value, 300)

    def test_advance_refused_in_closing_phase(self):
        partner = self.make_partners()
        for _i in range(3):
            partner.action_advance_phase()
        self.assertEqual(partner.lead_phase_id, self.phase_closing)
        with self.assertRaisesRegex(UserError, "closing phase"):
            partner.action_advance_phase()
        self.assertEqual(partner.lead_phase_id, self.phase_closing)

    def test_advance_refused_closed_or_phaseless(self):
        closed = self.make_partners()
        closed.action_close(self.reason_lost.id)
        with self.assertRaisesRegex(UserError, "closed"):
            closed.action_advance_phase()
        phaseless = self.make_partners(account_type=self.customer_type)
        with self.assertRaisesRegex(UserError, "no lead phases"):
            phaseless.action_advance_phase()
        nothing = self.Partner.create({"name": "T-none"})
        with self.assertRaises(UserError):
            nothing.action_advance_phase()

    def test_advance_batch_refusal_changes_nothing(self):
        partners = self.make_partners(3)
        partners[2].action_close(self.reason_lost.id)
        before = [(line.id, line.state) for line in partners.phase_line_ids]
        with self.assertRaises(UserError):
            partners.action_advance_phase()
        self.assertEqual([(line.id, line.state) for line in partners.phase_line_ids], before)

    def test_close_won_switches_type(self):
        partner = self.make_partners()
        for _i in range(3):
            partner.action_advance_phase()
        partner.action_close(self.reason_won.id, note="Signed today")
        self.assertEqual(partner.funnel_state, "won")
        self.assertEqual(partner.close_reason_id, self.reason_won)
        self.assertTrue(partner.close_date)
        self.assertEqual(partner.account_type_id, self.customer_type)
        self.assertFalse(partner.funnel_line_ids, "Customer has no phases")
        closing_line = partner.phase_line_ids.filtered(
            lambda line: line.phase_id == self.phase_closing
        )
        self.assertEqual(closing_line.state, "done")
        self.assertEqual(closing_line.close_outcome, "won")
        self.assertEqual(closing_line.close_reason_id, self.reason_won)
        self.assertEqual(closing_line.closed_by_id, self.env.user)
        self.assertEqual(closing_line.note, "Signed today")
        self.assertEqual(len(partner.funnel_history_line_ids), 4, "old lines stay readable")

    def test_close_won_without_switch_setting(self):
        self.env["ir.config_parameter"].sudo().set_param("crm_plus.won_switches_type", "False")
        partner = self.make_partners()
        for _i in range(3):
            partner.action_advance_phase()
        partner.action_close(self.reason_won.id)
        self.assertEqual(partner.account_type_id, self.lead_type)
        self.assertEqual(partner.funnel_state, "won")
        self.assertFunnelInvariants(partner)

    def test_close_won_refused_outside_closing(self):
        partner = self.make_partners()
        with self.assertRaisesRegex(UserError, "only be closed as won from the closing phase"):
            partner.action_close(self.reason_won.id)
        self.assertEqual(partner.funnel_state, "open")
        self.assertFalse(partner.phase_line_ids.filtered("close_outcome"))

    def test_close_lost_from_any_phase_and_reopen(self):
        partner = self.make_partners()
        partner.action_advance_phase()
        partner.action_close(self.reason_lost.id)
        self.assertEqual(partner.funnel_state, "lost")
        self.assertEqual(partner.lead_phase_id, self.phase_qualif)
        self.assertFunnelInvariants(partner)
        self.env.cr.flush()  # mail's tracking of the close
        partner.action_reopen()
        self.assertEqual(partner.funnel_state, "open")
        self.assertEqual(partner.lead_phase_id, self.phase_qualif)
        self.assertFalse(partner.close_reason_id)
        self.assertFalse(partner.close_date)
        self.assertFunnelInvariants(partner)
        # The reopened line no longer carries the close: the chatter keeps it.
        line = partner.funnel_line_ids.filtered(lambda line: line.phase_id == self.phase_qualif)
        self.assertEqual(line.state, "current")
        self.assertEqual(
            (line.close_outcome, line.close_reason_id, line.close_date, line.closed_by_id),
            (False, self.Reason, False, self.env["res.users"]),
        )
        self.env.cr.flush()
        self.assertIn(
            self.reason_lost.name,
            partner.message_ids.tracking_value_ids.filtered(
                lambda value: value.field_id.name == "close_reason_id"
            ).mapped("old_value_char"),
        )
        with self.assertRaisesRegex(UserError, "nothing to reopen"):
            partner.action_reopen()

    def test_reopen_won_goes_back_to_funnel_type(self):
        partner = self.make_partners()
        for _i in range(3):
            partner.action_advance_phase()
        partner.action_close(self.reason_won.id)
        self.assertEqual(partner.account_type_id, self.customer_type)
        partner.action_reopen()
        self.assertEqual(partner.account_type_id, self.lead_type)
        self.assertEqual(partner.lead_phase_id, self.phase_closing)
        self.assertEqual(partner.funnel_state, "open")
        self.assertFunnelInvariants(partner)
        self.assertFalse(partner.phase_line_ids.filtered("close_outcome"))

    def test_won_switched_type_keeps_its_funnel_in_view(self):
        """Won and switched to a type without phases (Customer), the contact still shows the
        funnel it was closed in; Reopen puts it back there."""
        partner, open_moved = self.make_partners(2)
        never = self.make_partners(account_type=self.customer_type)
        for _i in range(3):
            partner.action_advance_phase()
        lead_lines = partner.funnel_line_ids
        self.assertEqual(partner.funnel_shown_type_id, self.lead_type)
        self.assertTrue(partner.has_funnel_to_show)
        self.assertFalse(partner.funnel_closed_line_ids, "the open funnel is the own one")
        partner.action_close(self.reason_won.id)
        self.assertEqual(partner.account_type_id, self.customer_type)
        self.assertTrue(partner.has_funnel_to_show)
        self.assertEqual(partner.funnel_shown_type_id, self.lead_type)
        self.assertEqual(partner.funnel_closed_line_ids, lead_lines)
        self.assertFalse(partner.funnel_earlier_line_ids, "not shown twice")
        self.assertEqual(
            partner.funnel_closed_line_ids.filtered("close_outcome").phase_id, self.phase_closing
        )
        partner.action_reopen()
        self.assertEqual(partner.funnel_shown_type_id, self.lead_type)
        self.assertFalse(partner.funnel_closed_line_ids)
        # A contact never in a funnel, and one moved by hand out of an open funnel: no Overview.
        open_moved.write({"account_type_id": self.customer_type.id})
        for other in (never, open_moved):
            self.assertFalse(other.has_funnel_to_show)
            self.assertFalse(other.funnel_shown_type_id)
            self.assertFalse(other.funnel_closed_line_ids)
        self.assertEqual(len(open_moved.funnel_earlier_line_ids), 4, "its Lead funnel: history")

    def test_lost_then_moved_keeps_its_funnel_in_view(self):
        """Lost, then given a type without phases by hand: the lost funnel stays in view."""
        partner = self.make_partners()
        partner.action_advance_phase()
        partner.action_close(self.reason_lost.id)
        partner.write({"account_type_id": self.customer_type.id})
        self.assertEqual(partner.funnel_state, "lost")
        self.assertEqual(partner.funnel_shown_type_id, self.lead_type)
        self.assertEqual(len(partner.funnel_closed_line_ids), 4)
        partner.action_reopen()
        self.assertEqual(partner.account_type_id, self.lead_type)
        self.assertEqual(partner.lead_phase_id, self.phase_qualif)
        self.assertEqual(partner.funnel_state, "open")

    def test_close_bad_reason(self):
        partner = self.make_partners()
        with self.assertRaisesRegex(UserError, "does not exist"):
            partner.action_close(999999999)
        self.reason_lost.active = False
        with self.assertRaisesRegex(UserError, "archived"):
            partner.action_close(self.reason_lost.id)
        self.assertEqual(partner.funnel_state, "open")

    def test_close_wizard(self):
        partner = self.make_partners()
        action = partner.action_open_close_wizard()
        wizard = (
            self.env[action["res_model"]]
            .with_context(**action["context"])
            .create({"close_reason_id": self.reason_lost.id, "note": "Budget cut"})
        )
        self.assertFalse(wizard.in_closing_phase)
        wizard.action_confirm()
        self.assertEqual(partner.funnel_state, "lost")

    def test_move_phase_directly(self):
        partner = self.make_partners()
        partner.write({"lead_phase_id": self.phase_proposal.id})
        self.assertEqual(
            [state for _phase, state in self.line_states(partner)],
            ["done", "done", "current", "todo"],
        )
        partner.write({"lead_phase_id": self.phase_first.id})
        self.assertEqual(
            [state for _phase, state in self.line_states(partner)],
            ["current", "todo", "todo", "todo"],
        )
        self.assertFunnelInvariants(partner)

    def test_move_phase_of_other_type_refused(self):
        partner = self.make_partners()
        other = self.prospect_type.phase_ids[0]
        with self.assertRaisesRegex(ValidationError, "belongs to"):
            partner.write({"lead_phase_id": other.id})
        self.assertEqual(partner.lead_phase_id, self.phase_first)

    def test_managed_fields_refused(self):
        partner = self.make_partners()
        with self.assertRaises(UserError):
            partner.write({"funnel_state": "won"})
        with self.assertRaises(UserError):
            partner.funnel_line_ids[0].write({"state": "done"})
        with self.assertRaises(UserError):
            self.Line.create({"partner_id": partner.id, "phase_id": self.phase_first.id})
        with self.assertRaises(UserError):
            partner.funnel_line_ids[0].unlink()
        self.assertEqual(partner.funnel_state, "open")


@tagged("post_install", "-at_install")
class TestFunnelValidation(CrmPlusCase):
    def test_score_range(self):
        line = self.make_partners().funnel_line_ids[0]
        for bad in (0, 101, -5):
            with self.assertRaisesRegex(ValidationError, "between 1 and 100"):
                line.write({"score": bad})
        line.write({"score": 100})
        self.assertEqual(line.score, 100)

    def test_negative_values(self):
        line = self.make_partners().funnel_line_ids[0]
        with self.assertRaises(ValidationError):
            line.write({"forecast_value": -1})
        with self.assertRaises(ValidationError):
            line.write({"recurring_value": -0.01})

    def test_recurring_monthly(self):
        line = self.make_partners().funnel_line_ids[0]
        line.write({"recurring_value": 1200, "recurring_interval": "year"})
        self.assertEqual(line.recurring_value_monthly, 100)
        line.write({"recurring_interval": "quarter"})
        self.assertEqual(line.recurring_value_monthly, 400)

    def test_default_score_range(self):
        with self.assertRaises(ValidationError):
            self.Phase.create(
                {"name": "x", "account_type_id": self.lead_type.id, "default_score": 0}
            )

    def test_second_closing_phase_refused(self):
        with self.assertRaisesRegex(ValidationError, "only one"):
            self.Phase.create(
                {
                    "name": "T-Closing 2",
                    "account_type_id": self.lead_type.id,
                    "phase_type": "closing",
                    "sequence": 99,
                }
            )

    def test_phase_after_closing_refused(self):
        with self.assertRaisesRegex(ValidationError, "must be the last phase"):
            self.Phase.create(
                {"name": "T-After", "account_type_id": self.lead_type.id, "sequence": 99}
            )

    def type_with_phases(self, name, *phase_types):
        """An account type created in one call, with phases A, B… of ``phase_types``."""
        phases = [
            Command.create({"name": chr(ord("A") + i), "sequence": i + 1, "phase_type": kind})
            for i, kind in enumerate(phase_types)
        ]
        return self.AccountType.create({"name": name, "phase_ids": phases})

    def test_type_created_in_one_call(self):
        account_type = self.type_with_phases("T-OneCall", "normal", "closing")
        self.assertTrue(account_type.has_phases)
        self.assertEqual(account_type.closing_phase_id.name, "B")
        for message, kinds in (
            ("must be the last phase", ("closing", "normal")),
            ("only one", ("closing", "closing")),
        ):
            with self.subTest(kinds=kinds), self.assertRaisesRegex(ValidationError, message):
                self.type_with_phases("T-Bad", *kinds)

    def test_reorder_phases_in_one_write(self):
        # Moving the closing phase to the end in the form writes the sequences one by one.
        account_type = self.type_with_phases("T-Reorder", "normal", "normal")
        a, c = account_type.phase_ids.sorted("sequence")
        account_type.write(
            {
                "phase_ids": [
                    Command.update(c.id, {"phase_type": "closing", "sequence": 5}),
                    Command.create({"name": "Middle", "sequence": 3}),
                ]
            }
        )
        self.assertEqual(account_type.closing_phase_id, c)

    def test_type_without_closing_phase(self):
        account_type = self.AccountType.create(
            {"name": "T-Draft", "phase_ids": [Command.create({"name": "Only", "sequence": 1})]}
        )
        partner = self.make_partners(account_type=account_type)
        with self.assertRaisesRegex(UserError, "no closing phase yet"):
            partner.action_close(self.reason_won.id)
        with self.assertRaisesRegex(UserError, "no closing phase"):
            partner.action_advance_phase()
        partner.action_close(self.reason_lost.id)
        self.assertEqual(partner.funnel_state, "lost")

    def test_delete_phase_with_lines_refused(self):
        self.make_partners()
        with self.assertRaisesRegex(UserError, "archive it instead"):
            self.phase_proposal.unlink()
        with self.assertRaisesRegex(UserError, "archive it instead"):
            self.lead_type.unlink()
        unused = self.AccountType.create({"name": "T-unused"})
        unused.unlink()
        self.assertFalse(unused.exists())

    def test_archive_phase(self):
        partner = self.make_partners()
        with self.assertRaisesRegex(UserError, "currently in"):
            self.phase_first.active = False
        self.phase_proposal.active = False
        self.assertFalse(
            partner.funnel_line_ids.filtered(lambda line: line.phase_id == self.phase_proposal)
        )
        partner.action_advance_phase()
        partner.action_advance_phase()
        self.assertEqual(partner.lead_phase_id, self.phase_closing, "archived phase is skipped")
        self.phase_proposal.active = True
        line = partner.funnel_line_ids.filtered(lambda line: line.phase_id == self.phase_proposal)
        self.assertEqual(line.state, "done")
        self.assertFunnelInvariants(partner)


@tagged("post_install", "-at_install")
class TestFunnelTracking(CrmPlusCase):
    def test_chatter_tracks_funnel(self):
        partner = self.make_partners()
        self.env.cr.flush()
        count = len(partner.message_ids)
        partner.action_advance_phase()
        self.env.cr.flush()
        message = partner.message_ids[0]
        self.assertEqual(len(partner.message_ids), count + 1)
        tracked = message.tracking_value_ids
        self.assertEqual(tracked.field_id.name, "lead_phase_id")
        self.assertEqual(tracked.old_value_char, self.phase_first.name)
        self.assertEqual(tracked.new_value_char, self.phase_qualif.name)
        partner.action_close(self.reason_lost.id)
        self.env.cr.flush()
        fields_logged = set(partner.message_ids[0].tracking_value_ids.field_id.mapped("name"))
        self.assertEqual(fields_logged, {"funnel_state", "close_reason_id"})
