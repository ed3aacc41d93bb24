"""Bad input over XML-RPC (issue 7; issue 10 point 3).

A real server on a database of its own; every case is one call that must be refused with an
Odoo error: fault code 2 (UserError, ValidationError, MissingError) or 4 (AccessError), with a
message a person can act on. Fault code 1 is an unhandled exception (a traceback): a bug,
whatever the input. After each case the crm_plus tables and res_partner are exactly as before,
and the funnel invariants hold on the whole database.
"""

import re
import time
import xmlrpc.client
from dataclasses import dataclass, field

import pytest

from ..compat import AT_LEAST_19, USER_GROUPS_FIELD
from .live_server import (
    Json2Client,
    LiveServer,
    api_keys,
    assert_funnel_invariants,
    funnel_invariant_violations,
    report,
    snapshot_diff,
    table_snapshot,
    throwaway_database,
)

UNKNOWN_ID = 999_999_999
BIG_NAME = "Ünïcødé 名前 🚀 " * 700  # about 10 kB of UTF-8
ACCEPTED_CODES = {2, 4}
FUNNEL_OP = {"crm_plus_funnel_op": True}


@dataclass
class Ctx:
    """What the cases call: the clients of each user and the ids of the set-up records."""

    db: str
    protocol: str = "xmlrpc"
    admin: object = None
    sales: object = None
    internal: object = None
    portal: object = None
    contacts: object = None
    other_company: object = None
    ids: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.ids[key]


@dataclass
class Outcome:
    case: str
    code: object
    seconds: float
    protocol: str = "xmlrpc"
    message: str = ""
    problems: list = field(default_factory=list)


RESULTS = []


def _set_up(server, db):
    ctx = Ctx(db=db, admin=server.rpc())
    admin = ctx.admin
    ids = ctx.ids
    ref = admin.ref
    ids["lead"] = ref("crm_plus.account_type_lead")
    ids["prospect"] = ref("crm_plus.account_type_prospect")
    ids["customer"] = ref("crm_plus.account_type_customer")
    lead_phases = admin.call(
        "crm.plus.lead.phase",
        "search_read",
        [("account_type_id", "=", ids["lead"])],
        fields=["phase_type"],
        order="sequence, id",
    )
    ids["lead_first"], ids["lead_second"] = lead_phases[0]["id"], lead_phases[1]["id"]
    ids["lead_middle"] = lead_phases[2]["id"]
    ids["lead_closing"] = lead_phases[-1]["id"]
    assert lead_phases[-1]["phase_type"] == "closing"
    ids["prospect_first"] = ref("crm_plus.phase_prospect_first_contact")
    ids["won"] = ref("crm_plus.close_reason_won_contract")
    ids["lost"] = ref("crm_plus.close_reason_lost_price")
    ids["archived_reason"] = admin.call(
        "crm.plus.close.reason", "create", {"name": "RPC archived", "outcome": "lost"}
    )
    admin.call("crm.plus.close.reason", "write", [ids["archived_reason"]], {"active": False})

    def account_type(name, phases=(), closing=False, **vals):
        # A type with ``phases`` in their order, the last one closing when ``closing``.
        last = len(phases) - 1
        lines = [
            (0, 0, {"name": phase, "sequence": i + 1, "phase_type": "normal"})
            for i, phase in enumerate(phases)
        ]
        if closing:
            lines[last][2]["phase_type"] = "closing"
        return admin.call(
            "crm.plus.account.type", "create", {"name": name, "phase_ids": lines, **vals}
        )

    # A type still being configured: phases, no closing phase yet.
    ids["open_type"] = account_type("RPC no closing", ["RPC O1", "RPC O2"])
    ids["arch_type"] = account_type(
        "RPC with archived phase", ["RPC A1", "RPC A2", "RPC A3"], closing=True
    )
    arch_phases = admin.call(
        "crm.plus.lead.phase",
        "search",
        [("account_type_id", "=", ids["arch_type"])],
        order="sequence",
    )
    ids["archived_phase"] = arch_phases[1]
    admin.call("crm.plus.lead.phase", "write", [ids["archived_phase"]], {"active": False})
    main_company = admin.call("res.users", "read", [admin.uid], ["company_id"])[0]["company_id"]
    ids["main_company"] = main_company[0]
    ids["main_only_type"] = account_type("RPC main company only", company_id=ids["main_company"])
    ids["other_company"] = admin.call("res.company", "create", {"name": "RPC Other Company"})

    def partner(name, account_type=False, **vals):
        return admin.call(
            "res.partner", "create", {"name": name, "account_type_id": account_type, **vals}
        )

    ids["p_open"] = partner("RPC open", ids["lead"])
    ids["p_open2"] = partner("RPC open 2", ids["lead"])
    ids["p_closing"] = partner("RPC closing", ids["lead"])
    admin.call("res.partner", "write", [ids["p_closing"]], {"lead_phase_id": ids["lead_closing"]})
    ids["p_lost"] = partner("RPC lost", ids["lead"])
    admin.call("res.partner", "action_close", [ids["p_lost"]], ids["lost"])
    ids["p_none"] = partner("RPC no type")
    ids["p_customer"] = partner("RPC customer", ids["customer"])
    ids["p_big"] = partner(BIG_NAME, ids["lead"])
    admin.call("res.partner", "action_close", [ids["p_big"]], ids["lost"])
    ids["p_no_closing"] = partner("RPC no closing", ids["open_type"])
    ids["p_arch"] = partner("RPC arch", ids["arch_type"])
    ids["p_main"] = partner("RPC main company", ids["lead"], company_id=ids["main_company"])
    ids["line_open"] = admin.call(
        "crm.plus.phase.line",
        "search",
        [("partner_id", "=", ids["p_open"]), ("state", "=", "current")],
    )[0]
    ids["line_open_todo"] = admin.call(
        "crm.plus.phase.line",
        "search",
        [("partner_id", "=", ids["p_open"]), ("state", "=", "todo")],
        limit=1,
    )[0]

    def user(login, groups, **vals):
        group_ids = [ref(xmlid) for xmlid in groups]
        admin.call(
            "res.users",
            "create",
            {
                "name": login,
                "login": login,
                "password": login + "-pw-123",
                USER_GROUPS_FIELD: [(6, 0, group_ids)],
                **vals,
            },
        )
        return server.rpc(login, login + "-pw-123")

    ctx.sales = user("rpc_sales", ["crm_plus.group_crm_plus_user", "base.group_partner_manager"])
    ctx.internal = user("rpc_internal", ["base.group_user"])
    ctx.portal = user("rpc_portal", ["base.group_portal"])
    # Creates contacts, without CRM+ (issue 30 item 13).
    ctx.contacts = user("rpc_contacts", ["base.group_user", "base.group_partner_manager"])
    ctx.other_company = user(
        "rpc_other_company",
        ["crm_plus.group_crm_plus_user", "base.group_partner_manager"],
        company_id=ids["other_company"],
        company_ids=[(6, 0, [ids["other_company"]])],
    )
    return ctx


# XML-RPC on both series; Odoo 19.0's JSON-2 API too, with the same cases and the same
# expectations (a clear refusal, nothing changed).
PROTOCOLS = ["xmlrpc", "json2"] if AT_LEAST_19 else ["xmlrpc"]
CLIENTS = {
    "admin": "admin",
    "sales": "rpc_sales",
    "internal": "rpc_internal",
    "portal": "rpc_portal",
    "contacts": "rpc_contacts",
    "other_company": "rpc_other_company",
}


def pytest_generate_tests(metafunc):
    """Each test over each protocol; a case that a protocol cannot carry (a NUL character in
    XML 1.0) is not generated for it, rather than skipped."""
    if "ctx" not in metafunc.fixturenames:
        return
    if "case" in metafunc.fixturenames:
        pairs = [
            (protocol, case)
            for protocol in PROTOCOLS
            for case in CASES
            if protocol == "json2" or case not in JSON2_ONLY
        ]
        metafunc.parametrize(
            ("ctx", "case"),
            pairs,
            indirect=["ctx"],
            ids=[f"{protocol}-{case}" for protocol, case in pairs],
            scope="module",
        )
    else:
        metafunc.parametrize("ctx", PROTOCOLS, indirect=True, scope="module")


@pytest.fixture(scope="module")
def ctx(request, pytestconfig):
    protocol = request.param
    with throwaway_database(f"rpc_bad_input_{protocol}") as db, LiveServer(db) as server:
        context = _set_up(server, db)
        if protocol == "json2":
            keys = api_keys(db, CLIENTS.values())
            for attribute, login in CLIENTS.items():
                setattr(context, attribute, Json2Client(server.url, db, keys[login], login))
        context.protocol = protocol
        assert_funnel_invariants(db)
        yield context
        _report(pytestconfig, protocol)
    # The server is stopped: its log had no unexpected traceback beyond the refusals.


# ---------------------------------------------------------------------- the cases
# (case id, what it does): each function makes one call that must be refused.


def _resolved(c, args, kwargs):
    return (
        [a(c) if callable(a) else a for a in args],
        {k: (v(c) if callable(v) else v) for k, v in kwargs.items()},
    )


def _admin(model, method, *args, **kwargs):
    return _as("admin", model, method, *args, **kwargs)


def _as(who, model, method, *args, **kwargs):
    def call(c):
        resolved_args, resolved_kwargs = _resolved(c, args, kwargs)
        return getattr(c, who).call(model, method, *resolved_args, **resolved_kwargs)

    return call


def ids(*keys):
    return lambda c: [c[key] for key in keys]


def one(key):
    return lambda c: c[key]


def big(c):
    """An integer beyond PostgreSQL's integer: XML-RPC cannot carry one (the client refuses
    ints beyond 32 bits), so it goes as a double there."""
    return 2**40 if c.protocol == "json2" else float(2**40)


def as_float(key):
    return lambda c: float(c[key])


# XML 1.0 cannot carry a NUL character: these go over JSON-2 only.
JSON2_ONLY = set()


def json2_only(case, function):
    JSON2_ONLY.add(case)
    return case, function


def _create_partner(**values):
    return _admin(PARTNER, "create", vals(**values))


def _write_partner(key, values):
    return _admin(PARTNER, "write", ids(key), values)


def vals(**values):
    """Values where a callable is resolved against the context (an id of the set-up)."""
    return lambda c: {k: (v(c) if callable(v) else v) for k, v in values.items()}


PARTNER, PHASE, TYPE, REASON, LINE = (
    "res.partner",
    "crm.plus.lead.phase",
    "crm.plus.account.type",
    "crm.plus.close.reason",
    "crm.plus.phase.line",
)

CASES = {
    # --- funnel actions on partners that cannot take them
    "advance a lost partner": _admin(PARTNER, "action_advance_phase", ids("p_lost")),
    "advance a partner without account type": _admin(
        PARTNER, "action_advance_phase", ids("p_none")
    ),
    "advance a partner whose type has no phases": _admin(
        PARTNER, "action_advance_phase", ids("p_customer")
    ),
    "advance a partner in the closing phase": _admin(
        PARTNER, "action_advance_phase", ids("p_closing")
    ),
    "advance an unknown partner id": _admin(PARTNER, "action_advance_phase", [UNKNOWN_ID]),
    "advance with a string as id": _admin(PARTNER, "action_advance_phase", ["abc"]),
    "advance a closed partner with a 10 kB unicode name": _admin(
        PARTNER, "action_advance_phase", ids("p_big")
    ),
    "advance a batch with one closed partner (all or nothing)": _admin(
        PARTNER, "action_advance_phase", ids("p_open", "p_lost")
    ),
    "close as won outside the closing phase": _admin(
        PARTNER, "action_close", ids("p_open"), one("won")
    ),
    "close as won in a type without closing phase": _admin(
        PARTNER, "action_close", ids("p_no_closing"), one("won")
    ),
    "close with an unknown reason id": _admin(PARTNER, "action_close", ids("p_open"), UNKNOWN_ID),
    "close with a string as reason": _admin(PARTNER, "action_close", ids("p_open"), "abc"),
    "close with False as reason": _admin(PARTNER, "action_close", ids("p_open"), False),
    "close with a list of two reasons": _admin(
        PARTNER, "action_close", ids("p_open"), ids("won", "lost")
    ),
    "close with an archived reason": _admin(
        PARTNER, "action_close", ids("p_open"), one("archived_reason")
    ),
    "close without a reason argument": _admin(PARTNER, "action_close", ids("p_open")),
    "close an already closed partner": _admin(PARTNER, "action_close", ids("p_lost"), one("lost")),
    "close a partner without account type": _admin(
        PARTNER, "action_close", ids("p_none"), one("lost")
    ),
    "close an unknown partner id": _admin(PARTNER, "action_close", [UNKNOWN_ID], one("lost")),
    "reopen an open partner": _admin(PARTNER, "action_reopen", ids("p_open")),
    "reopen a partner that never entered a funnel": _admin(
        PARTNER, "action_reopen", ids("p_none")
    ),
    "reopen an unknown partner id": _admin(PARTNER, "action_reopen", [UNKNOWN_ID]),
    # --- partner writes
    "write lead_phase_id of another account type": _write_partner(
        "p_open", vals(lead_phase_id=one("prospect_first"))
    ),
    "write an archived lead_phase_id": _write_partner(
        "p_arch", vals(lead_phase_id=one("archived_phase"))
    ),
    "write an unknown lead_phase_id": _write_partner("p_open", {"lead_phase_id": UNKNOWN_ID}),
    "write a string as lead_phase_id": _write_partner("p_open", {"lead_phase_id": "abc"}),
    "write lead_phase_id False on an open partner": _write_partner(
        "p_open", {"lead_phase_id": False}
    ),
    "write lead_phase_id on a closed partner": _write_partner(
        "p_lost", vals(lead_phase_id=one("lead_second"))
    ),
    "write funnel_state directly": _write_partner("p_open", {"funnel_state": "won"}),
    "write close_reason_id directly": _write_partner("p_open", vals(close_reason_id=one("won"))),
    "write close_date directly": _write_partner("p_lost", {"close_date": "2001-01-01"}),
    "write an unknown account_type_id": _write_partner("p_open", {"account_type_id": UNKNOWN_ID}),
    # --- lead phases
    "phase default_score 0": _admin(
        PHASE, "create", vals(name="RPC s0", account_type_id=one("open_type"), default_score=0)
    ),
    "phase default_score 101": _admin(
        PHASE, "create", vals(name="RPC s101", account_type_id=one("open_type"), default_score=101)
    ),
    "phase default_score -5": _admin(
        PHASE, "create", vals(name="RPC s-5", account_type_id=one("open_type"), default_score=-5)
    ),
    'phase default_score "abc"': _admin(
        PHASE,
        "create",
        vals(name="RPC sabc", account_type_id=one("open_type"), default_score="abc"),
    ),
    "phase default_score 2**31-1": _admin(
        PHASE,
        "create",
        vals(name="RPC huge", account_type_id=one("open_type"), default_score=2**31 - 1),
    ),
    "phase default_score 0 with a 10 kB unicode name": _admin(
        PHASE, "create", vals(name=BIG_NAME, account_type_id=one("open_type"), default_score=0)
    ),
    "phase without name": _admin(PHASE, "create", vals(account_type_id=one("open_type"))),
    "phase without account type": _admin(PHASE, "create", {"name": "RPC orphan"}),
    "phase of an unknown account type": _admin(
        PHASE, "create", {"name": "RPC ghost", "account_type_id": UNKNOWN_ID}
    ),
    "phase stale_after_days -1": _admin(
        PHASE,
        "create",
        vals(name="RPC stale", account_type_id=one("open_type"), stale_after_days=-1),
    ),
    "phase activity_delay_days -3": _admin(
        PHASE,
        "create",
        vals(name="RPC delay", account_type_id=one("open_type"), activity_delay_days=-3),
    ),
    "phase_type not in the selection": _admin(
        PHASE, "create", vals(name="RPC sel", account_type_id=one("open_type"), phase_type="final")
    ),
    "a closing phase in the middle": _admin(
        PHASE,
        "create",
        vals(name="RPC mid", account_type_id=one("open_type"), sequence=1, phase_type="closing"),
    ),
    "a second closing phase": _admin(
        PHASE,
        "create",
        vals(name="RPC 2nd", account_type_id=one("lead"), sequence=999, phase_type="closing"),
    ),
    "a normal phase after the closing phase": _admin(
        PHASE, "create", vals(name="RPC after", account_type_id=one("lead"), sequence=999)
    ),
    "turn a middle phase into a closing phase": _admin(
        PHASE, "write", ids("lead_middle"), {"phase_type": "closing"}
    ),
    "move the closing phase to the start": _admin(
        PHASE, "write", ids("lead_closing"), {"sequence": -1}
    ),
    "delete a phase that has lines": _admin(PHASE, "unlink", ids("lead_first")),
    "archive a phase partners are in": _admin(
        PHASE, "write", ids("lead_first"), {"active": False}
    ),
    "move a phase with lines to another type": _admin(
        PHASE, "write", ids("lead_first"), vals(account_type_id=one("prospect"))
    ),
    "default_score 0 on an existing phase": _admin(
        PHASE, "write", ids("lead_first"), {"default_score": 0}
    ),
    "write on an unknown phase id": _admin(PHASE, "write", [UNKNOWN_ID], {"name": "ghost"}),
    # --- account types
    "type with its closing phase first, in one call": _admin(
        TYPE,
        "create",
        {
            "name": "RPC bad order",
            "phase_ids": [
                (0, 0, {"name": "RPC C", "sequence": 1, "phase_type": "closing"}),
                (0, 0, {"name": "RPC N", "sequence": 2}),
            ],
        },
    ),
    "type with two closing phases, in one call": _admin(
        TYPE,
        "create",
        {
            "name": "RPC two closings",
            "phase_ids": [
                (0, 0, {"name": "RPC C1", "sequence": 1, "phase_type": "closing"}),
                (0, 0, {"name": "RPC C2", "sequence": 2, "phase_type": "closing"}),
            ],
        },
    ),
    "type with a phase of score 500, in one call": _admin(
        TYPE,
        "create",
        {"name": "RPC bad score", "phase_ids": [(0, 0, {"name": "X", "default_score": 500})]},
    ),
    "delete a type partners use": _admin(TYPE, "unlink", ids("lead")),
    "type switching to itself when won": _admin(
        TYPE, "write", ids("lead"), vals(won_account_type_id=one("lead"))
    ),
    "two default types": _admin(TYPE, "write", ids("lead", "prospect"), {"is_default": True}),
    "type code already used, other case": _admin(
        TYPE, "create", {"name": "RPC dup", "code": "lead"}
    ),
    "type code of spaces only": _admin(TYPE, "create", {"name": "RPC spaces", "code": "   "}),
    "type without name": _admin(TYPE, "create", {"code": "RPC-NONAME"}),
    "type of an unknown company": _admin(
        TYPE, "create", {"name": "RPC ghost co", "company_id": UNKNOWN_ID}
    ),
    "type with a 10 kB unicode name and a used code": _admin(
        TYPE, "create", {"name": BIG_NAME, "code": "Lead"}
    ),
    # --- close reasons
    "close reason without outcome": _admin(REASON, "create", {"name": "RPC no outcome"}),
    "close reason outcome not in the selection": _admin(
        REASON, "create", {"name": "RPC maybe", "outcome": "maybe"}
    ),
    "close reason code already used": _admin(
        REASON, "create", {"name": "RPC dup", "outcome": "won", "code": "w-sign"}
    ),
    # --- phase lines: moved by the funnel only
    "create a phase line directly": _admin(
        LINE, "create", vals(partner_id=one("p_none"), phase_id=one("lead_first"))
    ),
    "delete a phase line": _admin(LINE, "unlink", ids("line_open")),
    "write a line's state": _admin(LINE, "write", ids("line_open"), {"state": "done"}),
    "write a line's phase": _admin(
        LINE, "write", ids("line_open"), vals(phase_id=one("lead_closing"))
    ),
    "line score 0": _admin(LINE, "write", ids("line_open"), {"score": 0}),
    "line score 101": _admin(LINE, "write", ids("line_open"), {"score": 101}),
    "line score -5": _admin(LINE, "write", ids("line_open"), {"score": -5}),
    'line score "abc"': _admin(LINE, "write", ids("line_open"), {"score": "abc"}),
    "line forecast -1": _admin(LINE, "write", ids("line_open"), {"forecast_value": -1.0}),
    "line forecast 1e16": _admin(LINE, "write", ids("line_open"), {"forecast_value": 1e16}),
    "line recurring value -0.01": _admin(
        LINE, "write", ids("line_open"), {"recurring_value": -0.01}
    ),
    "line recurring interval not in the selection": _admin(
        LINE, "write", ids("line_open"), {"recurring_interval": "weekly"}
    ),
    "write on an unknown line id": _admin(LINE, "write", [UNKNOWN_ID], {"score": 50}),
    # --- access: code 4
    "CRM+ user creates an account type": _as("sales", TYPE, "create", {"name": "RPC by user"}),
    "CRM+ user edits a lead phase": _as(
        "sales", PHASE, "write", ids("lead_first"), {"default_score": 50}
    ),
    "CRM+ user deletes a close reason": _as("sales", REASON, "unlink", ids("lost")),
    "CRM+ user deletes a phase line": _as("sales", LINE, "unlink", ids("line_open")),
    # Issue 16: dates are a CRM+ Manager's to correct, and only to a consistent value.
    "CRM+ user corrects a line's start": _as(
        "sales", LINE, "write", ids("line_open"), {"date_start": "2024-01-01 10:00:00"}
    ),
    "CRM+ user corrects a partner's phase start": _as(
        "sales", PARTNER, "write", ids("p_open"), {"funnel_phase_date_start": "2024-01-01"}
    ),
    "line start in the future": _admin(
        LINE, "write", ids("line_open"), {"date_start": "2999-01-01 10:00:00"}
    ),
    "completion date on a current line": _admin(
        LINE, "write", ids("line_open"), {"date_done": "2024-01-01 10:00:00"}
    ),
    "start date on a todo line": _admin(
        LINE, "write", ids("line_open_todo"), {"date_start": "2024-01-01 10:00:00"}
    ),
    'line start "yesterday"': _admin(LINE, "write", ids("line_open"), {"date_start": "yesterday"}),
    "a won close reason written on a partner outside the closing phase": _write_partner(
        "p_open", vals(close_reason_id=one("won"))
    ),
    "create with a won close from the first phase": _create_partner(
        name="RPC won early", account_type_id=one("lead"), close_reason_id=one("won")
    ),
    "internal user without CRM+ advances a partner": _as(
        "internal", PARTNER, "action_advance_phase", ids("p_open")
    ),
    "internal user without CRM+ reads a partner's account type": _as(
        "internal", PARTNER, "read", ids("p_open"), ["account_type_id"]
    ),
    "internal user without CRM+ writes a partner's lead phase": _as(
        "internal", PARTNER, "write", ids("p_open"), vals(lead_phase_id=one("lead_second"))
    ),
    "internal user without CRM+ lists account types": _as(
        "internal", TYPE, "search_read", [], ["name"]
    ),
    "internal user without CRM+ opens the close wizard": _as(
        "internal", "crm.plus.close.wizard", "create", vals(close_reason_id=one("lost"))
    ),
    "portal user reads phase lines": _as("portal", LINE, "search_read", [], ["state"]),
    "portal user closes a partner": _as(
        "portal", PARTNER, "action_close", ids("p_open"), one("lost")
    ),
    "other company's user reads a main-company type": _as(
        "other_company", TYPE, "read", ids("main_only_type"), ["name"]
    ),
    "other company's user advances a main-company partner": _as(
        "other_company", PARTNER, "action_advance_phase", ids("p_main")
    ),
    "a private funnel method over RPC": _admin(
        PARTNER, "_funnel_assign_account_type", ids("p_open"), one("prospect")
    ),
    # --- issue 30 item 15: values a JSON client sends, which the ORM would read as "no record"
    "write a float as account_type_id": _write_partner(
        "p_open", vals(account_type_id=as_float("lead"))
    ),
    "write another type's id as a float": _write_partner(
        "p_open", vals(account_type_id=as_float("prospect"))
    ),
    "write True as account_type_id": _write_partner("p_open", {"account_type_id": True}),
    "write 0 as account_type_id": _write_partner("p_open", {"account_type_id": 0}),
    "write an account_type_id beyond PostgreSQL's integer": _write_partner(
        "p_open", vals(account_type_id=big)
    ),
    "write a close reason's name as close_reason_id": _write_partner(
        "p_open", {"close_reason_id": "Too expensive"}
    ),
    "write a float as close_reason_id": _write_partner(
        "p_closing", vals(close_reason_id=as_float("won"))
    ),
    "write a float as lead_phase_id": _write_partner(
        "p_open", vals(lead_phase_id=as_float("lead_second"))
    ),
    "create with a float as account_type_id": _create_partner(
        name="RPC float type", account_type_id=as_float("lead")
    ),
    "write a partner's score directly": _write_partner("p_open", {"funnel_score": 99}),
    "write a partner's weighted forecast directly": _write_partner(
        "p_open", {"funnel_weighted_value": 1e6}
    ),
    "line score infinity": _admin(LINE, "write", ids("line_open"), {"score": float("inf")}),
    "line score NaN": _admin(LINE, "write", ids("line_open"), {"score": float("nan")}),
    "line score beyond PostgreSQL's integer": _admin(
        LINE, "write", ids("line_open"), vals(score=big)
    ),
    "line score 50.5": _admin(LINE, "write", ids("line_open"), {"score": 50.5}),
    "line forecast infinity": _admin(
        LINE, "write", ids("line_open"), {"forecast_value": float("inf")}
    ),
    "line forecast NaN": _admin(LINE, "write", ids("line_open"), {"forecast_value": float("nan")}),
    "line recurring value -infinity": _admin(
        LINE, "write", ids("line_open"), {"recurring_value": float("-inf")}
    ),
    "phase default_score infinity": _admin(
        PHASE, "write", ids("lead_first"), {"default_score": float("inf")}
    ),
    "phase default_score beyond PostgreSQL's integer": _admin(
        PHASE, "write", ids("lead_first"), vals(default_score=big)
    ),
    "type switching to a float id when won": _admin(
        TYPE, "write", ids("lead"), vals(won_account_type_id=as_float("prospect"))
    ),
    **dict(
        [
            json2_only(
                "a NUL character in a partner's name",
                _write_partner("p_open", {"name": "RPC \x00 name"}),
            ),
            json2_only(
                "create a partner with a NUL character in its name",
                _create_partner(name="RPC \x00", account_type_id=one("lead")),
            ),
            json2_only(
                "a NUL character in a type's name",
                _admin(TYPE, "write", ids("lead"), {"name": "Lead\x00"}),
            ),
            json2_only(
                "a NUL character in a close reason's code",
                _admin(REASON, "write", ids("lost"), {"code": "L\x00"}),
            ),
            json2_only(
                "a NUL character in a line's note",
                _admin(LINE, "write", ids("line_open"), {"note": "\x00"}),
            ),
        ]
    ),
    # --- issue 30 item 13: a user without CRM+ rights, funnel values as context defaults
    "user without CRM+ creates a partner won in the past by context defaults": _as(
        "contacts",
        PARTNER,
        "create",
        {"name": "RPC forged won"},
        context=lambda c: {
            "default_account_type_id": c["lead"],
            "default_lead_phase_id": c["lead_closing"],
            "default_close_reason_id": c["won"],
            "default_funnel_phase_date_start": "2020-01-01 09:00:00",
        },
    ),
    "user without CRM+ creates an open partner by a context default": _as(
        "contacts",
        PARTNER,
        "create",
        {"name": "RPC forged open"},
        context=lambda c: {"default_account_type_id": c["lead"]},
    ),
    "user without CRM+ name_creates a partner with a type as context default": _as(
        "contacts",
        PARTNER,
        "name_create",
        "RPC forged name_create",
        context=lambda c: {"default_account_type_id": c["lead"]},
    ),
    "user without CRM+ creates a closed partner by context defaults": _as(
        "contacts",
        PARTNER,
        "create",
        {"name": "RPC forged closed"},
        context={"default_funnel_state": "won", "default_close_date": "2020-01-15"},
    ),
    # --- last: calls that, when wrongly accepted, change data the cases above rely on
    "write funnel_state with the funnel's own context key": _as(
        "sales",
        PARTNER,
        "write",
        ids("p_open"),
        vals(funnel_state="won", close_reason_id=one("won")),
        context=FUNNEL_OP,
    ),
    "create a partner already won, without funnel": _create_partner(
        name="RPC born won", funnel_state="won", close_reason_id=one("won")
    ),
    "create a partner with a lead phase of another type": _create_partner(
        name="RPC wrong phase", account_type_id=one("lead"), lead_phase_id=one("prospect_first")
    ),
    "create a phase line with the funnel's own context key": _as(
        "sales",
        LINE,
        "create",
        vals(partner_id=one("p_open2"), phase_id=one("prospect_first")),
        context=FUNNEL_OP,
    ),
    "delete a phase line with the funnel's own context key": _admin(
        LINE, "unlink", ids("line_open_todo"), context=FUNNEL_OP
    ),
}


def _origin(traceback_text):
    """Where an unhandled exception was raised: the last frame and the exception line."""
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', traceback_text)
    exception_lines = [line for line in traceback_text.splitlines() if re.match(r"\w", line)]
    last_line = exception_lines[-1] if exception_lines else ""
    if not frames:
        return f" ({last_line})"
    path, line, function = frames[-1]
    where = f"{path.split('/odoo/')[-1] if '/odoo/' in path else path}:{line} in {function}"
    return f" ({last_line} at {where})"


def _readable(message):
    problems = []
    text = (message or "").strip()
    if len(text) < 15:
        problems.append(f"message too short: {text!r}")
    if "Traceback (most recent call last)" in text:
        problems.append("message is a traceback")
    return problems


def test_bad_input_is_refused(ctx, case):
    before = table_snapshot(ctx.db)
    broken_before = funnel_invariant_violations(ctx.db)
    started = time.monotonic()
    outcome = Outcome(case=case, code="accepted", seconds=0.0, protocol=ctx.protocol)
    try:
        CASES[case](ctx)
    except xmlrpc.client.Fault as fault:
        outcome.code = fault.faultCode
        outcome.message = fault.faultString
        if fault.faultCode not in ACCEPTED_CODES:
            outcome.problems.append(f"fault code {fault.faultCode}{_origin(fault.faultString)}")
        else:
            outcome.problems += _readable(fault.faultString)
    else:
        outcome.problems.append("the call was accepted")
    outcome.seconds = time.monotonic() - started
    diff = snapshot_diff(before, table_snapshot(ctx.db))
    if diff:
        outcome.problems.append(f"data changed: {diff}")
    broken = {
        label: rows
        for label, rows in funnel_invariant_violations(ctx.db).items()
        if set(rows) - set(broken_before.get(label, ()))
    }
    if broken:
        outcome.problems.append(f"funnel invariants broken: {broken}")
    RESULTS.append(outcome)
    assert not outcome.problems, (
        f"{case}: {'; '.join(outcome.problems)}\n--- fault string ---\n" + outcome.message[-3000:]
    )


def test_names_round_trip(ctx):
    """The unicode and 10 kB names the refusals quote are also stored and read back intact."""
    type_id = ctx.admin.call("crm.plus.account.type", "create", {"name": BIG_NAME})
    try:
        [row] = ctx.admin.call("crm.plus.account.type", "read", [type_id], ["name"])
        assert row["name"] == BIG_NAME
        [partner] = ctx.admin.call("res.partner", "read", [ctx["p_big"]], ["name", "funnel_state"])
        assert partner == {"id": ctx["p_big"], "name": BIG_NAME, "funnel_state": "lost"}
    finally:
        ctx.admin.call("crm.plus.account.type", "unlink", [type_id])


def test_cases_cover_the_api():
    """The table covers every kind of refusal the funnel promises, each case once."""
    assert len(CASES) >= 40, len(CASES)
    for action in ("advance", "close", "reopen", "create", "write", "delete"):
        assert any(action in case for case in CASES), f"no bad-input case for {action}"


def _report(pytestconfig, protocol):
    """The figures of the run (printed at the end of the session; each case asserts itself)."""
    results = [outcome for outcome in RESULTS if outcome.protocol == protocol]
    by_code = {}
    for outcome in results:
        by_code[outcome.code] = by_code.get(outcome.code, 0) + 1
    failed = [outcome for outcome in results if outcome.problems]
    lines = [
        f"{len(results)} bad-input cases tried over {protocol}; outcome counts: "
        + ", ".join(f"{code}: {count}" for code, count in sorted(by_code.items(), key=str)),
        f"{len(results) - len(failed)} refused cleanly, {len(failed)} problems",
    ]
    lines += [
        f"  [{outcome.code}] {outcome.case} ({outcome.seconds * 1000:.0f} ms)"
        + (
            f"  <-- {'; '.join(outcome.problems)}"
            if outcome.problems
            else f": {' '.join(outcome.message.split())[:110]}"
        )
        for outcome in results
    ]
    report(pytestconfig, f"crm_plus: bad input over {protocol}", lines)
