"""Configuration screens (issue 20): what the close reason and lead phase records give the web
client. The screens themselves are driven by the tours of test_tours_cfg.py."""

from odoo.tests import tagged

from .common import CrmPlusCase


@tagged("post_install", "-at_install")
class TestConfigScreens(CrmPlusCase):
    def test_close_reason_says_its_outcome_where_picked(self):
        picking = self.Reason.with_context(crm_plus_show_outcome=True)
        self.assertEqual(self.reason_won.display_name, "T-Signed", "elsewhere: the name alone")
        self.assertEqual(picking.browse(self.reason_won.id).display_name, "T-Signed (Won)")
        self.assertEqual(picking.browse(self.reason_lost.id).display_name, "T-Price (Lost)")
        # Searching by code or name still works, and answers with the outcome.
        self.assertEqual(picking.name_search("t-w"), [(self.reason_won.id, "T-Signed (Won)")])
        self.assertEqual(picking.name_search("T-Pri"), [(self.reason_lost.id, "T-Price (Lost)")])
        self.assertEqual(self.Reason.name_search("T-Pri"), [(self.reason_lost.id, "T-Price")])

    def test_close_reason_outcome_in_user_language(self):
        self.env["res.lang"]._activate_lang("nl_NL")
        self.env["ir.module.module"]._load_module_terms(["crm_plus"], ["nl_NL"], overwrite=True)
        # Selection labels are cached per language in the registry.
        self.env.registry.clear_cache()
        self.addCleanup(self.env.registry.clear_cache)
        reason = self.reason_won.with_context(lang="nl_NL", crm_plus_show_outcome=True)
        self.assertEqual(reason.display_name, "T-Signed (Gewonnen)")

    def test_close_dialog_picks_reasons_with_their_outcome(self):
        arch = self.env["crm.plus.close.wizard"].get_views([(False, "form")])["views"]["form"][
            "arch"
        ]
        self.assertIn("crm_plus_show_outcome", arch)

    def test_close_reason_has_a_form_with_the_outcome_to_choose(self):
        action = self.env.ref("crm_plus.crm_plus_close_reason_action")
        self.assertEqual(action.view_mode.split(","), ["list", "form"])
        views = self.Reason.get_views([(False, "list"), (False, "form")])
        self.assertNotIn("editable", views["views"]["list"]["arch"])
        form = views["views"]["form"]["arch"]
        self.assertRegex(form, r'<field name="outcome"[^>]*widget="radio"')
        self.assertNotRegex(form, r'<field name="outcome"[^>]*readonly')

    def test_phase_settings_are_not_summed_in_groups(self):
        names = ["default_score", "stale_after_days", "activity_delay_days"]
        for name, description in self.Phase.fields_get(names, ["aggregator"]).items():
            self.assertFalse(description.get("aggregator"), f"{name} is summed in group rows")
