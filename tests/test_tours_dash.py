"""The manager's dashboard as a person opens it (issue 31 item 6), on both series."""

from odoo.tests import new_test_user, tagged

from .common import CrmPlusTourCase


@tagged("post_install", "-at_install")
class TestCrmPlusDashboardTour(CrmPlusTourCase):
    def test_tour_dashboard(self):
        won = self.lead("Dash Won Ltd")
        while won.lead_phase_id != self.phase_closing:
            won.action_advance_phase()
        won.action_close(self.reason_won.id)
        self.lead("Dash Lost Ltd").action_close(self.reason_lost.id)
        self.lead("Dash Open Ltd").action_advance_phase()
        # The sales manager reads it: a CRM+ Administrator, not Odoo's superuser admin.
        manager = new_test_user(
            self.env,
            login="dash_manager",
            groups="base.group_user,base.group_partner_manager,crm_plus.group_crm_plus_manager",
            tour_enabled=False,
        )
        self.run_tour("/odoo", "crm_plus_tour_dashboard", login=manager.login)
        # Clicking around changed nothing.
        self.assertEqual(won.funnel_state, "won")
