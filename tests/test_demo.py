"""Issue 20: the demo data looks like Odoo's own (its demo companies get account types, no
duplicates, no flood of contacts) and has a year of closes for the reports and the suggested
score."""

from collections import Counter
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import fields
from odoo.tests import TransactionCase, tagged

from ..demo.crm_plus_demo import (
    DEMO_BASE_COMPANIES,
    DEMO_CLOSED_COMPANIES,
    DEMO_HISTORY_MONTHS,
    DEMO_LEAD_CLOSES,
    DEMO_OPEN_DEALS,
    DEMO_PROSPECT_CLOSES,
)
from ..models.crm_plus_phase_stat import MIN_CLOSED, baseline_score
from .common import CrmPlusCase


@tagged("post_install", "-at_install")
class TestDemo(TransactionCase):
    """On a database with demo data, the data crm_plus installed; without, the same data made
    here (then without base's demo companies, absent as well)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Partner = cls.env["res.partner"].with_context(active_test=False)
        cls.partners_before = cls.Partner.search_count([])
        cls.with_demo = cls.env["ir.module.module"]._get("crm_plus").demo
        if not cls.with_demo:
            cls.env["crm.plus.demo"]._populate()
        cls.lead = cls.env.ref("crm_plus.account_type_lead")
        cls.prospect = cls.env.ref("crm_plus.account_type_prospect")
        cls.customer = cls.env.ref("crm_plus.account_type_customer")
        cls.demo_names = [name for name, *_rest in DEMO_OPEN_DEALS] + list(DEMO_CLOSED_COMPANIES)
        cls.demo_partners = cls.Partner.search([("name", "in", cls.demo_names)])

    def phases(self, account_type):
        return account_type.phase_ids.filtered("active").sorted(lambda p: (p.sequence, p.id))

    def test_few_contacts_realistic_names(self):
        self.assertEqual(sorted(self.demo_partners.mapped("name")), sorted(self.demo_names))
        self.assertLessEqual(len(self.demo_partners), 60)
        self.assertTrue(all(self.demo_partners.mapped("is_company")))
        self.assertTrue(all(self.demo_partners.mapped("email")))
        if not self.with_demo:
            self.assertEqual(
                self.Partner.search_count([]) - self.partners_before, len(self.demo_names)
            )

    def test_base_demo_companies_reused(self):
        """Odoo's demo companies get their account type and funnel; none is created twice."""
        found = 0
        for xmlid, code, steps, _days in DEMO_BASE_COMPANIES:
            partner = self.env.ref(xmlid, raise_if_not_found=False)
            if not partner:
                continue
            found += 1
            with self.subTest(partner=partner.name):
                self.assertEqual(partner.account_type_id.code, code.upper()[:4])
                self.assertEqual(self.Partner.search_count([("name", "=", partner.name)]), 1)
                if steps is not None:
                    self.assertEqual(partner.funnel_state, "open")
                    self.assertEqual(
                        partner.lead_phase_id, self.phases(partner.account_type_id)[steps]
                    )
        base_demo = bool(self.env.ref("base.res_partner_12", raise_if_not_found=False))
        self.assertEqual(found, len(DEMO_BASE_COMPANIES) if base_demo else 0)
        # No two contacts in a funnel, or once in one, share a name.
        in_funnel = self.Partner.search([("phase_line_ids", "!=", False)])
        duplicates = [
            name for name, count in Counter(in_funnel.mapped("name")).items() if count > 1
        ]
        self.assertFalse(duplicates)

    def test_closes_spread_over_the_year(self):
        """Every one of the last twelve months has won and lost closes: the win/loss trend has
        a bar a month."""
        today = fields.Date.context_today(self.Partner)
        since = today.replace(day=1) - relativedelta(months=DEMO_HISTORY_MONTHS - 1)
        report = self.env["crm.plus.winloss.report"]
        domain = [("partner_id", "in", self.demo_partners.ids)]
        closes = report.search(domain)
        expected = sum(map(sum, DEMO_LEAD_CLOSES + DEMO_PROSPECT_CLOSES))
        self.assertEqual(len(closes), expected)
        self.assertTrue(all(since <= close.close_date <= today for close in closes))
        by_month = {
            month: (won, lost)
            for month, won, lost in report._read_group(
                domain, ["close_date:month"], ["won_count:sum", "lost_count:sum"]
            )
        }
        self.assertEqual(len(by_month), DEMO_HISTORY_MONTHS)
        for month, (won, lost) in by_month.items():
            with self.subTest(month=month):
                self.assertGreaterEqual(won, 1)
                self.assertGreaterEqual(lost, 2)

    def test_suggested_score_learns_from_the_history(self):
        """Each Lead phase counts the closed leads that reached it, enough for a suggestion;
        the open leads show it."""
        stats = self.env["crm.plus.phase.stat"]
        won = sum(won for _lost, won in DEMO_LEAD_CLOSES)
        phases = self.phases(self.lead)
        for index, phase in enumerate(phases):
            reached = sum(map(sum, DEMO_LEAD_CLOSES[index:]))
            stat = stats.search([("phase_id", "=", phase.id), ("company_id", "=", False)])
            with self.subTest(phase=phase.name):
                # Only the demo closed deals of the seed Lead type (a database without demo
                # data has none before).
                self.assertEqual((stat.reached_closed, stat.reached_won), (reached, won))
                self.assertGreaterEqual(reached, MIN_CLOSED)
                self.assertEqual(stat.suggested_score, baseline_score(won, reached))
        # From about 30 % in the first phase to about 80 % in the closing one.
        scores = [stats.search([("phase_id", "=", phase.id)]).suggested_score for phase in phases]
        self.assertEqual(scores, sorted(scores))
        self.assertLess(scores[0], 35)
        self.assertGreater(scores[-1], 75)
        open_leads = self.Partner.search(
            [("account_type_id", "=", self.lead.id), ("funnel_state", "=", "open")]
        )
        self.assertTrue(open_leads)
        for partner in open_leads:
            stat = stats.search([("phase_id", "=", partner.lead_phase_id.id)])
            self.assertEqual(partner.funnel_suggested_score, stat.suggested_score)
        # Too few closed prospects for a suggestion.
        self.assertFalse(
            stats.search([("phase_id", "in", self.phases(self.prospect).ids)]).filtered(
                "suggested_score"
            )
        )

    def test_open_leads_have_a_learned_expected_closing(self):
        """The 12 won leads time every Lead phase: each open lead gets a learned expected
        closing, and Forecast puts every demo lead in a month."""
        open_leads = self.Partner.search(
            [("account_type_id", "=", self.lead.id), ("funnel_state", "=", "open")]
        )
        self.assertTrue(open_leads)
        for partner in open_leads:
            with self.subTest(partner=partner.name):
                self.assertTrue(partner.funnel_learned_close_date)
                self.assertEqual(
                    partner.funnel_expected_close_date,
                    partner.expected_close_date or partner.funnel_learned_close_date,
                )
        self.assertFalse(
            self.env["crm.plus.forecast.report"].search_count(
                [("partner_id", "in", open_leads.ids), ("expected_close_date", "=", False)]
            )
        )

    def test_history_keeps_the_funnel_invariants(self):
        now = fields.Datetime.now()
        closed = self.Partner.search([("name", "in", list(DEMO_CLOSED_COMPANIES))])
        self.assertEqual(len(closed), len(DEMO_CLOSED_COMPANIES))
        for partner in closed | self.Partner.search([("funnel_state", "=", "open")]):
            lines = partner.phase_line_ids.sorted(lambda ln: (ln.sequence, ln.phase_id.id))
            reached = lines.filtered(lambda ln: ln.state != "todo")
            with self.subTest(partner=partner.name):
                self.assertTrue(reached)
                # Phase after phase, in order, none in the future.
                previous_done = None
                for line in reached:
                    self.assertTrue(line.date_start)
                    self.assertLessEqual(line.date_start, line.date_done or now)
                    self.assertLessEqual(line.date_done or now, now)
                    if previous_done:
                        self.assertLessEqual(previous_done, line.date_start)
                    previous_done = line.date_done
                self.assertEqual(reached[:-1].mapped("state"), ["done"] * (len(reached) - 1))
                last = reached[-1]
                if partner in closed:
                    self.assertEqual(last.state, "done")
                    self.assertTrue(last.close_outcome)
                    self.assertEqual(partner.close_date, last.close_date)
                    self.assertEqual(partner.close_reason_id, last.close_reason_id)
                    self.assertGreaterEqual(last.close_date, last.date_start.date())
                    self.assertEqual(partner.funnel_state, last.close_outcome)
                    # A won lead or prospect became a customer, its funnel kept as history.
                    self.assertEqual(
                        partner.account_type_id,
                        self.customer if last.close_outcome == "won" else last.account_type_id,
                    )
                else:
                    self.assertEqual(last.state, "current")
                    self.assertEqual(partner.lead_phase_id, last.phase_id)
                    self.assertEqual(partner.funnel_phase_date_start, last.date_start)

    def test_stale_deals(self):
        """The deals left too long in their phase are stale, the others not."""
        deals = {name: days for name, _code, _steps, days in DEMO_OPEN_DEALS}
        for xmlid, _code, steps, days in DEMO_BASE_COMPANIES:
            partner = self.env.ref(xmlid, raise_if_not_found=False)
            if partner and steps is not None:
                deals[partner.name] = days
        open_deals = self.Partner.search([("funnel_state", "=", "open")])
        self.assertEqual(sorted(open_deals.mapped("name")), sorted(deals))
        expected = {
            partner.name
            for partner in open_deals
            if partner.lead_phase_id.stale_after_days
            and deals[partner.name] > partner.lead_phase_id.stale_after_days
        }
        self.assertGreaterEqual(len(expected), 2)
        self.assertEqual(set(open_deals.filtered("funnel_is_stale").mapped("name")), expected)


@tagged("post_install", "-at_install")
class TestImportedClosesCount(CrmPlusCase):
    """Contacts created with a past close (the import's columns, as the demo brings its year
    of closes in) count for the suggested score at once, as a Close does."""

    def test_imported_closes_refresh_the_stats(self):
        phases = self.lead_type.phase_ids.sorted("sequence")
        day = fields.Date.context_today(self.Partner) - timedelta(days=40)
        self.Partner.create(
            [
                {
                    "name": f"T-Imported {index}",
                    "account_type_id": self.lead_type.id,
                    "lead_phase_id": phases[1].id,
                    "close_reason_id": self.reason_lost.id,
                    "close_date": day,
                }
                for index in range(MIN_CLOSED)
            ]
        )
        stat = self.env["crm.plus.phase.stat"].search([("phase_id", "=", phases[1].id)])
        self.assertEqual((stat.reached_closed, stat.reached_won), (MIN_CLOSED, 0))
        self.assertEqual(stat.suggested_score, baseline_score(0, MIN_CLOSED))
        partner = self.Partner.create({"name": "T-Open", "account_type_id": self.lead_type.id})
        self.assertEqual(partner.funnel_suggested_score, baseline_score(0, MIN_CLOSED))
