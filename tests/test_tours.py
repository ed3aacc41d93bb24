"""Acceptance tours: the funnel as a user sees it, in headless Chromium.

Each test creates the data its tour needs, runs the tour (static/tests/tours/) as admin, then
checks in Python what the clicks changed. Run with pytest-odoo's ``--odoo-http`` (tools/test.sh
does): HttpCase needs Odoo's HTTP server.

Odoo *skips* browser tests when Chromium or the ``websocket-client`` package is missing; here a
tour that cannot run is an error, so a green suite means every tour ran.
"""

import unittest

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.tests import HttpCase, get_db_name, tagged
from odoo.tests import common as tests_common

# The bundles a tour in the web client loads.
TOUR_BUNDLES = {
    "web.assets_web": ("js", "css"),
    "web.assets_web_print": ("css",),
    "web.assets_tests": ("js",),
    "bus.websocket_worker_assets": ("js",),
}


@tagged("post_install", "-at_install")
class TestCrmPlusTours(HttpCase):
    @classmethod
    def setUpClass(cls):
        if odoo.service.server.server is None:
            raise RuntimeError(
                "The browser tours need Odoo's HTTP server: run pytest with --odoo-http."
            )
        if tests_common.websocket is None:
            raise RuntimeError(
                "The browser tours need the websocket-client Python package (requirements.txt)."
            )
        try:
            tests_common._find_executable()
        except unittest.SkipTest as exc:
            raise RuntimeError(
                "The browser tours need Chromium: `apt-get install chromium` (Debian/Ubuntu)."
            ) from exc
        cls._build_asset_bundles()
        super().setUpClass()
        cls.env.ref("base.user_admin").tour_enabled = False  # no onboarding tips over the tours
        ref = cls.env.ref
        cls.type_lead = ref("crm_plus.account_type_lead")
        cls.type_customer = ref("crm_plus.account_type_customer")
        cls.phase_first = ref("crm_plus.phase_lead_first_contact")
        cls.phase_qualification = ref("crm_plus.phase_lead_qualification")
        cls.phase_closing = ref("crm_plus.phase_lead_closing")
        cls.reason_won = ref("crm_plus.close_reason_won_contract")
        cls.reason_lost = ref("crm_plus.close_reason_lost_price")
        cls.Partner = cls.env["res.partner"]

    @classmethod
    def _build_asset_bundles(cls):
        """Build the web client's asset bundles once, committed, like Odoo's own test runner
        does before HTTP tests (odoo/service/server.py, all bundles there). Otherwise each tour
        builds them in its own transaction, rolled back with it, and the next tour starts over
        (~10 s a tour). They are a cache: Odoo rebuilds them when a file changes."""
        with Registry(get_db_name()).cursor() as cr:
            qweb = api.Environment(cr, SUPERUSER_ID, {})["ir.qweb"]
            for bundle, kinds in TOUR_BUNDLES.items():
                if "js" in kinds:
                    qweb._get_asset_bundle(bundle, css=False, js=True).js()
                if "css" in kinds:
                    qweb._get_asset_bundle(bundle, css=True, js=False).css()

    def browser_js(self, *args, **kwargs):
        # ChromeBrowser raises SkipTest when the browser cannot start or connect: fail instead.
        try:
            return super().browser_js(*args, **kwargs)
        except unittest.SkipTest as exc:
            self.fail(f"The browser tour could not run: {exc}")

    def run_tour(self, url, tour):
        self.start_tour(url, tour, login="admin", timeout=120)
        self.env.invalidate_all()  # the tour's requests wrote through the same transaction

    def lead(self, name, **vals):
        return self.Partner.create(
            dict({"name": name, "is_company": True, "account_type_id": self.type_lead.id}, **vals)
        )

    def current_line(self, partner):
        return partner.funnel_line_ids.filtered(lambda line: line.state == "current")

    # ------------------------------------------------------------------ tours

    def test_tour_overview_page_follows_account_type(self):
        partner = self.lead("Tour Overview Ltd")
        self.run_tour(f"/odoo/contacts/{partner.id}", "crm_plus_tour_overview_page")
        self.assertEqual(partner.account_type_id, self.type_lead)
        self.assertEqual(partner.funnel_state, "open")
        self.assertEqual(partner.lead_phase_id, self.phase_first)
        self.assertEqual(self.current_line(partner).phase_id, self.phase_first)

    def test_tour_advance_and_close_won(self):
        partner = self.lead("Tour Won Ltd")
        first_line = self.current_line(partner)
        self.run_tour(f"/odoo/contacts/{partner.id}", "crm_plus_tour_close_won")
        self.assertEqual(partner.funnel_state, "won")
        self.assertEqual(partner.close_reason_id, self.reason_won)
        self.assertEqual(partner.account_type_id, self.type_customer)
        self.assertEqual(
            (first_line.score, first_line.forecast_value, first_line.recurring_value),
            (40, 12000.0, 500.0),
        )
        self.assertEqual(first_line.state, "done")
        closing_line = partner.phase_line_ids.filtered(
            lambda line: line.phase_id == self.phase_closing
        )
        self.assertEqual(closing_line.close_outcome, "won")
        self.assertEqual(closing_line.forecast_value, 12000.0, "the forecast carried over")
        self.assertEqual(
            partner.phase_line_ids.filtered(
                lambda line: line.account_type_id == self.type_lead
            ).mapped("state"),
            ["done"] * 5,
        )

    def test_tour_close_lost_then_reopen(self):
        partner = self.lead("Tour Lost Ltd")
        partner.action_advance_phase()
        self.assertEqual(partner.lead_phase_id, self.phase_qualification)
        self.run_tour(f"/odoo/contacts/{partner.id}", "crm_plus_tour_close_lost_reopen")
        self.assertEqual(partner.funnel_state, "open")
        self.assertFalse(partner.close_reason_id)
        self.assertEqual(partner.lead_phase_id, self.phase_qualification)
        line = self.current_line(partner)
        self.assertEqual(line.phase_id, self.phase_qualification)
        # Reopened, the line no longer carries the close; the chatter keeps it.
        self.assertFalse(line.close_outcome)
        self.assertFalse(line.close_reason_id)
        self.assertFalse(line.close_date)
        self.assertFalse(line.closed_by_id)
        self.assertTrue(
            partner.message_ids.tracking_value_ids.filtered(
                lambda value: value.field_id.name == "close_reason_id"
                and value.old_value_char == self.reason_lost.name
            ),
            "the chatter keeps the lost close",
        )

    def test_tour_pipeline_board_and_winloss(self):
        partner = self.lead("Tour Pipeline Ltd")
        # A closed partner, so the win/loss report has a row.
        closed = self.lead("Tour Closed Ltd")
        closed.action_close(self.reason_lost.id)
        self.run_tour("/odoo", "crm_plus_tour_pipeline")
        self.assertEqual(partner.lead_phase_id, self.phase_qualification)
        self.assertEqual(self.current_line(partner).phase_id, self.phase_qualification)
        first_line = partner.funnel_line_ids.filtered(
            lambda line: line.phase_id == self.phase_first
        )
        self.assertEqual(first_line.state, "done")

    def test_tour_bad_score_saves_nothing(self):
        partner = self.lead("Tour Bad Input Ltd")
        line = self.current_line(partner)
        before = (line.score, line.forecast_value, line.recurring_value)
        self.run_tour(f"/odoo/contacts/{partner.id}", "crm_plus_tour_bad_score")
        self.assertEqual((line.score, line.forecast_value, line.recurring_value), before)
        self.assertEqual(partner.funnel_forecast_value, 0.0)
        self.assertEqual(partner.lead_phase_id, self.phase_first)

    def test_tour_bulk_account_type_wizard(self):
        partners = self.Partner.create(
            [{"name": f"Tour Bulk {letter}", "is_company": True} for letter in "ABC"]
        )
        other = self.Partner.create({"name": "Tour Bulk Untouched", "is_company": True})
        self.run_tour("/odoo/contacts", "crm_plus_tour_bulk_account_type")
        self.assertEqual(partners.account_type_id, self.type_lead)
        self.assertEqual(set(partners.mapped("funnel_state")), {"open"})
        self.assertEqual(partners.lead_phase_id, self.phase_first)
        self.assertFalse(other.account_type_id, "only the selected contacts change")
