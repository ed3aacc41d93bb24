"""The money a manager reads, as Odoo CRM means it (HELPERS' money definition, issue 30 items
1, 2 and 5): a deal's amount, its probability (the score while open, 100 won, 0 lost) and its
weighted value on the contact; the four state-pure totals (open pipeline, weighted pipeline,
won revenue, lost); their grouped sums as the web client's list, board, pivot and graph read
them, on both series."""

from odoo.modules.migration import load_script
from odoo.tests import tagged
from odoo.tools.misc import file_path

from ..compat import AT_LEAST_19, grouped_rows
from ..models.funnel_rules import STATE_PURE_FIELDS, deal_money
from .common import CrmPlusCase

MONEY_FIELDS = [
    "funnel_score",
    "funnel_forecast_value",
    "funnel_weighted_value",
    *STATE_PURE_FIELDS,
]


@tagged("post_install", "-at_install")
class TestMoney(CrmPlusCase):
    def figures(self, partner):
        return {fname: partner[fname] for fname in MONEY_FIELDS}

    def expected(self, score, amount, weighted, state):
        figures = {
            "funnel_score": score,
            "funnel_forecast_value": amount,
            "funnel_weighted_value": weighted,
            "funnel_open_value": 0.0,
            "funnel_open_weighted_value": 0.0,
            "funnel_won_value": 0.0,
            "funnel_lost_value": 0.0,
        }
        if state == "open":
            figures.update(funnel_open_value=amount, funnel_open_weighted_value=weighted)
        elif state == "won":
            figures["funnel_won_value"] = amount
        elif state == "lost":
            figures["funnel_lost_value"] = amount
        return figures

    def to_closing(self, partner, forecast=20000, score=80):
        for _i in range(3):
            partner.action_advance_phase()
        partner.funnel_line_ids.filtered(lambda line: line.state == "current").write(
            {"forecast_value": forecast, "score": score}
        )
        return partner

    # ------------------------------------------------------------------ one contact

    def test_open_deal(self):
        partner = self.make_partners()
        partner.funnel_line_ids[:1].write({"forecast_value": 5000, "score": 30})
        self.assertEqual(self.figures(partner), self.expected(30, 5000, 1500, "open"))

    def test_won_deal_switched_to_a_type_without_phases(self):
        partner = self.to_closing(self.make_partners())
        partner.action_close(self.reason_won.id)
        self.assertEqual(partner.account_type_id, self.customer_type, "Lead -> Customer")
        self.assertEqual(partner.funnel_state, "won")
        self.assertEqual(self.figures(partner), self.expected(100, 20000, 20000, "won"))
        # Reopened, the deal is open again with its own score.
        partner.action_reopen()
        self.assertEqual(self.figures(partner), self.expected(80, 20000, 16000, "open"))

    def test_won_deal_kept_in_its_type(self):
        self.env["ir.config_parameter"].sudo().set_param("crm_plus.won_switches_type", "False")
        partner = self.to_closing(self.make_partners())
        partner.action_close(self.reason_won.id)
        self.assertEqual(partner.account_type_id, self.lead_type)
        self.assertEqual(self.figures(partner), self.expected(100, 20000, 20000, "won"))

    def test_lost_deal_keeps_its_amount_weighted_zero(self):
        partner = self.make_partners()
        partner.action_advance_phase()
        partner.funnel_line_ids.filtered(lambda line: line.state == "current").write(
            {"forecast_value": 8000, "score": 30}
        )
        partner.action_close(self.reason_lost.id)
        self.assertEqual(self.figures(partner), self.expected(0, 8000, 0, "lost"))
        # Moved by hand to a type without phases, the lost deal keeps its figures.
        partner.write({"account_type_id": self.customer_type.id})
        self.assertEqual(partner.funnel_state, "lost")
        self.assertEqual(self.figures(partner), self.expected(0, 8000, 0, "lost"))

    def test_outside_any_funnel(self):
        partner = self.make_partners(account_type=self.customer_type)
        self.assertFalse(partner.funnel_state)
        self.assertEqual(self.figures(partner), self.expected(0, 0, 0, False))

    def test_deal_money_is_one_definition(self):
        self.assertEqual(
            deal_money("open", 1000, 40),
            {
                "probability": 40,
                "amount": 1000,
                "weighted": 400,
                "funnel_open_value": 1000,
                "funnel_open_weighted_value": 400,
                "funnel_won_value": 0.0,
                "funnel_lost_value": 0.0,
            },
        )
        won, lost, none = (
            deal_money("won", 1000, 40),
            deal_money("lost", 1000, 40),
            deal_money(False, 1000, 40),
        )
        self.assertEqual(
            (won["probability"], won["weighted"], won["funnel_won_value"]), (100, 1000, 1000)
        )
        self.assertEqual(
            (lost["probability"], lost["weighted"], lost["amount"], lost["funnel_lost_value"]),
            (0, 0, 1000, 1000),
        )
        self.assertEqual((none["probability"], none["amount"], none["weighted"]), (0, 0, 0))

    # ------------------------------------------------------------------ grouped sums

    def make_mixed_funnel(self):
        """Open, won (switched and kept), lost and outside contacts, with amounts."""
        opened = self.make_partners(3)
        for index, partner in enumerate(opened):
            partner.funnel_line_ids[:1].write({"forecast_value": 1000 * (index + 1), "score": 25})
        won = self.to_closing(self.make_partners(2), forecast=30000, score=90)
        won.action_close(self.reason_won.id)
        lost = self.make_partners(2)
        lost.action_advance_phase()
        lost.funnel_line_ids.filtered(lambda line: line.state == "current").write(
            {"forecast_value": 7000, "score": 50}
        )
        lost.action_close(self.reason_lost.id)
        outside = self.make_partners(account_type=self.customer_type)
        return opened | won | lost | outside

    def recount(self, partners):
        """{state: {field: total}} recounted from the lines: the current line of an open
        contact, the line of its last close for a closed one."""
        totals = {}
        for partner in partners:
            lines = partner.phase_line_ids
            current = lines.filtered(
                lambda line: line.state == "current" and line.is_active_funnel
            )
            closes = lines.filtered("close_outcome").sorted(
                lambda line: (line.close_date, line.date_done or line.create_date, line.id)
            )
            deal = current or closes[-1:]
            state = "open" if current else closes[-1:].close_outcome
            if not state:
                continue
            amount = deal.forecast_value
            weighted = amount * deal.score / 100 if state == "open" else 0
            row = totals.setdefault(state, dict.fromkeys(STATE_PURE_FIELDS, 0.0))
            row["funnel_open_value"] += amount if state == "open" else 0
            row["funnel_open_weighted_value"] += weighted
            row["funnel_won_value"] += amount if state == "won" else 0
            row["funnel_lost_value"] += amount if state == "lost" else 0
        return totals

    def test_grouped_sums_by_state_equal_a_recount(self):
        partners = self.make_mixed_funnel()
        expected = self.recount(partners)
        self.assertEqual(expected["won"]["funnel_won_value"], 60000)
        self.assertEqual(expected["open"]["funnel_open_weighted_value"], 1500)
        domain = [("id", "in", partners.ids), ("funnel_state", "!=", False)]
        for user in (self.env.user, self.user_sales):
            rows = grouped_rows(
                self.Partner.with_user(user),
                domain,
                "funnel_state",
                [f"{fname}:sum" for fname in STATE_PURE_FIELDS],
            )
            got = {
                state: {fname: sums[f"{fname}:sum"] or 0.0 for fname in STATE_PURE_FIELDS}
                for state, _count, sums in rows
            }
            self.assertEqual(got, expected)

    def test_amounts_aggregate_and_mixed_figures_do_not(self):
        """Every state-pure figure has an aggregator (19.0 gives none to an amount whose
        currency SQL cannot aggregate: the pivot and graph then crash, the board's column sums
        read 0); the figures that mix states have none."""
        fields = self.Partner.with_user(self.user_sales).fields_get(
            [*STATE_PURE_FIELDS, "funnel_forecast_value", "funnel_weighted_value"],
            ["aggregator", "currency_field"],
        )
        for fname in STATE_PURE_FIELDS:
            self.assertEqual(fields[fname].get("aggregator"), "sum", fname)
            self.assertEqual(fields[fname]["currency_field"], "funnel_currency_id")
        for fname in ("funnel_forecast_value", "funnel_weighted_value"):
            self.assertFalse(fields[fname].get("aggregator"), fname)

    def web_client_aggregates(self, fnames):
        """The aggregates the web client asks of monetary measures (19.0: the amount, its
        currencies, the amount converted; 18.0: the amount)."""
        specs = []
        for fname in fnames:
            specs.append(f"{fname}:sum")
            if AT_LEAST_19:
                specs += ["funnel_currency_id:array_agg_distinct", f"{fname}:sum_currency"]
        return list(dict.fromkeys(specs))

    def shown_sum(self, group, fname):
        """What the web client shows of a group's sum (19.0: the converted sum only when the
        group holds several currencies, web/static/src/model/relational_model/utils.js)."""
        if AT_LEAST_19 and len(group["funnel_currency_id:array_agg_distinct"]) != 1:
            return group[f"{fname}:sum_currency"]
        # 18.0's read_group names an aggregate by its field.
        return group[f"{fname}:sum"] if f"{fname}:sum" in group else group[fname]

    def test_board_column_sums_as_the_web_client_reads_them(self):
        """The Pipeline's column headers: web_read_group with the progress bar's sum_field,
        then read_progress_bar, as the kanban calls them."""
        partners = self.make_mixed_funnel()
        board = self.env.ref("crm_plus.res_partner_view_kanban_pipeline")
        self.assertIn('sum_field="funnel_open_value"', board.arch_db)
        Partner = self.Partner.with_user(self.user_sales).with_context(
            default_account_type_id=self.lead_type.id, read_group_expand=True
        )
        domain = [
            ("id", "in", partners.ids),
            ("funnel_state", "=", "open"),
            ("lead_phase_id", "!=", False),
        ]
        aggregates = self.web_client_aggregates(["funnel_open_value"])
        if AT_LEAST_19:
            groups = Partner.web_read_group(
                domain,
                ["lead_phase_id"],
                aggregates,
                auto_unfold=True,
                unfold_read_specification={
                    "name": {},
                    "funnel_currency_id": {"fields": {}},
                    "funnel_forecast_value": {},
                },
            )["groups"]
        else:
            groups = Partner.web_read_group(domain, aggregates, ["lead_phase_id"])["groups"]
        sums = {
            group["lead_phase_id"][0]: self.shown_sum(group, "funnel_open_value")
            for group in groups
            if group["lead_phase_id"]
        }
        self.assertEqual(sums[self.phase_first.id], 6000)
        self.assertFalse(sums[self.phase_closing.id])
        bars = Partner.read_progress_bar(
            domain,
            "lead_phase_id",
            {"field": "funnel_health", "colors": {"hot": "success", "cold": "info"}},
        )
        self.assertEqual(sum(bars[str(self.phase_first.id)].values()), 3)

    def test_pivot_and_graph_reads_do_not_raise(self):
        """The pivot's and graph's grouped reads of the views' measures, as the web client
        builds them: every measure has an aggregator, and the read answers."""
        partners = self.make_mixed_funnel()
        measures = list(STATE_PURE_FIELDS)
        fields = self.Partner.fields_get(measures, ["aggregator"])
        for fname in measures:
            # The web client's pivot raises "No aggregate function has been provided for the
            # measure" when a measure has none.
            self.assertTrue(fields[fname].get("aggregator"), fname)
        Partner = self.Partner.with_user(self.user_sales)
        domain = [("id", "in", partners.ids), ("funnel_state", "!=", False)]
        aggregates = ["__count", *self.web_client_aggregates(measures)]
        expected = self.recount(partners)
        if AT_LEAST_19:
            results = Partner.formatted_read_grouping_sets(
                domain, [[], ["funnel_state"], ["account_type_id", "lead_phase_id"]], aggregates
            )
            total = results[0][0]
            by_state = {group["funnel_state"]: group for group in results[1]}
            graph = Partner.formatted_read_group(domain, ["lead_phase_id"], aggregates)
            self.assertTrue(graph)
        else:
            total = Partner.read_group(domain, measures, [], lazy=False)[0]
            by_state = {
                group["funnel_state"]: group
                for group in Partner.read_group(domain, measures, ["funnel_state"], lazy=False)
            }
            total = {f"{fname}:sum": total[fname] for fname in measures}
            by_state = {
                state: {f"{fname}:sum": group[fname] for fname in measures}
                for state, group in by_state.items()
            }
        for fname in measures:
            self.assertAlmostEqual(
                self.shown_sum(total, fname) if AT_LEAST_19 else total[f"{fname}:sum"],
                sum(row[fname] for row in expected.values()),
                places=2,
            )
            for state, row in expected.items():
                self.assertAlmostEqual(
                    by_state[state][f"{fname}:sum"] or 0.0, row[fname], places=2, msg=fname
                )

    def test_funnel_currency_in_sql_is_the_company_currency(self):
        company_partner = self.make_partners(company_id=self.company.id)
        no_company = self.make_partners()
        partners = company_partner | no_company
        for partner in partners:
            self.assertEqual(partner.funnel_currency_id, self.company.currency_id)
        if AT_LEAST_19:
            groups = self.Partner.formatted_read_group(
                [("id", "in", partners.ids)], [], ["funnel_currency_id:array_agg_distinct"]
            )
            self.assertEqual(
                groups[0]["funnel_currency_id:array_agg_distinct"], [self.company.currency_id.id]
            )
        else:
            groups = self.Partner.read_group(
                [("id", "in", partners.ids)], ["funnel_currency_id:array_agg"], []
            )
            self.assertEqual(set(groups[0]["funnel_currency_id"]), {self.company.currency_id.id})

    def test_contact_without_company_has_one_currency_everywhere(self):
        """A contact without a company shows the main company's currency in its form, in the
        contacts' grouped reads and in the reports, whichever company the user works in."""
        main_currency = self.env.ref("base.main_company").currency_id
        other_currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("id", "!=", main_currency.id)], limit=1)
        )
        other_currency.active = True
        other_company = self.env["res.company"].create(
            {"name": "T-Other Co", "currency_id": other_currency.id}
        )
        partner = self.make_partners()
        self.assertFalse(partner.company_id)
        partner = partner.with_company(other_company)
        partner.invalidate_recordset(["funnel_currency_id"])
        self.assertEqual(partner.funnel_currency_id, main_currency)
        rows = grouped_rows(
            self.Partner.with_company(other_company),
            [("id", "=", partner.id)],
            "funnel_currency_id",
            ["funnel_open_value:sum"],
        )
        self.assertEqual([row[0] for row in rows], [main_currency.id])
        forecast = self.env["crm.plus.forecast.report"].with_company(other_company)
        report_rows = forecast.search_read([("partner_id", "=", partner.id)], ["currency_id"])
        self.assertTrue(report_rows)
        self.assertEqual({row["currency_id"][0] for row in report_rows}, {main_currency.id})

    def test_group_by_funnel_currency(self):
        """A grouping the search view offers once the currency is readable in SQL."""
        partners = self.make_partners(2) | self.make_partners(company_id=self.company.id)
        rows = grouped_rows(
            self.Partner.with_user(self.user_sales),
            [("id", "in", partners.ids)],
            "funnel_currency_id",
            ["funnel_open_value:sum"],
        )
        self.assertEqual([(row[0], row[1]) for row in rows], [(self.company.currency_id.id, 3)])

    # ------------------------------------------------------------------ upgrade

    def test_migration_fills_the_figures_of_existing_contacts(self):
        """Upgraded from 1.0.0, whose won contacts switched to Customer showed 0 and whose lost
        contacts kept their weighted value, and whose state-pure columns are new (empty)."""
        partners = self.make_mixed_funnel()
        expected = {partner.id: self.figures(partner) for partner in partners}
        self.env.flush_all()
        self.env.cr.execute(
            """UPDATE res_partner
                  SET funnel_score = 7, funnel_weighted_value = 123, funnel_forecast_value = 0,
                      funnel_open_value = NULL, funnel_open_weighted_value = NULL,
                      funnel_won_value = NULL, funnel_lost_value = NULL
                WHERE id = ANY(%s)""",
            [partners.ids],
        )
        self.env.invalidate_all()
        self.assertEqual(partners[0].funnel_score, 7)
        script = load_script(
            file_path("crm_plus/migrations/1.1.0/post-migration.py"), "crm_plus_migration_1_1_0"
        )
        script.migrate(self.env.cr, "18.0.1.0.0")
        self.env.invalidate_all()
        outside = partners.filtered(lambda partner: not partner.funnel_state)
        for partner in partners - outside:
            self.assertEqual(self.figures(partner), expected[partner.id], partner.name)
        self.assertEqual(outside.funnel_score, 7, "contacts outside a funnel are not touched")
