"""The reports (PostgreSQL views) against the phase lines they come from, and the pipeline
board's grouping."""

from collections import defaultdict
from datetime import date, datetime, timedelta
from unittest.mock import patch

from odoo.addons.crm_plus.models.funnel_guard import FUNNEL_OP
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..compat import AT_LEAST_19, grouped_rows
from .common import CrmPlusCase

BASE = datetime(2024, 1, 8, 9, 0, 0)


class TestReports(CrmPlusCase):
    def setUp(self):
        super().setUp()
        sales, manager = self.user_sales, self.user_manager
        lead = self.lead_type
        names_users = [
            ("T-Rep A", sales),  # stays in the first phase
            ("T-Rep B", sales),  # qualification
            ("T-Rep C", manager),  # proposal
            ("T-Rep D", manager),  # all phases, won (then switches to T-Customer)
            ("T-Rep E", sales),  # qualification, lost
            ("T-Rep F", None),  # dragged from the first phase to proposal (skips one)
            ("T-Rep G", sales),  # lost in the first phase, reopened
            ("T-Rep I", manager),  # first phase, archived contact
        ]
        partners = self.Partner.create(
            [
                {"name": name, "account_type_id": lead.id, "user_id": user.id if user else False}
                for name, user in names_users
            ]
        )
        self.pa, self.pb, self.pc, self.pd, self.pe, self.pf, self.pg, self.pi = partners
        self.ph = self.Partner.create(
            {"name": "T-Rep H", "account_type_id": self.prospect_type.id, "user_id": sales.id}
        )
        self.lead_partners = partners
        self.all_partners = partners | self.ph

        (self.pb | self.pc | self.pd | self.pe).action_advance_phase()
        (self.pc | self.pd).action_advance_phase()
        self.pd.action_advance_phase()
        self.pd.action_close(self.reason_won.id)
        self.pe.action_close(self.reason_lost.id)
        self.pf.write({"lead_phase_id": self.phase_proposal.id})
        self.pg.action_close(self.reason_lost.id)
        self.pg.action_reopen()
        self.pi.action_archive()

        # Figures on every line, all different, recurring in the three intervals.
        intervals = ["month", "quarter", "year"]
        lines = self.all_lines(archived=True)
        for index, line in enumerate(lines):
            line.write(
                {
                    "forecast_value": 1000 + 137 * index,
                    "score": 5 + (index * 7) % 90,
                    "recurring_value": 30 * index,
                    "recurring_interval": intervals[index % 3],
                }
            )
        # Fixed dates: each started line ran (index % 5 + 1.5) days; current lines started
        # (index % 4 + 2) days before now.
        self.db_now = self.db_now_utc()
        funnel_lines = lines.with_context(crm_plus_funnel_op=FUNNEL_OP)
        for index, line in enumerate(funnel_lines):
            if not line.date_start:
                continue
            if line.state == "current":
                line.write({"date_start": self.db_now - timedelta(days=index % 4 + 2)})
            else:
                start = BASE + timedelta(days=10 * index)
                line.write(
                    {"date_start": start, "date_done": start + timedelta(days=index % 5 + 1.5)}
                )
        close_dates = {
            self.pd: date(2024, 3, 15),
            self.pe: date(2024, 4, 2),
        }
        for partner, close_date in close_dates.items():
            partner.phase_line_ids.filtered("close_outcome").with_context(
                crm_plus_funnel_op=FUNNEL_OP
            ).write({"close_date": close_date})
        self.pa.expected_close_date = date(2024, 6, 10)
        self.pb.expected_close_date = date(2024, 6, 25)
        self.pc.expected_close_date = date(2024, 7, 1)
        self.env.flush_all()

    # ------------------------------------------------------------------ helpers

    def all_lines(self, archived=False):
        """The lines of the contacts of the set up; those of archived contacts (T-Rep I)
        only with ``archived``: they count in no report."""
        domain = [("partner_id", "in", self.all_partners.ids)]
        if not archived:
            domain.append(("partner_id.active", "=", True))
        return self.Line.search(domain, order="id")

    @staticmethod
    def reached(line):
        """The line's phase was gone through: current, or done after it started (a phase
        skipped by a jump is done, by the user who jumped, without a start)."""
        return line.state == "current" or (
            line.state == "done" and bool(line.date_start or not line.done_by_id)
        )

    def db_now_utc(self):
        self.env.cr.execute("SELECT NOW() AT TIME ZONE 'UTC'")
        return self.env.cr.fetchone()[0]

    def expected_days(self, line):
        """Days in phase, from the line: until completion, or until now for the phase an open
        partner is in; none for a phase never started."""
        if not line.date_start or line.state == "todo":
            return None
        if line.date_done:
            end = line.date_done
        elif (
            line.state == "current"
            and line.is_active_funnel
            and line.partner_id.funnel_state == "open"
        ):
            end = self.db_now
        else:
            return None
        return (end - line.date_start).total_seconds() / 86400

    def report_groups(self, model, groupby, aggregates, domain=None):
        """{group key: {aggregate: value}} of the report, read as a salesperson."""
        domain = domain if domain is not None else [("partner_id", "in", self.all_partners.ids)]
        rows = model.with_user(self.user_sales)._read_group(domain, groupby, aggregates)
        result = {}
        for row in rows:
            keys = tuple(
                value.id if hasattr(value, "_name") else value for value in row[: len(groupby)]
            )
            result[keys[0] if len(keys) == 1 else keys] = dict(
                zip(aggregates, row[len(groupby) :], strict=True)
            )
        return result

    # ------------------------------------------------------------------ funnel analysis

    def test_funnel_report_one_row_per_line(self):
        lines = self.all_lines()
        rows = self.FunnelReport.search([("partner_id", "in", self.all_partners.ids)])
        self.assertEqual(sorted(rows.ids), sorted(lines.ids))
        # T-Rep I is archived: its lines are left out.
        self.assertEqual(len(rows), 7 * 4 + 2)
        self.assertFalse(self.FunnelReport.search([("partner_id", "=", self.pi.id)]))
        for line in lines:
            row = self.FunnelReport.browse(line.id)
            self.assertEqual(row.partner_id, line.partner_id)
            self.assertEqual(row.phase_id, line.phase_id)
            self.assertEqual(row.account_type_id, line.account_type_id)
            self.assertEqual(row.phase_sequence, line.phase_id.sequence)
            self.assertEqual(row.state, line.state)
            self.assertEqual(row.is_active_funnel, line.is_active_funnel)
            self.assertEqual(row.user_id, line.partner_id.user_id)
            self.assertEqual(row.funnel_state, line.partner_id.funnel_state)
            self.assertEqual(row.close_outcome, line.close_outcome)
            self.assertEqual(row.close_reason_id, line.close_reason_id)
            self.assertAlmostEqual(row.weighted_value, line.weighted_value, places=2)
            self.assertAlmostEqual(
                row.recurring_value_monthly, line.recurring_value_monthly, places=2
            )
            if self.expected_days(line) is None:
                self.assertFalse(row.days_in_phase, line.partner_id.name)
        # A won lead's lines stay in the report as history of its former type.
        won_rows = self.FunnelReport.search([("partner_id", "=", self.pd.id)])
        self.assertEqual(len(won_rows), 4)
        self.assertFalse(any(won_rows.mapped("is_active_funnel")))
        self.assertEqual(self.pd.account_type_id, self.customer_type)

    def test_funnel_report_reached_and_conversion(self):
        groups = self.report_groups(
            self.FunnelReport,
            ["phase_id"],
            ["reached:sum", "reached_percent:avg", "partner_count:count_distinct", "__count"],
        )
        reached = defaultdict(int)
        total = defaultdict(int)
        for line in self.all_lines():
            total[line.phase_id.id] += 1
            reached[line.phase_id.id] += self.reached(line)
        self.assertEqual(set(groups), set(total))
        for phase_id, values in groups.items():
            self.assertEqual(values["reached:sum"], reached[phase_id])
            self.assertEqual(values["__count"], total[phase_id])
            self.assertEqual(values["partner_count:count_distinct"], total[phase_id])
            self.assertAlmostEqual(
                values["reached_percent:avg"], 100.0 * reached[phase_id] / total[phase_id]
            )
        # The funnel of T-Lead: 7 partners entered (I is archived), B C D E reached the
        # qualification (F skipped it), C D F the proposal, only D the closing phase.
        lead_reached = [groups[phase.id]["reached:sum"] for phase in self.lead_type.phase_ids]
        self.assertEqual(lead_reached, [7, 4, 3, 1])
        self.assertAlmostEqual(groups[self.phase_qualif.id]["reached_percent:avg"], 400 / 7)
        self.assertAlmostEqual(groups[self.phase_closing.id]["reached_percent:avg"], 100 / 7)
        # Per account type, distinct partners, not lines.
        by_type = self.report_groups(
            self.FunnelReport, ["account_type_id"], ["partner_count:count_distinct", "__count"]
        )
        self.assertEqual(by_type[self.lead_type.id]["partner_count:count_distinct"], 7)
        self.assertEqual(by_type[self.lead_type.id]["__count"], 28)
        self.assertEqual(by_type[self.prospect_type.id]["partner_count:count_distinct"], 1)

    def test_funnel_report_values_per_phase_and_salesperson(self):
        groups = self.report_groups(
            self.FunnelReport,
            ["phase_id", "user_id"],
            [
                "forecast_value:sum",
                "weighted_value:sum",
                "recurring_value_monthly:sum",
                "open_forecast_value:sum",
                "open_weighted_value:sum",
                "score:avg",
            ],
        )
        expected = defaultdict(lambda: defaultdict(float))
        scores = defaultdict(list)
        for line in self.all_lines():
            key = (line.phase_id.id, line.partner_id.user_id.id)
            values = expected[key]
            values["forecast_value:sum"] += line.forecast_value
            values["weighted_value:sum"] += line.forecast_value * line.score / 100
            values["recurring_value_monthly:sum"] += line.recurring_value_monthly
            if line.partner_id.funnel_state == "open" and line.phase_id == (
                line.partner_id.lead_phase_id
            ):
                values["open_forecast_value:sum"] += line.forecast_value
                values["open_weighted_value:sum"] += line.weighted_value
            scores[key].append(line.score)
        self.assertEqual(set(groups), set(expected))
        for key, values in expected.items():
            for aggregate, value in values.items():
                self.assertAlmostEqual(groups[key][aggregate], value, places=2, msg=key)
            self.assertAlmostEqual(groups[key]["score:avg"], sum(scores[key]) / len(scores[key]))
        # The open pipeline is the partners' own weighted forecast (the board's figures).
        open_partners = self.all_partners.filtered(lambda p: p.active and p.funnel_state == "open")
        total = self.FunnelReport.with_user(self.user_sales)._read_group(
            [("partner_id", "in", self.all_partners.ids)], [], ["open_weighted_value:sum"]
        )[0][0]
        self.assertAlmostEqual(total, sum(open_partners.mapped("funnel_weighted_value")), places=2)
        self.assertTrue(total)

    def test_funnel_report_days_in_phase(self):
        groups = self.report_groups(
            self.FunnelReport, ["phase_id"], ["days_in_phase:avg", "days_in_phase:max"]
        )
        days = defaultdict(list)
        for line in self.all_lines():
            value = self.expected_days(line)
            if value is not None:
                days[line.phase_id.id].append(value)
        for phase_id, values in groups.items():
            if days[phase_id]:
                expected_avg = sum(days[phase_id]) / len(days[phase_id])
                self.assertAlmostEqual(values["days_in_phase:avg"], expected_avg, places=4)
                self.assertAlmostEqual(values["days_in_phase:max"], max(days[phase_id]), places=4)
            else:
                self.assertFalse(values["days_in_phase:avg"])
        # Literal checks: a completed phase counts its own duration, the current phase of an
        # open partner runs until now, skipped and never started phases count nothing.
        lines = self.all_lines()
        index = {line: i for i, line in enumerate(lines)}
        b_first = self.pb.phase_line_ids.filtered(lambda line: line.phase_id == self.phase_first)
        row = self.FunnelReport.browse(b_first.id)
        self.assertAlmostEqual(row.days_in_phase, index[b_first] % 5 + 1.5, places=4)
        b_current = self.pb.phase_line_ids.filtered(lambda line: line.state == "current")
        row = self.FunnelReport.browse(b_current.id)
        self.assertAlmostEqual(row.days_in_phase, index[b_current] % 4 + 2, places=4)
        f_skipped = self.pf.phase_line_ids.filtered(
            lambda line: line.phase_id == self.phase_qualif
        )
        self.assertEqual(f_skipped.state, "done")
        self.assertFalse(f_skipped.date_start)
        self.assertFalse(self.FunnelReport.browse(f_skipped.id).days_in_phase)

    # ------------------------------------------------------------------ win/loss analysis

    def closed_lines(self):
        return self.all_lines().filtered("close_outcome")

    def test_winloss_report_counts_and_win_rate(self):
        closed = self.closed_lines()
        # D won, E lost; G's lost close was taken off its line by the reopen.
        self.assertEqual(closed.partner_id, self.pd | self.pe)
        rows = self.WinlossReport.search([("partner_id", "in", self.all_partners.ids)])
        self.assertEqual(sorted(rows.ids), sorted(closed.ids))

        sums = ["closed_count:sum", "won_count:sum", "lost_count:sum", "won_value:sum"]
        aggregates = [*sums, "lost_value:sum", "won_percent:avg"]
        for groupby, key_of in [
            ("close_reason_id", lambda line: line.close_reason_id.id),
            ("user_id", lambda line: line.partner_id.user_id.id),
            ("account_type_id", lambda line: line.account_type_id.id),
            ("phase_id", lambda line: line.phase_id.id),
            ("close_date:month", lambda line: line.close_date.replace(day=1)),
        ]:
            groups = self.report_groups(self.WinlossReport, [groupby], aggregates)
            expected = defaultdict(lambda: defaultdict(float))
            for line in closed:
                values = expected[key_of(line)]
                won = line.close_outcome == "won"
                values["closed_count:sum"] += 1
                values["won_count:sum"] += won
                values["lost_count:sum"] += not won
                values["won_value:sum"] += line.forecast_value if won else 0
                values["lost_value:sum"] += 0 if won else line.forecast_value
            self.assertEqual(set(groups), set(expected), groupby)
            for key, values in expected.items():
                for aggregate, value in values.items():
                    self.assertAlmostEqual(groups[key][aggregate], value, places=2, msg=groupby)
                self.assertAlmostEqual(
                    groups[key]["won_percent:avg"],
                    100.0 * values["won_count:sum"] / values["closed_count:sum"],
                    msg=groupby,
                )
        # Literal: one won out of two closes.
        total = self.WinlossReport._read_group(
            [("partner_id", "in", self.all_partners.ids)],
            [],
            ["won_percent:avg", "closed_count:sum", "won_value:sum", "lost_value:sum"],
        )[0]
        self.assertAlmostEqual(total[0], 50.0)
        self.assertEqual(total[1], 2)
        d_closing = self.pd.phase_line_ids.filtered(
            lambda line: line.phase_id == self.phase_closing
        )
        self.assertAlmostEqual(total[2], d_closing.forecast_value, places=2)
        months = self.report_groups(self.WinlossReport, ["close_date:month"], ["__count"])
        self.assertEqual(
            {key: values["__count"] for key, values in months.items()},
            {date(2024, 3, 1): 1, date(2024, 4, 1): 1},
        )
        by_state = self.report_groups(self.WinlossReport, ["funnel_state"], ["__count"])
        self.assertNotIn("open", by_state, "a reopened contact's close no longer counts")
        self.assertFalse(self.WinlossReport.search([("partner_id", "=", self.pg.id)]))

    # ------------------------------------------------------------------ forecast

    def test_forecast_report_open_partners(self):
        open_partners = self.all_partners.filtered(
            lambda p: p.active and p.funnel_state == "open" and p.lead_phase_id
        )
        self.assertEqual(open_partners, self.pa | self.pb | self.pc | self.pf | self.pg | self.ph)
        rows = self.ForecastReport.search([("partner_id", "in", self.all_partners.ids)])
        self.assertEqual(rows.partner_id, open_partners)

        aggregates = ["forecast_value:sum", "weighted_value:sum", "mrr:sum", "arr:sum"]
        aggregates += ["score:avg", "__count"]
        for groupby, key_of in [
            ("lead_phase_id", lambda partner: partner.lead_phase_id.id),
            ("user_id", lambda partner: partner.user_id.id),
            (
                "expected_close_date:month",
                lambda partner: partner.expected_close_date
                and partner.expected_close_date.replace(day=1),
            ),
        ]:
            groups = self.report_groups(self.ForecastReport, [groupby], aggregates)
            expected = defaultdict(lambda: defaultdict(float))
            scores = defaultdict(list)
            for partner in open_partners:
                line = partner.phase_line_ids.filtered(
                    lambda line, p=partner: line.phase_id == p.lead_phase_id
                )
                self.assertEqual(line.state, "current")
                values = expected[key_of(partner)]
                values["forecast_value:sum"] += line.forecast_value
                values["weighted_value:sum"] += line.forecast_value * line.score / 100
                values["mrr:sum"] += line.recurring_value_monthly
                values["arr:sum"] += line.recurring_value_monthly * 12
                values["__count"] += 1
                scores[key_of(partner)].append(line.score)
            self.assertEqual(set(groups), set(expected), groupby)
            for key, values in expected.items():
                for aggregate, value in values.items():
                    self.assertAlmostEqual(groups[key][aggregate], value, places=2, msg=groupby)
                self.assertAlmostEqual(
                    groups[key]["score:avg"], sum(scores[key]) / len(scores[key]), msg=groupby
                )
        months = self.report_groups(
            self.ForecastReport, ["expected_close_date:month"], ["__count"]
        )
        self.assertEqual(months[date(2024, 6, 1)]["__count"], 2)
        self.assertEqual(months[date(2024, 7, 1)]["__count"], 1)
        self.assertEqual(months[False]["__count"], 3)

    def test_reports_follow_writes_without_explicit_flush(self):
        """The views declare what they read (_depends): a write shows in the next read_group
        of the same transaction."""
        line = self.pa.phase_line_ids.filtered(lambda line: line.state == "current")
        before = self.ForecastReport._read_group(
            [("partner_id", "=", self.pa.id)], [], ["forecast_value:sum"]
        )[0][0]
        line.forecast_value = before + 5000
        after = self.ForecastReport._read_group(
            [("partner_id", "=", self.pa.id)], [], ["forecast_value:sum", "weighted_value:sum"]
        )[0]
        self.assertAlmostEqual(after[0], before + 5000, places=2)
        self.assertAlmostEqual(after[1], (before + 5000) * line.score / 100, places=2)
        funnel = self.FunnelReport._read_group([("id", "=", line.id)], [], ["forecast_value:sum"])
        self.assertAlmostEqual(funnel[0][0], before + 5000, places=2)
        self.pa.action_close(self.reason_lost.id)
        self.assertFalse(self.ForecastReport.search([("partner_id", "=", self.pa.id)]))
        self.assertEqual(
            self.WinlossReport.search([("partner_id", "=", self.pa.id)]).close_outcome, "lost"
        )

    def test_reports_read_only_and_access(self):
        for model in (self.FunnelReport, self.WinlossReport, self.ForecastReport):
            self.assertTrue(model.with_user(self.user_sales).search_count([]))
            with self.assertRaises(AccessError):
                model.with_user(self.user_internal).search([])
            with self.assertRaises(AccessError):
                model.with_user(self.user_manager).browse(self.all_lines()[:1].id).write(
                    {"score": 50}
                )
            # The actions open graph/pivot/list views that load.
            views = model.with_user(self.user_sales).get_views(
                [(False, "pivot"), (False, "graph"), (False, "list"), (False, "search")]
            )
            self.assertEqual(set(views["views"]), {"pivot", "graph", "list", "search"})

    def test_reports_multi_company(self):
        other_company = self.env["res.company"].create({"name": "T-Other Company"})
        partner = self.Partner.create(
            {
                "name": "T-Rep Other",
                "account_type_id": self.lead_type.id,
                "company_id": other_company.id,
                "user_id": self.user_sales.id,
            }
        )
        partner.action_close(self.reason_lost.id)
        partner.action_reopen()
        # Closed again: a reopened close is off its line, the last one counts.
        partner.action_advance_phase()
        partner.action_close(self.reason_lost.id)
        still_open = self.Partner.create(
            {
                "name": "T-Rep Other Open",
                "account_type_id": self.lead_type.id,
                "company_id": other_company.id,
            }
        )
        self.env.flush_all()
        domain = [("partner_id", "in", (partner | still_open).ids)]
        for model, count in [
            (self.FunnelReport, 8),
            (self.WinlossReport, 1),
            (self.ForecastReport, 1),
        ]:
            self.assertEqual(model.search_count(domain), count, model._name)
            self.assertEqual(model.with_user(self.user_sales).search_count(domain), 0, model._name)
            self.user_sales.company_ids |= other_company
            both = model.with_user(self.user_sales).with_context(
                allowed_company_ids=[self.company.id, other_company.id]
            )
            self.assertEqual(both.search_count(domain), count, model._name)
            self.user_sales.company_ids -= other_company

    # ------------------------------------------------------------------ pipeline board

    def board_groups(self, domain_extra=None, context_type=True):
        partners = self.Partner.with_user(self.user_sales)
        if context_type:
            partners = partners.with_context(default_account_type_id=self.lead_type.id)
        domain = [("account_type_id", "=", self.lead_type.id), ("funnel_state", "=", "open")]
        rows = grouped_rows(
            partners, domain + (domain_extra or []), "lead_phase_id", ["funnel_open_value:sum"]
        )
        return {phase_id: (count, sums["funnel_open_value:sum"]) for phase_id, count, sums in rows}

    def explain(self, query):
        self.env.flush_all()
        self.env.cr.execute(SQL("EXPLAIN %s", query))
        return "\n".join(row[0] for row in self.env.cr.fetchall())

    def _grouped_queries(self, read):
        """The SQL of the grouped reads of contacts ``read()`` makes, with their parameters."""
        cursor_class = type(self.env.cr)
        execute = cursor_class.execute
        queries = []

        def capture(cr, query, params=None, log_exceptions=True):
            if "GROUP BY" in str(query) and 'FROM "res_partner"' in str(query):
                queries.append(
                    SQL(query.code, *query.params)
                    if isinstance(query, SQL)
                    else SQL(query, *(params or ()))
                )
            return execute(cr, query, params, log_exceptions)

        with patch.object(cursor_class, "execute", capture):
            read()
        return queries

    def test_pipeline_board_reads_only_the_open_funnel_index(self):
        """A salesperson's board (its columns' sums, its progress bar), record rules included,
        reads open contacts of one type from the partial index alone: every column it reads is
        in the index (an index-only scan, no visit of res_partner's wide rows). The planner's
        other paths are switched off, as these few rows would not choose an index anyway, and
        the account types' index is dropped for the test: on these few rows it costs the same
        as the open-funnel index, which reads no heap page at scale (make bench-scale)."""
        partners = self.Partner.with_user(self.user_sales).with_context(
            default_account_type_id=self.lead_type.id
        )
        domain = [
            ("funnel_state", "=", "open"),
            ("lead_phase_id", "!=", False),
            ("account_type_id", "=", self.lead_type.id),
        ]
        # The column sums as the board asks them (the progress bar's sum_field; 19.0 asks its
        # currencies and its converted sum too).
        aggregates = ["funnel_open_value:sum"]
        if AT_LEAST_19:
            aggregates += [
                "funnel_currency_id:array_agg_distinct",
                "funnel_open_value:sum_currency",
            ]
        queries = self._grouped_queries(
            lambda: grouped_rows(partners, domain, "lead_phase_id", aggregates)
        ) + self._grouped_queries(
            lambda: partners.read_progress_bar(
                domain,
                "lead_phase_id",
                {
                    "field": "funnel_health",
                    "colors": {"stale": "danger", "hot": "success", "warm": "warning"},
                },
            )
        )
        self.assertEqual(len(queries), 2, queries)
        self.assertIn("partner_share", str(queries[0]), "res.partner's company rule applies")
        self.env.cr.execute("DROP INDEX res_partner__account_type_id_index")
        try:
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_indexscan"):
                self.env.cr.execute(SQL("SET LOCAL %s = off", SQL.identifier(setting)))
            for query in queries:
                plan = self.explain(query)
                self.assertIn("Index Only Scan using res_partner_crm_plus_open_funnel_index", plan)
        finally:
            self.env.cr.execute(
                "RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_indexscan"
            )

    def test_reports_read_the_currency_only_when_asked(self):
        """The rows' currency (their company's) is looked up only by the reads that use it;
        the partner is read for its active flag (archived contacts count nowhere)."""
        for query in (
            """SELECT account_type_id, phase_id, sum(reached), avg(reached_percent),
                      avg(days_in_phase), sum(open_weighted_value)
                 FROM crm_plus_funnel_report GROUP BY account_type_id, phase_id""",
            """SELECT close_date, sum(closed_count), avg(won_percent)
                 FROM crm_plus_winloss_report GROUP BY close_date""",
            """SELECT lead_phase_id, sum(weighted_value)
                 FROM crm_plus_forecast_report GROUP BY lead_phase_id""",
        ):
            plan = self.explain(SQL(query))
            self.assertNotIn("res_company", plan)
            self.assertIn("res_partner", plan)
        plan = self.explain(
            SQL("SELECT currency_id, sum(forecast_value) FROM crm_plus_funnel_report GROUP BY 1")
        )
        self.assertIn("res_company", plan)

    def test_pipeline_board_shows_every_phase(self):
        groups = self.board_groups()
        self.assertEqual(list(groups), self.lead_type.phase_ids.sorted("sequence").ids)
        open_lead = self.lead_partners.filtered(lambda p: p.active and p.funnel_state == "open")
        for phase in self.lead_type.phase_ids:
            members = open_lead.filtered(lambda p, phase=phase: p.lead_phase_id == phase)
            count, forecast = groups[phase.id]
            self.assertEqual(count, len(members), phase.name)
            self.assertAlmostEqual(
                forecast or 0.0, sum(members.mapped("funnel_forecast_value")), places=2
            )
        # A, G in the first phase (I is archived), B in qualification, C F in proposal, the
        # closing phase empty but still a column.
        self.assertEqual(
            [groups[phase.id][0] for phase in self.lead_type.phase_ids.sorted("sequence")],
            [2, 1, 2, 0],
        )
        # The type in the domain alone is enough; phases of other types are no columns.
        groups = self.board_groups(
            domain_extra=[("lead_phase_id", "!=", False)], context_type=False
        )
        self.assertEqual(set(groups), set(self.lead_type.phase_ids.ids))
        self.assertFalse(set(groups) & set(self.prospect_type.phase_ids.ids))

    def test_pipeline_board_opens_on_my_funnel_for_a_salesperson(self):
        Partner = self.env["res.partner"]

        def my_funnel_default(user):
            context = Partner.with_user(user).action_crm_plus_pipeline()["context"]
            return context.get("search_default_my_funnel")

        # No open contact of their own: everyone's board, as for a manager.
        Partner.search([("user_id", "=", self.user_sales.id)]).write({"user_id": False})
        self.assertFalse(my_funnel_default(self.user_sales))
        self.make_partners(1, user_id=self.user_sales.id)
        self.make_partners(1, user_id=self.user_manager.id)
        self.assertEqual(my_funnel_default(self.user_sales), 1)
        self.assertFalse(my_funnel_default(self.user_manager))

    def test_pipeline_board_drag_keeps_lines_consistent(self):
        partner = self.pb.with_user(self.user_sales)
        self.assertEqual(partner.lead_phase_id, self.phase_qualif)
        # Forward two columns, back to the first one, then to the closing one.
        for phase, expected_counts in [
            (self.phase_closing, [2, 0, 2, 1]),
            (self.phase_first, [3, 0, 2, 0]),
            (self.phase_proposal, [2, 0, 3, 0]),
        ]:
            partner.write({"lead_phase_id": phase.id})
            self.assertEqual(partner.lead_phase_id, phase)
            self.assertFunnelInvariants(self.lead_partners)
            states = dict(self.line_states(self.pb))
            for other in self.lead_type.phase_ids:
                if other.sequence < phase.sequence:
                    self.assertEqual(states[other], "done", other.name)
                elif other == phase:
                    self.assertEqual(states[other], "current", other.name)
                else:
                    self.assertEqual(states[other], "todo", other.name)
            groups = self.board_groups()
            self.assertEqual(
                [groups[p.id][0] for p in self.lead_type.phase_ids.sorted("sequence")],
                expected_counts,
            )
            # Report rows are cached like any record: a view's cache is not invalidated by
            # writes on the tables it reads (a new request starts with an empty cache).
            self.env.invalidate_all()
            forecast = self.ForecastReport.search([("partner_id", "=", self.pb.id)])
            self.assertEqual(forecast.lead_phase_id, phase)
            current_rows = self.FunnelReport.search(
                [("partner_id", "=", self.pb.id), ("state", "=", "current")]
            )
            self.assertEqual(current_rows.phase_id, phase)
            # Phases left by a drag back hold no time in phase.
            todo_rows = self.FunnelReport.search(
                [("partner_id", "=", self.pb.id), ("state", "=", "todo")]
            )
            self.assertFalse(any(todo_rows.mapped("days_in_phase")))
        self.assertFalse(
            self.pb.funnel_line_ids.filtered(
                lambda line: line.state == "todo" and line.date_start
            ),
            "a drag back clears the start of the phases left",
        )
        # The board's column sum is the forecast report's, phase by phase.
        board = self.board_groups()
        report = self.report_groups(
            self.ForecastReport,
            ["lead_phase_id"],
            ["forecast_value:sum"],
            domain=[("account_type_id", "=", self.lead_type.id)],
        )
        for phase_id, (count, forecast) in board.items():
            if count:
                self.assertAlmostEqual(forecast, report[phase_id]["forecast_value:sum"], places=2)
