"""Shared fixtures of the crm_plus test suite.

The browser tours' base (CrmPlusTourCase): Odoo *skips* browser tests when Chromium or the
``websocket-client`` package is missing; here a tour that cannot run is an error, so a green
suite means every tour ran. HttpCase needs Odoo's HTTP server (Odoo's runner starts it).
"""

import unittest

import odoo
from odoo import SUPERUSER_ID, Command, api
from odoo.modules.registry import Registry
from odoo.tests import HttpCase, TransactionCase, get_db_name
from odoo.tests import common as tests_common

from ..compat import USER_GROUPS_FIELD

# The groups of the test users (xmlids).
USER = "crm_plus.group_crm_plus_user"
ALL_DOCUMENTS = "crm_plus.group_crm_plus_all"
MANAGER = "crm_plus.group_crm_plus_manager"
PARTNER_MANAGER = "base.group_partner_manager"
# The Funnel Analysis's measures the report tests read, grouped (with its totals and without).
FUNNEL_MEASURES = [
    "__count",
    "reached:sum",
    "moved_on:sum",
    "deal_count:sum",
    "won_count:sum",
    "reached_percent:avg",
    "phase_conversion:avg",
    "open_forecast_value:sum",
    "open_weighted_value:sum",
]


class CrmPlusCase(TransactionCase):
    """A funnel of its own (independent from seed and demo data), users and reasons."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=False))
        cls.company = cls.env.company
        cls.AccountType = cls.env["crm.plus.account.type"]
        cls.Phase = cls.env["crm.plus.lead.phase"]
        cls.Reason = cls.env["crm.plus.close.reason"]
        cls.Line = cls.env["crm.plus.phase.line"]
        cls.Partner = cls.env["res.partner"]
        cls.FunnelReport = cls.env["crm.plus.funnel.report"]
        cls.WinlossReport = cls.env["crm.plus.winloss.report"]
        cls.ForecastReport = cls.env["crm.plus.forecast.report"]
        cls.CalibrationReport = cls.env["crm.plus.calibration.report"]
        cls.Stat = cls.env["crm.plus.phase.stat"]

        cls.customer_type = cls.AccountType.create({"name": "T-Customer", "code": "T-CUST"})
        cls.lead_type = cls.AccountType.create(
            {
                "name": "T-Lead",
                "code": "T-LEAD",
                "won_account_type_id": cls.customer_type.id,
                "phase_ids": [
                    Command.create(
                        {
                            "name": "T-First contact",
                            "code": "T-FC",
                            "sequence": 1,
                            "default_score": 10,
                        }
                    ),
                    Command.create(
                        {
                            "name": "T-Qualification",
                            "code": "T-QU",
                            "sequence": 2,
                            "default_score": 30,
                        }
                    ),
                    Command.create(
                        {"name": "T-Proposal", "code": "T-PR", "sequence": 3, "default_score": 60}
                    ),
                    Command.create(
                        {
                            "name": "T-Closing",
                            "code": "T-CL",
                            "sequence": 4,
                            "phase_type": "closing",
                            "default_score": 90,
                        }
                    ),
                ],
            }
        )
        cls.phase_first, cls.phase_qualif, cls.phase_proposal, cls.phase_closing = (
            cls.lead_type.phase_ids.sorted("sequence")
        )
        cls.prospect_type = cls.AccountType.create(
            {
                "name": "T-Prospect",
                "code": "T-PROS",
                "phase_ids": [
                    Command.create({"name": "T-P1", "sequence": 1, "default_score": 20}),
                    Command.create(
                        {
                            "name": "T-P-Closing",
                            "sequence": 2,
                            "phase_type": "closing",
                            "default_score": 80,
                        }
                    ),
                ],
            }
        )
        cls.reason_won = cls.Reason.create({"name": "T-Signed", "code": "T-W", "outcome": "won"})
        cls.reason_lost = cls.Reason.create({"name": "T-Price", "code": "T-L", "outcome": "lost"})

        cls.user_sales = cls.make_user(
            "T-Sales", "sales", USER, PARTNER_MANAGER, email="sales@example.com"
        )
        cls.user_manager = cls.make_user("T-Manager", "manager", MANAGER, PARTNER_MANAGER)
        cls.user_internal = cls.make_user("T-Internal", "internal", "base.group_user")

    @classmethod
    def make_user(cls, name, login, *groups, **vals):
        """A user ``t_crm_plus_<login>`` of exactly ``groups`` (xmlids) and what they imply."""
        return (
            cls.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": name,
                    "login": f"t_crm_plus_{login}",
                    USER_GROUPS_FIELD: [Command.set([cls.env.ref(xmlid).id for xmlid in groups])],
                    **vals,
                }
            )
        )

    def make_partners(self, count=1, account_type=None, **vals):
        account_type = self.lead_type if account_type is None else account_type
        return self.Partner.create(
            [
                dict(
                    {"name": f"T-Partner {i}", "account_type_id": account_type.id or False}, **vals
                )
                for i in range(count)
            ]
        )

    def line_states(self, partner):
        return [(line.phase_id, line.state) for line in partner.funnel_line_ids.sorted("sequence")]

    def assertFunnelInvariants(self, partners):
        """One current line per open partner, none for closed ones, a close reason exactly when
        closed, line states ordered done → current → todo along the phases."""
        order = {"done": 0, "current": 1, "todo": 2}
        for partner in partners:
            lines = partner.funnel_line_ids.sorted(lambda line: (line.sequence, line.phase_id.id))
            current = lines.filtered(lambda line: line.state == "current")
            if partner.funnel_state == "open":
                self.assertEqual(len(current), 1, partner.name)
                self.assertEqual(current.phase_id, partner.lead_phase_id, partner.name)
                self.assertFalse(partner.close_reason_id, partner.name)
                states = [order[state] for state in lines.mapped("state")]
                self.assertEqual(
                    states, sorted(states), f"{partner.name}: {lines.mapped('state')}"
                )
            elif partner.funnel_state in ("won", "lost"):
                self.assertFalse(current, partner.name)
                self.assertTrue(partner.close_reason_id, partner.name)
                self.assertEqual(partner.close_reason_id.outcome, partner.funnel_state)


# The bundles a tour in the web client loads.
TOUR_BUNDLES = {
    "web.assets_web": ("js", "css"),
    "web.assets_web_print": ("css",),
    "web.assets_tests": ("js",),
    "bus.websocket_worker_assets": ("js",),
}


class CrmPlusTourCase(HttpCase):
    """The tours' base: no tour of its own, so a suite of tours subclasses it without running
    another suite's tours again (pytest-odoo collects inherited test methods)."""

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

    def run_tour(self, url, tour, login="admin"):
        self.start_tour(url, tour, login=login, timeout=120)
        self.env.invalidate_all()  # the tour's requests wrote through the same transaction

    def lead(self, name, **vals):
        return self.Partner.create(
            dict({"name": name, "is_company": True, "account_type_id": self.type_lead.id}, **vals)
        )

    def current_line(self, partner):
        return partner.funnel_line_ids.filtered(lambda line: line.state == "current")
