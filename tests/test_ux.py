"""Issue 31, items 2 and 8: the salesperson of a contact that joins a funnel, and the small
things a new user met on screen (dialog titles, reason order, feedback of the bulk wizards, the
first join in the chatter, scores that never drop on advance…)."""

from lxml import etree

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from ..compat import USER_GROUPS_FIELD
from .common import CrmPlusCase


@tagged("post_install", "-at_install")
class TestSalesperson(CrmPlusCase):
    """A contact that joins a funnel without a salesperson gets the user who put it there."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Deals of colleagues are given and imported here: an "All Documents" salesperson
        # (an own-documents one may not work them: test_access_levels).
        cls.user_sales.write(
            {USER_GROUPS_FIELD: [Command.link(cls.env.ref("crm_plus.group_crm_plus_all").id)]}
        )

    def as_sales(self, model="res.partner"):
        return self.env[model].with_user(self.user_sales)

    def test_created_in_a_funnel(self):
        Partner = self.as_sales()
        partner = Partner.create({"name": "T-new deal", "account_type_id": self.lead_type.id})
        self.assertEqual(partner.funnel_state, "open")
        self.assertEqual(partner.user_id, self.user_sales)
        # The web form sends every field, the empty salesperson too.
        form = Partner.create(
            {"name": "T-form", "account_type_id": self.lead_type.id, "user_id": False}
        )
        self.assertEqual(form.user_id, self.user_sales)
        given = Partner.create(
            {
                "name": "T-given",
                "account_type_id": self.lead_type.id,
                "user_id": self.user_manager.id,
            }
        )
        self.assertEqual(given.user_id, self.user_manager, "a salesperson given is kept")
        outside = Partner.create({"name": "T-customer", "account_type_id": self.customer_type.id})
        self.assertFalse(outside.user_id, "a type without phases is no funnel")
        plain = Partner.create({"name": "T-plain"})
        self.assertFalse(plain.user_id)

    def test_pipeline_new_and_quick_create(self):
        Partner = self.as_sales().with_context(default_account_type_id=self.lead_type.id)
        partner_id, _name = Partner.name_create("T-quick")
        partner = self.Partner.browse(partner_id)
        self.assertEqual(partner.funnel_state, "open")
        self.assertEqual(partner.user_id, self.user_sales)

    def test_write_that_starts_a_funnel(self):
        partners = self.Partner.create(
            [
                {"name": "T-none", "account_type_id": self.customer_type.id},
                {
                    "name": "T-owned",
                    "account_type_id": self.customer_type.id,
                    "user_id": self.user_manager.id,
                },
            ]
        )
        unassigned, owned = partners
        partners.with_user(self.user_sales).write({"account_type_id": self.lead_type.id})
        self.assertEqual(set(partners.mapped("funnel_state")), {"open"})
        self.assertEqual(unassigned.user_id, self.user_sales)
        self.assertEqual(owned.user_id, self.user_manager, "a salesperson is never replaced")
        # One contact, the same (mail's own tracking rather than the batch's).
        single = self.Partner.create({"name": "T-single"})
        single.with_user(self.user_sales).account_type_id = self.lead_type
        self.assertEqual(single.user_id, self.user_sales)

    def test_bulk_set_account_type(self):
        partners = self.Partner.create([{"name": f"T-bulk {i}"} for i in range(3)])
        wizard = (
            self.as_sales("crm.plus.account.type.wizard")
            .with_context(active_model="res.partner", active_ids=partners.ids)
            .create({"account_type_id": self.lead_type.id})
        )
        wizard.action_apply()
        self.assertEqual(partners.user_id, self.user_sales)

    def test_superuser_leaves_it_empty(self):
        # OdooBot: a scheduled action, an install, a server action run as the superuser.
        created = self.Partner.create({"name": "T-bot", "account_type_id": self.lead_type.id})
        self.assertEqual(created.funnel_state, "open")
        self.assertFalse(created.user_id)
        written = self.Partner.create({"name": "T-bot 2"})
        written.account_type_id = self.lead_type
        self.assertEqual(written.funnel_state, "open")
        self.assertFalse(written.user_id)

    def test_resumed_or_closed_funnel_is_no_join(self):
        partner = self.Partner.create({"name": "T-back", "account_type_id": self.lead_type.id})
        partner.action_close(self.reason_lost.id)
        partner.account_type_id = self.customer_type
        partner.with_user(self.user_sales).account_type_id = self.lead_type
        self.assertEqual(partner.funnel_state, "lost", "its closed deal, not a new one")
        self.assertFalse(partner.user_id)

    def test_import_keeps_its_salesperson_column(self):
        Partner = self.as_sales().with_context(import_file=True)
        result = Partner.load(
            ["name", "account_type_id", "user_id"],
            [["T-imported", "T-Lead", "T-Manager"], ["T-imported empty", "T-Lead", ""]],
        )
        self.assertFalse(result["messages"], result["messages"])
        with_column, empty = self.Partner.browse(result["ids"])
        self.assertEqual(with_column.funnel_state, "open")
        self.assertEqual(with_column.user_id, self.user_manager)
        self.assertFalse(empty.user_id, "an empty Salesperson cell stays empty")
        result = Partner.load(["name", "account_type_id"], [["T-imported no column", "T-Lead"]])
        self.assertFalse(result["messages"], result["messages"])
        self.assertEqual(self.Partner.browse(result["ids"]).user_id, self.user_sales)

    def test_first_phase_added_assigns_nobody(self):
        partner = self.Partner.create({"name": "T-cust", "account_type_id": self.customer_type.id})
        self.Phase.with_user(self.user_manager).create(
            {"name": "T-C1", "account_type_id": self.customer_type.id}
        )
        self.assertEqual(partner.funnel_state, "open")
        self.assertFalse(partner.user_id, "the manager who configures owns no deal")


@tagged("post_install", "-at_install")
class TestScoreOnAdvance(CrmPlusCase):
    def current_line(self, partner):
        return partner.funnel_line_ids.filtered(lambda line: line.state == "current")

    def test_score_never_drops_on_advance(self):
        partner = self.make_partners()
        self.current_line(partner).score = 35
        partner.action_advance_phase()  # Qualification's default: 30
        self.assertEqual(partner.lead_phase_id, self.phase_qualif)
        self.assertEqual(partner.funnel_score, 35, "max(35, 30)")
        partner.action_advance_phase()  # Proposal's default: 60
        self.assertEqual(partner.funnel_score, 60, "max(35, 60)")
        # A drag forward too.
        self.current_line(partner).score = 95
        partner.lead_phase_id = self.phase_closing  # default 90
        self.assertEqual(partner.funnel_score, 95)
        # Back to an earlier phase: that phase's line as it was.
        partner.lead_phase_id = self.phase_first
        self.assertEqual(partner.funnel_score, 35)

    def test_higher_default_is_kept(self):
        partner = self.make_partners()
        self.current_line(partner).score = 5
        partner.action_advance_phase()
        self.assertEqual(partner.funnel_score, 30)


@tagged("post_install", "-at_install")
class TestSmallThings(CrmPlusCase):
    def arch(self, model, view_type="form", user=None):
        env = self.env(user=user or self.user_manager)
        views = env[model].get_views([(False, view_type)])
        return etree.fromstring(views["views"][view_type]["arch"])

    def test_close_reasons_won_first(self):
        Reason = self.Reason
        late_won = Reason.create({"name": "T-Late won", "outcome": "won", "sequence": 99})
        early_lost = Reason.create({"name": "T-Early lost", "outcome": "lost", "sequence": 1})
        reasons = Reason.search([])
        outcomes = reasons.mapped("outcome")
        self.assertEqual(outcomes, sorted(outcomes, key=lambda o: o != "won"), outcomes)
        self.assertLess(list(reasons).index(late_won), list(reasons).index(early_lost))
        # The Close dialog's dropdown: the same order.
        found = [name for _id, name in Reason.name_search("T-")]
        self.assertLess(found.index("T-Late won"), found.index("T-Early lost"))

    def test_close_dialog(self):
        partner = self.make_partners()
        action = partner.action_open_close_wizard()
        self.assertEqual(action["name"], "Close the Deal")
        arch = self.arch("crm.plus.close.wizard", user=self.user_sales)
        confirm = arch.xpath("//footer/button[@name='action_confirm']")[0]
        self.assertEqual(confirm.get("string"), "Confirm Close")
        self.assertIn("btn-primary", confirm.get("class"))

    def test_contact_form(self):
        arch = self.arch("res.partner")
        overview = arch.xpath("//page[@name='crm_plus_overview']")[0]
        # In the closing phase, Close… is the primary action; before it, Complete phase is.
        closing = overview.xpath(
            ".//button[@name='action_open_close_wizard'][contains(@class, 'btn-primary')]"
        )
        self.assertEqual(len(closing), 1)
        self.assertIn("lead_phase_type != 'closing'", closing[0].get("invisible"))
        self.assertTrue(overview.xpath(".//button[@name='action_reopen']/@confirm"))
        # The status bar shows the phases; Complete phase and the board move the deal.
        statusbar = overview.xpath(".//field[@name='lead_phase_id'][@widget='statusbar']")[0]
        self.assertNotIn("clickable", statusbar.get("options") or "")
        self.assertEqual(statusbar.get("readonly"), "1")
        expected = overview.xpath(".//field[@name='expected_close_date']")[0]
        self.assertEqual(expected.get("invisible"), "funnel_state in ('won', 'lost')")

    def test_phase_lists(self):
        arch = self.arch("crm.plus.account.type")
        phases = arch.xpath("//field[@name='phase_ids']/list")[0]
        names = [field.get("name") for field in phases.xpath("./field")]
        # The handle, then Name: Add a line puts the cursor in Name.
        self.assertEqual(names[:2], ["sequence", "name"])
        # Numeric columns wide enough for their headers.
        for fname in ("default_score", "stale_after_days"):
            self.assertTrue(phases.xpath(f"./field[@name='{fname}']/@width"), fname)
            self.assertTrue(
                self.arch("crm.plus.lead.phase", "list").xpath(f"//field[@name='{fname}']/@width")
            )
        self.assertEqual(
            self.AccountType.fields_get(["partner_count"])["partner_count"]["string"], "Contacts"
        )

    def test_funnel_lines_headers_fit(self):
        """The Overview's funnel lines at 1440 px on 19.0, the chatter beside the form (a sheet
        of about 820 px): every column shown, but the phase's, has its width, and they leave the
        phase's name 200 px or more. The close reason ("Close Rea…" there), empty on every
        open deal and shown above the lines once closed, is a column one can add."""
        lines = self.arch("res.partner").xpath("//field[@name='funnel_line_ids']/list")[0]
        shown = [
            field
            for field in lines.xpath("./field")
            if field.get("column_invisible") != "1" and field.get("optional") != "hide"
        ]
        self.assertEqual(
            [field.get("name") for field in shown if not field.get("width")], ["phase_id"]
        )
        widths = sum(int(field.get("width").removesuffix("px")) for field in shown[1:])
        self.assertLessEqual(widths, 620 - 30)  # the Use suggested score button: 30 px
        reason = lines.xpath("./field[@name='close_reason_id']")[0]
        self.assertEqual((reason.get("optional"), reason.get("width")), ("hide", "130px"))

    def test_phase_without_name_is_named(self):
        with self.assertRaisesRegex(ValidationError, "T-NN has no Name"):
            self.lead_type.write(
                {"phase_ids": [Command.create({"code": "T-NN", "default_score": 20})]}
            )
        with self.assertRaisesRegex(ValidationError, "no Name"):
            self.Phase.create({"name": "  ", "account_type_id": self.lead_type.id})
        with self.assertRaisesRegex(ValidationError, "T-FC has no Name"):
            self.phase_first.name = False

    def test_bulk_close_says_how_many(self):
        partners = self.make_partners(3)
        wizard = (
            self.env["crm.plus.close.wizard"]
            .with_user(self.user_sales)
            .with_context(active_model="res.partner", active_ids=partners.ids)
            .create({"close_reason_id": self.reason_lost.id})
        )
        self.assertEqual(wizard.partner_count, 3)
        self.assertEqual(
            wizard.count_label, "Closes the 3 selected contacts with the reason chosen here."
        )
        action = wizard.action_confirm()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["next"], {"type": "ir.actions.act_window_close"})
        self.assertIn("3 contacts closed as Lost (T-Price)", action["params"]["message"])
        self.assertEqual(set(partners.mapped("funnel_state")), {"lost"})
        arch = self.arch("crm.plus.close.wizard", user=self.user_sales)
        self.assertTrue(arch.xpath("//field[@name='count_label'][@invisible='partner_count < 2']"))

    def test_bulk_set_account_type_says_what_it_did(self):
        partners = self.Partner.create([{"name": f"T-b {i}"} for i in range(3)])
        partners[0].account_type_id = self.prospect_type
        wizard = (
            self.env["crm.plus.account.type.wizard"]
            .with_user(self.user_sales)
            .with_context(active_model="res.partner", active_ids=partners.ids)
            .create({"account_type_id": self.prospect_type.id})
        )
        action = wizard.action_apply()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["next"], {"type": "ir.actions.act_window_close"})
        self.assertIn("set on 2 of the 3 selected contacts", action["params"]["message"])

    def test_set_account_type_warns_on_closed_contacts(self):
        lost, won_elsewhere, fresh = self.make_partners(3)
        lost.action_close(self.reason_lost.id)
        lost.account_type_id = self.customer_type
        fresh.account_type_id = self.customer_type
        # Left Lead open, won in Prospect: back in Prospect it stays won there; back in Lead,
        # its Lead deal is open again.
        won_elsewhere.account_type_id = self.prospect_type
        won_elsewhere.lead_phase_id = won_elsewhere.funnel_line_ids.phase_id.filtered(
            lambda phase: phase.phase_type == "closing"
        )
        won_elsewhere.action_close(self.reason_won.id)
        won_elsewhere.account_type_id = self.customer_type
        Wizard = self.env["crm.plus.account.type.wizard"].with_context(
            active_model="res.partner", active_ids=(lost | won_elsewhere | fresh).ids
        )

        def reopened(account_type):
            return Wizard.create({"account_type_id": account_type.id}).reopened_count

        self.assertEqual(reopened(self.lead_type), 1, "the one won in Prospect")
        self.assertEqual(reopened(self.prospect_type), 1, "the one lost in Lead")
        self.assertIn(
            "1 of the selected contacts are closed (won or lost): T-Prospect puts them in its "
            "funnel again",
            Wizard.create({"account_type_id": self.prospect_type.id}).reopened_warning,
        )
        self.assertEqual(reopened(self.customer_type), 0, "no phases, no funnel")
        before = (lost | won_elsewhere).mapped("funnel_state")
        Wizard.create({"account_type_id": self.prospect_type.id}).action_apply()
        self.assertEqual(before, ["lost", "won"])
        self.assertEqual((lost | won_elsewhere).mapped("funnel_state"), ["open", "won"])
        arch = self.arch("crm.plus.account.type.wizard", user=self.user_sales)
        self.assertTrue(
            arch.xpath("//div[hasclass('alert-warning')][@invisible='not reopened_count']")
        )

    def test_first_join_is_logged_as_such(self):
        joined = self.env.ref("crm_plus.mt_partner_joined")
        moved = self.env.ref("crm_plus.mt_partner_phase")
        partner = self.Partner.create({"name": "T-join", "account_type_id": self.customer_type.id})
        self.env.cr.flush()
        partner.account_type_id = self.lead_type
        self.env.cr.flush()
        self.assertEqual(partner.message_ids[0].subtype_id, joined)
        self.assertEqual(partner.message_ids[0].subtype_id.description, "Joined the funnel")
        partner.action_advance_phase()
        self.env.cr.flush()
        self.assertEqual(partner.message_ids[0].subtype_id, moved)
        # Many at once: the batch's messages say the same.
        partners = self.Partner.create([{"name": f"T-join {i}"} for i in range(2)])
        self.env.cr.flush()
        partners.account_type_id = self.lead_type
        self.env.cr.flush()
        for partner in partners:
            self.assertEqual(partner.message_ids[0].subtype_id, joined, partner.name)
