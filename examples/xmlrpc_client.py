#!/usr/bin/env python3
"""CRM+ over XML-RPC: a contact of type Lead taken through its funnel and closed as won.

A standalone client (Python standard library only) for a server running crm_plus, e.g. the one
``make run`` starts::

    python3 examples/xmlrpc_client.py --url http://localhost:8069 --db crm_plus \\
        --user admin --password admin

It shows the calls an integration needs:

1. log in (``/xmlrpc/2/common`` ``authenticate``) and call models through ``/xmlrpc/2/object``
   ``execute_kw(db, uid, password, model, method, args, kwargs)``;
2. find the account type **by code**: ``search([('code', '=', 'LEAD')])`` (codes are unique
   per company, whatever their case);
3. ``create`` a partner with that ``account_type_id``: its funnel starts at the first phase;
4. fill in the figures of the current funnel line (``crm.plus.phase.line``: score 1–100,
   forecast, recurring value and interval);
5. ``action_advance_phase`` until the partner is in the closing phase;
6. ``action_close`` with a **won** close reason (``crm.plus.close.reason`` with
   ``outcome = 'won'``); a won Lead switches to its type's "type when won" (Customer);
7. read the funnel lines and the partner's final state.

Every refusal (e.g. closing as won before the closing phase) is an ``xmlrpc.client.Fault``
whose ``faultString`` holds the message, in the language of ``--lang`` if given.

The user needs the CRM+ User access right (``admin`` has CRM+ Manager).
"""

import argparse
import sys
import xmlrpc.client


class Client:
    """One logged-in XML-RPC connection: ``client.call(model, method, *args, **kwargs)``."""

    def __init__(self, url, db, user, password, lang=None):
        self.url = url.rstrip("/")
        self.db = db
        self.password = password
        self.context = {"lang": lang} if lang else {}
        common = xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/common", allow_none=True)
        self.server_version = common.version()["server_version"]
        self.uid = common.authenticate(db, user, password, {})
        if not self.uid:
            raise SystemExit(f"login refused for {user!r} on database {db!r}")
        self.models = xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/object", allow_none=True)

    def call(self, model, method, *args, **kwargs):
        if self.context:
            kwargs.setdefault("context", self.context)
        return self.models.execute_kw(
            self.db, self.uid, self.password, model, method, list(args), kwargs
        )


def name_of(many2one):
    """A many2one read over XML-RPC is ``[id, display name]``, or False when empty."""
    return many2one[1] if many2one else "-"


def print_funnel(client, partner_id):
    lines = client.call(
        "crm.plus.phase.line",
        "search_read",
        [("partner_id", "=", partner_id)],
        fields=[
            "account_type_id",
            "phase_id",
            "state",
            "score",
            "forecast_value",
            "close_reason_id",
        ],
        order="account_type_id, sequence, id",
    )
    print(f"{'phase':<24} {'state':<8} {'score':>5} {'forecast':>12}  close reason")
    for line in lines:
        print(
            f"{name_of(line['phase_id']):<24} {line['state']:<8} {line['score']:>5} "
            f"{line['forecast_value']:>12.2f}  {name_of(line['close_reason_id'])}"
        )
    return lines


def run(client, partner_name, forecast):
    """Steps 2 to 7; returns the new partner's id."""
    print(f"connected to Odoo {client.server_version} as uid {client.uid}")

    # 2. The Lead account type, by its code.
    type_ids = client.call("crm.plus.account.type", "search", [("code", "=", "LEAD")])
    if not type_ids:
        raise SystemExit("no account type with code LEAD (is crm_plus installed?)")
    lead_type = client.call(
        "crm.plus.account.type", "read", type_ids, fields=["name", "won_account_type_id"]
    )[0]
    print(f"account type LEAD: {lead_type['name']} (id {lead_type['id']})")

    # 3. A partner of type Lead: it starts in the first phase.
    partner_id = client.call(
        "res.partner",
        "create",
        {"name": partner_name, "is_company": True, "account_type_id": lead_type["id"]},
    )
    print(f"created partner {partner_name!r} (id {partner_id})")

    # 4. The figures of the current line; the forecast carries over to the next phases.
    current = client.call(
        "crm.plus.phase.line",
        "search",
        [("partner_id", "=", partner_id), ("state", "=", "current")],
    )
    client.call(
        "crm.plus.phase.line",
        "write",
        current,
        {
            "forecast_value": forecast,
            "recurring_value": forecast / 10,
            "recurring_interval": "year",
        },
    )

    # 5. Advance phase by phase until the closing phase.
    fields = ["lead_phase_id", "lead_phase_type", "funnel_state", "funnel_score"]
    partner = client.call("res.partner", "read", [partner_id], fields=fields)[0]
    print(f"phase: {name_of(partner['lead_phase_id'])}")
    while partner["lead_phase_type"] != "closing":
        client.call("res.partner", "action_advance_phase", [partner_id])
        partner = client.call("res.partner", "read", [partner_id], fields=fields)[0]
        print(
            f"advanced to: {name_of(partner['lead_phase_id'])} (score {partner['funnel_score']})"
        )

    # 6. Close as won with a won close reason.
    won_ids = client.call(
        "crm.plus.close.reason", "search", [("outcome", "=", "won")], limit=1, order="sequence"
    )
    if not won_ids:
        raise SystemExit("no close reason with outcome 'won'")
    reason = client.call("crm.plus.close.reason", "read", won_ids, fields=["name"])[0]
    client.call(
        "res.partner", "action_close", [partner_id], won_ids[0], note="Closed by the example."
    )
    print(f"closed as won: {reason['name']}")

    # 7. The funnel and the final state.
    print()
    print_funnel(client, partner_id)
    final = client.call(
        "res.partner",
        "read",
        [partner_id],
        fields=["funnel_state", "account_type_id", "close_reason_id", "close_date"],
    )[0]
    print()
    print(f"funnel state: {final['funnel_state']}")
    print(f"account type: {name_of(final['account_type_id'])}")
    print(f"close reason: {name_of(final['close_reason_id'])} on {final['close_date']}")
    return partner_id


def add_walk_arguments(parser, name):
    """The arguments of the walk itself, the same over every transport."""
    parser.add_argument("--name", default=name, help="name of the new partner")
    parser.add_argument("--forecast", type=float, default=25000.0, help="forecast value")
    parser.add_argument("--lang", help="language of names and messages, e.g. nl_NL")


def walk(args, connect, refusal, message):
    """``run`` over the client ``connect()`` returns, as an exit status: 0 when done, 1 when the
    server refuses (an exception of the class ``refusal``, shown by ``message``), 2 when it
    cannot be reached."""
    try:
        run(connect(), args.name, args.forecast)
    except refusal as error:
        print(f"refused by the server: {message(error)}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"cannot reach {args.url}: {error}", file=sys.stderr)
        return 2
    return 0


def fault_message(fault):
    # faultCode 2: UserError / ValidationError, 3: access denied, 4: access error; the
    # message is the fault string. 1: any other error, the fault string is a traceback.
    message = fault.faultString.strip()
    if fault.faultCode == 1:
        message = message.splitlines()[-1]
    return message


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Take a new Lead through the CRM+ funnel over XML-RPC and close it as won."
    )
    parser.add_argument("--url", default="http://localhost:8069", help="server URL")
    parser.add_argument("--db", default="crm_plus", help="database name")
    parser.add_argument("--user", default="admin", help="login")
    parser.add_argument("--password", default="admin", help="password or API key")
    add_walk_arguments(parser, "XML-RPC Example Ltd")
    args = parser.parse_args(argv)
    return walk(
        args,
        lambda: Client(args.url, args.db, args.user, args.password, lang=args.lang),
        xmlrpc.client.Fault,
        fault_message,
    )


if __name__ == "__main__":
    sys.exit(main())
