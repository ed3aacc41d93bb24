"""Time in phase (issue 31 item 4) and the learned expected close date (item 5): the contact's
days in phase, the reports' averages and medians per phase and cycle lengths per type and
salesperson against a recount in Python, the learned date, its override, and Forecast."""

from collections import defaultdict
from datetime import datetime, timedelta
from statistics import median

from odoo import fields
from odoo.addons.crm_plus.models.funnel_guard import FUNNEL_OP

from ..compat import AT_LEAST_19, grouped_rows
from .common import CrmPlusCase


class TestTimeInPhase(CrmPlusCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.cr.execute("SELECT NOW() AT TIME ZONE 'UTC'")
        cls.now = cls.env.cr.fetchone()[0]
        cls.today = cls.now.date()

    # ------------------------------------------------------------------ helpers

    def set_line(self, line, **values):
        line.with_context(crm_plus_funnel_op=FUNNEL_OP).write(values)

    def won_history(self, count, user=None, first_days=None):
        """``count`` contacts of the lead type won from the closing phase, each phase timed:
        contact i entered the first phase ``first_days[i]`` days before its close (closed
        ``i`` days ago), then 1 day per later phase. Returns them."""
        partners = self.make_partners(count, user_id=(user or self.user_sales).id)
        for _step in range(3):
            partners.action_advance_phase()
        partners.action_close(self.reason_won.id)
        first_days = first_days or [10 + 3 * i for i in range(count)]
        for index, partner in enumerate(partners):
            close_date = self.today - timedelta(days=index)
            close_at = datetime.combine(close_date, datetime.min.time()) + timedelta(hours=12)
            start = close_at - timedelta(days=first_days[index])
            lines = partner.phase_line_ids.sorted("sequence")
            last = len(lines) - 1
            for position, line in enumerate(lines):
                # The first phase from ``start``, each later one a day, up to the close.
                begin = start if position == 0 else close_at - timedelta(days=last + 1 - position)
                end = close_at - timedelta(days=last - position)
                values = {"date_start": begin, "date_done": end}
                if line.close_outcome:
                    values["close_date"] = close_date
                self.set_line(line, **values)
        self.env.flush_all()
        return partners

    # ------------------------------------------------------------------ days on the contact

    def test_days_in_phase_on_the_contact(self):
        partner = self.make_partners()
        current = partner.phase_line_ids.filtered(lambda line: line.state == "current")
        # 01:00 on the user's calendar day twelve days ago: 12 days at any time of day
        # (now minus 12 days would be 13 calendar days shortly after the user's midnight).
        twelve_days_ago = partner._funnel_stale_cutoff() - timedelta(days=12) + timedelta(hours=1)
        self.set_line(current, date_start=twelve_days_ago)
        partner.invalidate_recordset()
        self.assertEqual(partner.funnel_days_in_phase, 12)
        self.assertEqual(partner.funnel_days_in_phase_label, "12 days in phase")
        # Days as the user counts them: a phase entered a minute before midnight, in the
        # user's timezone, is a day old a minute after it.
        for tz in ("Pacific/Auckland", "America/Los_Angeles"):
            local = partner.with_context(tz=tz)
            midnight = local._funnel_stale_cutoff()  # today's midnight there, in UTC
            self.set_line(current, date_start=midnight - timedelta(minutes=1))
            local.invalidate_recordset()
            self.assertEqual(local.funnel_days_in_phase, 1, tz)
            self.assertEqual(local.funnel_days_in_phase_label, "1 day in phase", tz)
            self.set_line(current, date_start=midnight + timedelta(minutes=1))
            local.invalidate_recordset()
            if midnight + timedelta(minutes=1) <= self.now:
                self.assertEqual(local.funnel_days_in_phase, 0, tz)
        # Closed: no time in phase.
        partner.action_close(self.reason_lost.id)
        self.assertFalse(partner.funnel_days_in_phase)
        self.assertFalse(partner.funnel_days_in_phase_label)

    # ------------------------------------------------------------------ the reports

    def test_funnel_report_average_and_median_per_phase(self):
        won = self.won_history(7, first_days=[3, 4, 8, 20, 21, 40, 41])
        open_partners = self.make_partners(3)
        for index, partner in enumerate(open_partners):
            current = partner.phase_line_ids.filtered(lambda line: line.state == "current")
            self.set_line(current, date_start=self.now - timedelta(days=2 + 5 * index))
        self.env.flush_all()
        self.env.cr.execute("SELECT NOW() AT TIME ZONE 'UTC'")
        now = self.env.cr.fetchone()[0]
        # The average over the exact days, the median over whole days: the calendar days
        # (UTC) from the start to the completion, or to today.
        days, whole = defaultdict(list), defaultdict(list)
        for line in (won | open_partners).phase_line_ids:
            if not line.date_start or line.state == "todo":
                continue
            end = line.date_done or (now if line.state == "current" else None)
            if end:
                days[line.phase_id.id].append((end - line.date_start).total_seconds() / 86400)
                whole[line.phase_id.id].append((end.date() - line.date_start.date()).days)
        specs = ["days_in_phase:avg", "days_in_phase_median:avg"]
        # Grouped on the totals' columns only: the totals answer the average, the days in
        # phase the median, never the lines.
        domain = [("account_type_id", "=", self.lead_type.id)]
        self.assertTrue(self.FunnelReport._totals_answer(domain, ["phase_id"], specs[:1]))
        self.assertFalse(self.FunnelReport._totals_answer(domain, ["phase_id"], specs))
        self.assertTrue(self.FunnelReport._medians_answer(domain, [["phase_id"]], specs))
        rows = self.FunnelReport._read_group(domain, ["phase_id"], specs)
        self.assertEqual({phase.id for phase, _avg, _median in rows}, set(days))
        for phase, avg, med in rows:
            values = days[phase.id]
            self.assertAlmostEqual(avg, sum(values) / len(values), places=3, msg=phase.name)
            self.assertAlmostEqual(med, median(whole[phase.id]), places=3, msg=phase.name)
        # The lines give the same medians (percentile_cont over the same whole days).
        lines = self.FunnelReport.with_context(crm_plus_funnel_read_lines=True)
        self.assertFalse(lines._medians_answer(domain, [["phase_id"]], specs))
        self.assertEqual(
            [(phase, med) for phase, _avg, med in lines._read_group(domain, ["phase_id"], specs)],
            [(phase, med) for phase, _avg, med in rows],
        )
        # Several columns and their roll-ups, as a pivot reads them: one read of the days.
        two = ["account_type_id", "phase_id"]
        self.assertEqual(
            self.FunnelReport._read_group([], two, specs[1:]),
            lines._read_group([], two, specs[1:]),
        )
        if AT_LEAST_19:
            sets = [two, ["account_type_id"], []]
            self.assertEqual(
                self.FunnelReport._read_grouping_sets([], sets, ["__count", specs[1]]),
                lines._read_grouping_sets([], sets, ["__count", specs[1]]),
            )
        # Grouped by the whole days themselves (the lines answer): how many lines spent each.
        by_days = self.FunnelReport._read_group(
            [*domain, ("phase_id", "=", self.phase_first.id)], ["whole_days_in_phase"], ["__count"]
        )
        first_whole = whole[self.phase_first.id]
        self.assertEqual(
            {days: count for days, count in by_days if days is not None and days is not False},
            {days: first_whole.count(days) for days in first_whole},
        )
        # As the web client reads it (a grouped list, the pivot of 19.0 in one query).
        medians = {phase.id: med for phase, _avg, med in rows}
        for phase_id, _count, values in grouped_rows(self.FunnelReport, domain, "phase_id", specs):
            self.assertAlmostEqual(values["days_in_phase_median:avg"], medians[phase_id], places=3)
        if AT_LEAST_19:
            by_phase, total = self.FunnelReport._read_grouping_sets(
                domain, [["phase_id"], []], specs[1:]
            )
            for phase, med in by_phase:
                self.assertAlmostEqual(med, medians[phase.id], places=3)
            everything = [value for values in whole.values() for value in values]
            self.assertAlmostEqual(total[0][0], median(everything), places=3)
        # The first phase: the median is not the average.
        first = {phase.id: med for phase, _avg, med in rows}[self.phase_first.id]
        self.assertAlmostEqual(first, median(whole[self.phase_first.id]), places=3)
        self.assertNotAlmostEqual(
            first, sum(days[self.phase_first.id]) / len(days[self.phase_first.id]), places=1
        )

    def test_winloss_cycle_per_type_and_salesperson(self):
        won_sales = self.won_history(5, first_days=[5, 6, 30, 31, 60])
        won_manager = self.won_history(3, user=self.user_manager, first_days=[7, 9, 20])
        lost = self.make_partners(4, user_id=self.user_manager.id)
        lost[:2].action_advance_phase()
        lost.action_close(self.reason_lost.id)
        for index, partner in enumerate(lost):
            close_date = self.today - timedelta(days=index)
            start = datetime.combine(close_date, datetime.min.time()) - timedelta(
                days=4 * index + 2
            )
            for line in partner.phase_line_ids.filtered("date_start"):
                values = {"date_start": start}
                if line.close_outcome:
                    values["close_date"] = close_date
                self.set_line(line, **values)
        # A closed prospect: another type.
        prospect = self.make_partners(1, account_type=self.prospect_type)
        prospect.action_close(self.reason_lost.id)
        partners = won_sales | won_manager | lost | prospect
        self.env.flush_all()

        cycles = defaultdict(list)
        for line in partners.phase_line_ids.filtered("close_outcome"):
            same_funnel = line.partner_id.phase_line_ids.filtered(
                lambda other, line=line: other.account_type_id == line.account_type_id
            )
            start = min(same_funnel.filtered("date_start").mapped("date_start"))
            cycle = (line.close_date - start.date()).days
            for key in (
                ("type", line.account_type_id.id, line.close_outcome),
                ("user", line.partner_id.user_id.id, line.close_outcome),
            ):
                cycles[key].append(cycle)
        self.assertEqual(len(cycles[("type", self.lead_type.id, "won")]), 8)
        specs = ["cycle_days:avg", "cycle_days_median:avg", "__count"]
        domain = [("partner_id", "in", partners.ids)]
        for kind, groupby in (("type", "account_type_id"), ("user", "user_id")):
            rows = self.WinlossReport._read_group(domain, [groupby, "close_outcome"], specs)
            self.assertEqual(
                {(kind, record.id, outcome) for record, outcome, *_rest in rows},
                {key for key in cycles if key[0] == kind},
            )
            for record, outcome, avg, med, count in rows:
                values = cycles[(kind, record.id, outcome)]
                self.assertEqual(count, len(values))
                self.assertAlmostEqual(avg, sum(values) / len(values), places=3)
                self.assertAlmostEqual(med, median(values), places=3)
        # One close, read as a record.
        row = self.WinlossReport.search([("partner_id", "=", won_sales[4].id)])
        self.assertEqual(row.cycle_days, 60)

    # ------------------------------------------------------------------ the learned date

    def test_learned_expected_close_date_and_override(self):
        # 12 won closes timed: from the first phase, 10, 13, … 43 days; from the later
        # phases 3, 2, 1 days (won_history).
        self.won_history(12)
        self.Stat._cron_refresh()
        stat = self.Stat.search([("phase_id", "=", self.phase_first.id)])
        self.assertEqual(stat.close_days_sample, 12)
        expected_days = round(median([10 + 3 * i for i in range(12)]))
        self.assertEqual(stat.close_days, expected_days)

        new = self.make_partners(2)
        start = new.phase_line_ids.filtered(lambda line: line.state == "current")[:1].date_start
        for partner in new:
            self.assertEqual(
                partner.funnel_learned_close_date, start.date() + timedelta(days=expected_days)
            )
            self.assertEqual(partner.funnel_expected_close_date, partner.funnel_learned_close_date)
        # A person's date wins, the learned one stays shown.
        person_date = self.today + timedelta(days=3)
        new[1].expected_close_date = person_date
        self.assertEqual(new[1].funnel_expected_close_date, person_date)
        self.assertEqual(
            new[1].funnel_learned_close_date, start.date() + timedelta(days=expected_days)
        )
        # Moved on: the next phase's days (3 days from Qualification to a won close).
        new[0].action_advance_phase()
        qualif_start = new[0].funnel_phase_date_start
        self.assertEqual(new[0].funnel_learned_close_date, qualif_start.date() + timedelta(days=3))

        rows = self.ForecastReport.search([("partner_id", "in", new.ids)])
        by_partner = {row.partner_id: row for row in rows}
        self.assertEqual(by_partner[new[0]].expected_close_date, new[0].funnel_learned_close_date)
        self.assertTrue(by_partner[new[0]].expected_close_learned)
        self.assertEqual(by_partner[new[1]].expected_close_date, person_date)
        self.assertFalse(by_partner[new[1]].expected_close_learned)
        # Closed: no learned date.
        new[0].action_close(self.reason_lost.id)
        self.assertFalse(new[0].funnel_learned_close_date)

    def test_close_days_learned_by_their_own_daily_run(self):
        """The suggested scores' nightly run only ages closes out; the learned days, a median
        of the whole history, are recounted by their own daily scheduled action."""
        self.won_history(12)
        self.Stat._cron_refresh()  # the first run counts everything
        stat = self.Stat.search([("phase_id", "=", self.phase_first.id)])
        self.assertEqual((stat.close_days_sample, stat.close_days), (12, 26))
        # Four more won closes, slower ones, then a night: last counted yesterday.
        self.won_history(4, first_days=[100] * 4)
        yesterday = self.today - timedelta(days=1)
        self.Stat._set_counted(
            yesterday, self.today - timedelta(days=self.Stat._window_days()), full=yesterday
        )
        self.Stat._cron_refresh()
        self.assertEqual(self.Stat._get_counted()["on"], self.today)
        self.assertEqual(stat.reached_won, 16)  # the closes counted as they happened
        self.assertEqual(stat.close_days_sample, 12)
        cron = self.env.ref("crm_plus.crm_plus_phase_stat_cron_close_days")
        self.assertTrue(cron.active)
        cron.ir_actions_server_id.run()
        expected = round(median([10 + 3 * i for i in range(12)] + [100] * 4))
        self.assertEqual((stat.close_days_sample, stat.close_days), (16, expected))

    def test_learned_date_needs_enough_closes_else_stale_days(self):
        self.won_history(9)  # fewer than 10: nothing learned
        self.Stat._cron_refresh()
        partner = self.make_partners()
        self.assertFalse(partner.funnel_learned_close_date)
        self.assertFalse(partner.funnel_expected_close_date)
        # The phase's "stale after" days stand in.
        self.phase_first.stale_after_days = 14
        self.assertEqual(
            partner.funnel_learned_close_date,
            partner.funnel_phase_date_start.date() + timedelta(days=14),
        )

    def test_forecast_puts_new_deals_in_a_month(self):
        self.won_history(10)
        self.Stat._cron_refresh()
        new = self.make_partners(3)
        self.env.flush_all()
        rows = self.ForecastReport._read_group(
            [("partner_id", "in", new.ids)], ["expected_close_date:month"], ["__count"]
        )
        self.assertEqual(len(rows), 1)
        month, count = rows[0]
        self.assertTrue(month, "the new deals have an expected closing month")
        self.assertEqual(count, 3)
        learned = new[0].funnel_learned_close_date
        self.assertEqual(fields.Date.to_date(month).replace(day=1), learned.replace(day=1))
