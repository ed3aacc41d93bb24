"""One fixed data set, read through every report: the open pipeline, the weighted pipeline, the
won revenue, the lost amount and the counts agree across Forecast, Funnel Analysis (from its
lines and from its totals) and Win/Loss, and with a recount from the phase lines; archived
contacts count nowhere; every row has a currency; the conversion measures are ratios of
sums, per phase and per account type."""

from datetime import date

from dateutil.relativedelta import relativedelta
from lxml import etree

from odoo.tools.safe_eval import safe_eval

from ..report.crm_plus_funnel_report import READ_TOTALS
from .common import FUNNEL_MEASURES, CrmPlusCase


class TestReportTruth(CrmPlusCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        lead, prospect = cls.lead_type, cls.prospect_type
        # name: (account type, company, salesperson)
        spec = {
            "a": (lead, False, cls.user_sales),  # open, first phase
            "b": (lead, company, cls.user_sales),  # open, qualification
            "c": (lead, False, cls.user_manager),  # open, jumped to proposal (skips one)
            "d": (lead, company, cls.user_manager),  # won (then a T-Customer)
            "e": (lead, False, cls.user_sales),  # lost in qualification
            "f": (lead, company, cls.user_sales),  # open in proposal, archived
            "g": (lead, False, cls.user_manager),  # won, archived
            "h": (prospect, False, cls.user_sales),  # open, first phase
            "i": (prospect, company, cls.user_manager),  # won
        }
        partners = cls.Partner.create(
            [
                {
                    "name": f"T-Truth {name.upper()}",
                    "account_type_id": account_type.id,
                    "company_id": company_of.id if company_of else False,
                    "user_id": user.id,
                }
                for name, (account_type, company_of, user) in spec.items()
            ]
        )
        cls.p = dict(zip(spec, partners, strict=True))
        p = cls.p
        (p["b"] | p["d"] | p["e"] | p["f"] | p["g"]).action_advance_phase()
        (p["d"] | p["f"] | p["g"]).action_advance_phase()
        (p["d"] | p["g"]).action_advance_phase()
        (p["d"] | p["g"]).action_close(cls.reason_won.id)
        p["e"].action_close(cls.reason_lost.id)
        p["c"].write({"lead_phase_id": cls.phase_proposal.id})
        p["i"].action_advance_phase()
        p["i"].action_close(cls.reason_won.id)
        # Figures on every line, all different.
        lines = cls.Line.search([("partner_id", "in", partners.ids)], order="id")
        for index, line in enumerate(lines):
            line.write({"forecast_value": 1000 + 250 * index, "score": 5 + (index * 11) % 90})
        (p["f"] | p["g"]).action_archive()
        cls.mine = partners
        cls.counted = partners - p["f"] - p["g"]
        cls.types = lead | prospect | cls.customer_type

    # ------------------------------------------------------------------ the truth

    def recount(self):
        """The four totals and the counts, from the lines of the contacts not archived: a
        deal's amount is that of its current line while open, of the line it was closed in
        once closed."""
        truth = dict.fromkeys(("open", "weighted", "won", "lost"), 0.0)
        counts = dict.fromkeys(("open", "won", "lost"), 0)
        for partner in self.counted:
            for line in partner.phase_line_ids:
                if line.state == "current" and line.is_active_funnel:
                    truth["open"] += line.forecast_value
                    truth["weighted"] += line.forecast_value * line.score / 100
                    counts["open"] += 1
                elif line.close_outcome:
                    truth[line.close_outcome] += line.forecast_value
                    counts[line.close_outcome] += 1
        return truth, counts

    def mine_domain(self):
        return [("partner_id", "in", self.mine.ids)]

    def test_the_totals_agree_across_the_reports(self):
        truth, counts = self.recount()
        self.assertEqual(counts, {"open": 4, "won": 2, "lost": 1})
        self.assertTrue(all(truth.values()), truth)
        domain = self.mine_domain()
        user = self.user_manager
        [(forecast, weighted, open_count)] = self.ForecastReport.with_user(user)._read_group(
            domain, [], ["forecast_value:sum", "weighted_value:sum", "__count"]
        )
        self.assertAlmostEqual(forecast, truth["open"], places=2)
        self.assertAlmostEqual(weighted, truth["weighted"], places=2)
        self.assertEqual(open_count, counts["open"])

        [(won, lost, won_count, lost_count, closed)] = self.WinlossReport.with_user(
            user
        )._read_group(
            domain,
            [],
            ["won_value:sum", "lost_value:sum", "won_count:sum", "lost_count:sum", "__count"],
        )
        self.assertAlmostEqual(won, truth["won"], places=2)
        self.assertAlmostEqual(lost, truth["lost"], places=2)
        self.assertEqual((won_count, lost_count, closed), (counts["won"], counts["lost"], 3))

        # Funnel Analysis: from the lines (a partner in the domain) and from the totals
        # (grouped and filtered on their columns only).
        by_type = [("account_type_id", "in", self.types.ids)]
        aggregates = [
            "open_forecast_value:sum",
            "open_weighted_value:sum",
            "deal_count:sum",
            "won_count:sum",
        ]
        self.assertTrue(self.FunnelReport._totals_answer(by_type, [], aggregates))
        for label, funnel_domain in (("lines", domain), ("totals", by_type)):
            [(open_value, open_weighted, deals, won_deals)] = self.FunnelReport.with_user(
                user
            )._read_group(funnel_domain, [], aggregates)
            self.assertAlmostEqual(open_value, truth["open"], places=2, msg=label)
            self.assertAlmostEqual(open_weighted, truth["weighted"], places=2, msg=label)
            self.assertEqual(won_deals, counts["won"], label)
            self.assertEqual(deals, sum(counts.values()), label)
        # The Contacts in Funnel list's footer (archived contacts hidden, as the list hides
        # them) and the Pipeline's columns (open contacts by phase) sum the same money.
        partners = self.Partner.with_user(user)
        [(open_value, open_weighted, won, lost)] = partners._read_group(
            [("id", "in", self.mine.ids)],
            [],
            [
                "funnel_open_value:sum",
                "funnel_open_weighted_value:sum",
                "funnel_won_value:sum",
                "funnel_lost_value:sum",
            ],
        )
        for value, key in zip(
            (open_value, open_weighted, won, lost),
            ("open", "weighted", "won", "lost"),
            strict=True,
        ):
            self.assertAlmostEqual(value, truth[key], places=2, msg=f"list footer: {key}")
        columns = partners._read_group(
            [("id", "in", self.mine.ids), ("funnel_state", "=", "open")],
            ["lead_phase_id"],
            ["funnel_open_value:sum", "funnel_open_weighted_value:sum", "__count"],
        )
        self.assertAlmostEqual(sum(row[1] for row in columns), truth["open"], places=2)
        self.assertAlmostEqual(sum(row[2] for row in columns), truth["weighted"], places=2)
        self.assertEqual(sum(row[3] for row in columns), counts["open"])
        # The contacts' own state-blind figures say the same for the open ones.
        open_partners = self.counted.filtered(lambda p: p.funnel_state == "open")
        self.assertAlmostEqual(
            sum(open_partners.mapped("funnel_weighted_value")), truth["weighted"], places=2
        )

    def test_archived_contacts_count_nowhere(self):
        archived = self.p["f"] | self.p["g"]
        mine = [("partner_id", "in", archived.ids)]
        for model in (self.FunnelReport, self.ForecastReport, self.WinlossReport):
            self.assertFalse(model.search_count(mine), model._name)
        self.CalibrationReport._refresh()
        self.assertFalse(self.CalibrationReport.search_count(mine))
        self.assertTrue(self.CalibrationReport.search_count([("partner_id", "in", self.mine.ids)]))
        # The totals leave them out too, and take them back when restored.
        by_type = [("account_type_id", "=", self.lead_type.id)]

        def lead_deals():
            return self.FunnelReport._read_group(by_type, [], ["deal_count:sum", "__count"])[0]

        self.assertEqual(lead_deals(), (5, 20))
        archived.action_unarchive()
        self.assertEqual(lead_deals(), (7, 28))
        self.assertEqual(self.CalibrationReport.search_count(mine), 4)
        self.assertEqual(self.ForecastReport.search_count(mine), 1)
        self.assertEqual(self.WinlossReport.search_count(mine), 1)
        # The calibration keeps its rows' archiving itself (a table the daily job rebuilds):
        # archived after the refresh, the contacts leave it at once, and come back.
        won = self.p["g"]  # f is open: only g's close is in the calibration
        won.write({"active": False})
        self.assertEqual(self.CalibrationReport.search_count(mine), 0)
        everyone = self.CalibrationReport.with_context(active_test=False)
        self.assertEqual(everyone.search_count(mine), 4)
        self.assertEqual(set(everyone.search(mine).mapped("active")), {False})
        won.toggle_active()
        self.assertEqual(self.CalibrationReport.search_count(mine), 4)

    def test_calibration_refresh_leaves_contacts_unlocked(self):
        """The daily refresh swaps the calibration's table: that takes no lock on res_partner
        that would stop other users' contact reads or writes (a table referencing res_partner
        locks it exclusively when dropped), and a deleted contact still leaves the report."""
        self.CalibrationReport._refresh()
        self.env.cr.execute(
            """SELECT mode FROM pg_locks
                WHERE pid = pg_backend_pid() AND relation = 'res_partner'::regclass
                  AND mode NOT IN ('AccessShareLock', 'RowShareLock', 'RowExclusiveLock')"""
        )
        self.assertEqual(self.env.cr.fetchall(), [])
        self.env.cr.execute(
            """SELECT conname FROM pg_constraint
                WHERE conrelid = 'crm_plus_calibration_report'::regclass AND contype = 'f'"""
        )
        self.assertEqual(self.env.cr.fetchall(), [])
        gone = self.mine.filtered(
            lambda partner: self.CalibrationReport.search_count([("partner_id", "=", partner.id)])
        )[:1]
        self.assertTrue(gone)
        gone_id = gone.id
        gone.unlink()
        self.assertFalse(self.CalibrationReport.search_count([("partner_id", "=", gone_id)]))
        self.assertTrue(self.CalibrationReport.search_count([("partner_id", "in", self.mine.ids)]))

    def test_every_row_has_a_currency(self):
        main_currency = self.env.ref("base.main_company").currency_id
        self.assertFalse(self.p["a"].company_id)
        for model in (self.FunnelReport, self.ForecastReport, self.WinlossReport):
            rows = model.search_read(self.mine_domain(), ["company_id", "currency_id"])
            self.assertTrue(rows, model._name)
            for row in rows:
                expected = (
                    self.env["res.company"].browse(row["company_id"][0]).currency_id
                    if row["company_id"]
                    else main_currency
                )
                self.assertEqual(row["currency_id"] and row["currency_id"][0], expected.id)
            # Grouped as 19.0's views ask: one currency per group, none missing.
            currencies = model._read_group(
                self.mine_domain(), ["company_id"], ["currency_id:recordset"]
            )
            for _company, currency in currencies:
                self.assertEqual(len(currency), 1, model._name)
        if hasattr(self.FunnelReport, "formatted_read_group"):  # 19.0's pivot, graph, list totals
            for model, measure in (
                (self.FunnelReport, "open_weighted_value"),
                (self.ForecastReport, "weighted_value"),
                (self.WinlossReport, "won_value"),
            ):
                [group] = model.formatted_read_group(
                    self.mine_domain(),
                    [],
                    ["currency_id:array_agg_distinct", f"{measure}:sum_currency"],
                )
                self.assertEqual(group["currency_id:array_agg_distinct"], [main_currency.id])
                self.assertTrue(group[f"{measure}:sum_currency"], model._name)

    # ------------------------------------------------------------------ conversion

    def funnel_groups(self, report, domain, groupby):
        rows = report._read_group(domain, groupby, FUNNEL_MEASURES)
        return {
            tuple(
                value.id if hasattr(value, "_name") else value for value in row[: len(groupby)]
            ): dict(zip(FUNNEL_MEASURES, row[len(groupby) :], strict=True))
            for row in rows
        }

    def test_conversion_per_phase_and_per_type(self):
        domain = [("account_type_id", "in", self.types.ids)]
        lines = self.FunnelReport.with_context(crm_plus_funnel_read_lines=True)
        for report in (self.FunnelReport, lines):
            phases = self.funnel_groups(report, domain, ["phase_id"])
            first, qualif, proposal, closing = (
                phases[(phase.id,)]
                for phase in (
                    self.phase_first,
                    self.phase_qualif,
                    self.phase_proposal,
                    self.phase_closing,
                )
            )
            # A B C D E entered; B D E went through qualification (C jumped over it), C D
            # through the proposal, D through closing, to won.
            self.assertEqual(
                [group["reached:sum"] for group in (first, qualif, proposal, closing)],
                [5, 3, 2, 1],
            )
            self.assertEqual(
                [group["moved_on:sum"] for group in (first, qualif, proposal, closing)],
                [4, 1, 1, 1],
            )
            # Phase to the next: 4/5, 1/3, 1/2, 1/1; from the first phase: n/5.
            for group, step, from_first in (
                (first, 80.0, 100.0),
                (qualif, 100.0 / 3, 60.0),
                (proposal, 50.0, 40.0),
                (closing, 100.0, 20.0),
            ):
                self.assertAlmostEqual(group["phase_conversion:avg"], step)
                self.assertAlmostEqual(group["reached_percent:avg"], from_first)
            # Per account type: first phase to won, deals counted once, not phases added up.
            types = self.funnel_groups(report, domain, ["account_type_id"])
            lead, prospect = types[(self.lead_type.id,)], types[(self.prospect_type.id,)]
            self.assertEqual((lead["reached:sum"], lead["moved_on:sum"]), (5, 1))
            self.assertEqual((lead["deal_count:sum"], lead["won_count:sum"]), (5, 1))
            self.assertAlmostEqual(lead["reached_percent:avg"], 20.0)
            self.assertAlmostEqual(lead["phase_conversion:avg"], 20.0)
            self.assertAlmostEqual(prospect["reached_percent:avg"], 50.0)
            [total] = self.funnel_groups(report, domain, []).values()
            self.assertEqual((total["reached:sum"], total["won_count:sum"]), (7, 2))
            self.assertAlmostEqual(total["reached_percent:avg"], 200.0 / 7)

    def test_conversion_same_from_the_totals_and_the_lines(self):
        domain = [("account_type_id", "in", self.types.ids)]
        lines = self.FunnelReport.with_context(crm_plus_funnel_read_lines=True)
        for groupby in (
            [],
            ["account_type_id"],
            ["account_type_id", "phase_id"],
            ["phase_id", "user_id"],
            ["user_id"],
            ["company_id", "funnel_state"],
        ):
            self.assertTrue(self.FunnelReport._totals_answer(domain, groupby, FUNNEL_MEASURES))
            totals = self.funnel_groups(self.FunnelReport, domain, groupby)
            self.assertEqual(set(totals), set(self.funnel_groups(lines, domain, groupby)))
            for key, values in self.funnel_groups(lines, domain, groupby).items():
                for measure, value in values.items():
                    self.assertAlmostEqual(totals[key][measure], value, msg=f"{groupby} {measure}")
        if hasattr(
            self.FunnelReport, "_read_grouping_sets"
        ):  # 19.0's pivot: one read, every level
            sets = [[], ["account_type_id"], ["account_type_id", "phase_id"]]
            self.assertEqual(
                self.FunnelReport._read_grouping_sets(domain, sets, FUNNEL_MEASURES),
                lines._read_grouping_sets(domain, sets, FUNNEL_MEASURES),
            )

    # ------------------------------------------------------------------ smaller figures

    def test_a_client_context_key_does_not_switch_to_the_totals(self):
        """A context is data from the client: the key that makes a read sum the totals is
        honoured only with the report's own marker, not with a value JSON can send."""
        plain = self.FunnelReport.with_user(self.user_sales)
        forged = plain.with_context(**{READ_TOTALS: True})
        fields = ["partner_id", "phase_id", "reached", "open_weighted_value"]
        domain = self.mine_domain()
        self.assertEqual(forged.search_read(domain, fields), plain.search_read(domain, fields))
        self.assertTrue(forged.search_read(domain, fields))
        self.assertEqual(
            forged._read_group(domain, ["phase_id"], ["reached:sum"]),
            plain._read_group(domain, ["phase_id"], ["reached:sum"]),
        )

    def view_arch(self, model, view_type):
        return etree.fromstring(model.get_views([(False, view_type)])["views"][view_type]["arch"])

    def test_calibration_lines_not_stacked_and_dated(self):
        graph = self.view_arch(self.CalibrationReport, "graph")
        self.assertIn(graph.get("stacked"), ("0", "False", "false"))
        self.CalibrationReport._refresh()
        action = self.CalibrationReport.action_open_report()
        # The web client titles a view with the action's display name.
        self.assertIn("as of", action["display_name"])
        self.assertEqual(action["display_name"], action["name"])

    def test_winloss_twelve_months_and_whole_counts(self):
        search = self.view_arch(self.WinlossReport, "search")
        [last_12] = search.xpath("//filter[@name='last_12_months']")
        for today, since in (
            (date(2026, 12, 5), "2026-01-01"),
            (date(2026, 1, 31), "2025-02-01"),
        ):
            domain = safe_eval(
                last_12.get("domain"),
                {"context_today": lambda today=today: today, "relativedelta": relativedelta},
            )
            self.assertEqual(domain, [("close_date", ">=", since)])
        graph = self.view_arch(self.WinlossReport, "graph")
        [measure] = graph.xpath("//field[@type='measure']")
        self.assertEqual(measure.get("widget"), "integer", "a count's axis shows no decimals")
        [(closed,)] = self.WinlossReport._read_group(self.mine_domain(), [], ["closed_count:sum"])
        self.assertIsInstance(closed, int)

    def test_lost_phase_badge_is_not_green(self):
        form = self.view_arch(self.Partner, "form")
        # The desktop list's badge, and the phone's cards' badge (funnel_line_ids has both).
        badges = form.xpath(
            "//field[@name='funnel_line_ids' or @name='funnel_closed_line_ids']"
            "//field[@name='state'][@widget='badge']"
        )
        self.assertGreaterEqual(len(badges), 2)
        for badge in badges:
            self.assertIn("close_outcome != 'lost'", badge.get("decoration-success"))
            self.assertEqual(badge.get("decoration-danger"), "close_outcome == 'lost'")
