"""Acceptance tours of the configuration a new manager sets up (issue 20): an account type with
its lead phases and a won and a lost close reason, created from CRM+ → Configuration; the
Close… dialog shows whether each reason wins or loses the deal."""

from odoo.tests import tagged

from .common import CrmPlusTourCase


@tagged("post_install", "-at_install")
class TestCrmPlusConfigTours(CrmPlusTourCase):
    def test_tour_configuration_from_menus(self):
        AccountType = self.env["crm.plus.account.type"].with_context(active_test=False)
        Reason = self.env["crm.plus.close.reason"].with_context(active_test=False)
        self.assertFalse(AccountType.search([("code", "=ilike", "TPART")]))
        self.assertFalse(Reason.search([("code", "in", ["W-TPIL", "L-TTIM"])]))

        self.run_tour("/odoo", "crm_plus_tour_config")

        account_type = AccountType.search([("code", "=", "TPART")])
        self.assertEqual(account_type.name, "Tour Partners")
        self.assertTrue(account_type.has_phases)
        phases = account_type.phase_ids.sorted(lambda phase: (phase.sequence, phase.id))
        self.assertEqual(
            [(p.code, p.name, p.phase_type, p.default_score, p.stale_after_days) for p in phases],
            [
                ("TP-INT", "Tour Intro", "normal", 20, 7),
                ("TP-OFF", "Tour Offer", "normal", 40, 0),
                ("TP-SIGN", "Tour Signing", "closing", 80, 0),
            ],
        )
        reasons = Reason.search([("code", "in", ["W-TPIL", "L-TTIM"])])
        self.assertEqual(
            sorted((r.code, r.name, r.outcome, r.active) for r in reasons),
            [
                ("L-TTIM", "Tour Bad timing", "lost", True),
                ("W-TPIL", "Tour Pilot extended", "won", True),
            ],
        )

    def test_tour_close_dialog_shows_outcomes(self):
        partner = self.lead("Tour Outcome Ltd")
        while partner.lead_phase_id != self.phase_closing:
            partner.action_advance_phase()
        self.run_tour(f"/odoo/contacts/{partner.id}", "crm_plus_tour_close_reason_outcome")
        self.assertEqual(partner.funnel_state, "lost")
        self.assertEqual(partner.close_reason_id, self.reason_lost)
