"""Tours of the contact form as a new user meets it (issue 20): a contact created from Contacts
goes through the funnel, is won and reopened; a contact never in a funnel has no Overview."""

from lxml import etree

from odoo.tests import TransactionCase, tagged

from .common import CrmPlusTourCase

NAME = "Tour First Hour Ltd"


@tagged("post_install", "-at_install")
class TestCrmPlusFormTours(CrmPlusTourCase):
    def test_tour_form_first_hour(self):
        self.assertFalse(self.Partner.search([("name", "=", NAME)]))
        self.run_tour("/odoo/contacts", "crm_plus_tour_form_first_hour")
        partner = self.Partner.search([("name", "=", NAME)])
        self.assertEqual(len(partner), 1, "the tour created the contact once")
        self.assertEqual(partner.user_id, self.env.ref("base.user_admin"), "its creator sells")
        # Reopened: back on Lead, in the closing phase, open.
        self.assertEqual(partner.account_type_id, self.type_lead)
        self.assertEqual(partner.lead_phase_id, self.phase_closing)
        self.assertEqual(partner.funnel_state, "open")
        self.assertFalse(partner.close_reason_id)
        self.assertFalse(partner.close_date)
        lines = partner.funnel_line_ids.sorted("sequence")
        self.assertEqual(lines.mapped("state"), ["done"] * 4 + ["current"])
        self.assertEqual(lines[-1].phase_id, self.phase_closing)
        self.assertEqual(
            (lines[0].score, lines[0].forecast_value, lines[0].recurring_value),
            (40, 24000.0, 300.0),
        )
        self.assertEqual(partner.funnel_forecast_value, 24000.0, "carried to the closing phase")
        # The reopened close is off the line, and only there: the chatter has the won close.
        self.assertFalse(partner.phase_line_ids.filtered("close_outcome"))
        self.assertFalse(partner.phase_line_ids.filtered("close_reason_id"))
        tracked = partner.message_ids.tracking_value_ids
        for field, value in (
            ("funnel_state", "Won"),
            ("close_reason_id", self.reason_won.name),
            ("account_type_id", self.type_customer.name),
        ):
            self.assertTrue(
                tracked.filtered(
                    lambda tv, field=field, value=value: tv.field_id.name == field
                    and value in (tv.old_value_char, tv.new_value_char)
                ),
                f"the chatter keeps {field} = {value}",
            )
        self.assertTrue(partner.has_funnel_to_show)
        self.assertFalse(partner.funnel_closed_line_ids)

    def test_tour_form_no_funnel(self):
        partner = self.Partner.create(
            {
                "name": "Tour Customer Only Ltd",
                "is_company": True,
                "account_type_id": self.type_customer.id,
            }
        )
        self.run_tour(f"/odoo/contacts/{partner.id}", "crm_plus_tour_form_no_funnel")
        self.assertEqual(partner.account_type_id, self.type_customer)
        self.assertFalse(partner.funnel_state)
        self.assertFalse(partner.phase_line_ids)
        self.assertFalse(partner.has_funnel_to_show)


@tagged("post_install", "-at_install")
class TestPartnerFormArch(TransactionCase):
    """What the tours cannot tell apart by clicking: where the form puts things."""

    def test_contact_form_arch(self):
        admin = self.env.ref("base.user_admin")
        views = self.env["res.partner"].with_user(admin).get_views([(False, "form")])
        arch = etree.fromstring(views["views"]["form"]["arch"])
        # One page opens first: Overview (a contact without one falls back to the first page).
        self.assertEqual(
            [page.get("name") for page in arch.xpath("//page[@autofocus]")], ["crm_plus_overview"]
        )
        # The ribbons are at the top of the sheet, as Odoo's own (base's Archived, crm's Won).
        sheet = arch.xpath("//sheet")[0]
        tops = [child.get("title") for child in sheet[:4] if child.get("name") == "web_ribbon"]
        self.assertIn("Won", tops)
        self.assertIn("Lost", tops)
        lines = arch.xpath("//field[@name='funnel_line_ids']/list")[0]
        # The forecast carries from phase to phase: a sum over the lines counts it again.
        self.assertFalse(lines.xpath("./field[@name='forecast_value']/@sum"))
        self.assertIn(
            "state != 'current'",
            lines.xpath("./button[@name='action_use_suggested_score']/@invisible")[0],
        )
        self.assertEqual(
            arch.xpath("//page[@name='crm_plus_overview']/@invisible"), ["not has_funnel_to_show"]
        )
