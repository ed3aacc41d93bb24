from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL, format_datetime
from odoo.tools.sql import index_exists

from ..models.crm_plus_phase_stat import baseline_score
from ..models.funnel_guard import FUNNEL_OP
from ..report.crm_plus_calibration_report import REFRESHED_AT
from .common import CrmPlusCase


@tagged("post_install", "-at_install")
class TestSuggestedScore(CrmPlusCase):
    """The suggested score: the win rate of the closed contacts of the same company and
    account type whose funnel reached the phase, (won + 1) / (closed + 2)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The suite's own funnel and history only.
        cls.env["ir.config_parameter"].sudo().set_param("crm_plus.suggestion_window_days", 730)
        cls.env["ir.config_parameter"].sudo().set_param("crm_plus.score_from_history", "False")

    def close_at(self, phase, reason, count, **vals):
        partners = self.make_partners(count, **vals)
        if phase != self.phase_first:
            partners.write({"lead_phase_id": phase.id})
        partners.action_close(reason.id)
        return partners

    def build_history(self, **vals):
        """20 closed leads: 6 won; lost 4 in first contact, 3 in qualification, 2 in proposal,
        5 in closing. Reached: first 20 (6 won), qualification 16, proposal 13, closing 11."""
        self.close_at(self.phase_closing, self.reason_won, 6, **vals)
        self.close_at(self.phase_first, self.reason_lost, 4, **vals)
        self.close_at(self.phase_qualif, self.reason_lost, 3, **vals)
        self.close_at(self.phase_proposal, self.reason_lost, 2, **vals)
        self.close_at(self.phase_closing, self.reason_lost, 5, **vals)

    def stat(self, phase, company=None):
        return self.Stat.search(
            [("phase_id", "=", phase.id), ("company_id", "=", company.id if company else False)]
        )

    def suggestions(self, company=None):
        return {
            phase: (stat.reached_closed, stat.reached_won, stat.suggested_score)
            for phase in self.lead_type.phase_ids
            for stat in self.stat(phase, company)
        }

    def test_baseline_rule(self):
        self.assertIsNone(baseline_score(9, 9))
        self.assertEqual(baseline_score(5, 10), 50)
        self.assertEqual(baseline_score(0, 10), 8)  # 100 / 12 = 8.33
        self.assertEqual(baseline_score(10, 10), 92)  # 1100 / 12 = 91.67
        self.assertEqual(baseline_score(2, 38), 8)  # 300 / 40 = 7.5: halves go up
        self.assertEqual(baseline_score(0, 998), 1)  # 0.1, kept within 1–100

    def test_exact_numbers_on_constructed_history(self):
        self.build_history()
        self.assertEqual(
            self.suggestions(),
            {
                self.phase_first: (20, 6, 32),  # 700 / 22 = 31.8
                self.phase_qualif: (16, 6, 39),  # 700 / 18 = 38.9
                self.phase_proposal: (13, 6, 47),  # 700 / 15 = 46.7
                self.phase_closing: (11, 6, 54),  # 700 / 13 = 53.8
            },
        )
        open_partner = self.make_partners()
        open_partner.write({"lead_phase_id": self.phase_qualif.id})
        self.assertEqual(open_partner.funnel_suggested_score, 39)
        self.assertEqual(open_partner.funnel_suggested_sample, 16)
        self.assertEqual(open_partner.funnel_suggestion_label, "39 % of 16 closed")
        lines = {line.phase_id: line for line in open_partner.funnel_line_ids}
        self.assertEqual(lines[self.phase_qualif].suggested_score, 39)
        self.assertEqual(lines[self.phase_qualif].suggested_sample, 16)
        self.assertEqual(lines[self.phase_proposal].suggested_score, 47)
        # A phase behind the contact: nothing to suggest there.
        self.assertFalse(lines[self.phase_first].suggested_score)

        # Filterable and groupable in the contacts list.
        self.assertEqual(
            self.Partner.search(
                [("id", "=", open_partner.id), ("funnel_suggested_score", ">=", 39)]
            ),
            open_partner,
        )
        self.assertFalse(
            self.Partner.search(
                [("id", "=", open_partner.id), ("funnel_suggested_score", ">", 39)]
            )
        )
        self.assertFalse(
            self.Partner.search(
                [("id", "=", open_partner.id), ("funnel_suggested_score", "=", False)]
            )
        )
        other = self.make_partners(2)
        groups = dict(
            self.Partner._read_group(
                [("id", "in", (open_partner | other).ids)],
                ["funnel_suggested_score"],
                ["__count"],
            )
        )
        self.assertEqual(groups, {39: 1, 32: 2})

    def test_use_suggested_score_and_score_from_history(self):
        self.build_history()
        partner = self.make_partners()
        line = partner.funnel_line_ids.filtered(lambda ln: ln.state == "current")
        self.assertEqual(line.score, self.phase_first.default_score)
        line.with_user(self.user_sales).action_use_suggested_score()
        self.assertEqual(line.score, 32)
        self.assertEqual(partner.funnel_score, 32)

        self.env["ir.config_parameter"].sudo().set_param("crm_plus.score_from_history", "True")
        new = self.make_partners()
        scores = {line.phase_id: line.score for line in new.funnel_line_ids}
        self.assertEqual(scores[self.phase_first], 32)
        self.assertEqual(scores[self.phase_closing], 54)
        # Without enough history, the phase's default score.
        prospect = self.make_partners(account_type=self.prospect_type)
        self.assertEqual(
            sorted(prospect.funnel_line_ids.mapped("score")), sorted([20, 80]), "default scores"
        )
        with self.assertRaisesRegex(UserError, "fewer than 10 closed"):
            prospect.funnel_line_ids[:1].action_use_suggested_score()

    def test_threshold_of_ten_closed_contacts(self):
        self.close_at(self.phase_first, self.reason_lost, 9)
        partner = self.make_partners()
        self.assertEqual(self.stat(self.phase_first).reached_closed, 9)
        self.assertFalse(self.stat(self.phase_first).suggested_score)
        self.assertFalse(partner.funnel_suggested_score)
        self.assertEqual(
            self.Partner.search([("id", "=", partner.id), ("funnel_suggested_score", "=", False)]),
            partner,
        )
        self.close_at(self.phase_first, self.reason_lost, 1)
        partner.invalidate_recordset()
        self.assertEqual(partner.funnel_suggested_score, 8)  # 1 / 12
        self.assertEqual(partner.funnel_suggested_sample, 10)

    def test_window_of_730_days(self):
        old = self.make_partners(10)
        old.write({"lead_phase_id": self.phase_closing.id})
        old.action_close(self.reason_won.id)
        self.close_at(self.phase_first, self.reason_lost, 10)
        self.assertEqual(self.suggestions()[self.phase_first], (20, 10, 50))
        today = fields.Date.context_today(self.Partner)
        lines = old.phase_line_ids.filtered("close_outcome").with_context(
            crm_plus_funnel_op=FUNNEL_OP
        )
        lines[:5].write({"close_date": today - timedelta(days=731)})
        lines[5:].write({"close_date": today - timedelta(days=730)})
        self.Stat._cron_refresh()
        # 731 days ago left the window, 730 days ago is still in.
        self.assertEqual(self.suggestions()[self.phase_first], (15, 5, 35))
        self.assertEqual(self.stat(self.phase_closing).reached_closed, 5)
        self.assertFalse(self.stat(self.phase_closing).suggested_score)
        settings = self.env["res.config.settings"].create(
            {"crm_plus_suggestion_window_days": 1000}
        )
        settings.execute()
        self.assertEqual(self.suggestions()[self.phase_first], (20, 10, 50))

    def test_reopen_and_reclose_count_once(self):
        partners = self.close_at(self.phase_first, self.reason_lost, 10)
        self.assertEqual(self.suggestions()[self.phase_first], (10, 0, 8))
        partner = partners[0]
        partner.action_reopen()
        # Reopened: its close no longer counts while it is open.
        self.assertEqual(self.stat(self.phase_first).reached_closed, 9)
        self.assertEqual(partner.funnel_suggested_score, 0)
        partner.action_close(self.reason_lost.id)
        self.assertEqual(self.suggestions()[self.phase_first], (10, 0, 8))
        # Reopened and won from the closing phase: its last close, once, in every phase.
        partner.action_reopen()
        partner.write({"lead_phase_id": self.phase_closing.id})
        partner.action_close(self.reason_won.id)
        self.assertEqual(self.suggestions()[self.phase_first], (10, 1, 17))
        self.assertEqual(self.stat(self.phase_closing).reached_closed, 1)
        # Each reopen took its close off the line: only the last one is recorded.
        self.assertEqual(
            partner.phase_line_ids.filtered("close_outcome").phase_id, self.phase_closing
        )

    def snapshot(self):
        return {
            (stat.company_id.id, stat.phase_id.id): (stat.reached_closed, stat.reached_won)
            for stat in self.Stat.search([("account_type_id", "=", self.lead_type.id)])
            if stat.reached_closed or stat.reached_won
        }

    def test_incremental_stats_equal_a_full_recount(self):
        """Closes, reopens and won type switches move the stats by each contact's own
        contribution; the nightly recount then finds nothing to change."""
        self.env["ir.config_parameter"].sudo().set_param("crm_plus.won_switches_type", "True")
        self.lead_type.won_account_type_id = self.customer_type
        self.build_history()
        won, lost = self.make_partners(2)
        (won | lost).write({"lead_phase_id": self.phase_closing.id})
        won.action_close(self.reason_won.id)
        self.assertEqual(won.account_type_id, self.customer_type, "the won close switched type")
        lost.action_close(self.reason_lost.id)
        lost.action_reopen()
        won.action_reopen()
        won.action_close(self.reason_lost.id)
        incremental = self.snapshot()
        self.assertEqual(incremental[(False, self.phase_first.id)], (21, 6))
        self.Stat._refresh()
        self.assertEqual(self.snapshot(), incremental)

    def test_close_costs_the_contact_not_the_history(self):
        """The queries of one close do not grow with the closes before it (the stats move by
        the contact's own lines, as crm.lead.scoring.frequency does)."""

        def count_close_queries():
            partner = self.make_partners()
            partner.write({"lead_phase_id": self.phase_proposal.id})
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            partner.action_close(self.reason_lost.id)
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        self.close_at(self.phase_qualif, self.reason_lost, 12)
        count_close_queries()  # warm the caches the first close fills
        few = count_close_queries()
        self.close_at(self.phase_closing, self.reason_won, 40)
        many = count_close_queries()
        self.assertEqual(few, many)
        # And the close did what the recount would.
        counted = self.snapshot()
        self.Stat._refresh()
        self.assertEqual(self.snapshot(), counted)

    def test_one_company_history_never_scores_another(self):
        company_b = self.env["res.company"].create({"name": "T-Company B"})
        company_a = self.company
        self.build_history(company_id=company_b.id)
        self.assertEqual(self.suggestions(company_b)[self.phase_first], (20, 6, 32))
        self.assertFalse(self.suggestions(company_a))
        self.assertFalse(self.suggestions())
        in_a = self.make_partners(company_id=company_a.id)
        shared = self.make_partners()
        in_b = self.make_partners(company_id=company_b.id)
        self.assertFalse(in_a.funnel_suggested_score)
        self.assertFalse(shared.funnel_suggested_score)
        self.assertEqual(in_b.funnel_suggested_score, 32)
        self.assertEqual(
            self.Partner.search(
                [("id", "in", (in_a | shared | in_b).ids), ("funnel_suggested_score", "!=", False)]
            ),
            in_b,
        )
        self.env["ir.config_parameter"].sudo().set_param("crm_plus.score_from_history", "True")
        self.assertEqual(
            self.make_partners(company_id=company_a.id).funnel_score,
            self.phase_first.default_score,
        )
        self.assertEqual(self.make_partners(company_id=company_b.id).funnel_score, 32)
        # Company A's own history scores company A's contacts only.
        self.close_at(self.phase_first, self.reason_lost, 10, company_id=company_a.id)
        in_a.invalidate_recordset()
        in_b.invalidate_recordset()
        self.assertEqual(in_a.funnel_suggested_score, 8)
        self.assertEqual(in_b.funnel_suggested_score, 32)
        self.assertEqual(self.suggestions(company_b)[self.phase_first], (20, 6, 32))

    def test_calibration_report(self):
        self.build_history()
        report = self.env["crm.plus.calibration.report"]
        report._refresh()
        mine = [("partner_id.name", "like", "T-Partner")]
        rows = dict(
            report._read_group(
                [*mine, ("predictor", "=", "suggested")], ["band"], ["closed_count:count_distinct"]
            )
        )
        # One row per closed contact and phase reached: 20 + 16 + 13 + 11 suggestions.
        self.assertEqual(rows, {"30": 20 + 16, "40": 13, "50": 11})
        by_band = {
            band: (count, won, round(brier, 4))
            for band, count, won, brier in report._read_group(
                [*mine, ("predictor", "=", "manual")],
                ["band"],
                ["closed_count:count_distinct", "won_percent:avg", "brier_score:avg"],
            )
        }
        # Manual scores are the phases' defaults: 10, 30, 60, 90.
        self.assertEqual(by_band["10"][0], 20)
        self.assertAlmostEqual(by_band["10"][1], 30.0)
        # (0.1 − 1)² for the 6 won, (0.1)² for the 14 lost.
        self.assertAlmostEqual(by_band["10"][2], round((6 * 0.81 + 14 * 0.01) / 20, 4))
        self.assertEqual(by_band["90"][0], 11)
        self.assertAlmostEqual(by_band["90"][2], round((6 * 0.01 + 5 * 0.81) / 11, 4))
        # The pivot's Total across the two predictors counts each close once, not twice.
        [(total, rows_count)] = report._read_group(
            mine, [], ["closed_count:count_distinct", "__count"]
        )
        manual = sum(count for count, _won, _brier in by_band.values())
        self.assertEqual(rows_count, manual + 20 + 16 + 13 + 11)
        self.assertEqual(total, manual)

    def calibration_rows(self, query):
        self.env.cr.execute(
            SQL(
                """SELECT id, predictor, band, partner_id, active, account_type_id, phase_id,
                          user_id,
                          company_id, close_date, close_outcome, score, closed_count,
                          round(won_percent, 6), round(brier_score, 6)
                     FROM (%s) AS q ORDER BY id""",
                query,
            )
        )
        return self.env.cr.fetchall()

    def test_calibration_table_is_the_live_computation_after_refresh(self):
        report = self.env["crm.plus.calibration.report"]
        live = report._query()
        table = SQL("SELECT * FROM crm_plus_calibration_report")
        self.build_history()
        # A contact closed, reopened and closed again counts by its last close only.
        again = self.close_at(self.phase_qualif, self.reason_lost, 1)
        again.action_reopen()
        again.write({"lead_phase_id": self.phase_proposal.id})
        again.action_close(self.reason_lost.id)
        report._refresh()
        expected = self.calibration_rows(live)
        self.assertGreater(len(expected), 2 * 60)
        self.assertEqual(self.calibration_rows(table), expected)
        refreshed = self.env["ir.config_parameter"].sudo().get_param(REFRESHED_AT)
        self.assertTrue(refreshed)
        self.assertIn(
            format_datetime(self.env, fields.Datetime.from_string(refreshed)),
            report.action_open_report()["name"],
        )
        # The menu's action opens it for a salesperson, who cannot write on the report.
        opened = (
            self.env.ref("crm_plus.crm_plus_calibration_report_action_server")
            .with_user(self.user_sales)
            .run()
        )
        self.assertEqual(opened["res_model"], "crm.plus.calibration.report")
        self.assertIn("Score Calibration (as of ", opened["name"])
        # Closes after the refresh wait for the next one (the title says when it ran), which
        # takes them, and a reopen, in.
        self.close_at(self.phase_closing, self.reason_won, 2)
        again.action_reopen()
        self.assertNotEqual(self.calibration_rows(live), expected)
        self.assertEqual(self.calibration_rows(table), expected)
        # The cron's own code, in this transaction (the scheduler's cursor would wait on it).
        cron = self.env.ref("crm_plus.crm_plus_calibration_report_cron_refresh")
        self.assertTrue(cron.active)
        cron.ir_actions_server_id.run()
        self.assertEqual(self.calibration_rows(table), self.calibration_rows(live))
        self.assertNotEqual(self.calibration_rows(table), expected)
        # Through the ORM, as the pivot reads it.
        [(count,)] = report._read_group([("partner_id", "=", again.id)], [], ["__count"])
        self.assertEqual(count, 0)

    def test_last_close_index_serves_the_history_reads(self):
        self.assertTrue(index_exists(self.env.cr, "crm_plus_phase_line_last_close_idx"))
        self.build_history()
        self.env.flush_all()
        # Usable by the DISTINCT ON of the stats (the planner picks it on a large history;
        # on this small one, only with sequential scans off).
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        self.env.cr.execute("SET LOCAL enable_sort = off")
        self.env.cr.execute(
            """EXPLAIN SELECT DISTINCT ON (l.partner_id, l.account_type_id) l.id
                 FROM crm_plus_phase_line AS l
                WHERE l.close_outcome IS NOT NULL AND l.account_type_id IS NOT NULL
                ORDER BY l.partner_id, l.account_type_id, l.close_date DESC,
                         l.date_done DESC NULLS LAST, l.id DESC"""
        )
        plan = "\n".join(row[0] for row in self.env.cr.fetchall())
        self.env.cr.execute("RESET enable_seqscan")
        self.env.cr.execute("RESET enable_sort")
        self.assertIn("crm_plus_phase_line_last_close_idx", plan)
        self.assertNotIn("Sort", plan)


@tagged("post_install", "-at_install")
class TestLearnedDaysGiveWay(TransactionCase):
    """Alone in its class, with cursors of its own: the scheduled action's transaction must
    begin before another one commits a write of the same row."""

    def test_learned_days_give_way_to_a_concurrent_close(self):
        """A user's close writes a statistics row while the learned days' daily job recounts
        it: the job gives way, its work undone, and runs again a minute later; no error."""
        with self.registry.cursor() as setup:
            setup.execute("SELECT id, close_days FROM crm_plus_phase_stat ORDER BY id LIMIT 1")
            stat_id, close_days = setup.fetchone() or (None, None)
            self.assertTrue(stat_id, "the demo data has suggested-score statistics")
            # Days the recount corrects, committed before the job begins.
            setup.execute(
                "UPDATE crm_plus_phase_stat SET close_days = %s WHERE id = %s",
                [close_days + 1000, stat_id],
            )
            setup.commit()
        try:
            with self.registry.cursor() as job_cr:
                job = api.Environment(job_cr, SUPERUSER_ID, {})
                cron = job.ref("crm_plus.crm_plus_phase_stat_cron_close_days")
                triggers = job["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
                # The close, in another transaction, commits a write of the same row.
                with self.registry.cursor() as close_cr:
                    close_cr.execute(
                        "UPDATE crm_plus_phase_stat SET reached_closed = reached_closed"
                        " WHERE id = %s",
                        [stat_id],
                    )
                    close_cr.commit()
                # Given way quietly: the failed UPDATE is not logged as an error.
                with self.assertNoLogs("odoo.sql_db", level="ERROR"):
                    self.assertIs(job["crm.plus.phase.stat"]._cron_learn_close_days(), False)
                self.assertEqual(
                    job["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
                    triggers + 1,
                )
                job_cr.rollback()
            # Once the close has committed, the job's next run learns the days.
            with self.registry.cursor() as job_cr:
                job = api.Environment(job_cr, SUPERUSER_ID, {})
                self.assertIs(job["crm.plus.phase.stat"]._cron_learn_close_days(), True)
                job_cr.execute(
                    "SELECT close_days FROM crm_plus_phase_stat WHERE id = %s", [stat_id]
                )
                self.assertEqual(job_cr.fetchone()[0], close_days)
                job_cr.rollback()
        finally:  # the database as it was, for the other tests
            with self.registry.cursor() as restore:
                restore.execute(
                    "UPDATE crm_plus_phase_stat SET close_days = %s WHERE id = %s",
                    [close_days, stat_id],
                )
                restore.commit()
