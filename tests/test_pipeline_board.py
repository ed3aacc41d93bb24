"""The Pipeline board a manager reads (issue 31 item 3): every column of the account type the
board is filtered on, whichever way the search view filters it, first and in order; the
column headers' count and currency total and the one colour of Stale, in the views' arch; the
funnel lines' cards on a phone (item 8)."""

import json

from lxml import etree

from odoo.tests import tagged

from ..compat import AT_LEAST_19, grouped_rows
from .common import CrmPlusCase


@tagged("post_install", "-at_install")
class TestPipelineBoard(CrmPlusCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # An open deal in each type: the board's non-empty columns.
        cls.lead_deal = cls.make_partners(cls, 1)
        cls.lead_deal.name = "T-Board Lead Deal"
        cls.prospect_deal = cls.make_partners(cls, 1, account_type=cls.prospect_type)
        cls.prospect_deal.name = "T-Board Prospect Deal"
        cls.prospect_phases = cls.prospect_type.phase_ids.sorted("sequence")
        cls.lead_phases = cls.lead_type.phase_ids.sorted("sequence")

    def columns(self, domain, user=None, **context):
        """The board's columns (phase ids, in order) for the search ``domain``, as the web
        client reads them (the Pipeline action's domain and context, group_expand)."""
        partners = self.Partner.with_user(user or self.user_manager).with_context(
            crm_plus_pipeline=True, **context
        )
        board_domain = [("funnel_state", "=", "open"), ("lead_phase_id", "!=", False)]
        rows = grouped_rows(
            partners, board_domain + domain, "lead_phase_id", ["funnel_open_value:sum"]
        )
        return [phase_id for phase_id, _count, _sums in rows]

    def assert_type_columns_first(self, columns, account_type_phases):
        self.assertEqual(
            columns[: len(account_type_phases)],
            account_type_phases.ids,
            "every column of the filtered type, first, in its order",
        )

    # ------------------------------------------------------------------ group expansion

    def test_name_search_on_the_type_shows_all_its_columns(self):
        """ "Search Account Type for: T-Prosp" is an ilike on the many2one: both of the type's
        phases are columns although only the first has a card (the closing one is a drop
        target)."""
        columns = self.columns([("account_type_id", "ilike", "T-Prosp")])
        self.assertEqual(columns, self.prospect_phases.ids)

    def test_name_search_replacing_the_default_facet(self):
        """The board opens on a type's facet (search_default_account_type_id); replaced by
        "Search Account Type for: T-Prosp", the web client still sends the default facet's
        value as default_account_type_id: the search's type wins, no empty T-Lead column."""
        columns = self.columns(
            [("account_type_id", "ilike", "T-Prosp")], default_account_type_id=self.lead_type.id
        )
        self.assertEqual(columns, self.prospect_phases.ids)
        # Without any type in the search, the context's type still gives its columns.
        columns = self.columns([], default_account_type_id=self.prospect_type.id)
        self.assert_type_columns_first(columns, self.prospect_phases)

    def test_name_search_on_the_type_name_path(self):
        for operator, value in [("ilike", "t-prospect"), ("=", "T-Prospect")]:
            with self.subTest(operator=operator):
                columns = self.columns([("account_type_id.name", operator, value)])
                self.assertEqual(columns, self.prospect_phases.ids)

    def test_exact_name_and_code_select_the_type(self):
        # A many2one searched with a name (=) or the type's code (its display name searches
        # name and code).
        self.assertEqual(
            self.columns([("account_type_id", "=", "T-Prospect")]), self.prospect_phases.ids
        )
        self.assertEqual(
            self.columns([("account_type_id", "ilike", "T-PROS")]), self.prospect_phases.ids
        )

    def test_id_filter_still_shows_all_columns(self):
        self.assertEqual(
            self.columns([("account_type_id", "=", self.lead_type.id)]), self.lead_phases.ids
        )
        self.assertEqual(
            self.columns([("account_type_id", "in", [self.prospect_type.id])]),
            self.prospect_phases.ids,
        )

    def test_filtered_type_columns_come_first(self):
        """A board that also shows another type's card (here: found by its name, or'ed with
        the type filter) keeps the filtered type's columns first, all of them, in order."""
        columns = self.columns(
            [
                "|",
                ("account_type_id", "ilike", "T-Prosp"),
                ("name", "=", self.lead_deal.name),
            ]
        )
        self.assert_type_columns_first(columns, self.prospect_phases)
        self.assertEqual(columns[len(self.prospect_phases) :], self.lead_deal.lead_phase_id.ids)

    def test_two_types_selected_both_show_in_type_order(self):
        columns = self.columns(
            [
                "|",
                ("account_type_id", "=", self.lead_type.id),
                ("account_type_id", "ilike", "T-Prosp"),
            ]
        )
        self.assertEqual(columns, (self.lead_phases | self.prospect_phases).ids)

    def test_negated_type_search_selects_no_columns(self):
        """A type left out (not ilike, !) adds no empty column, of that type or another."""
        for domain in (
            [("account_type_id", "not ilike", "T-Lead")],
            ["!", ("account_type_id", "ilike", "T-Lead")],
        ):
            with self.subTest(domain=domain):
                columns = self.columns(domain)
                self.assertIn(self.prospect_deal.lead_phase_id.id, columns)
                self.assertNotIn(self.phase_qualif.id, columns)
                self.assertNotIn(self.prospect_phases[-1].id, columns)

    def test_salesperson_board_has_the_same_columns(self):
        self.assertEqual(
            self.columns([("account_type_id", "ilike", "T-Prosp")], user=self.user_sales),
            self.prospect_phases.ids,
        )

    def test_group_expand_accepts_a_domain_object(self):
        """19.0 may hand group_expand a Domain (not a list); 18.0 a list, the same terms."""
        if not AT_LEAST_19:
            expanded = self.Partner._read_group_expand_lead_phase(
                self.Phase, [("account_type_id", "ilike", "T-Prosp"), ("active", "=", True)]
            )
            self.assertEqual(expanded.ids, self.prospect_phases.ids)
            return
        from odoo.fields import Domain

        expanded = self.Partner._read_group_expand_lead_phase(
            self.Phase, Domain("account_type_id", "ilike", "T-Prosp") & Domain("active", "=", True)
        )
        self.assertEqual(expanded.ids, self.prospect_phases.ids)

    # ------------------------------------------------------------------ the views

    def pipeline_arch(self):
        view = self.env.ref("crm_plus.res_partner_view_kanban_pipeline")
        return etree.fromstring(view.get_combined_arch())

    def test_board_columns_count_and_currency_total(self):
        arch = self.pipeline_arch()
        self.assertEqual(
            arch.get("js_class"),
            "crm_plus_pipeline_kanban",
            "the board's header shows the count and the currency of the total",
        )
        progressbar = arch.find("progressbar")
        self.assertEqual(progressbar.get("sum_field"), "funnel_open_value")
        field = self.Partner._fields["funnel_open_value"]
        self.assertEqual(field.type, "monetary")
        self.assertEqual(field.currency_field, "funnel_currency_id")
        self.assertTrue(arch.xpath("//field[@name='funnel_currency_id']"))

    def test_stale_has_one_colour(self):
        arch = self.pipeline_arch()
        colors = json.loads(arch.find("progressbar").get("colors"))
        badges = arch.xpath("//span[contains(@class, 'o_crm_plus_stale')]")
        self.assertEqual(len(badges), 1)
        self.assertIn(f"text-bg-{colors['stale']}", badges[0].get("class").split())
        self.assertNotIn(
            colors["stale"],
            [color for band, color in colors.items() if band != "stale"],
            "no other band shares Stale's colour",
        )
        form = etree.fromstring(self.env.ref("crm_plus.res_partner_view_form").get_combined_arch())
        form_badges = form.xpath(
            "//span[contains(@class, 'badge')][@invisible='not funnel_is_stale']"
        )
        self.assertEqual(len(form_badges), 1)
        self.assertIn(f"text-bg-{colors['stale']}", form_badges[0].get("class").split())

    def test_funnel_lines_are_cards_on_a_phone(self):
        form = etree.fromstring(self.env.ref("crm_plus.res_partner_view_form").get_combined_arch())
        [lines] = form.xpath("//field[@name='funnel_line_ids']")
        self.assertEqual(lines.get("mode"), "list,kanban", "the cards on a small screen")
        card_fields = {node.get("name") for node in lines.xpath("./kanban//field")}
        self.assertTrue({"phase_id", "forecast_value", "recurring_value"} <= card_fields)
        form_fields = {node.get("name") for node in lines.xpath("./form//field")}
        self.assertTrue({"score", "forecast_value", "recurring_value"} <= form_fields)
