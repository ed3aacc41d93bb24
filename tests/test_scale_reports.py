import math
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tools import SQL

from ..models.crm_plus_phase_stat import FULL_RECOUNT_DAYS
from ..models.funnel_guard import FUNNEL_OP
from ..report.funnel_report_totals import DIMENSIONS, mismatch_query
from .common import FUNNEL_MEASURES, CrmPlusCase


@tagged("post_install", "-at_install")
class TestNightlySuggestedScore(CrmPlusCase):
    """The nightly suggested-score run moves the stats by the contacts whose close left the
    window since the last count, and recounts the whole history weekly or when run twice a
    day; either way the stats are those a recount gives."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.params = cls.env["ir.config_parameter"].sudo()
        cls.params.set_param("crm_plus.suggestion_window_days", 730)
        cls.params.set_param("crm_plus.score_from_history", "False")
        cls.today = fields.Date.context_today(cls.Stat)

    def close_at(self, phase, reason, count, days_ago):
        partners = self.make_partners(count)
        if phase != self.phase_first:
            partners.write({"lead_phase_id": phase.id})
        partners.action_close(reason.id)
        partners.phase_line_ids.filtered("close_outcome").with_context(
            crm_plus_funnel_op=FUNNEL_OP
        ).write({"close_date": self.today - timedelta(days=days_ago)})
        return partners

    def snapshot(self):
        self.env.flush_all()
        return {
            (stat.company_id.id, stat.phase_id.id): (stat.reached_closed, stat.reached_won)
            for stat in self.Stat.search([("account_type_id", "=", self.lead_type.id)])
            if stat.reached_closed or stat.reached_won
        }

    def last_night(self, since, full=None):
        """The stats as the nightly run left them yesterday, counting closes from ``since``."""
        yesterday = self.today - timedelta(days=1)
        self.params.set_param("crm_plus.suggestion_window_days", (self.today - since).days)
        self.Stat._refresh()
        self.Stat._set_counted(yesterday, since, full=full or yesterday)

    def test_closes_leaving_the_window_move_the_stats(self):
        # Won from the closing phase 100 days ago, lost in qualification 99 and 50 days ago.
        self.close_at(self.phase_closing, self.reason_won, 10, 100)
        self.close_at(self.phase_qualif, self.reason_lost, 4, 99)
        self.close_at(self.phase_first, self.reason_lost, 12, 50)
        self.last_night(self.today - timedelta(days=100))
        self.assertEqual(self.snapshot()[(False, self.phase_first.id)], (26, 10))
        # Tonight the window starts a day later: the closes of 100 days ago leave it.
        self.params.set_param("crm_plus.suggestion_window_days", 99)
        self.Stat._cron_refresh()
        nightly = self.snapshot()
        self.assertEqual(nightly[(False, self.phase_first.id)], (16, 0))
        self.assertEqual(nightly[(False, self.phase_qualif.id)], (4, 0))
        self.assertNotIn((False, self.phase_closing.id), nightly)
        counted = self.Stat._get_counted()
        self.assertEqual(counted["on"], self.today)
        self.assertEqual(counted["since"], self.today - timedelta(days=99))
        # Moved by the contacts that left, not recounted: the last recount stays yesterday's.
        self.assertEqual(counted["full"], self.today - timedelta(days=1))
        self.Stat._refresh()
        self.assertEqual(self.snapshot(), nightly)
        # The suggestion follows: 1 / 18 on the first phase.
        self.assertEqual(self.make_partners().funnel_suggested_score, 6)

    def test_a_second_run_the_same_day_recounts(self):
        """Run by hand after an edit outside the funnel's actions, the cron counts it."""
        self.close_at(self.phase_first, self.reason_lost, 10, 10)
        self.Stat._cron_refresh()
        self.assertEqual(self.snapshot(), {(False, self.phase_first.id): (10, 0)})
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE crm_plus_phase_stat SET reached_closed = 3 WHERE phase_id = %s",
                self.phase_first.id,
            )
        )
        self.Stat.invalidate_model()
        self.Stat._cron_refresh()
        self.assertEqual(self.snapshot(), {(False, self.phase_first.id): (10, 0)})

    def test_weekly_recount_and_first_run(self):
        self.close_at(self.phase_first, self.reason_lost, 10, 10)
        week_ago = self.today - timedelta(days=FULL_RECOUNT_DAYS)
        self.last_night(self.today - timedelta(days=730), full=week_ago)
        self.env.cr.execute(
            SQL(
                "UPDATE crm_plus_phase_stat SET reached_closed = 3 WHERE phase_id = %s",
                self.phase_first.id,
            )
        )
        self.Stat.invalidate_model()
        self.params.set_param("crm_plus.suggestion_window_days", 730)
        self.Stat._cron_refresh()
        self.assertEqual(self.snapshot(), {(False, self.phase_first.id): (10, 0)})
        self.assertEqual(self.Stat._get_counted()["full"], self.today)
        # No count recorded (first run, or a type recounted alone on another day): recount.
        self.Stat._set_counted(None)
        self.assertFalse(self.Stat._get_counted())
        self.Stat._cron_refresh()
        self.assertEqual(self.Stat._get_counted()["full"], self.today)

    def test_a_larger_window_recounts(self):
        self.close_at(self.phase_first, self.reason_lost, 10, 60)
        self.last_night(self.today - timedelta(days=30))
        self.assertFalse(self.snapshot())
        self.params.set_param("crm_plus.suggestion_window_days", 90)
        self.Stat._cron_refresh()
        self.assertEqual(self.snapshot(), {(False, self.phase_first.id): (10, 0)})


@tagged("post_install", "-at_install")
class TestCalibrationReads(CrmPlusCase):
    """The calibration table's reads: ``# Closed`` summed as the pivot groups it equals the
    count of distinct closes, and each refresh leaves one compact table with its indexes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("crm_plus.score_from_history", "False")
        cls.Report = cls.env["crm.plus.calibration.report"]

    def close_at(self, phase, reason, count):
        partners = self.make_partners(count)
        if phase != self.phase_first:
            partners.write({"lead_phase_id": phase.id})
        partners.action_close(reason.id)
        self.closed |= partners
        return partners

    def setUp(self):
        super().setUp()
        self.closed = self.Partner

    def test_closed_count_equals_the_distinct_count(self):
        self.close_at(self.phase_closing, self.reason_won, 6)
        self.close_at(self.phase_first, self.reason_lost, 4)
        self.close_at(self.phase_qualif, self.reason_lost, 3)
        self.close_at(self.phase_proposal, self.reason_lost, 7)
        # Manual scores off the phases' defaults: bands of the two predictors split apart.
        lines = self.env["crm.plus.phase.line"].search(
            [("account_type_id", "=", self.lead_type.id), ("score", "!=", False)], limit=9
        )
        for score, line in zip((5, 35, 47, 55, 63, 71, 88, 95, 100), lines, strict=False):
            line.with_context(crm_plus_funnel_op=FUNNEL_OP).write({"score": score})
        self.Report._refresh()
        aggregates = ["closed_count:count_distinct", "won_percent:avg", "brier_score:avg"]
        # A term on the row id: counted the slow way, COUNT(DISTINCT).
        distinct = [("id", "!=", 0)]
        suggested = self.Report._read_group([("predictor", "=", "suggested")], [], ["__count"])[0][
            0
        ]
        self.assertTrue(suggested, "the history gives suggested scores")
        for groupby in (
            [],
            ["predictor"],
            ["account_type_id"],
            ["account_type_id", "band"],
            ["account_type_id", "band", "predictor"],
            ["band"],
            ["phase_id", "close_date:month"],
            ["score"],
        ):
            for domain in ([], [("predictor", "=", "manual")], [("band", "=", "30")]):
                self.assertEqual(
                    self.Report._read_group(domain, groupby, aggregates),
                    self.Report._read_group(domain + distinct, groupby, aggregates),
                    f"{groupby} {domain}",
                )
        # Through the web client's grouped read, as the pivot sends it (each close counted once
        # per phase it reached: 4 for a won close in the closing phase).
        mine = [("partner_id", "in", self.closed.ids)]
        if hasattr(self.Report, "formatted_read_group"):  # 19.0
            [total] = self.Report.formatted_read_group(mine, [], ["closed_count:count_distinct"])
            total = total["closed_count:count_distinct"]
        else:
            [total] = self.Report.read_group(mine, ["closed_count"], [], lazy=False)
            total = total["closed_count"]
        self.assertEqual(total, 6 * 4 + 4 * 1 + 3 * 2 + 7 * 3)

    def test_refresh_leaves_one_compact_table(self):
        partners = self.close_at(self.phase_qualif, self.reason_lost, 3)
        for _run in range(2):
            self.Report._refresh()
        self.env.cr.execute(
            """SELECT indexname FROM pg_indexes
                WHERE tablename = 'crm_plus_calibration_report' ORDER BY indexname"""
        )
        self.assertEqual(
            [name for (name,) in self.env.cr.fetchall()],
            ["crm_plus_calibration_report_partner_id_index", "crm_plus_calibration_report_pkey"],
        )
        self.env.cr.execute(
            "SELECT to_regclass('crm_plus_calibration_report_new'), n_dead_tup"
            "  FROM pg_stat_user_tables WHERE relname = 'crm_plus_calibration_report'"
        )
        self.assertEqual(self.env.cr.fetchone(), (None, 0))
        self.assertEqual(self.Report.search_count([("partner_id", "in", partners.ids)]), 3 * 2)
        # A deleted contact leaves the report.
        partners[0].phase_line_ids.with_context(crm_plus_funnel_op=FUNNEL_OP).unlink()
        partners[0].unlink()
        self.assertEqual(self.Report.search_count([("partner_id", "in", partners.ids)]), 2 * 2)


@tagged("post_install", "-at_install")
class TestReportGroupOrder(CrmPlusCase):
    """Grouped by phase or account type, the reports list the groups in the records' order
    (sequence, then id), read once per group rather than joined to every row."""

    def test_groups_in_phase_and_type_order(self):
        partners = self.make_partners(3) | self.make_partners(2, account_type=self.prospect_type)
        partners[:1].write({"lead_phase_id": self.phase_closing.id})
        partners[:2].action_close(self.reason_lost.id)
        mine = [("partner_id", "in", partners.ids)]
        Funnel = self.env["crm.plus.funnel.report"]
        phases = (self.lead_type | self.prospect_type).phase_ids

        def groups(model, groupby, order):
            # The last group of each row.
            return [row[-1].id for row in model._read_group(mine, groupby, [], order=order)]

        self.assertEqual(groups(Funnel, ["phase_id"], "phase_id"), phases.sorted().ids)
        self.assertEqual(
            groups(Funnel, ["phase_id"], "phase_id desc"), phases.sorted(reverse=True).ids
        )
        # The phase's own sequence, not its lines' copy of it (swapped under the ORM, whose
        # write would move the lines' too).
        qualif, proposal = self.phase_qualif, self.phase_proposal
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE crm_plus_lead_phase SET sequence = %s WHERE id = %s",
                proposal.sequence,
                qualif.id,
            )
        )
        self.env.cr.execute(
            SQL(
                "UPDATE crm_plus_lead_phase SET sequence = %s WHERE id = %s",
                qualif.sequence - 1,
                proposal.id,
            )
        )
        self.env.invalidate_all()
        ordered = groups(Funnel, ["phase_id"], "phase_id")
        self.assertLess(ordered.index(proposal.id), ordered.index(qualif.id))
        types = self.lead_type | self.prospect_type
        self.assertEqual(
            groups(Funnel, ["account_type_id"], "account_type_id"), types.sorted().ids
        )
        self.prospect_type.sequence = self.lead_type.sequence - 1
        self.env.flush_all()
        self.assertEqual(
            groups(Funnel, ["account_type_id"], "account_type_id"),
            [self.prospect_type.id, self.lead_type.id],
        )
        # As the web client asks (the order of its groupby), through the other reports too.
        Winloss = self.env["crm.plus.winloss.report"]
        self.assertEqual(
            groups(Winloss, ["close_reason_id"], "close_reason_id"), self.reason_lost.ids
        )
        # The web client's grouped read.
        if hasattr(Funnel, "formatted_read_group"):  # 19.0
            web = Funnel.formatted_read_group(mine, ["account_type_id", "phase_id"], ["__count"])
        else:
            web = Funnel.read_group(mine, ["reached"], ["account_type_id", "phase_id"], lazy=False)
        self.assertEqual(
            [group["account_type_id"][0] for group in web][:1], [self.prospect_type.id]
        )
        self.assertEqual(
            [group["phase_id"][0] for group in web],
            groups(Funnel, ["account_type_id", "phase_id"], "account_type_id, phase_id"),
        )
        Forecast = self.env["crm.plus.forecast.report"]
        open_phases = partners[2:].lead_phase_id
        self.assertEqual(
            groups(Forecast, ["lead_phase_id"], "lead_phase_id desc"),
            open_phases.sorted(reverse=True).ids,
        )


@tagged("post_install", "-at_install")
class TestFunnelAnalysisTotals(CrmPlusCase):
    """The funnel analysis's grouped reads sum totals that the funnel's ORM write paths keep:
    after every kind of write they equal the same reads over the phase lines, folded or not."""

    AGGREGATES = [
        *FUNNEL_MEASURES,
        "days_in_phase:avg",
        "score:avg",
        "forecast_value:sum",
        "weighted_value:sum",
        "recurring_value_monthly:sum",
    ]
    GROUPINGS = [
        [],
        ["account_type_id"],
        ["account_type_id", "phase_id"],
        ["phase_id", "user_id"],
        ["funnel_state", "state"],
        ["close_outcome", "close_reason_id", "company_id", "phase_type", "is_active_funnel"],
    ]
    DOMAINS = [
        [],
        [("is_active_funnel", "=", True)],
        [("funnel_state", "=", "open"), ("state", "in", ("done", "current"))],
    ]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Report = cls.env["crm.plus.funnel.report"]

    def grouped(self, report, domain, groupby):
        return report._read_group(domain, groupby, self.AGGREGATES)

    def assertRowsEqual(self, totals, lines, label):
        """Equal rows; floats equal to 1e-9 relative: an average of day fractions summed in
        another order differs in its last bits (rounding both to 6 places could split them)."""
        self.assertEqual(len(totals), len(lines), label)
        for total_row, line_row in zip(totals, lines, strict=True):
            self.assertEqual(len(total_row), len(line_row), label)
            for total, line in zip(total_row, line_row, strict=True):
                if isinstance(total, float) or isinstance(line, float):
                    self.assertTrue(
                        math.isclose(total or 0.0, line or 0.0, rel_tol=1e-9, abs_tol=1e-9),
                        f"{label}: {total_row} != {line_row}",
                    )
                else:
                    self.assertEqual(total, line, f"{label}: {total_row} != {line_row}")

    def assertTotalsEqualLines(self, report=None, label=""):
        report = report or self.Report
        self.env.flush_all()
        lines = report.with_context(crm_plus_funnel_read_lines=True)
        for domain in self.DOMAINS:
            mine = [*domain, ("account_type_id", "in", self.mine.ids)]
            for groupby in self.GROUPINGS:
                self.assertTrue(report._totals_answer(mine, groupby, self.AGGREGATES))
                self.assertRowsEqual(
                    self.grouped(report, mine, groupby),
                    self.grouped(lines, mine, groupby),
                    f"{label}: {groupby} {domain}",
                )
            if hasattr(report, "_read_grouping_sets"):  # 19.0's pivot: one read, every level
                sets = [[], ["account_type_id"], ["account_type_id", "phase_id"]]
                for totals, by_lines in zip(
                    report._read_grouping_sets(mine, sets, self.AGGREGATES),
                    lines._read_grouping_sets(mine, sets, self.AGGREGATES),
                    strict=True,
                ):
                    self.assertRowsEqual(totals, by_lines, f"{label}: grouping sets {domain}")

    def setUp(self):
        super().setUp()
        self.mine = self.lead_type | self.prospect_type | self.customer_type

    def test_totals_follow_every_write(self):
        Report = self.Report
        leads = self.make_partners(6, user_id=self.user_sales.id)
        prospects = self.make_partners(3, account_type=self.prospect_type)
        self.assertTotalsEqualLines(label="created")
        leads[:4].action_advance_phase()
        leads[:2].action_advance_phase()
        leads[4].write({"lead_phase_id": self.phase_closing.id})
        self.assertTotalsEqualLines(label="advanced and moved")
        leads[4].action_close(self.reason_won.id)  # becomes a customer: history lines
        leads[5].action_close(self.reason_lost.id)
        prospects[0].action_close(self.reason_lost.id)
        self.assertTotalsEqualLines(label="closed")
        leads[5].action_reopen()
        self.assertTotalsEqualLines(label="reopened")
        # Archived contacts count nowhere, in the totals as in the lines; restored, again.
        (leads[1] | prospects[0]).action_archive()
        self.assertTotalsEqualLines(label="archived")
        [(deals,)] = Report._read_group(
            [("account_type_id", "in", self.mine.ids)], [], ["deal_count:sum"]
        )
        self.assertEqual(deals, 9 - 2)
        (leads[1] | prospects[0]).action_unarchive()
        self.assertTotalsEqualLines(label="unarchived")
        # Outside the funnel's actions: the salesperson, a figure on the form, the company.
        prospects.write({"user_id": self.user_manager.id})
        leads[0].funnel_line_ids.filtered(lambda line: line.state == "current").write(
            {"forecast_value": 1234.5, "score": 45}
        )
        self.assertTotalsEqualLines(label="edited")
        self.assertGreater(Report._cron_fold_totals(), 0)
        self.assertTotalsEqualLines(label="folded")
        # Folded: one row per group.
        self.env.cr.execute(
            f"SELECT count(*) FROM crm_plus_funnel_total GROUP BY {', '.join(DIMENSIONS)}"
            " HAVING count(*) > 1"
        )
        self.assertEqual(self.env.cr.fetchall(), [])
        # A contact deleted, a type removed from a contact.
        prospects[1].unlink()
        leads[3].write({"account_type_id": False})
        self.assertTotalsEqualLines(label="deleted, untyped")
        Report._cron_fold_totals()
        self.assertTotalsEqualLines(label="folded again")
        # Lines written in SQL: no ORM path sees them, the daily recount does.
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE crm_plus_phase_line SET score = 77 WHERE partner_id = %s",
                leads[1].id,
            )
        )
        self.env.invalidate_all()
        Report._cron_recount_totals()
        self.assertTotalsEqualLines(label="SQL, recounted")
        # As a salesperson, under the multi-company record rule.
        self.assertTotalsEqualLines(Report.with_user(self.user_sales), label="salesperson")
        # The whole database's totals, the demo's and other tests' contacts included.
        self.env.flush_all()
        self.env.cr.execute(mismatch_query())
        self.assertEqual(self.env.cr.fetchall(), [])

    def test_reads_that_the_totals_answer(self):
        pivot = ["account_type_id", "phase_id"]
        measures = ["reached:sum", "reached_percent:avg", "days_in_phase:avg", "__count"]
        current = [("is_active_funnel", "=", True)]
        self.assertTrue(self.Report._totals_answer(current, pivot, measures))
        # What the totals do not hold reads the lines: a partner, a date, distinct partners.
        for domain, groupby, aggregates in (
            ([("partner_id", "=", 1)], pivot, measures),
            ([], ["date_start:month"], measures),
            ([], ["partner_id"], measures),
            ([], pivot, ["partner_count:count_distinct"]),
            ([], pivot, ["score:max"]),
        ):
            self.assertFalse(self.Report._totals_answer(domain, groupby, aggregates))
        # The read goes to the totals: a total changed by hand shows, until the recount.
        partners = self.make_partners(3)
        partners[0].action_advance_phase()
        self.env.flush_all()
        self.Report._cron_fold_totals()
        domain = [("account_type_id", "=", self.lead_type.id)]
        # Per phase, the deals that reached it: 3 in the first phase, 1 in the second.
        measure = ["phase_id", "=", self.phase_first.id]
        [(reached,)] = self.Report._read_group([*domain, measure], [], ["reached:sum"])
        self.assertEqual(reached, 3)
        self.env.cr.execute(
            SQL(
                """UPDATE crm_plus_funnel_total SET reached = reached + 1000
                    WHERE ctid = (SELECT ctid FROM crm_plus_funnel_total
                                   WHERE phase_id = %s AND partner_active LIMIT 1)""",
                self.phase_first.id,
            )
        )
        [(reached,)] = self.Report._read_group([*domain, measure], [], ["reached:sum"])
        self.assertEqual(reached, 1003)
        self.Report._cron_recount_totals()
        [(reached,)] = self.Report._read_group([*domain, measure], [], ["reached:sum"])
        self.assertEqual(reached, 3)
        # Grouped by partner, the same read sums the lines: a partner's deal reached its
        # funnel once.
        per_partner = self.Report._read_group(domain, ["partner_id"], ["reached:sum"])
        self.assertEqual(sum(reached for _partner, reached in per_partner), 3)
