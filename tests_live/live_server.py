"""Real Odoo processes for the crm_plus tests that cannot run inside the ORM test process.

The ORM tests (``TransactionCase``) run inside pytest-odoo's process, in a transaction that is
rolled back. Some tests need more: XML-RPC clients talking to a real HTTP server, several
workers racing on the same rows, or a whole module life cycle (install, upgrade, uninstall).
They run Odoo as subprocesses, on databases of their own, with the helpers of this module:

``odoo_command(db, *args)`` / ``run_odoo(db, *args)`` / ``odoo_shell(db, script)``
    ``odoo-bin`` command lines built from the configuration pytest-odoo loaded
    (``--odoo-config``; else the file in ``$ODOO_RC``): addons path, database connection and
    data directory are those of the test run.

``throwaway_database(label)``
    A context manager: a new database with crm_plus installed, dropped (with its filestore) at
    the end. It is cloned from ``$TEMPLATE_DB`` (tools/env.sh's ``template_db``: base, contacts
    and mail installed); without that variable ``-i contacts,mail`` builds one. crm_plus is
    installed once per test process in a private template, each throw-away database is then a
    cheap ``CREATE DATABASE … TEMPLATE``.

``LiveServer(db, workers=0)``
    A context manager: ``odoo-bin`` serving ``db`` on a free loopback port in 18100-18199
    (``--workers N`` for the multi-process server), started when ``/web/login`` answers, stopped
    at the end; its log (``server.logfile``) is removed unless the block failed.
    ``server.rpc(login, password)`` gives an :class:`RpcClient`.

``table_snapshot(db)`` / ``funnel_invariant_violations(db)``
    Direct SQL: every row of the crm_plus tables and ``res_partner`` (to prove a refused call
    changed nothing), and the funnel invariants of tests/common.py's ``assertFunnelInvariants``
    checked on a whole database.

Typical use::

    from .live_server import LiveServer, throwaway_database

    with throwaway_database("rpc") as db, LiveServer(db) as server:
        admin = server.rpc("admin", "admin")
        partner_id = admin.call("res.partner", "create", {"name": "Azure"})

Database names start with ``crm_plus_live_<pid>_`` so leftovers of a killed run are recognised
and dropped by the next run. Ports: ``CRM_PLUS_TEST_PORTS`` (``first-last``) overrides the range.
"""

import atexit
import contextlib
import inspect
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import xmlrpc.client
from pathlib import Path

import psycopg2
from psycopg2 import sql

import odoo
from odoo.sql_db import connection_info_for
from odoo.tools import config

from ..compat import AT_LEAST_19
from ..report import funnel_report_totals

# tools/ports.py, shared with the pytest plugin: the checkout's tools/ (the addon links to it).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import ports

_logger = logging.getLogger(__name__)

PORT_RANGE = (18100, 18199)
DB_PREFIX = "crm_plus_live_"
MODULE = "crm_plus"
START_TIMEOUT = 90
BASE_MODULES = "contacts,mail"


# ---------------------------------------------------------------------- configuration


def odoo_bin():
    """The ``odoo-bin`` of the Odoo source this process imported (``$ODOO_SRC`` when set)."""
    if os.environ.get("ODOO_SRC"):
        return Path(os.environ["ODOO_SRC"]) / "odoo-bin"
    # odoo is a namespace package from 19.0 on (no odoo.__file__): its first path entry.
    return Path(next(iter(odoo.__path__))).resolve().parent / "odoo-bin"


def config_file():
    """The Odoo configuration file of this test run, or None."""
    # config["config"] on both series; 19.0 deprecates 18.0's config.rcfile.
    rcfile = config.get("config") or (None if AT_LEAST_19 else getattr(config, "rcfile", None))
    for candidate in (rcfile, os.environ.get("ODOO_RC")):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def odoo_command(db, *args, addons_path=None):
    """``odoo-bin`` arguments running on database ``db`` with this run's configuration; the
    explicit options (addons path, connection, data dir) win over the file's. ``addons_path``
    (a list of folders) replaces the run's: another copy of crm_plus, e.g. an older release."""
    cmd = [sys.executable, str(odoo_bin())]
    rcfile = config_file()
    if rcfile:
        cmd += ["-c", rcfile]
    for option, key in (
        ("--addons-path", "addons_path"),
        ("--db_host", "db_host"),
        ("--db_port", "db_port"),
        ("--db_user", "db_user"),
        ("--db_password", "db_password"),
        ("--data-dir", "data_dir"),
    ):
        value = config.get(key)
        if key == "addons_path" and addons_path is not None:
            value = list(addons_path)
        if isinstance(value, (list, tuple)):  # 19.0 keeps the addons path as a list
            value = ",".join(map(str, value))
        if value:
            cmd.append(f"{option}={value}")
    if db:
        cmd += ["-d", db, f"--db-filter=^{re.escape(db)}$"]
    return cmd + list(args)


def _subcommand(name, db, *args, addons_path=None):
    """``odoo-bin <name> …``: Odoo wants the sub-command right after the script."""
    cmd = odoo_command(db, *args, addons_path=addons_path)
    return [*cmd[:2], name, *cmd[2:]]


def run_odoo(db, *args, timeout=600, check=True, addons_path=None):
    """Run ``odoo-bin`` to completion (``--stop-after-init`` is added); return the
    CompletedProcess. A failure raises with the tail of Odoo's output."""
    cmd = odoo_command(
        db,
        *args,
        "--stop-after-init",
        "--no-http",
        "--max-cron-threads=0",
        addons_path=addons_path,
    )
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode:
        output = _tail(proc.stdout + proc.stderr)
        raise RuntimeError(f"odoo-bin failed ({proc.returncode}): {' '.join(args)}\n{output}")
    return proc


def odoo_shell(db, script, timeout=600, addons_path=None):
    """Run a Python ``script`` in ``odoo-bin shell`` on ``db`` (``env`` is the superuser's;
    the script commits what it keeps) and return its standard output. An exception in the
    script makes the process fail, and this raise."""
    cmd = _subcommand(
        "shell",
        db,
        "--no-http",
        "--max-cron-threads=0",
        "--log-level=warn",
        addons_path=addons_path,
    )
    proc = subprocess.run(
        cmd, input=script, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode:
        raise RuntimeError(
            f"odoo-bin shell failed ({proc.returncode}):\n{_tail(proc.stdout + proc.stderr)}"
        )
    return proc.stdout


def _tail(text, lines=40):
    return "\n".join(text.strip().splitlines()[-lines:])


# ---------------------------------------------------------------------- databases


@contextlib.contextmanager
def pg_cursor(db="postgres", autocommit=True, **server):
    """A psycopg2 cursor on ``db`` with the run's connection settings (not Odoo's pool);
    ``server`` (host, port) points it at another server, such as a replica."""
    _name, info = connection_info_for(db)
    info = dict(info, application_name=f"crm_plus_tests-{os.getpid()}", **server)
    conn = psycopg2.connect(**info)
    conn.autocommit = autocommit
    try:
        with conn.cursor() as cr:
            yield cr
    finally:
        conn.close()


def database_exists(db):
    with pg_cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db])
        return bool(cr.fetchone())


def _filestore(db):
    return Path(config.filestore(db))


def clone_database(source, target, attempts=30):
    """``CREATE DATABASE target TEMPLATE source`` plus the filestore. The template must have no
    session open: a busy template (another run cloning it) is retried for a while."""
    drop_database(target)
    for attempt in range(attempts):
        try:
            with pg_cursor() as cr:
                cr.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(target), sql.Identifier(source)
                    )
                )
            break
        except psycopg2.errors.ObjectInUse:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 + random.random())
    if _filestore(source).is_dir():
        shutil.copytree(_filestore(source), _filestore(target), dirs_exist_ok=True)


def drop_database(db):
    """Drop ``db`` (closing its sessions) and its filestore; nothing if it does not exist."""
    with pg_cursor() as cr:
        cr.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
    shutil.rmtree(_filestore(db), ignore_errors=True)


def drop_stale_databases():
    """Drop the throw-away databases of test processes that no longer run."""
    with pg_cursor() as cr:
        cr.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [DB_PREFIX + "%"])
        names = [row[0] for row in cr.fetchall()]
    for name in names:
        match = re.match(rf"{DB_PREFIX}(\d+)_", name)
        if match and not _pid_alive(int(match.group(1))):
            _logger.info("dropping stale test database %s", name)
            drop_database(name)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_database_name(label):
    clean = re.sub(r"[^a-z0-9_]", "_", label.lower())[:20]
    return f"{DB_PREFIX}{os.getpid()}_{clean}_{random.randrange(16**6):06x}"


def create_base_database(db):
    """A database with base, contacts and mail, like tools/env.sh's template: a clone of
    ``$TEMPLATE_DB`` when it is set and exists, else built with ``-i contacts,mail``."""
    template = os.environ.get("TEMPLATE_DB")
    if template and database_exists(template):
        clone_database(template, db)
    else:
        drop_database(db)
        run_odoo(db, "-i", BASE_MODULES, "--log-level=warn")


_installed_template = {}
_template_lock = threading.Lock()


def installed_template():
    """This process's private template database: base + crm_plus installed, built once and
    dropped when the process exits."""
    with _template_lock:
        if "name" not in _installed_template:
            drop_stale_databases()
            db = new_database_name("template")
            create_base_database(db)
            atexit.register(drop_database, db)
            run_odoo(db, "-i", MODULE, "--log-level=warn")
            _installed_template["name"] = db
        return _installed_template["name"]


@contextlib.contextmanager
def throwaway_database(label="db", install=True, keep=False):
    """A new database for one test module, dropped at the end (unless ``keep`` or the
    environment variable ``CRM_PLUS_KEEP_DB`` is set, to look at it after a failure).

    ``install=True``: crm_plus installed (a clone of :func:`installed_template`);
    ``install=False``: base, contacts and mail only (see :func:`create_base_database`)."""
    db = new_database_name(label)
    if install:
        clone_database(installed_template(), db)
    else:
        drop_stale_databases()
        create_base_database(db)
    try:
        yield db
    finally:
        if keep or os.environ.get("CRM_PLUS_KEEP_DB"):
            _logger.warning("keeping test database %s", db)
        else:
            drop_database(db)


# ---------------------------------------------------------------------- servers


def free_port(exclude=()):
    """A loopback TCP port of :data:`PORT_RANGE` (or ``$CRM_PLUS_TEST_PORTS``) nobody listens
    on. Another process may still take it before the server binds: :class:`LiveServer` then
    retries with another one."""
    spec = os.environ.get("CRM_PLUS_TEST_PORTS") or f"{PORT_RANGE[0]}-{PORT_RANGE[1]}"
    return ports.free_port(spec, "CRM_PLUS_TEST_PORTS=", exclude)


class LiveServer:
    """``odoo-bin`` serving one database over HTTP on 127.0.0.1.

    ``workers=0`` is the threaded server; ``workers=N`` the multi-process (prefork) server,
    whose long-polling process also gets a port of the range. ``extra_args`` go to odoo-bin
    as they are; ``env`` adds environment variables (e.g. libpq's ``PGOPTIONS``). Use it as a
    context manager, or call :meth:`start` and :meth:`stop`."""

    def __init__(self, db, workers=0, extra_args=(), log_level="warn", env=None):
        self.db = db
        self.env = env
        self.workers = workers
        self.extra_args = list(extra_args)
        self.log_level = log_level
        self.port = None
        self.proc = None
        self.logfile = None
        self._uids = {}

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, traceback):
        self.stop()
        # The log is kept after a failure (or with CRM_PLUS_KEEP_DB) to look at it.
        if exc_type is None and not os.environ.get("CRM_PLUS_KEEP_DB") and self.logfile:
            with contextlib.suppress(OSError):
                os.unlink(self.logfile)

    def start(self, attempts=5):
        last_error = None
        for _attempt in range(attempts):
            try:
                self._start_once()
                return self
            except _PortTaken as error:
                last_error = error
        raise RuntimeError(f"could not start Odoo on a free port: {last_error}")

    def _start_once(self):
        self.port = free_port()
        args = [
            "--http-interface=127.0.0.1",
            f"--http-port={self.port}",
            f"--workers={self.workers}",
            "--max-cron-threads=0",
            f"--log-level={self.log_level}",
            *self.extra_args,
        ]
        if self.workers:
            args.append(f"--gevent-port={free_port(exclude={self.port})}")
        handle, self.logfile = tempfile.mkstemp(prefix=f"{self.db}_", suffix=".log")
        with os.fdopen(handle, "w") as log:
            # A session of its own: stop() can end the workers with their master.
            self.proc = subprocess.Popen(
                odoo_command(self.db, *args),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **self.env} if self.env else None,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                output = self.log_tail()
                self.stop()
                if "Address already in use" in output:
                    raise _PortTaken(output)
                raise RuntimeError(f"Odoo exited ({self.proc.returncode}) at start:\n{output}")
            if "Address already in use" in self.log_tail():
                self.stop()
                raise _PortTaken(f"port {self.port} taken")
            try:
                with urllib.request.urlopen(f"{self.url}/web/login", timeout=10) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                _logger.debug("Odoo not up yet on port %s: %s", self.port, error)
            time.sleep(0.3)
        output = self.log_tail()
        self.stop()
        raise RuntimeError(f"Odoo did not answer /web/login within {START_TIMEOUT}s:\n{output}")

    def stop(self, timeout=30):
        """Stop the server gracefully (SIGTERM), then its whole process group if needed."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)
        # Prefork workers and the long-polling process may outlive a master that was killed.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def log_tail(self, lines=60):
        if not self.logfile or not os.path.exists(self.logfile):
            return ""
        with open(self.logfile, encoding="utf-8", errors="replace") as log:
            return _tail(log.read(), lines)

    def log_text(self):
        if not self.logfile or not os.path.exists(self.logfile):
            return ""
        with open(self.logfile, encoding="utf-8", errors="replace") as log:
            return log.read()

    def rpc(self, login="admin", password="admin"):
        """A new :class:`RpcClient` (a connection of its own) logged in as ``login``. The uid
        is looked up once per login: password checks are slow on purpose (PBKDF2), and each
        worker caches a successful check."""
        key = (login, password)
        client = RpcClient(self.url, self.db, login, password, uid=self._uids.get(key))
        self._uids[key] = client.uid
        return client

    def retried_serialization_failures(self):
        """How many times Odoo retried a request after a concurrency error, and how many
        requests gave up (from the log: needs ``log_level='info'``)."""
        text = self.log_text()
        return text.count("tries left, try again"), text.count("maximum number of tries reached")


class _PortTaken(RuntimeError):
    pass


class RpcClient:
    """One XML-RPC client (one connection: use one per thread) authenticated on a database.

    ``call(model, method, *args, **kwargs)`` is ``execute_kw``; Odoo's refusals raise
    ``xmlrpc.client.Fault`` (faultCode 2: UserError / ValidationError / MissingError,
    3: AccessDenied, 4: AccessError, 1: any other exception, i.e. a bug)."""

    def __init__(self, url, db, login, password, timeout=120, uid=None):
        self.url = url
        self.db = db
        self.login = login
        self.password = password
        transport = _TimeoutTransport(timeout)
        self.common = xmlrpc.client.ServerProxy(
            f"{url}/xmlrpc/2/common", allow_none=True, transport=transport
        )
        self.object = xmlrpc.client.ServerProxy(
            f"{url}/xmlrpc/2/object", allow_none=True, transport=_TimeoutTransport(timeout)
        )
        self.uid = uid or self.common.authenticate(db, login, password, {})
        if not self.uid:
            raise RuntimeError(f"cannot log in as {login} on {db}")

    def call(self, model, method, *args, **kwargs):
        return self.object.execute_kw(
            self.db, self.uid, self.password, model, method, list(args), kwargs
        )

    def ref(self, xmlid):
        """The id of the record of an XML id (``module.name``)."""
        module, name = xmlid.split(".", 1)
        rows = self.call(
            "ir.model.data",
            "search_read",
            [("module", "=", module), ("name", "=", name)],
            fields=["res_id"],
        )
        if not rows:
            raise KeyError(xmlid)
        return rows[0]["res_id"]


class Json2Client:
    """One client of Odoo 19.0's JSON-2 API (``POST /json/2/<model>/<method>``, an API key as
    bearer token) with :class:`RpcClient`'s interface, so that the same calls and assertions
    run over both APIs.

    JSON-2 takes named arguments only: the positional ones of ``call`` are named after the
    method's signature in this process's registry (the same code as the server's), the first
    one being the ids of a record method, as in ``execute_kw``. A refusal raises
    ``xmlrpc.client.Fault`` with XML-RPC's codes (2: UserError and its kin, 3: AccessDenied,
    4: AccessError, 1: anything else, whose message is then the traceback)."""

    FAULT_CODES = {
        "odoo.exceptions.AccessError": 4,
        "odoo.exceptions.AccessDenied": 3,
    }

    def __init__(self, url, db, api_key, login, timeout=120):
        self.url = url
        self.db = db
        self.api_key = api_key
        self.login = login
        self.timeout = timeout

    def call(self, model, method, *args, **kwargs):
        body = dict(kwargs)
        function = getattr(_registry()[model], method)
        names = [
            name
            for name, parameter in inspect.signature(function).parameters.items()
            if name != "self"
            and parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
        ]
        if not hasattr(function, "_api_model") and args:
            ids, *args = args
            body["ids"] = [ids] if isinstance(ids, int) else ids
        body.update(zip(names, args, strict=False))
        request = urllib.request.Request(
            f"{self.url}/json/2/{model}/{method}",
            data=json.dumps(body).encode(),
            headers={
                "Authorization": f"bearer {self.api_key}",
                "X-Odoo-Database": self.db,
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                result = json.load(response)
        except urllib.error.HTTPError as error:
            raise self._fault(error) from None
        # execute_kw's create(dict) answers an id, JSON-2's answers the ids of the recordset.
        if method == "create" and isinstance(body.get("vals_list"), dict):
            return result[0]
        return result

    def _fault(self, error):
        text = error.read().decode(errors="replace")
        try:
            payload = json.loads(text)
        except ValueError:
            return xmlrpc.client.Fault(1, f"HTTP {error.code}: {text}")
        name = payload.get("name", "")
        if error.code >= 500:
            return xmlrpc.client.Fault(1, payload.get("debug") or payload.get("message", text))
        code = self.FAULT_CODES.get(name, 2)
        return xmlrpc.client.Fault(code, payload.get("message", text))

    def ref(self, xmlid):
        return RpcClient.ref(self, xmlid)


def _registry():
    from odoo.modules.registry import Registry

    db_name = config["db_name"]
    if isinstance(db_name, (list, tuple)):  # 19.0 keeps a list
        db_name = db_name[0]
    return Registry(db_name)


API_KEYS = """
import datetime
for login in {logins!r}:
    user = env["res.users"].search([("login", "=", login)])
    key = env["res.users.apikeys"].with_user(user).sudo()._generate(
        None, "crm_plus tests", datetime.datetime.now() + datetime.timedelta(days=1)
    )
    print("API-KEY", login, key)
env.cr.commit()
"""


def api_keys(db, logins):
    """{login: API key} for the users of ``logins`` (Odoo 19.0's JSON-2 API), made in one
    ``odoo-bin shell`` run."""
    output = odoo_shell(db, API_KEYS.format(logins=list(logins)))
    keys = {}
    for line in output.splitlines():
        if line.startswith("API-KEY "):
            _tag, login, key = line.split(" ", 2)
            keys[login] = key
    missing = set(logins) - set(keys)
    if missing:
        raise RuntimeError(f"no API key made for {sorted(missing)}:\n{_tail(output)}")
    return keys


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout):
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self.timeout
        return conn


# ---------------------------------------------------------------------- SQL checks


def crm_plus_tables(cr):
    cr.execute(
        """SELECT table_name FROM information_schema.tables
            WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
              AND table_name LIKE 'crm\\_plus\\_%%'
            ORDER BY table_name"""
    )
    return [row[0] for row in cr.fetchall()]


def table_snapshot(db, tables=None):
    """{table: {key: row}} for ``tables`` (default: every crm_plus table and res_partner), a
    row's key being its id (the whole row for relation tables); equal snapshots mean no row
    was added, removed or changed."""
    snapshot = {}
    with pg_cursor(db) as cr:
        for table in tables or [*crm_plus_tables(cr), "res_partner"]:
            cr.execute(
                """SELECT column_name FROM information_schema.columns
                    WHERE table_schema = 'public' AND table_name = %s
                    ORDER BY ordinal_position""",
                [table],
            )
            columns = [row[0] for row in cr.fetchall()]
            cr.execute(
                sql.SQL("SELECT {} FROM {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table)
                )
            )
            keyed = "id" in columns
            index = columns.index("id") if keyed else None
            snapshot[table] = {(row[index] if keyed else row): row for row in cr.fetchall()}
    return snapshot


def snapshot_diff(before, after, limit=5):
    """A short description of how two :func:`table_snapshot` differ ('' when equal)."""
    out = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, {}), after.get(table, {})
        added = sorted(set(new) - set(old), key=str)
        removed = sorted(set(old) - set(new), key=str)
        changed = sorted((i for i in set(old) & set(new) if old[i] != new[i]), key=str)
        if added or removed or changed:
            out.append(
                f"{table}: added {added[:limit]}, removed {removed[:limit]}, "
                f"changed {changed[:limit]}"
            )
    return "; ".join(out)


# One check per invariant of tests/common.py's assertFunnelInvariants, on every partner.
INVARIANT_QUERIES = {
    "open partner without exactly one current line": """
        SELECT p.id, count(l.id) FROM res_partner p
          LEFT JOIN crm_plus_phase_line l
            ON l.partner_id = p.id AND l.state = 'current' AND l.is_active_funnel
         WHERE p.funnel_state = 'open'
         GROUP BY p.id HAVING count(l.id) != 1""",
    "open partner whose current line is not its lead phase": """
        SELECT p.id, p.lead_phase_id, l.phase_id FROM res_partner p
          JOIN crm_plus_phase_line l
            ON l.partner_id = p.id AND l.state = 'current' AND l.is_active_funnel
         WHERE p.funnel_state = 'open' AND l.phase_id IS DISTINCT FROM p.lead_phase_id""",
    "current line on a partner that is not open": """
        SELECT p.id, p.funnel_state, l.id FROM res_partner p
          JOIN crm_plus_phase_line l
            ON l.partner_id = p.id AND l.state = 'current' AND l.is_active_funnel
         WHERE p.funnel_state IS DISTINCT FROM 'open'""",
    "closed partner without a close reason of its outcome": """
        SELECT p.id, p.funnel_state, r.outcome FROM res_partner p
          LEFT JOIN crm_plus_close_reason r ON r.id = p.close_reason_id
         WHERE p.funnel_state IN ('won', 'lost')
           AND r.outcome IS DISTINCT FROM p.funnel_state""",
    "close reason on a partner that is not closed": """
        SELECT p.id, p.funnel_state, p.close_reason_id FROM res_partner p
         WHERE p.close_reason_id IS NOT NULL
           AND p.funnel_state IS DISTINCT FROM 'won' AND p.funnel_state IS DISTINCT FROM 'lost'""",
    "line states not ordered done → current → todo along the phases": """
        SELECT partner_id, array_agg(state ORDER BY sequence, phase_id) FROM (
            SELECT l.partner_id, l.state, l.sequence, l.phase_id,
                   CASE l.state WHEN 'done' THEN 0 WHEN 'current' THEN 1 ELSE 2 END AS rank,
                   max(CASE l.state WHEN 'done' THEN 0 WHEN 'current' THEN 1 ELSE 2 END)
                       OVER (PARTITION BY l.partner_id ORDER BY l.sequence, l.phase_id
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
              FROM crm_plus_phase_line l
              JOIN res_partner p ON p.id = l.partner_id
             WHERE l.is_active_funnel AND p.funnel_state = 'open'
        ) ranked
        GROUP BY partner_id HAVING bool_or(rank < before)""",
    "more than one line per partner and phase": """
        SELECT partner_id, phase_id, count(*) FROM crm_plus_phase_line
         GROUP BY partner_id, phase_id HAVING count(*) > 1""",
    "funnel analysis totals that are not what the lines give": (
        funnel_report_totals.mismatch_query()
    ),
}


def funnel_invariant_violations(db, limit=10):
    """{invariant: [offending rows]} for every broken funnel invariant of ``db``; empty when
    the funnel data is sound."""
    violations = {}
    with pg_cursor(db) as cr:
        for label, query in INVARIANT_QUERIES.items():
            cr.execute(query)
            rows = cr.fetchmany(limit)
            if rows:
                violations[label] = rows
    return violations


def assert_funnel_invariants(db):
    violations = funnel_invariant_violations(db)
    if violations:
        raise AssertionError(
            "funnel invariants broken in "
            + db
            + ":\n"
            + "\n".join(f"- {label}: {rows}" for label, rows in violations.items())
        )


# ---------------------------------------------------------------------- reporting


def report(pytest_config, title, lines):
    """Show ``lines`` in pytest's terminal output even when output is captured (or log them
    outside pytest): the figures the issues ask for (cases tried, calls accepted…)."""
    reporter = pytest_config and pytest_config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        _logger.info("%s\n%s", title, "\n".join(lines))
        return
    capture = pytest_config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.write_line("")
        reporter.section(title, sep="-")
        for line in lines:
            reporter.write_line(line)
