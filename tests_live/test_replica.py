"""Reads on a PostgreSQL streaming replica, actions on the primary (``make replica``).

tools/replica.sh starts (or finds) a replica of the test run's PostgreSQL server on
127.0.0.1:5433, streaming from it. Odoo serves a throw-away database with
``--db_replica_host`` / ``--db_replica_port`` and ``synchronous_commit=remote_apply`` for its
sessions (the replica is the primary's synchronous standby), as ``make replica`` runs it. A
session-authenticated JSON-RPC client then does what the web client does
(``/web/action/load``, ``get_views``, ``/web/dataset/call_kw/...``) on the board, the lists,
the Overview, every report and the dashboard, and the funnel actions through their buttons.

Where each request ran is read from two sides: Odoo's request log, whose last column is the
cursor mode once a replica is configured (``ro``: the replica; ``rw``: the primary;
``ro->rw``: a read-only call that wrote and was run again on the primary), and the replica's
own ``pg_stat_statements`` for the test database.
"""

import ast
import contextlib
import fcntl
import json
import os
import re
import subprocess
import time
import unittest
import urllib.request
from pathlib import Path

import psycopg2
import pytest
from lxml import etree

from odoo.tests import tagged

from ..compat import AT_LEAST_19, USER_GROUPS_FIELD
from .live_server import LiveServer, pg_cursor, report, throwaway_database

REPLICA_SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "replica.sh"
REPLICA_PORT = int(os.environ.get("REPLICA_PORT", "5433"))
# What the replica's apply is held back by to show the lag (longer than a read takes).
APPLY_DELAY = 4
SALES_PASSWORD = "replica-sales-pw-1"
# The records a list and an ungrouped kanban read at once, as the web client's pages.
PAGE_SIZES = {"list": 80, "kanban": 40}
# The request log: "POST /path HTTP/1.1" status - queries query_time other_time mode
REQUEST = re.compile(r'"POST (\S+) HTTP/[\d.]+" (\d+) \S+ (\d+) [\d.]+ [\d.]+ (\S+)')
# The screens a salesperson and a manager read, by their window (or server) actions.
SCREENS = (
    "crm_plus.res_partner_action_pipeline_server",
    "crm_plus.res_partner_action_funnel",
    "crm_plus.crm_plus_funnel_report_action",
    "crm_plus.crm_plus_forecast_report_action",
    "crm_plus.crm_plus_winloss_report_action",
    "crm_plus.crm_plus_calibration_report_action_server",
)
# A table each screen reads: its statements must show on the replica.
TABLES = (
    "res_partner",
    "crm_plus_phase_line",
    "crm_plus_funnel_report",
    "crm_plus_forecast_report",
    "crm_plus_winloss_report",
    "crm_plus_calibration_report",
)


class WebClient:
    """A browser's session: ``/web/session/authenticate`` then JSON-RPC with its cookie."""

    def __init__(self, url, db, login, password):
        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        self.context = self.rpc(
            "/web/session/authenticate", db=db, login=login, password=password
        )["user_context"]

    def rpc(self, path, **params):
        body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with self.opener.open(request, timeout=120) as response:
            payload = json.load(response)
        if "error" in payload:
            raise AssertionError(f"{path}: {payload['error']['data'].get('message')}")
        return payload["result"]

    def call(self, model, method, *args, button=False, context=None, **kwargs):
        """``/web/dataset/call_kw`` (``call_button`` for a button), the path as the web client
        of the series writes it."""
        kwargs["context"] = {**self.context, **(context or {})}
        route = "call_button" if button else "call_kw"
        path = f"{model}.{method}" if AT_LEAST_19 else f"{model}/{method}"
        return self.rpc(
            f"/web/dataset/{route}/{path}",
            model=model,
            method=method,
            args=list(args),
            kwargs=kwargs,
        )


def _literal(value, default):
    """An action's domain or context: a Python literal, or ``default`` when it needs more."""
    if not isinstance(value, str):
        return value or default
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return default


def replica_cursor(db):
    """A cursor on ``db`` as the replica serves it."""
    return pg_cursor(db, host="127.0.0.1", port=REPLICA_PORT)


def wait_replayed(db, timeout=180):
    """Until the replica has applied everything the primary has written so far."""
    with pg_cursor() as cr:
        cr.execute("SELECT pg_current_wal_lsn()")
        (lsn,) = cr.fetchone()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(psycopg2.OperationalError), replica_cursor("postgres") as cr:
            cr.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
            if cr.fetchone()[0]:
                return
        time.sleep(0.2)
    raise AssertionError(f"the replica did not replay {db}'s creation in {timeout} s")


@tagged("post_install", "-at_install")
class TestReplica(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        proc = subprocess.run(
            ["bash", str(REPLICA_SCRIPT), "start"], capture_output=True, text=True, check=False
        )
        if proc.returncode:
            raise RuntimeError(f"tools/replica.sh start failed:\n{proc.stdout}{proc.stderr}")
        cls._stack = contextlib.ExitStack()
        try:
            cls._start()
        except BaseException:
            cls._stack.close()
            raise

    @classmethod
    def _start(cls):
        cls.db = cls._stack.enter_context(throwaway_database("replica"))
        with pg_cursor(cls.db) as cr:
            # Counted on the replica only (its shared_preload_libraries), created here.
            cr.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        wait_replayed(cls.db)
        cls.server = cls._stack.enter_context(
            LiveServer(
                cls.db,
                extra_args=["--db_replica_host=127.0.0.1", f"--db_replica_port={REPLICA_PORT}"],
                log_level="info",
                env={"PGOPTIONS": "-c synchronous_commit=remote_apply"},
            )
        )
        cls.client = WebClient(cls.server.url, cls.db, "admin", "admin")
        # A salesperson (User: Own Documents) with contacts of their own: their board opens on
        # My Funnel, and every read goes through the record rules.
        groups = [
            cls.client.call("ir.model.data", "check_object_reference", *xmlid.split("."))[1]
            for xmlid in ("base.group_user", "crm_plus.group_crm_plus_user")
        ]
        user_id = cls.client.call(
            "res.users",
            "create",
            {
                "name": "Replica Sales",
                "login": "replica_sales",
                "password": SALES_PASSWORD,
                USER_GROUPS_FIELD: [(6, 0, groups)],
            },
        )
        partner_ids = cls.client.call(
            "res.partner", "search", [("funnel_state", "=", "open")], limit=3
        )
        cls.client.call("res.partner", "write", partner_ids, {"user_id": user_id})
        cls.sales = WebClient(cls.server.url, cls.db, "replica_sales", SALES_PASSWORD)

    @pytest.fixture(autouse=True)
    def _pytest_config(self, pytestconfig):
        # The figures are shown in pytest's output (live_server.report).
        self.pytest_config = pytestconfig

    @classmethod
    def tearDownClass(cls):
        cls._stack.close()
        super().tearDownClass()

    # ------------------------------------------------------------------ what ran where

    def requests(self, since=0):
        """[(path, status, queries, cursor mode)] of the requests logged after ``since``."""
        return [
            (path, int(status), int(queries), mode)
            for path, status, queries, mode in REQUEST.findall(self.server.log_text()[since:])
        ]

    def replica_statements(self, reset=False):
        """{statement: calls} the replica ran in the test database (reset: start again)."""
        with replica_cursor(self.db) as cr:
            cr.execute("SELECT oid FROM pg_database WHERE datname = %s", [self.db])
            (dbid,) = cr.fetchone()
            if reset:
                cr.execute("SELECT pg_stat_statements_reset(0, %s, 0)", [dbid])
                return {}
            cr.execute("SELECT query, calls FROM pg_stat_statements WHERE dbid = %s", [dbid])
            return dict(cr.fetchall())

    def assertNoRetry(self):
        log = self.server.log_text()
        self.assertEqual(log.count(" ro->rw"), 0, "a read-only call wrote: Odoo retried it")
        self.assertNotIn("retrying with a read/write cursor", log)

    # ------------------------------------------------------------------ the web client's reads

    def spec(self, fields, names):
        """A web_read / web_search_read specification of ``names`` (those of ``fields``)."""
        spec = {}
        for name in names:
            field = fields.get(name)
            if field:
                many2one = field["type"] == "many2one"
                spec[name] = {"fields": {"display_name": {}}} if many2one else {}
        return spec

    def open_action(self, xmlid, client=None):
        """Load an action as a menu does: a server action is run, a window action loaded."""
        client = client or self.client
        action = client.rpc("/web/action/load", action_id=xmlid)
        if action["type"] == "ir.actions.server":
            action = client.rpc("/web/action/run", action_id=action["id"], context=client.context)
        return action

    def read_screen(self, action, client=None):
        """Every view of a window action, read as its view loads: list, kanban (the board:
        groups, progress bars, cards), pivot, graph. Returns the model's form spec."""
        client = client or self.client
        model = action["res_model"]
        domain = _literal(action.get("domain"), [])
        context = _literal(action.get("context"), {})
        context = {k: v for k, v in context.items() if not k.startswith("search_default")}
        views = [[view_id, mode] for view_id, mode in action["views"]]
        result = client.call(
            model, "get_views", views=[*views, [False, "search"]], options={"load_filters": True}
        )
        description = result["models"][model]
        fields = description.get("fields", description)
        for mode, view in result["views"].items():
            arch = etree.fromstring(view["arch"])
            names = [node.get("name") for node in arch.iter("field")]
            if mode == "kanban" and arch.get("default_group_by"):
                self.read_board(client, model, domain, context, arch, self.spec(fields, names))
            elif mode in PAGE_SIZES:
                client.call(
                    model,
                    "web_search_read",
                    domain,
                    self.spec(fields, names),
                    limit=PAGE_SIZES[mode],
                    context=context,
                )
            elif mode in ("pivot", "graph"):
                measures = [
                    node.get("name")
                    for node in arch.iter("field")
                    if node.get("type") == "measure"
                ]
                aggregates = [
                    f"{name}:{fields[name].get('aggregator') or 'sum'}" for name in measures
                ]
                groupby = [
                    # A date is grouped by month unless the view says otherwise, as the client.
                    name + (":month" if fields[name]["type"] in ("date", "datetime") else "")
                    for name in names
                    if name not in measures
                ][:2]
                if AT_LEAST_19:
                    client.call(
                        model,
                        "formatted_read_group",
                        domain,
                        groupby,
                        ["__count", *aggregates],
                        context=context,
                    )
                else:
                    client.call(
                        model,
                        "read_group",
                        domain,
                        aggregates,
                        groupby,
                        lazy=False,
                        context=context,
                    )
        return fields, result

    def read_board(self, client, model, domain, context, arch, card_spec):
        groupby = arch.get("default_group_by")
        bar = arch.find(".//progressbar")
        progress_bar = {
            "field": bar.get("field"),
            "colors": json.loads(bar.get("colors")),
            "sum_field": bar.get("sum_field"),
        }
        context = dict(context, read_group_expand=True)
        if AT_LEAST_19:
            groups = client.call(
                model,
                "web_read_group",
                domain,
                [groupby],
                ["__count", f"{progress_bar['sum_field']}:sum"],
                auto_unfold=True,
                unfold_read_specification=card_spec,
                context=context,
            )["groups"]
        else:
            groups = client.call(
                model,
                "web_read_group",
                domain,
                [f"{progress_bar['sum_field']}:sum"],
                [groupby],
                lazy=True,
                context=context,
            )["groups"]
            for group in groups:
                value = group[groupby] and group[groupby][0]
                client.call(
                    model,
                    "web_search_read",
                    [*domain, (groupby, "=", value)],
                    card_spec,
                    limit=40,
                    context=context,
                )
        client.call(model, "read_progress_bar", domain, groupby, progress_bar, context=context)
        return groups

    def overview(self, partner_id, form):
        """The contact's form (Overview and the phase lines with their suggested scores),
        as it opens: web_read with the form's specification."""
        fields, result = form
        arch = etree.fromstring(result["views"]["form"]["arch"])
        spec = self.spec(fields, [node.get("name") for node in arch.iter("field")])
        for name, field in fields.items():
            if name in spec and field["type"] in ("one2many", "many2many"):
                related = result["models"].get(field["relation"], {})
                sub_fields = related.get("fields", related)
                spec[name] = {"fields": self.spec(sub_fields, list(sub_fields))}
        (record,) = self.client.call("res.partner", "web_read", [partner_id], spec)
        return record

    def form(self):
        action = self.open_action("crm_plus.res_partner_action_funnel")
        return self.read_screen({**action, "views": [[False, "form"]]})

    def open_partner(self):
        """An open contact that is not in its funnel's last phase."""
        for row in self.client.call(
            "res.partner",
            "search_read",
            [("funnel_state", "=", "open"), ("lead_phase_id.phase_type", "!=", "closing")],
            ["id", "lead_phase_id"],
            limit=1,
        ):
            return row["id"], row["lead_phase_id"][0]
        raise AssertionError("no open contact before its closing phase in the demo data")

    # ------------------------------------------------------------------ the tests

    def test_reads_on_replica_actions_on_primary(self):
        self.replica_statements(reset=True)
        since = len(self.server.log_text())
        for client in (self.client, self.sales):
            for xmlid in SCREENS:
                self.read_screen(self.open_action(xmlid, client), client)
            client.call("crm.plus.dashboard", "get_dashboard_data")
        self.client.call("crm.plus.dashboard", "get_dashboard_action", "open")
        # The methods of CRM+ that only read (@api.readonly), as a button or a client calls them.
        type_id = self.client.call(
            "crm.plus.account.type", "search", [("has_phases", "=", True)], limit=1
        )[0]
        self.client.call("crm.plus.account.type", "action_view_partners", [type_id], button=True)
        self.client.call("crm.plus.calibration.report", "action_open_report")
        self.client.call("crm.plus.lead.phase", "name_search", "Qualif", limit=8)
        self.client.call("res.partner", "action_crm_plus_pipeline")
        self.client.call("res.partner", "get_import_templates")
        form = self.form()
        partner_id, phase_id = self.open_partner()
        self.overview(partner_id, form)
        reads = self.requests(since)
        statements = self.replica_statements()

        # The actions, through their buttons; the form read again after each.
        since = len(self.server.log_text())
        self.client.call("res.partner", "action_advance_phase", [partner_id], button=True)
        advanced = self.overview(partner_id, form)
        self.assertNotEqual(advanced["lead_phase_id"]["id"], phase_id)
        reason = self.client.call(
            "crm.plus.close.reason", "search_read", [("outcome", "=", "lost")], ["id"], limit=1
        )[0]["id"]
        context = {
            "active_model": "res.partner",
            "active_ids": [partner_id],
            "active_id": partner_id,
        }
        self.client.call("res.partner", "action_open_close_wizard", [partner_id], button=True)
        (wizard,) = self.client.call(
            "crm.plus.close.wizard",
            "web_save",
            [],
            {"partner_ids": [[6, 0, [partner_id]]], "close_reason_id": reason},
            {"id": {}},
            context=context,
        )
        self.client.call(
            "crm.plus.close.wizard",
            "action_confirm",
            [wizard["id"]],
            button=True,
            context=context,
        )
        self.assertEqual(self.overview(partner_id, form)["funnel_state"], "lost")
        self.client.call("res.partner", "action_reopen", [partner_id], button=True)
        self.assertEqual(self.overview(partner_id, form)["funnel_state"], "open")
        actions = self.requests(since)

        self.assertNoRetry()
        self.assertEqual({status for _path, status, _q, _mode in reads + actions}, {200})
        # Every read of a screen on the replica; the menu's server actions (/web/action/run,
        # which Odoo runs on the primary: a server action may write) only return an action.
        wrong = [
            (path, mode)
            for path, _status, _q, mode in reads
            if mode != "ro" and path != "/web/action/run"
        ]
        self.assertFalse(wrong, "reads not on the replica")
        for table in TABLES:
            self.assertTrue(
                any(table in query for query in statements),
                f"no statement on {table} ran on the replica",
            )
        self.assertFalse(
            [q for q in statements if re.match(r"\s*(INSERT|UPDATE|DELETE)", q, re.I)]
        )
        # Every action (and the close dialog's save) on the primary.
        action_paths = [
            (path, mode)
            for path, _status, _q, mode in actions
            if "call_button" in path or "web_save" in path
        ]
        self.assertEqual(len(action_paths), 5, actions)
        self.assertEqual({mode for _path, mode in action_paths}, {"rw"}, action_paths)

        def total(requests, modes):
            return sum(q for _p, _s, q, mode in requests if mode in modes)

        everything = reads + actions
        report(
            getattr(self, "pytest_config", None),
            f"replica ({'19.0' if AT_LEAST_19 else '18.0'})",
            [
                f"reads: {len(reads)} requests, {sum(m == 'ro' for *_x, m in reads)} on the "
                f"replica; the replica ran {sum(statements.values())} statements "
                f"({len(statements)} distinct) in the test database",
                f"actions: {len(actions)} requests, {sum(m == 'rw' for *_x, m in actions)} on "
                f"the primary",
                f"Odoo's query counts: {total(everything, {'ro'})} in ro requests, "
                f"{total(everything, {'rw'})} in rw requests; 0 ro->rw",
            ],
        )

    def test_action_result_despite_replica_lag(self):
        """The replica applies what it receives 4 s late. A write committed without waiting for
        the replica (the default synchronous_commit) is not on the screen that reads right
        after it; an action of Odoo (remote_apply) is."""
        form = self.form()
        partner_id, phase_id = self.open_partner()
        name = self.overview(partner_id, form)["name"]
        lock_path = Path(os.environ.get("CACHE_DIR") or Path.home() / ".cache/crm_plus")
        lock_path.mkdir(parents=True, exist_ok=True)
        # One delay at a time on the shared replica (18.0 and 19.0 runs may overlap).
        with open(lock_path / "replica-delay.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self.set_apply_delay(f"{APPLY_DELAY}s")
                with pg_cursor(self.db) as cr:
                    cr.execute(
                        "UPDATE res_partner SET name = name || ' (renamed)' WHERE id = %s",
                        [partner_id],
                    )
                stale = self.overview(partner_id, form)
                started = time.monotonic()
                self.client.call("res.partner", "action_advance_phase", [partner_id], button=True)
                waited = time.monotonic() - started
                fresh = self.overview(partner_id, form)
            finally:
                self.set_apply_delay(None)
        self.assertEqual(stale["name"], name, "the replica showed the write at once: no lag")
        self.assertNotEqual(fresh["lead_phase_id"]["id"], phase_id)
        self.assertEqual(fresh["name"], f"{name} (renamed)")
        self.assertNoRetry()
        report(
            getattr(self, "pytest_config", None),
            "replica lag",
            [
                f"apply delay {APPLY_DELAY} s: a plain commit read stale at once; the advance "
                f"(remote_apply) returned after {waited:.1f} s and its result was read"
            ],
        )

    def set_apply_delay(self, delay):
        with replica_cursor("postgres") as cr:
            if delay:
                cr.execute("ALTER SYSTEM SET recovery_min_apply_delay = %s", [delay])
            else:
                cr.execute("ALTER SYSTEM RESET recovery_min_apply_delay")
            cr.execute("SELECT pg_reload_conf()")
        expected = delay or "0"
        for _attempt in range(50):
            with replica_cursor("postgres") as cr:
                cr.execute("SHOW recovery_min_apply_delay")
                if cr.fetchone()[0] == expected:
                    return
            time.sleep(0.1)
        raise AssertionError(f"the replica did not take recovery_min_apply_delay={expected}")
