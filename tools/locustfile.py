"""`make load`'s sales users, on OdooLocust (Locust over Odoo's JSON-RPC).

One run drives one side, LOAD_SIDE: ``plus`` (crm_plus: the pipeline board, a contact's form,
action_advance_phase, action_close, a bulk close through the Close dialog, which queues a
background job, the forecast report) or ``crm`` (Odoo CRM: its pipeline kanban, a lead's form,
a stage write, action_set_lost on one lead and on as many as the bulk close, the pipeline
analysis), with the same mix and think time, and the requests the web client sends (the view
specifications come from tools/load_data.py). Users log in as the sales users in turn, on the
servers of LOAD_PORTS in turn. Every advance or close takes a record of this run's slice
(LOAD_RUN) no other request takes.

Locust's statistics are per user action (what a user waits for: all the RPC calls of a board
opening, or one advance), not per RPC call; a failed call fails its action.
"""

import itertools
import json
import os
import random
import time
import xmlrpc.client
from pathlib import Path

import odoolib
from locust import between, events, task
from OdooLocust.OdooLocustUser import OdooLocustUser

DATA = json.loads(Path(os.environ["LOAD_DATA"]).read_text())
SIDE = os.environ.get("LOAD_SIDE", "plus")
RUN = int(os.environ.get("LOAD_RUN", "0")) % DATA["runs"]
PORTS = [int(port) for port in os.environ.get("LOAD_PORTS", "8069").split()]
BULK = int(os.environ.get("LOAD_BULK", "20"))
SALES, SERVERS = itertools.cycle(DATA["users"]), itertools.cycle(PORTS)
UIDS = [user["id"] for user in DATA["users"]]
# OdooLocust records each RPC call; the statistics here are the actions (timed below).
odoolib.JsonRPCConnector.send = lambda self, service, method, *args: odoolib.tools.json_rpc(
    self.url, "call", {"service": service, "method": method, "args": args}
)


def by_owner(ids):
    """{uid: ids} of the records each sales user owns (tools/load_data.py gives record id the
    owner UIDS[id % len(UIDS)]): a salesman sees only their own opportunities."""
    owned = {uid: [] for uid in UIDS}
    for record_id in ids:
        owned[UIDS[record_id % len(UIDS)]].append(record_id)
    return owned


# This run's records to advance or close, each once (gevent: one thread, no lock needed), and
# records to open in a form (any run's).
SLICES = DATA["partner_ids" if SIDE == "plus" else "lead_ids"]
TAKE = {uid: iter(ids) for uid, ids in by_owner(SLICES[RUN]).items()}
READ = by_owner(record_id for ids in SLICES for record_id in ids[:5000])
PROGRESS = {
    "plus": {
        "field": "funnel_health",
        "colors": {"stale": "danger", "hot": "success", "warm": "warning", "cold": "info"},
        "sum_field": "funnel_open_value",
    },
    "crm": {
        "field": "activity_state",
        "colors": {"planned": "success", "today": "warning", "overdue": "danger"},
        "sum_field": "expected_revenue",
    },
}


@events.test_start.add_listener
def _warm(environment, **_kwargs):
    """Odoo checks an RPC caller's password (PBKDF2, ~0.4 s of CPU) once per user and worker,
    then caches it: unwarmed, the first side to run pays it. Each user calls each server 16
    times, each on a new connection, so every worker (2 a server) meets it but with 2^-15."""
    if os.environ.get("LOAD_WARM") != "1":
        return
    for port, user in itertools.product(PORTS, DATA["users"]):
        for _ in range(16):
            xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/xmlrpc/2/object").execute_kw(
                os.environ["LOAD_DB"], user["id"], user["password"], "res.users",
                "search_count", [[["id", "=", user["id"]]]],
            )  # fmt: skip


def action(name):
    """The task as a Locust entry named ``name``: its time, or its failure (not raised)."""

    def decorator(func):
        def wrapper(self):
            started, error = time.perf_counter(), None
            try:
                func(self)
            except Exception as exc:  # any error fails the action: reported, not raised
                error = exc
            events.request.fire(
                request_type="action", name=name, exception=error, context={},
                response_time=(time.perf_counter() - started) * 1000, response_length=0,
            )  # fmt: skip

        wrapper.__name__ = func.__name__
        return wrapper

    return decorator


class SalesUser(OdooLocustUser):
    host = "127.0.0.1"
    database = os.environ.get("LOAD_DB", "")
    protocol = "jsonrpc"
    wait_time = between(1, 3)

    def on_start(self):
        sales = next(SALES)
        self.port = next(SERVERS)
        self.login, self.password, self.user_id = sales["login"], sales["password"], sales["id"]
        super().on_start()
        self.at_least_19 = self.client.get_service("common").version()["server_version"] >= "19"
        self.context = {
            "lang": "en_US",
            "tz": "UTC",
            "uid": self.user_id,
            "allowed_company_ids": DATA["company_ids"],
        }
        self.model = self.client.get_model("res.partner" if SIDE == "plus" else "crm.lead")

    def _board(self, domain, groupby, extra_context):
        """The kanban board as the web client opens it: the columns (with their first 40
        cards: one call on 19.0, a web_search_read per column on 18.0) and the progress bars."""
        model, spec, aggregates = self.model, DATA[SIDE]["board"], DATA[SIDE]["aggregates"]
        context = dict(self.context, read_group_expand=True, **extra_context)
        if self.at_least_19:
            model.web_read_group(
                domain, [groupby], aggregates, auto_unfold=True, context=context,
                unfold_read_specification=spec, unfold_read_default_limit=40,
            )  # fmt: skip
        else:
            result = model.web_read_group(
                domain, aggregates, [groupby], lazy=True, context=context
            )
            for group in result["groups"]:
                if not group.get("__fold") and group.get(f"{groupby}_count"):
                    model.web_search_read(
                        group["__domain"], spec, offset=0, limit=40, count_limit=10001,
                        context=dict(context, bin_size=True),
                    )  # fmt: skip
        model.read_progress_bar(domain, groupby, PROGRESS[SIDE], context=context)

    @task(2)
    @action("open the board")
    def open_board(self):
        if SIDE == "crm":
            domain = [("type", "=", "opportunity"), ("user_id", "=", self.user_id)]
            self._board(domain, "stage_id", {"default_type": "opportunity"})
            return
        # As its action opens it for a salesperson who owns open contacts: the first type's
        # funnel, My Funnel (res.partner.action_crm_plus_pipeline), as Odoo CRM's My Pipeline.
        domain = [
            ("funnel_state", "=", "open"),
            ("lead_phase_id", "!=", False),
            ("account_type_id", "=", DATA["first_type_id"]),
            ("user_id", "=", self.user_id),
            ("funnel_state", "!=", False),
        ]
        self._board(domain, "lead_phase_id", {"crm_plus_pipeline": True})

    @task(6)
    @action("open a contact")
    def open_record(self):
        self.model.web_read(
            [random.choice(READ[self.user_id])],
            DATA[SIDE]["form"],
            context=dict(self.context, bin_size=True),
        )

    @task(4)
    @action("advance")
    def advance(self):
        if SIDE == "plus":
            self.model.action_advance_phase(self._take(1), context=self.context)
        else:  # a drag to another column
            stage = {"stage_id": random.choice(DATA["stage_ids"])}
            self.model.write(self._take(1), stage, context=self.context)

    @task(1)
    @action("close (lost)")
    def close(self):
        self._close(1)

    @task(1)
    @action("bulk close")
    def bulk_close(self):
        self._close(BULK)

    def _take(self, count):
        return [next(TAKE[self.user_id]) for _ in range(count)]

    def _close(self, count):
        """Odoo CRM: action_set_lost on ``count`` leads. crm_plus: action_close on one contact,
        the Close dialog on more: above the job threshold (tools/load_data.py) it queues a
        background job that the servers' cron workers run in batches."""
        if SIDE == "crm":
            lost = DATA["lost_reason_id"]
            self.model.action_set_lost(
                self._take(count), lost_reason_id=lost, context=self.context
            )
        elif count == 1:
            self.model.action_close(self._take(1), DATA["reason_lost_id"], context=self.context)
        else:
            wizard = self.client.get_model("crm.plus.close.wizard")
            vals = {
                "partner_ids": [(6, 0, self._take(count))],
                "close_reason_id": DATA["reason_lost_id"],
            }
            wizard.action_confirm(
                [wizard.create(vals, context=self.context)], context=self.context
            )

    @task(1)
    @action("open a report")
    def report(self):
        if SIDE == "plus":
            model = self.client.get_model("crm.plus.forecast.report")
            domain, groupby = [], ["account_type_id", "lead_phase_id"]
            aggregates = ["forecast_value:sum", "weighted_value:sum", "mrr:sum", "score:avg"]
        else:
            model = self.model
            domain, groupby = (
                [("type", "=", "opportunity"), ("probability", "<", 100)],
                ["team_id", "stage_id"],
            )
            aggregates = ["expected_revenue:sum", "prorated_revenue:sum", "probability:avg"]
        if self.at_least_19:
            model.formatted_read_group(domain, groupby, aggregates, context=self.context)
        else:
            model.read_group(domain, aggregates, groupby, lazy=False, context=self.context)
