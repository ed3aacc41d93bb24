"""Acceptance tours: the funnel as a user sees it, in headless Chromium.

Each test creates the data its tour needs, runs the tour (static/tests/tours/) as admin, then
checks in Python what the clicks changed (the guard against a skipped tour is in
tests/common.py's CrmPlusTourCase)."""

from odoo.tests import new_test_user, tagged

from .common import CrmPlusTourCase


@tagged("post_install", "-at_install")
class TestCrmPlusTours(CrmPlusTourCase):
    # ------------------------------------------------------------------ tours

    def test_tour_overview_page_follows_account_type(self):
        partner = self.lead("Tour Overview Ltd")
        self.run_tour(f"/odoo/contacts/{partner.id}", "crm_plus_tour_overview_page")
        self.assertEqual(partner.account_type_id, self.type_lead)
        self.assertEqual(partner.funnel_state, "open")
        self.assertEqual(partner.lead_phase_id, self.phase_first)
        self.assertEqual(self.current_line(partner).phase_id, self.phase_first)

    def test_tour_advance_and_close_won(self):
        partner = self.lead("Tour Won Ltd")
        first_line = self.current_line(partner)
        self.run_tour(f"/odoo/contacts/{partner.id}", "crm_plus_tour_close_won")
        self.assertEqual(partner.funnel_state, "won")
        self.assertEqual(partner.close_reason_id, self.reason_won)
        self.assertEqual(partner.account_type_id, self.type_customer)
        self.assertEqual(
            (first_line.score, first_line.forecast_value, first_line.recurring_value),
            (40, 12000.0, 500.0),
        )
        self.assertEqual(first_line.state, "done")
        closing_line = partner.phase_line_ids.filtered(
            lambda line: line.phase_id == self.phase_closing
        )
        self.assertEqual(closing_line.close_outcome, "won")
        self.assertEqual(closing_line.forecast_value, 12000.0, "the forecast carried over")
        self.assertEqual(
            (partner.funnel_score, partner.funnel_weighted_value, partner.funnel_won_value),
            (100, 12000.0, 12000.0),
            "won: 100 % of its amount, also as a Customer",
        )
        self.assertEqual(
            partner.phase_line_ids.filtered(
                lambda line: line.account_type_id == self.type_lead
            ).mapped("state"),
            ["done"] * 5,
        )

    def test_tour_close_lost_then_reopen(self):
        partner = self.lead("Tour Lost Ltd")
        partner.action_advance_phase()
        self.assertEqual(partner.lead_phase_id, self.phase_qualification)
        self.run_tour(f"/odoo/contacts/{partner.id}", "crm_plus_tour_close_lost_reopen")
        self.assertEqual(partner.funnel_state, "open")
        self.assertFalse(partner.close_reason_id)
        self.assertEqual(partner.lead_phase_id, self.phase_qualification)
        line = self.current_line(partner)
        self.assertEqual(line.phase_id, self.phase_qualification)
        # Reopened, the line no longer carries the close; the chatter keeps it.
        self.assertFalse(line.close_outcome)
        self.assertFalse(line.close_reason_id)
        self.assertFalse(line.close_date)
        self.assertFalse(line.closed_by_id)
        self.assertTrue(
            partner.message_ids.tracking_value_ids.filtered(
                lambda value: value.field_id.name == "close_reason_id"
                and value.old_value_char == self.reason_lost.name
            ),
            "the chatter keeps the lost close",
        )

    def test_tour_pipeline_board_and_winloss(self):
        partner = self.lead("Tour Pipeline Ltd")
        self.current_line(partner).forecast_value = 47500  # its column's sum is not 0
        # A closed partner, so the win/loss report has a row.
        closed = self.lead("Tour Closed Ltd")
        closed.action_close(self.reason_lost.id)
        self.run_tour("/odoo", "crm_plus_tour_pipeline")
        self.assertEqual(partner.lead_phase_id, self.phase_qualification)
        self.assertEqual(self.current_line(partner).phase_id, self.phase_qualification)
        first_line = partner.funnel_line_ids.filtered(
            lambda line: line.phase_id == self.phase_first
        )
        self.assertEqual(first_line.state, "done")

    def test_tour_salesperson_board_opens_on_my_funnel(self):
        salesperson = new_test_user(
            self.env,
            login="tour_salesperson",
            groups="base.group_user,base.group_partner_manager,crm_plus.group_crm_plus_user",
            tour_enabled=False,
        )
        own = self.lead("Tour Own Deal Ltd", user_id=salesperson.id)
        colleague = self.lead(
            "Tour Colleague Deal Ltd", user_id=self.env.ref("base.user_admin").id
        )
        self.run_tour("/odoo", "crm_plus_tour_pipeline_salesperson", login=salesperson.login)
        self.assertEqual(own.lead_phase_id, self.phase_qualification)
        self.assertEqual(self.current_line(own).phase_id, self.phase_qualification)
        self.assertEqual(
            own.phase_line_ids.filtered(lambda line: line.state == "done").done_by_id,
            salesperson,
            "the salesperson's own drag completed the phase",
        )
        self.assertEqual(colleague.lead_phase_id, self.phase_first)

    def test_tour_bad_score_saves_nothing(self):
        partner = self.lead("Tour Bad Input Ltd")
        line = self.current_line(partner)
        before = (line.score, line.forecast_value, line.recurring_value)
        self.run_tour(f"/odoo/contacts/{partner.id}", "crm_plus_tour_bad_score")
        self.assertEqual((line.score, line.forecast_value, line.recurring_value), before)
        self.assertEqual(partner.funnel_forecast_value, 0.0)
        self.assertEqual(partner.lead_phase_id, self.phase_first)

    def test_tour_bulk_account_type_wizard(self):
        partners = self.Partner.create(
            [{"name": f"Tour Bulk {letter}", "is_company": True} for letter in "ABC"]
        )
        other = self.Partner.create({"name": "Tour Bulk Untouched", "is_company": True})
        self.run_tour("/odoo/contacts", "crm_plus_tour_bulk_account_type")
        self.assertEqual(partners.account_type_id, self.type_lead)
        self.assertEqual(set(partners.mapped("funnel_state")), {"open"})
        self.assertEqual(partners.lead_phase_id, self.phase_first)
        self.assertFalse(other.account_type_id, "only the selected contacts change")
        self.assertEqual(
            partners.user_id, self.env.ref("base.user_admin"), "who put them in the funnel"
        )
        # Then two of them closed through the bulk Close dialog.
        self.run_tour("/odoo/contacts", "crm_plus_tour_bulk_close")
        self.assertEqual(partners.mapped("funnel_state"), ["lost", "lost", "open"])
        self.assertEqual(partners[:2].close_reason_id, self.reason_lost)
