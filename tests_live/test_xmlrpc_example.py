"""examples/xmlrpc_client.py, run as a user would run it, against a live server (issue 8).

A real Odoo server (tests_live/live_server.py) on a throw-away database with crm_plus installed and
Dutch activated; the example runs in a subprocess. Ports: ``$CRM_PLUS_TEST_PORTS`` when set,
else 18300-18399.
"""

import os
import re
import subprocess
import sys
import xmlrpc.client
from pathlib import Path
from unittest import mock

import pytest

from ..compat import AT_LEAST_19
from .live_server import Json2Client, LiveServer, api_keys, odoo_shell, throwaway_database

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# The XML-RPC example on both series; its JSON-2 twin on 19.0 (where XML-RPC is deprecated).
PROTOCOLS = ["xmlrpc", "json2"] if AT_LEAST_19 else ["xmlrpc"]
PORTS = "18300-18399"
# phase, state, score, forecast, close reason: a row of the funnel the example prints
FUNNEL_ROW = re.compile(r"^(.+?)\s+(todo|current|done)\s+(\d+)\s+([\d.]+)\s+(.+)$")
ACTIVATE_DUTCH = """
env["res.lang"]._activate_lang("nl_NL")
env["ir.module.module"]._load_module_terms(["crm_plus"], ["nl_NL"], overwrite=True)
env.cr.commit()
"""


@pytest.fixture(scope="module", params=PROTOCOLS)
def server(request):
    ports = {} if os.environ.get("CRM_PLUS_TEST_PORTS") else {"CRM_PLUS_TEST_PORTS": PORTS}
    with mock.patch.dict(os.environ, ports), throwaway_database("example") as db:
        odoo_shell(db, ACTIVATE_DUTCH)
        with LiveServer(db) as live:
            live.protocol = request.param
            live.api_key = api_keys(db, ["admin"])["admin"] if request.param == "json2" else None
            yield live


def client(server):
    """A client of the example's API, as admin."""
    if server.protocol == "json2":
        return Json2Client(server.url, server.db, server.api_key, "admin")
    return server.rpc()


def run_example(server, *args):
    if server.protocol == "json2":
        script, login = EXAMPLES / "json2_client.py", [f"--api-key={server.api_key}"]
    else:
        script, login = EXAMPLES / "xmlrpc_client.py", ["--user=admin", "--password=admin"]
    wrong = "--password=wrong" in args
    if wrong:
        args = tuple(arg for arg in args if arg != "--password=wrong")
        login = (
            ["--api-key=wrong"] if server.protocol == "json2" else [*login[:1], "--password=wrong"]
        )
    return subprocess.run(
        [
            sys.executable,
            str(script),
            f"--url={server.url}",
            f"--db={server.db}",
            *login,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_example_closes_a_lead_as_won(server):
    proc = run_example(server, "--name=Example Won Ltd", "--forecast=12000")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "account type LEAD: Lead" in out
    assert "advanced to: Closing (score 90)" in out
    assert "closed as won: Contract signed" in out
    assert "funnel state: won" in out
    assert "account type: Customer" in out
    table = out.split("close reason\n", 1)[1].split("\n\n", 1)[0].splitlines()
    rows = [FUNNEL_ROW.match(line).groups() for line in table]
    assert rows == [
        ("First contact", "done", "10", "12000.00", "-"),
        ("Qualification", "done", "25", "12000.00", "-"),
        ("Proposal", "done", "50", "12000.00", "-"),
        ("Negotiation", "done", "75", "12000.00", "-"),
        ("Closing", "done", "90", "12000.00", "Contract signed"),
    ]

    # What the server holds agrees with what the example printed.
    admin = server.rpc()
    [partner] = admin.call(
        "res.partner",
        "search_read",
        [("name", "=", "Example Won Ltd")],
        fields=["funnel_state", "account_type_id", "close_reason_id", "lead_phase_id"],
    )
    assert partner["funnel_state"] == "won"
    assert partner["account_type_id"][0] == admin.ref("crm_plus.account_type_customer")
    assert partner["close_reason_id"][0] == admin.ref("crm_plus.close_reason_won_contract")
    lines = admin.call(
        "crm.plus.phase.line",
        "search_read",
        [("partner_id", "=", partner["id"])],
        fields=["state", "forecast_value", "close_outcome"],
        order="sequence",
    )
    assert [line["state"] for line in lines] == ["done"] * 5
    assert lines[-1]["close_outcome"] == "won"
    assert {line["forecast_value"] for line in lines} == {12000.0}


def test_example_in_dutch(server):
    proc = run_example(server, "--name=Voorbeeld BV", "--lang=nl_NL")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "advanced to: Afsluiting (score 90)" in proc.stdout
    assert "closed as won: Contract getekend" in proc.stdout
    assert "account type: Klant" in proc.stdout


def test_refusal_reaches_the_client_in_dutch(server):
    admin = client(server)
    lead = admin.call("crm.plus.account.type", "search", [("code", "=", "LEAD")])[0]
    won = admin.call("crm.plus.close.reason", "search", [("outcome", "=", "won")], limit=1)[0]
    partner = admin.call("res.partner", "create", {"name": "Te Vroeg BV", "account_type_id": lead})
    with pytest.raises(xmlrpc.client.Fault) as caught:
        admin.call("res.partner", "action_close", [partner], won, context={"lang": "nl_NL"})
    assert caught.value.faultCode == 2
    assert caught.value.faultString == (
        "Te Vroeg BV kan alleen als gewonnen worden afgesloten vanuit de afsluitfase "
        "(Afsluiting); het staat in Eerste contact. Als verloren afsluiten kan vanuit elke fase."
    )


def test_example_reports_a_refused_login(server):
    proc = run_example(server, "--password=wrong")
    assert proc.returncode != 0
    assert "login refused" in proc.stderr
