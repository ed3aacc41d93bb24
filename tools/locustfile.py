"""`make load`'s sales users, on OdooLocust (Locust over Odoo's JSON-RPC).

A run drives one side, LOAD_SIDE: ``plus`` (crm_plus: its pipeline board, a contact's form,
action_advance_phase, action_close, a bulk close through the Close dialog, which queues a
background job, the forecast report) or ``crm`` (Odoo CRM: its pipeline kanban, a lead's form, a
stage write, action_set_lost on one lead and on as many as the bulk close, the pipeline
analysis): the same mix and think time, the calls the web client sends (the views'
specifications from tools/load_data.py). Users log in as the sales users and on the servers of
LOAD_PORTS in turn; each advance or close takes a record of the run's slice (LOAD_RUN) that no
other takes. Locust's statistics are user actions (a board opening: all its calls; a failed
call fails its action) and, under one name, the calls (requests) they make.
"""

import itertools
import json
import os
import random
import sys
import time
import xmlrpc.client
from pathlib import Path

import gevent.pool
import httpx
import odoolib
from locust import between, events, task
from OdooLocust.OdooLocustUser import OdooLocustUser

DATA = json.loads(Path(os.environ["LOAD_DATA"]).read_text())
SIDE = os.environ.get("LOAD_SIDE", "plus")
PORTS = [int(port) for port in os.environ.get("LOAD_PORTS", "8069").split()]
BULK = int(os.environ.get("LOAD_BULK", "20"))
SALES, SERVERS = itertools.cycle(DATA["users"]), itertools.cycle(PORTS)
UIDS = [user["id"] for user in DATA["users"]]
PLUS = SIDE == "plus"
MODEL = "res.partner" if PLUS else "crm.lead"
# The board as the actions open it for a salesperson: crm_plus's on the first type's funnel and
# My Funnel (res.partner.action_crm_plus_pipeline), Odoo CRM's on My Pipeline; the report.
if PLUS:
    DOMAIN = [("funnel_state", "=", "open"), ("lead_phase_id", "!=", False)]
    DOMAIN += [("account_type_id", "=", DATA["first_type_id"]), ("funnel_state", "!=", False)]
    GROUPBY, BOARD_CONTEXT = "lead_phase_id", {"crm_plus_pipeline": True}
    COLORS = {"stale": "danger", "hot": "success", "warm": "warning", "cold": "info"}
    PROGRESS = {"field": "funnel_health", "sum_field": "funnel_open_value", "colors": COLORS}
    REPORT = ("crm.plus.forecast.report", [], ["account_type_id", "lead_phase_id"])
    REPORT += (["forecast_value:sum", "weighted_value:sum", "mrr:sum", "score:avg"],)
else:
    DOMAIN, GROUPBY = [("type", "=", "opportunity")], "stage_id"
    BOARD_CONTEXT = {"default_type": "opportunity"}
    COLORS = {"planned": "success", "today": "warning", "overdue": "danger"}
    PROGRESS = {"field": "activity_state", "sum_field": "expected_revenue", "colors": COLORS}
    REPORT = ("crm.lead", [("type", "=", "opportunity"), ("probability", "<", 100)])
    REPORT += (["team_id", "stage_id"],)
    REPORT += (["expected_revenue:sum", "prorated_revenue:sum", "probability:avg"],)


LOGINS = {user["id"]: user["login"] for user in DATA["users"]}
SESSIONS = {}  # {(server, uid): httpx.Client holding that user's web session on that server}


def _rpc(client, url, params):
    payload = {"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}
    result = client.post(url, json=payload, timeout=130).json()
    if result.get("error"):
        raise odoolib.tools.JsonRPCException(result["error"])
    return result.get("result", False)


REQUEST = "a call to the server"


def send(self, service, method, *args):
    """An RPC call as OdooLocust's, waiting as long as Odoo's limit on a request (odoolib:
    5 s), counted in Locust's statistics as a request (REQUEST) beside the user actions. A
    model's method goes where the web client sends it, /web/dataset/call_kw in the user's web
    session: Odoo runs it on the read replica when the method is read-only (web's
    _call_kw_readonly), which /jsonrpc's object service never does (it always opens a
    read/write cursor)."""
    server = self.url.rsplit("/jsonrpc", 1)[0]
    if service != "object":
        return _rpc(httpx, self.url, {"service": service, "method": method, "args": args})
    db, uid, password, model, model_method, call_args, kwargs = args
    client = SESSIONS.get((server, uid))
    if client is None:
        client = SESSIONS[server, uid] = httpx.Client()
        login = {"db": db, "login": LOGINS[uid], "password": password}
        _rpc(client, f"{server}/web/session/authenticate", login)
    params = {"model": model, "method": model_method, "args": call_args, "kwargs": kwargs}
    started, error = time.perf_counter(), None
    try:
        return _rpc(client, f"{server}/web/dataset/call_kw/{model}/{model_method}", params)
    except Exception as exc:
        error = exc
        raise
    finally:  # each call a request of Locust's statistics, all under one name: request p95
        events.request.fire(
            request_type="rpc", name=REQUEST, exception=error, context={},
            response_time=(time.perf_counter() - started) * 1000, response_length=0,
        )  # fmt: skip


odoolib.JsonRPCConnector.send = send


def by_owner(ids):
    """{uid: ids} of the records each sales user owns (tools/load_data.py gives record id the
    owner UIDS[id % len(UIDS)]): a salesman sees only their own opportunities."""
    owned = {uid: [] for uid in UIDS}
    for record_id in ids:
        owned[UIDS[record_id % len(UIDS)]].append(record_id)
    return owned


# The run's records to advance or close, each once (gevent: one thread, no lock needed), and
# records to open in a form (any run's). A side's LOAD_RUNS runs (tools/load.sh plans them) share
# its open records: run LOAD_RUN takes every LOAD_RUNS-th.
SLICES = DATA["partner_ids" if PLUS else "lead_ids"]
RUNS = int(os.environ.get("LOAD_RUNS", "1"))
RUN = int(os.environ.get("LOAD_RUN", "0")) % RUNS
OPEN = [record_id for ids in SLICES for record_id in ids]
TAKE = {uid: iter(ids) for uid, ids in by_owner(OPEN[RUN::RUNS]).items()}
READ = by_owner(record_id for ids in SLICES for record_id in ids[:5000])
# Records a task takes, on average (advance 4 × 1, close 1 × 1, bulk close 1 × BULK, of 15).
TAKEN_PER_TASK = (4 + 1 + BULK) / 15


def check_capacity(users, seconds):
    """Refuse a run that would use up a sales user's records before it ends (each is advanced or
    closed once): a task every 2 s per Locust user (the mean think time; a slower server only
    makes it less), users spread over the sales users in turn."""
    per_sales_user = -(-users // len(UIDS))
    needed = int(per_sales_user * seconds / 2 * TAKEN_PER_TASK) + BULK
    have = min(len(ids) for ids in by_owner(OPEN[0::RUNS]).values())
    if needed > have:
        sys.exit(
            f"make load: {users} users for {seconds} s may take up to {needed:,} records of one "
            f"sales user in a run, and {len(OPEN):,} open records over {RUNS} runs per side give "
            f"each {have:,}: raise LOAD_N or lower LOAD_USERS / LOAD_DURATION"
        )


def warm():
    """Odoo checks an RPC caller's password (PBKDF2, ~0.4 s of CPU) once per user and worker,
    then caches it: unwarmed, the first side to run would pay it. tools/load.sh runs this
    first: each user calls each server 4 times at once, and a prefork worker takes one call at a
    time, so that each worker (2 a server) checks each user."""

    def call(port_user):
        port, user = port_user
        xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/xmlrpc/2/object").execute_kw(
            os.environ["LOAD_DB"], user["id"], user["password"], "res.users", "search_count",
            [[["id", "=", user["id"]]]],
        )  # fmt: skip

    for user in DATA["users"]:
        gevent.pool.Pool(8).map(call, itertools.product(PORTS * 4, [user]))


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
        sales, self.port = next(SALES), next(SERVERS)
        self.login, self.password, self.user_id = (
            sales["login"],
            sales["password"],
            sales["id"],
        )
        super().on_start()
        self.at_least_19 = self.client.get_service("common").version()["server_version"] >= "19"
        self.context = {"lang": "en_US", "tz": "UTC", "uid": self.user_id}
        self.context["allowed_company_ids"] = DATA["company_ids"]
        self.model = self.client.get_model(MODEL)
        # The user's web session on its server, opened while the users arrive (Locust's
        # statistics start once they all have): a login checks the password (~0.4 s of CPU).
        self.client.get_model("res.users").context_get()

    def _take(self, count):
        return [next(TAKE[self.user_id]) for _ in range(count)]

    @task(2)
    @action("open the board")
    def open_board(self):
        """The columns with their first 40 cards (one call on 19.0, a web_search_read per
        column on 18.0) and the progress bars, as the web client opens the kanban board."""
        domain, groupby = [*DOMAIN, ("user_id", "=", self.user_id)], GROUPBY
        spec, aggregates = DATA[SIDE]["board"], DATA[SIDE]["aggregates"]
        context = dict(self.context, read_group_expand=True, **BOARD_CONTEXT)
        if self.at_least_19:
            self.model.web_read_group(
                domain, [groupby], aggregates, auto_unfold=True, context=context,
                unfold_read_specification=spec, unfold_read_default_limit=40,
            )  # fmt: skip
        else:
            kwargs = {"lazy": True, "context": context}
            for group in self.model.web_read_group(domain, aggregates, [groupby], **kwargs)[
                "groups"
            ]:
                if not group.get("__fold") and group.get(f"{groupby}_count"):
                    self.model.web_search_read(
                        group["__domain"], spec, offset=0, limit=40, count_limit=10001,
                        context=dict(context, bin_size=True),
                    )  # fmt: skip
        self.model.read_progress_bar(domain, groupby, PROGRESS, context=context)

    @task(6)
    @action("open a contact")
    def open_record(self):
        ids = [random.choice(READ[self.user_id])]
        self.model.web_read(ids, DATA[SIDE]["form"], context=dict(self.context, bin_size=True))

    @task(4)
    @action("advance")
    def advance(self):
        if PLUS:
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

    def _close(self, count):
        """Odoo CRM: action_set_lost; crm_plus: action_close on one contact, the Close dialog
        on more, which above the job threshold (tools/load_data.py) queues a background job
        that the servers' cron workers run in batches."""
        if not PLUS:
            lost = DATA["lost_reason_id"]
            self.model.action_set_lost(
                self._take(count), lost_reason_id=lost, context=self.context
            )
        elif count == 1:
            self.model.action_close(self._take(1), DATA["reason_lost_id"], context=self.context)
        else:
            wizard = self.client.get_model("crm.plus.close.wizard")
            vals = {"partner_ids": [(6, 0, self._take(count))]}
            vals["close_reason_id"] = DATA["reason_lost_id"]
            wizard.action_confirm(
                [wizard.create(vals, context=self.context)], context=self.context
            )

    @task(1)
    @action("open a report")
    def report(self):
        model_name, domain, groupby, aggregates = REPORT
        model = self.client.get_model(model_name)
        if self.at_least_19:
            model.formatted_read_group(domain, groupby, aggregates, context=self.context)
        else:
            model.read_group(domain, aggregates, groupby, lazy=False, context=self.context)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "capacity":  # capacity USERS SECONDS
        check_capacity(int(sys.argv[2]), int(sys.argv[3]))
    else:
        warm()
