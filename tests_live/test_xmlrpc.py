"""The funnel over XML-RPC against a real server: the public contract integrators rely on."""

import contextlib
import unittest
import xmlrpc.client

from odoo.tests import tagged

from ..compat import AT_LEAST_19
from .live_server import Json2Client, LiveServer, api_keys, throwaway_database


@tagged("post_install", "-at_install")
class TestXmlRpcRoundTrip(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._stack = contextlib.ExitStack()
        cls.db = cls._stack.enter_context(throwaway_database("rpc_roundtrip"))
        cls.server = cls._stack.enter_context(LiveServer(cls.db))
        cls.rpc = cls.server.rpc("admin", "admin")

    @classmethod
    def tearDownClass(cls):
        cls._stack.close()
        super().tearDownClass()

    def call(self, model, method, *args, **kwargs):
        return self.rpc.call(model, method, *args, **kwargs)

    def assertFault(self, code, pattern, model, method, *args, **kwargs):
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self.call(model, method, *args, **kwargs)
        self.assertEqual(caught.exception.faultCode, code, caught.exception.faultString[-500:])
        self.assertRegex(caught.exception.faultString, pattern)

    def test_round_trip(self):
        customer = self.call(
            "crm.plus.account.type", "create", {"name": "RPC Customer", "code": "RPC-C"}
        )
        lead = self.call(
            "crm.plus.account.type",
            "create",
            {
                "name": "RPC Lead",
                "code": "RPC-L",
                "won_account_type_id": customer,
                "phase_ids": [
                    (0, 0, {"name": "Contact", "sequence": 1, "default_score": 10}),
                    (0, 0, {"name": "Offer", "sequence": 2, "default_score": 50}),
                    (
                        0,
                        0,
                        {
                            "name": "Closing",
                            "sequence": 3,
                            "phase_type": "closing",
                            "default_score": 90,
                        },
                    ),
                ],
            },
        )
        self.assertEqual(
            self.call("crm.plus.account.type", "search", [("code", "=", "RPC-L")]), [lead]
        )
        won = self.call(
            "crm.plus.close.reason", "create", {"name": "RPC signed", "outcome": "won"}
        )
        lost = self.call(
            "crm.plus.close.reason", "create", {"name": "RPC price", "outcome": "lost"}
        )
        partner = self.call(
            "res.partner", "create", {"name": "RPC Partner", "account_type_id": lead}
        )

        def read():
            return self.call(
                "res.partner",
                "read",
                [partner],
                [
                    "account_type_id",
                    "lead_phase_id",
                    "funnel_state",
                    "close_reason_id",
                    "close_date",
                ],
            )[0]

        self.assertEqual(read()["funnel_state"], "open")
        self.assertEqual(read()["lead_phase_id"][1], "Contact")
        line_ids = self.call("crm.plus.phase.line", "search", [("partner_id", "=", partner)])
        self.assertEqual(len(line_ids), 3)
        current = self.call(
            "crm.plus.phase.line",
            "search",
            [("partner_id", "=", partner), ("state", "=", "current")],
        )
        self.call("crm.plus.phase.line", "write", current, {"forecast_value": 9000, "score": 20})
        [line] = self.call("crm.plus.phase.line", "read", current, ["forecast_value", "score"])
        self.assertEqual((line["forecast_value"], line["score"]), (9000, 20))
        self.assertFault(
            2, "won from the closing phase", "res.partner", "action_close", [partner], won
        )
        self.call("res.partner", "action_advance_phase", [partner])
        self.assertEqual(read()["lead_phase_id"][1], "Offer")
        self.call("res.partner", "action_advance_phase", [partner])
        self.assertEqual(read()["lead_phase_id"][1], "Closing")
        self.assertFault(2, "closing phase", "res.partner", "action_advance_phase", [partner])
        self.assertFault(2, "does not exist", "res.partner", "action_close", [partner], 987654321)
        self.call("res.partner", "action_close", [partner], won)
        state = read()
        self.assertEqual(state["funnel_state"], "won")
        self.assertEqual(state["account_type_id"][0], customer, "Lead → Customer when won")
        self.assertEqual(state["close_reason_id"][0], won)
        self.assertTrue(state["close_date"])
        lines = self.call(
            "crm.plus.phase.line",
            "search_read",
            [("partner_id", "=", partner)],
            ["state", "close_outcome", "close_reason_id", "forecast_value"],
            order="sequence",
        )
        self.assertEqual([line["state"] for line in lines], ["done", "done", "done"])
        self.assertEqual(lines[-1]["close_outcome"], "won")
        self.assertEqual(lines[-1]["forecast_value"], 9000, "figures carried along the funnel")
        self.assertFault(2, "closed", "res.partner", "action_advance_phase", [partner])
        # Reopen goes back to the funnel; a lost close from there is history too.
        self.call("res.partner", "action_reopen", [partner])
        state = read()
        self.assertEqual(state["account_type_id"][0], lead)
        self.assertEqual((state["funnel_state"], state["lead_phase_id"][1]), ("open", "Closing"))
        self.call("res.partner", "action_close", [partner], lost)
        self.assertEqual(read()["funnel_state"], "lost")
        closes = self.call(
            "crm.plus.phase.line",
            "search_count",
            [("partner_id", "=", partner), ("close_outcome", "!=", False)],
        )
        self.assertEqual(closes, 1, "one line, last close wins on it")

    def test_type_in_one_call_rules(self):
        self.assertFault(
            2,
            "must be the last phase",
            "crm.plus.account.type",
            "create",
            {
                "name": "RPC bad",
                "phase_ids": [
                    (0, 0, {"name": "Closing", "sequence": 1, "phase_type": "closing"}),
                    (0, 0, {"name": "After", "sequence": 2}),
                ],
            },
        )
        self.assertFault(
            2,
            "only one",
            "crm.plus.account.type",
            "create",
            {
                "name": "RPC bad 2",
                "phase_ids": [
                    (0, 0, {"name": "C1", "sequence": 1, "phase_type": "closing"}),
                    (0, 0, {"name": "C2", "sequence": 2, "phase_type": "closing"}),
                ],
            },
        )
        self.assertFalse(
            self.call("crm.plus.account.type", "search", [("name", "like", "RPC bad")])
        )
        draft = self.call(
            "crm.plus.account.type",
            "create",
            {"name": "RPC draft", "phase_ids": [(0, 0, {"name": "Only", "sequence": 1})]},
        )
        won = self.call("crm.plus.close.reason", "search", [("outcome", "=", "won")], limit=1)
        partner = self.call(
            "res.partner", "create", {"name": "RPC Draft partner", "account_type_id": draft}
        )
        self.assertFault(
            2, "no closing phase yet", "res.partner", "action_close", [partner], won[0]
        )

    def test_database_constraint_is_readable(self):
        lead = self.call("crm.plus.account.type", "search", [("code", "=", "LEAD")])
        partner = self.call(
            "res.partner", "create", {"name": "RPC Score", "account_type_id": lead[0]}
        )
        line = self.call(
            "crm.plus.phase.line",
            "search",
            [("partner_id", "=", partner), ("state", "=", "current")],
        )
        self.assertFault(
            2, "between 1 and 100", "crm.plus.phase.line", "write", line, {"score": 101}
        )
        self.assertFault(
            2, "already used", "crm.plus.account.type", "create", {"name": "x", "code": "lead"}
        )

    def test_a_client_context_key_does_not_change_a_report_read(self):
        """Issue 30 item 16: the funnel analysis reads its kept totals only when the addon
        asks, with a Python object no client can send. A client's context key of the same name,
        whatever its value, reads what the same call reads without it: never an HTTP 500."""
        lead = self.call("crm.plus.account.type", "search", [("code", "=", "LEAD")])
        for name in ("RPC Report A", "RPC Report B"):
            self.call("res.partner", "create", {"name": name, "account_type_id": lead[0]})
        report, fields = "crm.plus.funnel.report", ["phase_id", "state", "reached"]
        rows = self.call(report, "search_read", [], fields, order="id")
        self.assertTrue(rows)
        for value in (True, 1, "totals", "days"):
            context = {"crm_plus_funnel_read_totals": value}
            with self.subTest(value=value):
                self.assertEqual(
                    self.call(report, "search_read", [], fields, order="id", context=context),
                    rows,
                )


if AT_LEAST_19:

    @tagged("post_install", "-at_install")
    class TestJson2RoundTrip(TestXmlRpcRoundTrip):
        """The same contract over Odoo 19.0's JSON-2 API (an API key, named arguments)."""

        @classmethod
        def setUpClass(cls):
            super().setUpClass()
            cls.rpc = Json2Client(
                cls.server.url, cls.db, api_keys(cls.db, ["admin"])["admin"], "admin"
            )
