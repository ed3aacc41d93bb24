"""Concurrency under a multi-process server (issue 7).

Odoo runs with ``--workers 2`` on a database of its own; several XML-RPC clients, each in its own
thread and connection, fire ``action_advance_phase`` at the same time:

- 50 calls on one partner whose funnel has 40 phases before its closing phase: every accepted
  call moves it exactly one phase (phase reached = calls accepted), the others are refused
  cleanly (the closing phase is reached, or a concurrent update) — never a crash, never a line
  lost, duplicated or left half-moved;
- 200 calls on 200 different partners: each moves its partner exactly one phase.

After both, the funnel invariants hold on the whole database (one current line per open
partner, states ordered along the phases, …). Sizes: ``CRM_PLUS_CONCURRENCY_SAME`` (50),
``CRM_PLUS_CONCURRENCY_MANY`` (200), ``CRM_PLUS_CONCURRENCY_THREADS`` (10).
"""

import os
import threading
import time
import xmlrpc.client
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from ..compat import USER_GROUPS_FIELD
from .live_server import (
    LiveServer,
    assert_funnel_invariants,
    pg_cursor,
    report,
    throwaway_database,
)

SAME_CALLS = int(os.environ.get("CRM_PLUS_CONCURRENCY_SAME", 50))
MANY_CALLS = int(os.environ.get("CRM_PLUS_CONCURRENCY_MANY", 200))
THREADS = int(os.environ.get("CRM_PLUS_CONCURRENCY_THREADS", 10))
# Normal phases before the closing one: fewer than the calls, so that the last calls are refused.
LONG_PHASES = max(1, SAME_CALLS * 4 // 5)
SALES_PASSWORD = "cc-sales-pw-123"


@pytest.fixture(scope="module")
def live():
    with (
        throwaway_database("concurrency") as db,
        LiveServer(db, workers=2, log_level="info") as server,
    ):
        admin = server.rpc()
        group_ids = [
            # Every contact is worked by every user here: the "All Documents" level.
            admin.ref("crm_plus.group_crm_plus_all"),
            admin.ref("base.group_partner_manager"),
        ]
        admin.call(
            "res.users",
            "create",
            {
                "name": "CC sales",
                "login": "cc_sales",
                "password": SALES_PASSWORD,
                USER_GROUPS_FIELD: [(6, 0, group_ids)],
            },
        )
        yield server, admin


def _clients(server, count):
    """``count`` clients, each with its own connection; admin and a CRM+ user alternate."""
    logins = [("admin", "admin"), ("cc_sales", SALES_PASSWORD)]
    return [server.rpc(*logins[i % len(logins)]) for i in range(count)]


def _fire(clients, partner_ids):
    """Call action_advance_phase on each partner id (one call each), spread over the clients,
    all threads starting together. Returns [(partner_id, 'accepted' | fault code | error)]."""
    barrier = threading.Barrier(len(clients))
    chunks = [partner_ids[i :: len(clients)] for i in range(len(clients))]

    def work(client, chunk):
        results = []
        barrier.wait()
        for partner_id in chunk:
            try:
                client.call("res.partner", "action_advance_phase", [partner_id])
                results.append((partner_id, "accepted", ""))
            except xmlrpc.client.Fault as fault:
                results.append((partner_id, fault.faultCode, fault.faultString))
            except Exception as error:
                results.append((partner_id, type(error).__name__, str(error)))
        return results

    with ThreadPoolExecutor(len(clients)) as pool:
        futures = [pool.submit(work, c, chunk) for c, chunk in zip(clients, chunks, strict=False)]
        return [result for future in futures for result in future.result()]


def live_retries(server):
    return server.retried_serialization_failures()[0]


def _lines(db, partner_ids):
    """{partner_id: [(phase_id, state), …] in phase order} read straight from the database."""
    with pg_cursor(db) as cr:
        cr.execute(
            """SELECT partner_id, phase_id, state FROM crm_plus_phase_line
                WHERE partner_id = ANY(%s) AND is_active_funnel
                ORDER BY partner_id, sequence, phase_id""",
            [list(partner_ids)],
        )
        lines = {}
        for partner_id, phase_id, state in cr.fetchall():
            lines.setdefault(partner_id, []).append((phase_id, state))
    return lines


def _all_line_keys(db, partner_ids):
    with pg_cursor(db) as cr:
        cr.execute(
            "SELECT partner_id, phase_id FROM crm_plus_phase_line WHERE partner_id = ANY(%s)",
            [list(partner_ids)],
        )
        return Counter(cr.fetchall())


def _summarise(results):
    counts = Counter(code for _pid, code, _msg in results)
    refused = Counter(
        _first_line(message) for _pid, code, message in results if code != "accepted"
    )
    return counts, refused


def _first_line(message):
    lines = [line for line in message.strip().splitlines() if line.strip()]
    return (lines[-1] if "Traceback" in message else lines[0])[:160] if lines else ""


def test_same_partner(live, pytestconfig):
    server, admin = live
    phases = [(0, 0, {"name": f"CC {i:02d}", "sequence": i}) for i in range(1, LONG_PHASES + 1)]
    phases.append(
        (0, 0, {"name": "CC closing", "sequence": LONG_PHASES + 1, "phase_type": "closing"})
    )
    type_id = admin.call(
        "crm.plus.account.type", "create", {"name": "CC long funnel", "phase_ids": phases}
    )
    phase_ids = admin.call(
        "crm.plus.lead.phase", "search", [("account_type_id", "=", type_id)], order="sequence, id"
    )
    partner_id = admin.call(
        "res.partner", "create", {"name": "CC same partner", "account_type_id": type_id}
    )
    keys_before = _all_line_keys(server.db, [partner_id])

    started = time.monotonic()
    results = _fire(_clients(server, THREADS), [partner_id] * SAME_CALLS)
    elapsed = time.monotonic() - started

    counts, refused = _summarise(results)
    accepted = counts["accepted"]
    [partner] = admin.call("res.partner", "read", [partner_id], ["lead_phase_id", "funnel_state"])
    reached = phase_ids.index(partner["lead_phase_id"][0])
    states = [state for _phase, state in _lines(server.db, [partner_id])[partner_id]]
    retried, gave_up = server.retried_serialization_failures()
    report(
        pytestconfig,
        "crm_plus: concurrent advances on one partner (--workers 2)",
        [
            f"{SAME_CALLS} calls from {THREADS} clients in {elapsed:.1f}s: "
            f"{accepted} accepted, {SAME_CALLS - accepted} refused; phase reached {reached} "
            f"of {LONG_PHASES} (+ closing); Odoo retried {retried} serialization failures, "
            f"gave up {gave_up} times",
            *(f"  refused {count}x: {message}" for message, count in refused.most_common()),
        ],
    )
    assert partner["funnel_state"] == "open"
    assert reached == accepted, "each accepted call moves exactly one phase"
    assert states == ["done"] * reached + ["current"] + ["todo"] * (len(phase_ids) - reached - 1)
    assert _all_line_keys(server.db, [partner_id]) == keys_before, "a line was lost or duplicated"
    bad = [
        (code, message[-800:]) for _pid, code, message in results if code not in ("accepted", 2)
    ]
    assert not bad, f"{len(bad)} calls failed other than with a clean fault code 2: {bad[:3]}"
    # Odoo retries serialization failures: every call is accepted until the closing phase,
    # and every later call gets the closing-phase refusal, nothing else.
    assert accepted == min(SAME_CALLS, LONG_PHASES), refused
    closing_refusals = sum(
        count for message, count in refused.items() if "is in the closing phase" in message
    )
    assert closing_refusals == SAME_CALLS - accepted, refused
    assert_funnel_invariants(server.db)


def test_many_partners(live, pytestconfig):
    server, admin = live
    lead = admin.ref("crm_plus.account_type_lead")
    phase_ids = admin.call(
        "crm.plus.lead.phase", "search", [("account_type_id", "=", lead)], order="sequence, id"
    )
    partner_ids = admin.call(
        "res.partner",
        "create",
        [{"name": f"CC partner {i:03d}", "account_type_id": lead} for i in range(MANY_CALLS)],
    )
    keys_before = _all_line_keys(server.db, partner_ids)

    started = time.monotonic()
    results = _fire(_clients(server, THREADS), partner_ids)
    elapsed = time.monotonic() - started

    counts, refused = _summarise(results)
    accepted_ids = {pid for pid, code, _msg in results if code == "accepted"}
    lines = _lines(server.db, partner_ids)
    retried_before = live_retries(server)
    report(
        pytestconfig,
        "crm_plus: concurrent advances on different partners (--workers 2)",
        [
            f"{MANY_CALLS} calls on {MANY_CALLS} partners from {THREADS} clients in "
            f"{elapsed:.1f}s: {counts['accepted']} accepted, "
            f"{MANY_CALLS - counts['accepted']} refused; Odoo retried "
            f"{retried_before} serialization failures (whole run)",
            *(f"  refused {count}x: {message}" for message, count in refused.most_common()),
        ],
    )
    moved_wrong = []
    for partner_id in partner_ids:
        expected_index = 1 if partner_id in accepted_ids else 0
        expected = [
            (phase, "done" if i < expected_index else "current" if i == expected_index else "todo")
            for i, phase in enumerate(phase_ids)
        ]
        if lines.get(partner_id) != expected:
            moved_wrong.append((partner_id, lines.get(partner_id)))
    assert (
        not moved_wrong
    ), f"{len(moved_wrong)} partners not moved exactly once: {moved_wrong[:3]}"
    assert _all_line_keys(server.db, partner_ids) == keys_before, "a line was lost or duplicated"
    bad = [
        (code, message[-800:]) for _pid, code, message in results if code not in ("accepted", 2)
    ]
    assert not bad, f"{len(bad)} calls failed other than with a clean fault code 2: {bad[:3]}"
    # Different partners share no row the advance writes: nothing to refuse.
    assert counts["accepted"] == MANY_CALLS, refused
    assert_funnel_invariants(server.db)
    assert "Traceback" not in server.log_text(), server.log_tail()
