from odoo import release
from odoo.models import MAGIC_COLUMNS
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from ..compat import user_form_section
from .common import CrmPlusCase

# What installing crm_plus must have created, written here rather than read from the data
# files, so that a record the data no longer creates (or creates differently) fails.
SEED = {
    # xmlid: (model, name, code)
    "account_type_lead": ("crm.plus.account.type", "Lead", "LEAD"),
    "account_type_prospect": ("crm.plus.account.type", "Prospect", "PROS"),
    "account_type_customer": ("crm.plus.account.type", "Customer", "CUST"),
    "phase_lead_first_contact": ("crm.plus.lead.phase", "First contact", "L-FC"),
    "phase_lead_closing": ("crm.plus.lead.phase", "Closing", "L-CLOSE"),
    "phase_prospect_closing": ("crm.plus.lead.phase", "Closing", "P-CLOSE"),
    "close_reason_won_contract": ("crm.plus.close.reason", "Contract signed", "W-SIGN"),
    "close_reason_lost_price": ("crm.plus.close.reason", "Too expensive", "L-PRICE"),
}
# Seed Lead phases in their order, the closing one last.
LEAD_PHASES = ["First contact", "Qualification", "Proposal", "Negotiation", "Closing"]
# The scheduled actions: xmlid -> (interval number, interval type).
CRONS = {
    "crm_plus_phase_stat_cron_refresh": (1, "days"),
    "crm_plus_phase_stat_cron_close_days": (1, "days"),
    "crm_plus_funnel_job_cron": (1, "hours"),
    "crm_plus_calibration_report_cron_refresh": (1, "days"),
    "crm_plus_funnel_report_cron_fold": (5, "minutes"),
    "crm_plus_funnel_report_cron_recount": (1, "days"),
}
# Access rights (r read, w write, c create, u unlink) of each level on the module's models:
# (an internal user without CRM+, a salesperson "Own Documents Only", the CRM+ administrator).
ACCESS = {
    ("crm.plus.account.type", "crm.plus.lead.phase", "crm.plus.close.reason"): ("", "r", "rwcu"),
    ("crm.plus.phase.line",): ("", "rwc", "rwcu"),
    ("crm.plus.close.wizard", "crm.plus.account.type.wizard"): ("", "rwcu", "rwcu"),
    (
        "crm.plus.funnel.report",
        "crm.plus.winloss.report",
        "crm.plus.forecast.report",
        "crm.plus.calibration.report",
        "crm.plus.phase.stat",
    ): ("", "r", "r"),
    ("crm.plus.funnel.job",): ("", "r", "ru"),
    ("crm.plus.funnel.total", "crm.plus.funnel.days"): ("", "", ""),
    # Contacts: base gives every internal user read; CRM+ adds write and create (the test users
    # of CrmPlusCase are also Contact Creation, which adds unlink).
    ("res.partner",): ("r", "rwcu", "rwcu"),
}
OPERATIONS = {"r": "read", "w": "write", "c": "create", "u": "unlink"}
# crm_plus's indexes on res_partner: the open funnel's (the pipeline board, the forecast) and
# the contacts with a type (the account types' counts, a filter by type).
PARTNER_INDEXES = {
    "res_partner__account_type_id_index": "CREATE INDEX res_partner__account_type_id_index ON"
    " public.res_partner USING btree (account_type_id) WHERE (account_type_id IS NOT NULL)",
    "res_partner_crm_plus_open_funnel_index": "CREATE INDEX"
    " res_partner_crm_plus_open_funnel_index ON public.res_partner USING btree"
    " (account_type_id, user_id, lead_phase_id) INCLUDE (active, company_id, partner_share,"
    " funnel_score, funnel_stale_deadline, funnel_forecast_value, funnel_weighted_value,"
    " funnel_recurring_value, funnel_open_value, funnel_open_weighted_value)"
    " WHERE ((funnel_state)::text = 'open'::text)",
}


@tagged("post_install", "-at_install")
class TestInstall(CrmPlusCase):
    """What installing crm_plus must have done."""

    def test_version(self):
        module = self.env["ir.module.module"].search([("name", "=", "crm_plus")])
        # The manifest says 1.3.2: Odoo prefixes the series it runs (18.0.1.3.2, 19.0.1.3.2).
        self.assertEqual(module.latest_version, f"{release.major_version}.1.3.2")

    def test_partner_indexes_hold_funnel_contacts_only(self):
        """crm_plus's indexes on res_partner (those naming one of its columns) are partial: a
        write of a contact outside the funnel (a phone, another module's column) passes them
        by, and costs what it costs without crm_plus (make tax)."""
        self.env.cr.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'res_partner'"
            " AND indexdef ~ '(account_type|lead_phase|funnel_)'"
        )
        self.assertEqual(dict(self.env.cr.fetchall()), PARTNER_INDEXES)

    def test_seed_data(self):
        for xmlid, (model, name, code) in SEED.items():
            with self.subTest(xmlid=xmlid):
                record = self.env.ref(f"crm_plus.{xmlid}")
                self.assertEqual(record._name, model)
                self.assertEqual(
                    (record.with_context(lang="en_US").name, record.code), (name, code)
                )
        lead = self.env.ref("crm_plus.account_type_lead")
        self.assertEqual(lead.won_account_type_id, self.env.ref("crm_plus.account_type_customer"))
        phases = lead.phase_ids.sorted(lambda phase: (phase.sequence, phase.id))
        self.assertEqual(phases.with_context(lang="en_US").mapped("name"), LEAD_PHASES)
        self.assertEqual(phases.mapped("phase_type"), ["normal"] * 4 + ["closing"])
        self.assertFalse(self.env.ref("crm_plus.account_type_customer").phase_ids)
        self.assertEqual(self.env.ref("crm_plus.close_reason_won_contract").outcome, "won")
        self.assertEqual(self.env.ref("crm_plus.close_reason_lost_price").outcome, "lost")

    def test_groups_in_their_category(self):
        for xmlid in ("group_crm_plus_user", "group_crm_plus_all", "group_crm_plus_manager"):
            with self.subTest(group=xmlid):
                group = self.env.ref(f"crm_plus.{xmlid}")
                self.assertEqual(user_form_section(group), ("Sales", "CRM+"))
        self.assertTrue(
            self.env.ref("base.user_admin").has_group("crm_plus.group_crm_plus_manager")
        )
        self.assertTrue(self.user_manager.has_group("crm_plus.group_crm_plus_all"))
        self.assertFalse(self.user_sales.has_group("crm_plus.group_crm_plus_all"))

    def test_crons_active(self):
        for xmlid, (number, interval) in CRONS.items():
            with self.subTest(cron=xmlid):
                cron = self.env.ref(f"crm_plus.{xmlid}")
                self.assertTrue(cron.active)
                self.assertEqual((cron.interval_number, cron.interval_type), (number, interval))
        crons = self.env["ir.model.data"].search(
            [("module", "=", "crm_plus"), ("model", "=", "ir.cron")]
        )
        self.assertEqual(set(crons.mapped("name")), set(CRONS), "a cron the test does not know")

    def test_access_rights_per_level(self):
        users = (self.user_internal, self.user_sales, self.user_manager)
        for model, levels in ((m, levels) for models, levels in ACCESS.items() for m in models):
            for user, allowed in zip(users, levels, strict=True):
                with self.subTest(model=model, user=user.login):
                    granted = "".join(
                        letter
                        for letter, operation in OPERATIONS.items()
                        if self.env[model].with_user(user).has_access(operation)
                    )
                    self.assertEqual(granted, allowed)
        # Every model of the module with access rules is in the table above.
        acl_models = set(
            self.env["ir.model.access"]
            .search([("model_id.model", "=like", "crm.plus.%")])
            .mapped("model_id.model")
        )
        self.assertEqual(acl_models - {model for models in ACCESS for model in models}, set())

    def test_columns_empty_for_existing_contacts(self):
        """The contacts that existed before crm_plus (base's own; the demo data gives some of
        base's demo contacts a type) are outside every funnel: the stored columns crm_plus adds
        to res_partner are empty for them."""
        fields = self.env["ir.model.data"].search(
            [
                ("module", "=", "crm_plus"),
                ("model", "=", "ir.model.fields"),
                ("name", "=like", "field_res_partner__%"),
            ]
        )
        columns = [
            name
            for name in (data.name.removeprefix("field_res_partner__") for data in fields)
            if name in self.Partner._fields
            # 19.0 also gives crm_plus an xmlid for the magic columns (id, write_date, …).
            and name not in MAGIC_COLUMNS
            and self.Partner._fields[name].store
            and self.Partner._fields[name].column_type
        ]
        self.assertIn("funnel_state", columns)
        self.assertIn("funnel_open_value", columns)
        existing = [
            self.env.ref(f"base.{xmlid}").id
            for xmlid in ("main_partner", "partner_root", "partner_admin", "public_partner")
        ]
        self.env.flush_all()
        for column in columns:
            with self.subTest(column=column):
                self.env.cr.execute(
                    SQL(
                        "SELECT count(*) FROM res_partner WHERE id = ANY(%s) "
                        "AND %s IS NOT NULL AND %s::text NOT IN ('0', 'false')",
                        existing,
                        SQL.identifier(column),
                        SQL.identifier(column),
                    )
                )
                self.assertEqual(self.env.cr.fetchone()[0], 0)


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
