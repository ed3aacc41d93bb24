"""Paths Odoo offers around the funnel (issue 30, items 10–12): the contact merge, a closing
phase archived under won contacts, contacts deleted. Each keeps the funnel's invariants and
the suggested-score statistics equal to a recount."""

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..compat import USER_GROUPS_FIELD
from .common import CrmPlusCase


@tagged("post_install", "-at_install")
class TestMergePaths(CrmPlusCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("crm_plus.won_switches_type", "True")
        cls.env["ir.config_parameter"].sudo().set_param("crm_plus.suggestion_window_days", 730)
        cls.Wizard = cls.env["base.partner.merge.automatic.wizard"]

    def setUp(self):
        super().setUp()
        # The statistics start equal to a recount: every check below compares with one.
        self.Stat._refresh()

    # ------------------------------------------------------------------ helpers

    def assertStatsEqualRecount(self):
        self.env.flush_all()
        stats = {
            (stat.company_id.id or None, stat.phase_id.id): (stat.reached_closed, stat.reached_won)
            for stat in self.Stat.with_context(active_test=False).search([])
            if stat.reached_closed or stat.reached_won
        }
        self.assertEqual(stats, self.Stat._read_counts())

    def assertFieldsEqualLines(self, partner):
        """The contact's stored funnel fields are what its lines say (a recompute)."""
        self.env.flush_all()
        fnames = ["lead_phase_id", "funnel_state", "close_reason_id", "close_date"]
        fnames += ["funnel_score", "funnel_forecast_value", "funnel_phase_date_start"]
        stored = {fname: partner[fname] for fname in fnames}
        partner.invalidate_recordset()
        # Every field computed from the lines marked to recompute: read, they are recomputed.
        self.Partner._funnel_recompute(partner)
        self.assertEqual({fname: partner[fname] for fname in fnames}, stored)
        self.assertFunnelInvariants(partner)
        if partner.funnel_state == "open":
            self.assertEqual(
                len(partner.funnel_line_ids.filtered(lambda line: line.state == "current")), 1
            )

    def closes(self):
        """The win/loss report's closes: (partner, outcome) of each line holding one."""
        lines = self.Line.search(
            [("close_outcome", "!=", False), ("phase_id.account_type_id", "=", self.lead_type.id)]
        )
        return sorted((line.partner_id.id, line.close_outcome) for line in lines)

    def won(self, name="T-Won", **vals):
        partner = self.make_partners(name=name, **vals)
        partner.write({"lead_phase_id": self.phase_closing.id})
        current = partner.funnel_line_ids.filtered(lambda line: line.state == "current")
        current.forecast_value = 1000
        partner.action_close(self.reason_won.id)
        return partner

    def open_in(self, phase, name="T-Open", **vals):
        partner = self.make_partners(name=name, **vals)
        if phase != self.phase_first:
            partner.write({"lead_phase_id": phase.id})
        return partner

    def merge(self, partners, dst, user=None):
        wizard_model = self.Wizard.with_user(user) if user else self.Wizard
        wizard = wizard_model.with_context(
            active_model="res.partner", active_ids=partners.ids
        ).create({})
        wizard.dst_partner_id = dst
        return wizard.action_merge()

    def history(self):
        """Some closed contacts, so the statistics have rows the merges must not move."""
        for _i in range(3):
            self.won()
        lost = self.open_in(self.phase_qualif, name="T-Lost")
        lost.action_close(self.reason_lost.id)

    # ------------------------------------------------------------------ merge

    def test_merge_two_funnels_is_refused_and_changes_nothing(self):
        """An open deal merged into a won contact: refused, naming both funnels, nothing moved
        or deleted."""
        self.history()
        won = self.won(name="T-Acme won", email="acme@example.com")
        deal = self.open_in(self.phase_proposal, name="T-Acme open", email="acme@example.com")
        wizard = self.Wizard.with_context(
            active_model="res.partner", active_ids=(won | deal).ids
        ).create({})
        self.assertIn("T-Acme won", wizard.crm_plus_funnel_conflict)
        self.assertIn("T-Acme open", wizard.crm_plus_funnel_conflict)
        closes, lines = self.closes(), self.Line.search_count([])
        for dst in (won, deal):
            with self.assertRaisesRegex(UserError, "T-Acme won.*T-Acme open|T-Acme open.*T-Acme"):
                self.merge(won | deal, dst, user=self.user_sales)
        self.assertTrue(won.exists() and deal.exists())
        self.assertEqual(self.closes(), closes)
        self.assertEqual(self.Line.search_count([]), lines)
        self.assertEqual((won.funnel_state, deal.funnel_state), ("won", "open"))
        self.assertStatsEqualRecount()

    def test_merge_two_won_contacts_keeps_both_closes(self):
        a, b = self.won(name="T-A", email="x@example.com"), self.won(name="T-B", email="x@e.com")
        closes = self.closes()
        with self.assertRaises(UserError):
            self.merge(a | b, a)
        self.assertEqual(self.closes(), closes)
        self.assertStatsEqualRecount()

    def test_merge_only_absorbed_has_funnel_won(self):
        """A won contact merged into one without a funnel: its lines, close and type move to
        the survivor; Win/Loss and the statistics count the same."""
        self.history()
        won = self.won(name="T-Won dup", email="dup@example.com")
        survivor = self.Partner.create({"name": "T-Survivor", "email": "dup@example.com"})
        lines = won.phase_line_ids
        closes_before = len(self.closes())
        fnames = ["lead_phase_id", "funnel_state", "close_reason_id", "close_date"]
        fnames += ["funnel_score", "funnel_forecast_value", "funnel_weighted_value"]
        before = {fname: won[fname] for fname in fnames}
        self.merge(won | survivor, survivor, user=self.user_sales)
        self.assertFalse(won.exists())
        self.assertEqual(survivor.phase_line_ids, lines)
        self.assertEqual(survivor.funnel_state, "won")
        self.assertEqual(survivor.close_reason_id, self.reason_won)
        self.assertEqual(survivor.account_type_id, self.customer_type)
        self.assertEqual({fname: survivor[fname] for fname in fnames}, before)
        self.assertTrue(survivor.funnel_can_reopen)
        self.assertEqual(len(self.closes()), closes_before)
        self.assertFieldsEqualLines(survivor)
        self.assertStatsEqualRecount()
        # The survivor's funnel works: reopened in the closing phase of the Lead type.
        survivor.with_user(self.user_sales).action_reopen()
        self.assertEqual(survivor.funnel_state, "open")
        self.assertEqual(survivor.lead_phase_id, self.phase_closing)
        self.assertStatsEqualRecount()

    def test_merge_only_absorbed_has_funnel_open(self):
        deal = self.open_in(self.phase_proposal, name="T-Deal", email="d@example.com")
        survivor = self.Partner.create({"name": "T-Survivor", "email": "d@example.com"})
        self.merge(deal | survivor, survivor, user=self.user_sales)
        self.assertFalse(deal.exists())
        self.assertEqual(survivor.account_type_id, self.lead_type)
        self.assertEqual(survivor.funnel_state, "open")
        self.assertEqual(survivor.lead_phase_id, self.phase_proposal)
        self.assertEqual(len(survivor.funnel_line_ids), 4)
        self.assertFieldsEqualLines(survivor)
        survivor.with_user(self.user_sales).action_advance_phase()
        self.assertEqual(survivor.lead_phase_id, self.phase_closing)
        self.assertStatsEqualRecount()

    def test_merge_open_deal_into_a_customer_without_funnel(self):
        """The survivor has a type without phases: the funnel comes with its type, the deal
        stays open where it was (not a current line left in a history)."""
        deal = self.open_in(self.phase_qualif, name="T-Deal", email="d@example.com")
        survivor = self.make_partners(
            account_type=self.customer_type, name="T-Customer", email="d@example.com"
        )
        self.merge(deal | survivor, survivor, user=self.user_sales)
        self.assertEqual(survivor.account_type_id, self.lead_type)
        self.assertEqual(survivor.funnel_state, "open")
        self.assertEqual(survivor.lead_phase_id, self.phase_qualif)
        self.assertEqual(len(survivor.funnel_line_ids), 4)
        self.assertFalse(survivor.funnel_history_line_ids)
        self.assertFieldsEqualLines(survivor)
        self.assertStatsEqualRecount()

    def test_merge_only_survivor_has_funnel(self):
        self.history()
        won = self.won(name="T-Won", email="w@example.com")
        other = self.Partner.create(
            {"name": "T-Plain", "email": "w@example.com", "phone": "+32 2 555 00 00"}
        )
        lines = won.phase_line_ids
        self.merge(won | other, won, user=self.user_sales)
        self.assertFalse(other.exists())
        self.assertEqual(won.phase_line_ids, lines)
        self.assertEqual(won.funnel_state, "won")
        self.assertEqual(won.phone, "+32 2 555 00 00")
        self.assertFieldsEqualLines(won)
        self.assertStatsEqualRecount()

    def test_merge_moving_a_funnel_needs_crm_plus_rights(self):
        deal = self.open_in(self.phase_qualif, name="T-Deal", email="d@example.com")
        survivor = self.Partner.create({"name": "T-Survivor", "email": "d@example.com"})
        # A contact manager without CRM+ rights (Odoo's Contact Creation, no CRM+ group).
        contact_manager = self.user_internal
        contact_manager.write(
            {
                USER_GROUPS_FIELD: [Command.link(self.env.ref("base.group_partner_manager").id)],
                "email": "contacts@example.com",
            }
        )
        with self.assertRaisesRegex(AccessError, "Only CRM\\+ users can merge"):
            self.merge(deal | survivor, survivor, user=contact_manager)
        self.assertEqual(deal.funnel_state, "open")
        self.assertFalse(survivor.phase_line_ids)

    # ------------------------------------------------------------------ archived closing phase

    def test_reopen_after_closing_phase_archived(self):
        won = self.won()
        self.phase_closing.active = False
        won.invalidate_recordset()
        self.assertEqual(won.funnel_state, "won")
        self.assertFalse(won.funnel_can_reopen, "the Reopen button is hidden")
        with self.assertRaisesRegex(UserError, "archived"):
            won.with_user(self.user_sales).action_reopen()
        # The other actions say what is true: it is closed.
        with self.assertRaisesRegex(UserError, "already closed"):
            won.with_user(self.user_sales).action_close(self.reason_lost.id)
        self.assertEqual(won.funnel_state, "won")
        self.assertStatsEqualRecount()
        # Restored, the phase takes the contact back.
        self.phase_closing.active = True
        won.invalidate_recordset()
        self.assertTrue(won.funnel_can_reopen)
        won.with_user(self.user_sales).action_reopen()
        self.assertEqual(won.funnel_state, "open")
        self.assertEqual(won.lead_phase_id, self.phase_closing)
        self.assertFunnelInvariants(won)
        self.assertStatsEqualRecount()

    # ------------------------------------------------------------------ delete, archive

    def test_unlink_keeps_stats_equal_to_a_recount(self):
        self.history()
        won, deal = self.won(), self.open_in(self.phase_proposal)
        lost = self.open_in(self.phase_proposal, name="T-Lost 2")
        lost.action_close(self.reason_lost.id)
        self.assertStatsEqualRecount()
        (won | lost | deal).with_user(self.user_sales).unlink()
        self.assertStatsEqualRecount()
        # Archived contacts stay in the statistics (history, not money): still a recount.
        closed = self.Partner.search([("name", "=", "T-Won"), ("funnel_state", "=", "won")])
        self.assertTrue(closed)
        closed.action_archive()
        self.assertStatsEqualRecount()

    def test_lines_deleted_by_the_funnel_keep_stats(self):
        """Archiving a phase drops its to-do lines (a deletion of lines): the statistics follow.
        Here the phase was moved first in the type after the contact's close, so its to-do
        line counts as reached in a recount, until it is deleted."""
        for _i in range(3):
            lost = self.open_in(self.phase_qualif, name="T-Lost")
            lost.action_close(self.reason_lost.id)
        self.phase_proposal.sequence = 0
        self.Stat._refresh()
        self.assertEqual(self.Stat._read_counts()[(None, self.phase_proposal.id)], (3, 0))
        self.phase_proposal.active = False
        self.assertNotIn((None, self.phase_proposal.id), self.Stat._read_counts())
        self.assertStatsEqualRecount()

    def test_nested_follow_counts_once(self):
        """A block that follows contacts (a merge) around an action that follows them too (a
        close): the statistics move once."""
        deal = self.open_in(self.phase_proposal)
        with self.Stat._follow_contacts(deal.ids):
            deal.action_close(self.reason_lost.id)
        self.assertStatsEqualRecount()
