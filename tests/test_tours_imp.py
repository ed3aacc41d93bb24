"""Issue 20: the pipeline example file through the importer as a person uses it."""

from odoo.tests import tagged

from .common import CrmPlusTourCase


@tagged("post_install", "-at_install")
class TestCrmPlusImportTour(CrmPlusTourCase):
    def test_tour_import_example_file(self):
        emails = [
            "info@brightwater.example",
            "sales@kestrel.example",
            "office@morningside.example",
            "hello@orchardvine.example",
            "contact@halcyon.example",
            "pebble@cafe.example",
            "jobs@northgate.example",
            "shop@juniper.example",
            "desk@willow.example",
        ]
        self.assertFalse(self.Partner.search([("email", "in", emails)]))
        self.run_tour("/odoo/contacts", "crm_plus_tour_import_pipeline")
        partners = self.Partner.search([("email", "in", emails)])
        self.assertEqual(len(partners), 9, "the Test wrote nothing, the Import each row once")
        by_email = {partner.email: partner for partner in partners}
        ref = self.env.ref
        # Each phase from its row's own account type (Lead and Prospect share the names).
        for email, phase in (
            ("info@brightwater.example", "phase_lead_first_contact"),
            ("sales@kestrel.example", "phase_lead_qualification"),
            ("office@morningside.example", "phase_lead_proposal"),
            ("hello@orchardvine.example", "phase_prospect_negotiation"),
        ):
            partner = by_email[email]
            self.assertEqual(partner.lead_phase_id, ref(f"crm_plus.{phase}"), email)
            self.assertEqual(partner.funnel_state, "open")
            self.assertEqual(self.current_line(partner).phase_id, partner.lead_phase_id)
            self.assertEqual(
                partner.funnel_line_ids.phase_id, partner.account_type_id.phase_ids, email
            )
        halcyon = by_email["contact@halcyon.example"]
        self.assertEqual(halcyon.funnel_state, "won")
        self.assertEqual(halcyon.account_type_id, self.type_customer, "the type when won")
        for email, phase, outcome in (
            ("contact@halcyon.example", "phase_lead_closing", "won"),
            ("pebble@cafe.example", "phase_lead_proposal", "lost"),
            ("jobs@northgate.example", "phase_lead_negotiation", "lost"),
        ):
            closed = by_email[email].phase_line_ids.filtered("close_outcome")
            self.assertEqual(
                (closed.phase_id, closed.close_outcome), (ref(f"crm_plus.{phase}"), outcome)
            )
        self.assertFalse(by_email["shop@juniper.example"].funnel_state)
        self.assertFalse(by_email["desk@willow.example"].account_type_id)
