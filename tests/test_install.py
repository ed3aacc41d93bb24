from odoo import release
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_module_installed(self):
        module = self.env["ir.module.module"].search([("name", "=", "crm_plus")])
        self.assertEqual(module.state, "installed")
        # The manifest says 1.1.0: Odoo prefixes the series it runs (18.0.1.1.0, 19.0.1.1.0).
        self.assertEqual(module.latest_version, f"{release.major_version}.1.1.0")


# A minimal primary view per type: what another module could add for res.partner.
OTHER_ARCHS = {
    "list": "<list><field name='name'/></list>",
    "kanban": "<kanban><templates><t t-name='card'><field name='name'/></t></templates></kanban>",
    "pivot": "<pivot><field name='name' type='row'/></pivot>",
    "graph": "<graph><field name='name'/></graph>",
    "activity": "<activity string='Other'><templates><div t-name='activity-box'>"
    "<field name='name'/></div></templates></activity>",
}


@tagged("post_install", "-at_install")
class TestPartnerViews(TransactionCase):
    """crm_plus's own res.partner views never become the contact views of other modules:
    its actions name them explicitly."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.View = cls.env["ir.ui.view"]
        data = cls.env["ir.model.data"].search(
            [("module", "=", "crm_plus"), ("model", "=", "ir.ui.view")]
        )
        cls.crm_plus_views = cls.View.browse(data.mapped("res_id")).filtered(
            lambda view: view.model == "res.partner" and view.mode == "primary"
        )

    def _ref(self, name):
        return self.env.ref(f"crm_plus.{name}")

    def test_primary_views(self):
        self.assertEqual(
            set(self.crm_plus_views.mapped("type")),
            {"list", "kanban", "pivot", "graph", "activity"},
        )

    def test_not_default_over_other_modules(self):
        for view_type in ("form", "list", "kanban", "search", "pivot", "graph", "activity"):
            others = (
                self.View.search(
                    [
                        ("model", "=", "res.partner"),
                        ("type", "=", view_type),
                        ("mode", "=", "primary"),
                    ]
                )
                - self.crm_plus_views
            )
            default = self.View.default_view("res.partner", view_type)
            with self.subTest(view_type=view_type):
                if others:
                    self.assertNotIn(default, self.crm_plus_views.ids)
                else:
                    # Only crm_plus has one (pivot, graph): it is the default for want of another.
                    self.assertIn(default, self.crm_plus_views.ids)

    def test_yields_to_a_view_at_default_priority(self):
        """Even where crm_plus alone has a view of the type (pivot, graph), a view another module
        adds at the default priority becomes the default one."""
        for view in self.crm_plus_views:
            with self.subTest(view=view.xml_id):
                other = self.View.create(
                    {
                        "name": f"res.partner.{view.type}.other",
                        "model": "res.partner",
                        "type": view.type,
                        "arch": OTHER_ARCHS[view.type],
                    }
                )
                self.assertGreater(view.priority, other.priority)
                self.assertNotEqual(self.View.default_view("res.partner", view.type), view.id)

    def test_actions_open_crm_plus_views(self):
        funnel_views = {
            "list": self._ref("res_partner_view_list_funnel").id,
            "pivot": self._ref("res_partner_view_pivot").id,
            "graph": self._ref("res_partner_view_graph").id,
            "activity": self._ref("res_partner_view_activity").id,
            # The form is Contacts' own, with crm_plus's Overview page inherited into it.
            "form": self.env.ref("base.view_partner_form").id,
        }
        pipeline = self.env["res.partner"].action_crm_plus_pipeline()
        funnel = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_plus.res_partner_action_funnel"
        )
        for name, action, modes, kanban in (
            (
                "pipeline",
                pipeline,
                ["kanban", "list"],
                "crm_plus.res_partner_view_kanban_pipeline",
            ),
            ("funnel", funnel, ["list", "kanban"], "base.res_partner_kanban_view"),
        ):
            with self.subTest(action=name):
                # The switcher keeps the order of view_mode.
                self.assertEqual([mode for _view_id, mode in action["views"]][:2], modes)
                shown = self.env["res.partner"].get_views(action["views"])["views"]
                expected = dict(funnel_views, kanban=self.env.ref(kanban).id)
                self.assertEqual({mode: shown[mode]["id"] for mode in expected}, expected)
