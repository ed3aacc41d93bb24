"""The manager's dashboard (issue 31 item 6): each figure of crm.plus.dashboard against a
recount through the ORM on a fixed data set, the same for a manager and an own-documents
salesperson; each tile's action opens the records its figure counts."""

from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from ..compat import USER_GROUPS_FIELD
from .common import CrmPlusCase


@tagged("post_install", "-at_install")
class TestDashboard(CrmPlusCase):
    def data(self, user=None):
        Dashboard = self.env["crm.plus.dashboard"]
        if user:
            Dashboard = Dashboard.with_user(user)
        self.env.flush_all()
        return Dashboard.get_dashboard_data()

    def deal(self, name, amount, advance=0):
        partner = self.Partner.create({"name": name, "account_type_id": self.lead_type.id})
        for _ in range(advance):
            partner.action_advance_phase()
        partner.funnel_line_ids.filtered(
            lambda line: line.state == "current"
        ).forecast_value = amount
        return partner

    def close(self, partner, reason, amount):
        partner.funnel_line_ids.filtered(
            lambda line: line.state == "current"
        ).forecast_value = amount
        partner.action_close(reason.id)

    def won_deal(self, name, amount):
        partner = self.deal(name, 0, advance=3)
        self.close(partner, self.reason_won, amount)
        return partner

    def recount(self):
        """The dashboard's figures counted from the contacts and their lines."""
        today = fields.Date.context_today(self.Partner)
        month = today.replace(day=1)
        quarter = month.replace(month=(month.month - 1) // 3 * 3 + 1)
        year = month - relativedelta(months=11)
        open_partners = self.Partner.search([("funnel_state", "=", "open")])
        closes = self.Line.search(
            [("close_outcome", "!=", False), ("partner_id.active", "=", True)]
        )

        def won_since(start, end):
            won = closes.filtered(
                lambda line: line.close_outcome == "won" and start <= line.close_date < end
            )
            return {"count": len(won), "value": sum(won.mapped("forecast_value"))}

        last_year = closes.filtered(lambda line: line.close_date >= year)
        stale = open_partners.filtered("funnel_is_stale")
        return {
            "open": {
                "count": len(open_partners),
                "value": sum(open_partners.mapped("funnel_open_value")),
                "weighted": sum(open_partners.mapped("funnel_open_weighted_value")),
            },
            "won_month": won_since(month, month + relativedelta(months=1)),
            "won_quarter": won_since(quarter, quarter + relativedelta(months=3)),
            "closed": len(last_year),
            "won": len(last_year.filtered(lambda line: line.close_outcome == "won")),
            "stale": {"count": len(stale), "value": sum(stale.mapped("funnel_open_value"))},
        }

    def test_dashboard_figures(self):
        before = self.data()
        today = date.today()
        # Two open deals, one of them stale; two won (today, four months ago), two lost
        # (today, two months ago): every figure moves by what these say.
        self.phase_qualif.stale_after_days = 5
        first = self.deal("T-Dash Open", 1000)
        first.expected_close_date = today + relativedelta(months=1, day=15)
        stale = self.deal("T-Dash Stale", 2000, advance=1)
        stale.funnel_line_ids.filtered(lambda line: line.state == "current").date_start = (
            datetime.now() - timedelta(days=30)
        )
        self.assertTrue(stale.funnel_is_stale)
        self.won_deal("T-Dash Won", 5000)
        with freeze_time(today - relativedelta(months=4)):
            self.won_deal("T-Dash Won Earlier", 3000)
        self.close(self.deal("T-Dash Lost", 0), self.reason_lost, 700)
        with freeze_time(today - relativedelta(months=2)):
            self.close(self.deal("T-Dash Lost Earlier", 0), self.reason_lost, 300)
        # An archived deal counts nowhere.
        self.deal("T-Dash Archived", 9999).active = False

        data = self.data()
        # Open pipeline: amounts 1000 + 2000, weighted by the phases' scores (10 and 30).
        self.assertEqual(data["open"]["count"] - before["open"]["count"], 2)
        self.assertAlmostEqual(data["open"]["value"] - before["open"]["value"], 3000)
        self.assertAlmostEqual(data["open"]["weighted"] - before["open"]["weighted"], 700)
        self.assertEqual(data["won_month"]["count"] - before["won_month"]["count"], 1)
        self.assertAlmostEqual(data["won_month"]["value"] - before["won_month"]["value"], 5000)
        self.assertEqual(data["won_quarter"]["count"] - before["won_quarter"]["count"], 1)
        self.assertAlmostEqual(data["won_quarter"]["value"] - before["won_quarter"]["value"], 5000)
        self.assertEqual(data["win_rate"]["closed"] - before["win_rate"]["closed"], 4)
        self.assertEqual(data["win_rate"]["won"] - before["win_rate"]["won"], 2)
        self.assertEqual(data["stale"]["count"] - before["stale"]["count"], 1)
        self.assertAlmostEqual(data["stale"]["value"] - before["stale"]["value"], 2000)

        # The totals, against a recount of the contacts and their lines.
        recount = self.recount()
        self.assertEqual(data["open"]["count"], recount["open"]["count"])
        self.assertAlmostEqual(data["open"]["value"], recount["open"]["value"])
        self.assertAlmostEqual(data["open"]["weighted"], recount["open"]["weighted"])
        for period in ("won_month", "won_quarter"):
            self.assertEqual(data[period]["count"], recount[period]["count"])
            self.assertAlmostEqual(data[period]["value"], recount[period]["value"])
        self.assertEqual(data["win_rate"]["closed"], recount["closed"])
        self.assertEqual(data["win_rate"]["won"], recount["won"])
        self.assertAlmostEqual(
            data["win_rate"]["percent"], round(100 * recount["won"] / recount["closed"], 1)
        )
        self.assertEqual(data["stale"], recount["stale"])

        # Conversion by phase, on this test's own account type: 6 deals start in the first
        # phase, 3 move on (one open there, two lost there); 3 reach Qualification (one stays),
        # 2 reach Proposal and Closing and are won from it.
        phases = {row["id"]: row for row in data["phases"]}
        # From the first phase: the share of the type's 6 deals that reached each phase.
        expected = [
            (self.phase_first, 6, 3, 50.0, 100.0),
            (self.phase_qualif, 3, 2, 66.7, 50.0),
            (self.phase_proposal, 2, 2, 100.0, 33.3),
            (self.phase_closing, 2, 2, 100.0, 33.3),
        ]
        for phase, reached, moved_on, conversion, from_first in expected:
            row = phases[phase.id]
            self.assertEqual(
                (row["reached"], row["moved_on"], row["conversion"], row["reached_percent"]),
                (reached, moved_on, conversion, from_first),
                phase.name,
            )
            self.assertEqual(row["account_type"], self.lead_type.display_name)
        order = [row["id"] for row in data["phases"] if row["id"] in phases]
        lead_order = [pid for pid in order if pid in self.lead_type.phase_ids.ids]
        self.assertEqual(lead_order, self.lead_type.phase_ids.sorted("sequence").ids)

        # Forecast by month: the first deal's month holds its amount and weighted value.
        month = fields.Date.to_string(today + relativedelta(months=1, day=1))
        months = {row["month"]: row for row in data["forecast"]}
        before_months = {row["month"]: row for row in before["forecast"]}
        grown = months[month]["value"] - before_months.get(month, {"value": 0})["value"]
        self.assertAlmostEqual(grown, 1000)
        # Months in order; deals without any date (no person's, no learned one) come last.
        listed = [row["month"] for row in data["forecast"]]
        self.assertNotIn(False, listed[:-1])
        dated = [m for m in listed if m]
        self.assertEqual(dated, sorted(dated))
        total = sum(row["value"] for row in data["forecast"])
        self.assertAlmostEqual(total, data["open"]["value"])

        # Top lost reasons: this test's reason with its two losses of the last 12 months.
        reasons = {row["id"]: row for row in data["lost_reasons"]}
        self.assertEqual(reasons[self.reason_lost.id]["count"], 2)
        self.assertAlmostEqual(reasons[self.reason_lost.id]["value"], 1000)
        counts = [row["count"] for row in data["lost_reasons"]]
        self.assertEqual(counts, sorted(counts, reverse=True))

        self.assertFalse(data["mixed_currencies"])

        # An own-documents salesperson reads the same page as a manager (reading stays open to
        # every level, as in the reports).
        self.assertEqual(self.data(self.user_manager), data)
        self.assertEqual(self.data(self.user_sales), data)

    def test_dashboard_actions(self):
        """Each tile opens the records its figure counts."""
        self.won_deal("T-Dash Won", 5000)
        self.close(self.deal("T-Dash Lost", 0), self.reason_lost, 700)
        self.deal("T-Dash Open", 1000)
        data = self.data()
        Dashboard = self.env["crm.plus.dashboard"].with_user(self.user_sales)
        for tile, value, count in [
            ("open", None, data["open"]["count"]),
            ("won_month", None, data["won_month"]["count"]),
            ("won_quarter", None, data["won_quarter"]["count"]),
            ("win_rate", None, data["win_rate"]["closed"]),
            ("stale", None, data["stale"]["count"]),
            ("lost_reason", self.reason_lost.id, 1),
            (
                "forecast_month",
                data["forecast"][0]["month"],
                data["forecast"][0]["count"],
            ),
        ]:
            action = Dashboard.get_dashboard_action(tile, value)
            self.assertEqual(action["type"], "ir.actions.act_window")
            records = self.env[action["res_model"]].with_user(self.user_sales)
            self.assertEqual(records.search_count(action["domain"]), count, tile)
        with self.assertRaises(UserError):
            Dashboard.get_dashboard_action("everything")
        action = Dashboard.get_dashboard_action("phase", self.phase_first.id)
        self.assertEqual(action["res_model"], "crm.plus.funnel.report")
        # The menu: Reporting's first entry, for All Documents users and Administrators.
        menu = self.env.ref("crm_plus.crm_plus_dashboard_menu")
        self.assertEqual(menu.parent_id, self.env.ref("crm_plus.crm_plus_menu_reporting"))
        self.assertEqual(menu[USER_GROUPS_FIELD], self.env.ref("crm_plus.group_crm_plus_all"))
