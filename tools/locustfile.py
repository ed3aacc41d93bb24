"""`make load`'s sales users, on OdooLocust (Locust over Odoo's JSON-RPC).

One run drives one side, LOAD_SIDE: ``plus`` (crm_plus: the pipeline board, a contact's form,
action_advance_phase, action_close with a lost reason, the forecast report's read_group) or
``crm`` (Odoo CRM on crm.lead: its pipeline kanban, a lead's form, a stage write,
action_set_lost, the pipeline analysis' read_group), with the same mix and think time. The
requests are those the web client sends (web_read_group, read_progress_bar, web_search_read per
column, web_read with the form's specification, read from the views by tools/load_data.py).

Every Locust user logs in as one of the sales users of LOAD_DATA (in turn) and each advance or
close takes a record no other request of the run takes (this run's slice, LOAD_RUN), so users do
not all fight over one row; the board and the reports still meet the same rows. Besides
Locust's statistics (one entry per RPC method), each user action's time is written to
LOAD_ACTIONS_OUT as JSON when the run ends.
"""

import itertools
import json
import os
import random
import time
from pathlib import Path

from locust import between, events, task
from OdooLocust.OdooLocustUser import OdooLocustUser

DATA = json.loads(Path(os.environ["LOAD_DATA"]).read_text())
SIDE = os.environ.get("LOAD_SIDE", "plus")
RUN = int(os.environ.get("LOAD_RUN", "0"))
PORT = int(os.environ.get("LOAD_PORT", "8069"))

SALES = itertools.cycle(DATA["users"])
UIDS = [user["id"] for user in DATA["users"]]


def by_owner(ids):
    """{uid: ids} of the records each sales user owns (tools/load_data.py gives record id its
    owner UIDS[id % len(UIDS)]): a salesman sees only their own opportunities."""
    owned = {uid: [] for uid in UIDS}
    for record_id in ids:
        owned[UIDS[record_id % len(UIDS)]].append(record_id)
    return owned


# This run's records to advance or close, each once (gevent: one thread, no lock needed).
PARTNERS = {
    uid: iter(ids) for uid, ids in by_owner(DATA["partner_ids"][RUN % DATA["runs"]]).items()
}
LEADS = {uid: iter(ids) for uid, ids in by_owner(DATA["lead_ids"][RUN % DATA["runs"]]).items()}
# Records to open in a form: read only, any run's.
READ_PARTNERS = by_owner(pid for ids in DATA["partner_ids"] for pid in ids[:5000])
READ_LEADS = by_owner(lid for ids in DATA["lead_ids"] for lid in ids[:5000])

ACTIONS = {}  # action name -> [(seconds, ok)], once every user has arrived
MEASURE_START = [time.perf_counter()]

PLUS_PROGRESS = {
    "field": "funnel_health",
    "colors": {"stale": "danger", "hot": "success", "warm": "warning", "cold": "info"},
    "sum_field": "funnel_open_value",
}
CRM_PROGRESS = {
    "field": "activity_state",
    "colors": {"planned": "success", "today": "warning", "overdue": "danger"},
    "sum_field": "expected_revenue",
}


def timed(name):
    def decorator(func):
        def wrapper(self):
            started = time.perf_counter()
            ok = False
            try:
                func(self)
                ok = True
            finally:
                ACTIONS.setdefault(name, []).append((time.perf_counter() - started, ok))

        wrapper.__name__ = func.__name__
        return wrapper

    return decorator


@events.spawning_complete.add_listener
def _start_measuring(user_count, **_kwargs):
    # As Locust's --reset-stats: what users did while others were still arriving is left out.
    ACTIONS.clear()
    MEASURE_START[0] = time.perf_counter()


@events.quitting.add_listener
def _write_actions(environment, **_kwargs):
    out = os.environ.get("LOAD_ACTIONS_OUT")
    if out:
        seconds = time.perf_counter() - MEASURE_START[0]
        Path(out).write_text(json.dumps({"seconds": seconds, "actions": ACTIONS}))


class SalesUser(OdooLocustUser):
    abstract = True
    host = "127.0.0.1"
    port = PORT
    database = os.environ.get("LOAD_DB", "")
    protocol = "jsonrpc"
    wait_time = between(
        float(os.environ.get("LOAD_WAIT_MIN", "1")), float(os.environ.get("LOAD_WAIT_MAX", "3"))
    )

    def on_start(self):
        sales = next(SALES)
        self.login = sales["login"]
        self.password = sales["password"]
        self.user_id = sales["id"]
        super().on_start()
        version = self.client.get_service("common").version()
        self.at_least_19 = version["server_version_info"][0] >= 19
        self.context = {
            "lang": "en_US",
            "tz": "UTC",
            "uid": self.user_id,
            "allowed_company_ids": DATA["company_ids"],
        }

    def _board(self, model_name, domain, groupby, spec, aggregates, progress, extra_context):
        """The kanban board as the web client opens it: the columns (with their first 40
        cards: one call on 19.0, a web_search_read per column on 18.0) and the progress bars."""
        model = self.client.get_model(model_name)
        context = dict(self.context, read_group_expand=True, **extra_context)
        if self.at_least_19:
            model.web_read_group(
                domain,
                [groupby],
                aggregates,
                auto_unfold=True,
                unfold_read_specification=spec,
                unfold_read_default_limit=40,
                context=context,
            )
        else:
            groups = model.web_read_group(
                domain, aggregates, [groupby], lazy=True, context=context
            )["groups"]
            for group in groups:
                if group.get("__fold") or not group.get(f"{groupby}_count"):
                    continue
                model.web_search_read(
                    group["__domain"],
                    spec,
                    offset=0,
                    limit=40,
                    count_limit=10001,
                    context=dict(context, bin_size=True),
                )
        model.read_progress_bar(domain, groupby, progress, context=context)

    def _grouped(self, model_name, domain, aggregates, groupby):
        model = self.client.get_model(model_name)
        if self.at_least_19:
            model.formatted_read_group(domain, groupby, aggregates, context=self.context)
        else:
            model.read_group(domain, aggregates, groupby, lazy=False, context=self.context)


class CrmPlusSales(SalesUser):
    """A crm_plus salesperson: the pipeline board, contacts, advance, close, the forecast."""

    abstract = SIDE != "plus"

    @task(2)
    @timed("open the board")
    def open_board(self):
        # As the action opens it for a salesperson who owns open contacts: the first type's
        # funnel, My Funnel (res.partner.action_crm_plus_pipeline), as Odoo CRM's My Pipeline.
        domain = [
            ("funnel_state", "=", "open"),
            ("lead_phase_id", "!=", False),
            ("account_type_id", "=", DATA["first_type_id"]),
            ("user_id", "=", self.user_id),
            ("funnel_state", "!=", False),
        ]
        self._board(
            "res.partner",
            domain,
            "lead_phase_id",
            DATA["plus"]["board"],
            DATA["plus"]["aggregates"],
            PLUS_PROGRESS,
            {"crm_plus_pipeline": True},
        )

    @task(6)
    @timed("open a contact")
    def open_contact(self):
        self.client.get_model("res.partner").web_read(
            [random.choice(READ_PARTNERS[self.user_id])],
            DATA["plus"]["form"],
            context=dict(self.context, bin_size=True),
        )

    @task(4)
    @timed("advance")
    def advance(self):
        self.client.get_model("res.partner").action_advance_phase(
            [next(PARTNERS[self.user_id])], context=self.context
        )

    @task(1)
    @timed("close (lost)")
    def close(self):
        self.client.get_model("res.partner").action_close(
            [next(PARTNERS[self.user_id])], DATA["reason_lost_id"], context=self.context
        )

    @task(1)
    @timed("open a report")
    def report(self):
        self._grouped(
            "crm.plus.forecast.report",
            [],
            ["forecast_value:sum", "weighted_value:sum", "mrr:sum", "score:avg"],
            ["account_type_id", "lead_phase_id"],
        )


class OdooCrmSales(SalesUser):
    """The same mix on Odoo CRM: the pipeline kanban ("My pipeline"), a lead's form, a stage
    write (a drag to another column), action_set_lost, the pipeline analysis pivot."""

    abstract = SIDE != "crm"

    @task(2)
    @timed("open the board")
    def open_board(self):
        self._board(
            "crm.lead",
            [("type", "=", "opportunity"), ("user_id", "=", self.user_id)],
            "stage_id",
            DATA["crm"]["board"],
            DATA["crm"]["aggregates"],
            CRM_PROGRESS,
            {"default_type": "opportunity"},
        )

    @task(6)
    @timed("open a contact")
    def open_lead(self):
        self.client.get_model("crm.lead").web_read(
            [random.choice(READ_LEADS[self.user_id])],
            DATA["crm"]["form"],
            context=dict(self.context, bin_size=True),
        )

    @task(4)
    @timed("advance")
    def stage_write(self):
        self.client.get_model("crm.lead").write(
            [next(LEADS[self.user_id])],
            {"stage_id": random.choice(DATA["stage_ids"])},
            context=self.context,
        )

    @task(1)
    @timed("close (lost)")
    def set_lost(self):
        self.client.get_model("crm.lead").action_set_lost(
            [next(LEADS[self.user_id])],
            lost_reason_id=DATA["lost_reason_id"],
            context=self.context,
        )

    @task(1)
    @timed("open a report")
    def report(self):
        self._grouped(
            "crm.lead",
            [("type", "=", "opportunity"), ("probability", "<", 100)],
            ["expected_revenue:sum", "prorated_revenue:sum", "probability:avg"],
            ["team_id", "stage_id"],
        )
