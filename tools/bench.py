"""`make bench`: crm_plus's funnel against Odoo's own CRM and plain SQL on N (BENCH_N) partners.

tools/bench.sh builds a throw-away database (``-i crm_plus,crm``) and runs this in Odoo's
virtualenv. bench_data.Bench builds the data set; one loop measures each scenario of
``Bench.scenarios()`` (its queries at N = 100, then timed runs at N, each from the same
committed state; ORM timings include flush_all() and the precommit hooks, where mail's tracking
runs). The results go to doc/benchmarks-<series>.json, and doc/benchmarks.md (19.0:
doc/benchmarks-19.0.md) is rendered from that JSON by the Jinja2 template doc/benchmarks.md.j2.

Options: ``--n``, ``--runs``, ``--only 1,2``, ``--skip plus,crm,sql``, ``--profile`` (cProfile
of each crm_plus operation once, on stderr), ``--render JSON`` (the document again, no run).
"""

import argparse
import cProfile
import datetime
import json
import os
import platform
import pstats
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
import xmlrpc.client
from collections import namedtuple
from pathlib import Path

from bench_data import SMALL_N, SQL, Result, log, median, view_spec
from bench_data import Bench as BenchData
from bench_doc import FORM_RUNS, render, summary, write_doc

import odoo
from odoo.modules.registry import Registry
from odoo.tools import config

__all__ = ["Bench", "log", "view_spec"]  # make bench-scale's and make load's imports
REPO_DIR = Path(__file__).resolve().parent.parent
RPC_CALLS = 40

# Reports: (name, model, domain, aggregates, groupby, the plain SQL GROUP BY).
REPORTS = [
    ("winloss", "crm.plus.winloss.report", [], "closed_count:sum won_count:sum lost_count:sum "
     "won_percent:avg won_value:sum lost_value:sum", "account_type_id close_reason_id",
     "SELECT account_type_id, close_reason_id, count(*), sum(closed_count), sum(won_count), "
     "sum(lost_count), avg(won_percent), sum(won_value), sum(lost_value) "
     "FROM crm_plus_winloss_report GROUP BY account_type_id, close_reason_id"),
    ("forecast", "crm.plus.forecast.report", [], "forecast_value:sum weighted_value:sum "
     "mrr:sum arr:sum score:avg", "account_type_id lead_phase_id",
     "SELECT account_type_id, lead_phase_id, count(*), sum(forecast_value), "
     "sum(weighted_value), sum(mrr), sum(arr), avg(score) FROM crm_plus_forecast_report "
     "GROUP BY account_type_id, lead_phase_id"),
    ("funnel", "crm.plus.funnel.report", [("is_active_funnel", "=", True)],
     "reached:sum reached_percent:avg days_in_phase:avg", "phase_id",
     "SELECT phase_id, count(*), sum(reached), avg(reached_percent), avg(days_in_phase) "
     "FROM crm_plus_funnel_report WHERE is_active_funnel GROUP BY phase_id"),
]  # fmt: skip
CRM_WON_LOST = ["|", ("stage_id.is_won", "=", True), "&", ("active", "=", False),
                ("probability", "=", 0)]  # fmt: skip
CRM_SQL_WON_LOST = (
    "SELECT l.stage_id, l.lost_reason_id, count(*), sum(l.expected_revenue), "
    "sum(l.prorated_revenue) FROM crm_lead l LEFT JOIN crm_stage s ON s.id = l.stage_id "
    "WHERE s.is_won OR (NOT l.active AND l.probability = 0) GROUP BY 1, 2"
)
# op, key, label, run(env, size); prepare(size): untimed set-up; check: the ids whose state is
# compared between the ORM and the SQL variants; sized: queries also counted at N = 100.
Scenario = namedtuple(
    "Scenario", "op key label run prepare check sized precommit", defaults=(None, None, True, True)
)


class Bench(BenchData):
    def scenarios(self):
        S, lead = Scenario, self.lead_type.id
        fresh, opens, leads, orm = self.fresh_ids, self.open_ids, self.lead_ids, self.orm_lead_ids
        next_stage = dict(zip(self.stages.ids, self.stages.ids[1:], strict=False))
        won_r, lost_r = self.reason_won, self.reason_lost

        def sql(query, params):  # one statement at a time, as the queries are counted
            def run(env, size):
                for statement in query.split(";\n"):
                    env.cr.execute(statement, {"uid": env.uid, **params(size)})

            return run

        def assign_wizard(env, size):
            wizard = env["crm.plus.account.type.wizard"]  # as the list view's action does it
            wizard = wizard.with_context(active_model="res.partner", active_ids=fresh[:size])
            wizard.create({"account_type_id": lead}).action_apply()

        def advance(ids):
            def run(env, size):
                for stage, group in env["crm.lead"].browse(ids[:size]).grouped("stage_id").items():
                    group.write({"stage_id": next_stage[stage.id]})

            return run

        def close(ids):
            def run(env, size):
                env["crm.lead"].browse(ids[: size // 2]).action_set_won()
                lost = env["crm.lead"].browse(ids[size // 2 : size])
                lost.action_set_lost(lost_reason_id=self.lost_reason.id)

            return run

        def plus_close(env, size):
            env["res.partner"].browse(opens[: size // 2]).action_close(won_r.id)
            env["res.partner"].browse(opens[size // 2 : size]).action_close(lost_r.id)

        def sql_close(env, size):
            for ids, reason, switch in (
                (opens[: size // 2], won_r, self.customer_type.id),
                (opens[size // 2 : size], lost_r, None),
            ):
                params = {"ids": ids, "reason": reason.id, "outcome": reason.outcome}
                # The second statement moves won partners out of their funnel.
                for statement in SQL["close"].split(";\n")[: 2 if switch else 1]:
                    env.cr.execute(statement, dict(params, uid=env.uid, switch=switch))

        def to_closing(size):
            self.cr.execute(SQL["to_closing"], {"ids": opens[: size // 2]})

        def load(fields_, rows):
            def run(env, size):
                # The importer's default: no chatter per row ("Track history" off).
                Partner = env["res.partner"].with_context(tracking_disable=True)
                result = Partner.load(fields_, rows[:size])
                if len(result["ids"]) != size:
                    raise RuntimeError(f"import refused: {result['messages'][:3]}")

            return run

        suggest_ids, plain_rows, funnel_rows = self.suggest_ids, *self.import_rows()
        plain = ["name", "email", "city"]
        funnel = [*plain, "account_type_id", "lead_phase_id", "funnel_phase_date_start"]
        funnel += ["close_reason_id", "close_date"]  # a closed deal: its reason and its date
        chatter = "ORM-built leads with a won/lost history"
        yield from [
            S("1", "plus_assign", "crm_plus write(account_type_id)", lambda env, size: env[
                "res.partner"].browse(fresh[:size]).write({"account_type_id": lead}), check=fresh),
            S("1", "plus_assign_wizard", "crm_plus Set Account Type wizard", assign_wizard,
              check=fresh),
            S("1", "sql_assign", "plain SQL INSERT lines + UPDATE partners", sql(
                SQL["assign"], lambda s: {"ids": fresh[:s], "type": lead}), check=fresh),
            S("2", "plus_advance", "crm_plus action_advance_phase", lambda env, size: env[
                "res.partner"].browse(opens[:size]).action_advance_phase(), check=opens),
            S("2", "crm_advance", "Odoo CRM write(stage_id), per stage, SQL-built leads",
              advance(leads)),
            S("2", "crm_orm_advance", f"Odoo CRM write(stage_id), per stage, {chatter}",
              advance(orm)),
            # What a timing that stops before the commit sees: no "Stage Changed" messages.
            S("2", "crm_orm_advance_nochatter", "Odoo CRM write(stage_id), ORM-built leads, "
              "without the commit's chatter", advance(orm), precommit=False),
            S("2", "sql_advance", "plain SQL UPDATE lines + partners", sql(
                SQL["advance"], lambda s: {"ids": opens[:s]}), check=opens),
            S("3", "plus_close", "crm_plus action_close", plus_close, to_closing, opens),
            S("3", "crm_close", "Odoo CRM action_set_won / _lost, SQL-built leads", close(leads)),
            S("3", "crm_orm_close", f"Odoo CRM action_set_won / _lost, {chatter}", close(orm)),
            S("3", "sql_close", "plain SQL UPDATE lines + partners", sql_close, to_closing, opens),
            S("7", "plus_suggest", "crm_plus (read)", lambda env, size: env["res.partner"].browse(
                suggest_ids[:size]).read(["funnel_suggested_score", "funnel_suggested_sample"])),
            S("7", "plus_suggest_refresh", "crm_plus (recount the history)",
              lambda env, s: env["crm.plus.phase.stat"].sudo()._refresh(), sized=False),
            S("8", "plain_import", f"res.partner.load, {len(plain)} contact columns",
              load(plain, plain_rows)),
            S("8", "plus_import", f"res.partner.load, the same + {len(funnel) - len(plain)} "
              "funnel columns", load(funnel, funnel_rows)),
        ]  # fmt: skip

    def report_scenarios(self):
        """Op 4 (also make bench-scale's): the reports' read_group against plain SQL."""
        S = Scenario

        def report(model, domain, aggregates, groupby, active_test=True):
            return (
                lambda env, size: env[model]
                .with_context(active_test=active_test)
                .read_group(domain, aggregates.split(), groupby.split(), lazy=False)
            )

        def query(statement):
            return lambda env, size: (env.cr.execute(statement), env.cr.fetchall())

        scenarios = [
            S("4", key, label, run, sized=False)
            for name, model, domain, aggregates, groupby, statement in REPORTS
            for key, label, run in (
                (
                    f"plus_report_{name}",
                    f"crm_plus {model} read_group",
                    report(model, domain, aggregates, groupby),
                ),
                (
                    f"sql_report_{name}",
                    f"plain SQL GROUP BY on {model.replace('.', '_')}",
                    query(statement),
                ),
            )
        ]
        return [
            *scenarios,
            S("4", "crm_report_winloss", "Odoo CRM crm.lead read_group won/lost", report(
                "crm.lead", CRM_WON_LOST, "expected_revenue:sum prorated_revenue:sum",
                "stage_id lost_reason_id", active_test=False), sized=False),
            S("4", "crm_sql_report_winloss", "plain SQL GROUP BY on crm_lead",
              query(CRM_SQL_WON_LOST), sized=False),
            S("4", "crm_report_forecast", "Odoo CRM crm.lead read_group open", report(
                "crm.lead", [("type", "=", "opportunity"), ("probability", "<", 100)],
                "expected_revenue:sum prorated_revenue:sum probability:avg", "team_id stage_id"),
              sized=False),
        ]  # fmt: skip

    def run_op(self, op):
        """One loop for every scenario of `op`: its queries at SMALL_N (after a warm-up run),
        a cProfile with --profile, then the timed runs at N."""
        self.vacuum()
        if op in ("5", "6"):
            return getattr(self, f"op_{op}")()
        if op == "7":  # the data set is inserted in SQL: count its history once
            self.su["crm.plus.phase.stat"]._refresh()
            self.cr.commit()
            domain = [("funnel_state", "=", "open")]
            self.suggest_ids = list(
                self.su["res.partner"]._search(domain, order="id", limit=self.n)
            )
            self.data_info["suggest_open"] = len(self.suggest_ids)
        self.suggest_ids = getattr(self, "suggest_ids", [])
        for s in self.report_scenarios() if op == "4" else self.scenarios():
            if s.op != op or s.key.split("_", 1)[0] in self.skip:
                continue

            def func(size, s=s):
                return lambda env: s.run(env, size)

            def prepare(size, s=s):
                return s.prepare and (lambda: s.prepare(size))

            if s.sized:
                for _ in range(2):
                    self.reset()
                    if s.prepare:
                        s.prepare(SMALL_N)
                    self.counts_small[s.key] = self.timed(func(SMALL_N), s.precommit)[1]
            if self.profile and s.key.startswith("plus_"):
                self.reset()
                if s.prepare:
                    s.prepare(self.n)
                profiler = cProfile.Profile()
                profiler.runcall(self.timed, func(self.n))
                sys.stderr.write(f"\n===== profile: {s.label} (by own time)\n")
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
            fingerprint = s.check and (lambda ids=s.check: self.fingerprint(ids))
            self.measure(s.key, s.label, func(self.n), prepare(self.n), fingerprint,
                         precommit=s.precommit)  # fmt: skip
        return None

    def op_reports(self):
        self.run_op("4")

    def fingerprint(self, ids):
        self.cr.execute(SQL["fingerprint"], {"ids": ids})
        return list(self.cr.fetchone())

    def import_rows(self):
        """N contacts as a file brings them in (Contacts → Import is res.partner.load): the
        ordinary columns, and the funnel columns of a pipeline moved in from another CRM, by
        code, with a phase start in the last year and one deal in ten already closed."""
        rng, phases, plain, funnel = random.Random(8), self.phases[self.lead_type], [], []
        for i in range(self.n):
            row = [f"Bench import {i}", f"import{i}@example.com", f"City {i % 97}"]
            start = self.now - datetime.timedelta(days=rng.randrange(1, 365), hours=i % 24)
            phase, close = phases[rng.randrange(len(phases) - 1)], ["", ""]
            if i % 10 == 0:
                closed = start.date() + datetime.timedelta(days=rng.randrange(30))
                closed = min(self.now.date(), closed).isoformat()
                reason, phase = (self.reason_won, phases[-1]) if i % 20 == 0 else (
                    self.reason_lost, phases[rng.randrange(len(phases))])  # fmt: skip
                close = [reason.code, closed]
            plain.append(row)
            funnel.append([*row, self.lead_type.code, phase.code, f"{start:%Y-%m-%d %H:%M:%S}"])
            funnel[-1] += close
        return plain, funnel

    def op_5(self):
        """The contact form: web_read with the form view's specification, cold ORM cache."""
        spec = view_spec(self.env, "res.partner", "form")[0]
        self.form["spec_fields"] = len(spec)
        for key, partner_id in (
            ("5", self.form_partner_5),
            ("20", self.form_partner_20),
            ("none", self.form_partner_none),
        ):
            record = self.env(context=dict(self.env.context, bin_size=True))["res.partner"]
            record = record.browse(partner_id)
            record.web_read(spec)  # warm the registry's caches
            times = []
            for _ in range(FORM_RUNS):
                record.env.invalidate_all()
                before, started = self.cr.sql_log_count, time.perf_counter()
                data = record.web_read(spec)[0]
                times.append(time.perf_counter() - started)
            self.form[key] = {
                "time": median(times),
                "queries": self.cr.sql_log_count - before,
                "lines": len(data.get("funnel_line_ids") or []),
                "history": len(data.get("funnel_history_line_ids") or []),
            }
            log(f"  form, {key} phases: {self.form[key]}")
            self.reset()

    def op_6(self):
        """One partner advanced over XML-RPC against one lead's stage write: what a script or
        a click costs end to end (a real server, commit included). Its calls commit: last."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        odoo_bin = Path(os.environ.get("ODOO_SRC") or Path(odoo.__path__[0]).parent) / "odoo-bin"
        db = self.cr.dbname
        server = subprocess.Popen(
            [sys.executable, odoo_bin, "-c", self.config_file, "-d", db, f"--http-port={port}",
             f"--db-filter=^{re.escape(db)}$", "--workers=0", "--max-cron-threads=0",
             "--log-level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        picks = [
            ids[-(RPC_CALLS + 5) :] for ids in (self.open_ids, self.lead_ids, self.orm_lead_ids)
        ]
        self.cr.execute(
            "SELECT id, stage_id FROM crm_lead WHERE id = ANY(%s)", [picks[1] + picks[2]]
        )
        stage_of = dict(self.cr.fetchall())
        self.reset()
        next_stage = dict(zip(self.stages.ids, self.stages.ids[1:], strict=False))
        times = [[], [], []]
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(120):
                try:
                    urllib.request.urlopen(f"{url}/web/login", timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            uid = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common").authenticate(
                db, "admin", "admin", {}
            )
            models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)
            for index, (partner_id, lead_id, orm_lead_id) in enumerate(zip(*picks, strict=True)):
                calls = [("res.partner", "action_advance_phase", [[partner_id]])]
                calls += [
                    (
                        "crm.lead",
                        "write",
                        [[lid], {"stage_id": next_stage.get(stage_of[lid], self.stages.ids[1])}],
                    )
                    for lid in (lead_id, orm_lead_id)
                ]
                for side, (model, method, args) in enumerate(calls):
                    started = time.perf_counter()
                    models.execute_kw(db, uid, "admin", model, method, args)
                    if index >= 5:  # the first calls warm the server's caches
                        times[side].append(time.perf_counter() - started)
        finally:
            server.terminate()
            server.wait(timeout=30)
        for key, label, side in zip(("plus_rpc", "crm_rpc", "crm_orm_rpc"), (
            "crm_plus action_advance_phase, 1 partner over XML-RPC",
            "Odoo CRM write(stage_id), 1 SQL-built lead over XML-RPC",
            "Odoo CRM write(stage_id), 1 ORM-built lead over XML-RPC",
        ), times, strict=True):  # fmt: skip
            self.results[key] = Result(label, side, [], [0.0] * len(side))
            log(f"  {label}: {median(side) * 1000:.1f} ms median of {len(side)}")


def machine_info(cr):
    def first(path, prefix):
        line = next(ln for ln in Path(path).read_text().splitlines() if ln.startswith(prefix))
        return line.split(":", 1)[1].strip()

    cr.execute("SHOW server_version")
    return {
        "cpu": first("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "ram": f"{int(first('/proc/meminfo', 'MemTotal').split()[0]) / 1024**2:.1f} GiB",
        "postgres": cr.fetchone()[0],
        "python": platform.python_version(),
        "odoo": odoo.release.version,
        "series": odoo.release.major_version,
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "load": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main():
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--config", help="odoo.conf (tools/env.sh's ODOO_CONF)")
    parser.add_argument("--database")
    parser.add_argument("--n", type=int, default=int(env("BENCH_N", 10000)))
    parser.add_argument("--runs", type=int, default=int(env("BENCH_RUNS", 5)))
    parser.add_argument(
        "--budget",
        type=float,
        default=float(env("BENCH_BUDGET", 45)),
        help="no new run of a measure once its runs took this many seconds",
    )
    parser.add_argument("--doc", default=env("BENCH_DOC"), help="'-': write no document")
    parser.add_argument("--only", default="1,2,3,4,5,7,8,6", help="operations, e.g. 2,3")
    parser.add_argument("--skip", default="", help="variants not to measure: plus, crm, sql")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--render", metavar="JSON", help="render the document from a JSON only")
    args = parser.parse_args()
    if args.render:
        write_doc(json.loads(Path(args.render).read_text()), args.doc)
        return 0
    if args.n < SMALL_N * 2:
        parser.error(f"--n must be at least {SMALL_N * 2}")
    config.parse_config(["-c", args.config, "-d", args.database, "--no-http", "--log-level=warn"],
                        setup_logging=True)  # fmt: skip
    with Registry(args.database).cursor() as cr:
        bench = Bench(cr, args.n, args.runs, args.budget, args.profile)
        bench.skip, bench.config_file = set(args.skip.split(",")) - {""}, args.config
        bench.machine = machine_info(cr)
        log(f"generating the data set (N={args.n:,})")
        bench.build()
        log(f"  {bench.data_info['lines']:,} lines in {bench.data_info['build_seconds']:.1f} s")
        for op in sorted(set(args.only.split(",")), key="12345786".index):  # 6 commits: last
            log(f"operation {op}")
            bench.run_op(op)
        cr.rollback()
    bench.machine["load_end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    if env("BENCH_STARTED"):
        bench.machine["total_seconds"] = time.time() - float(env("BENCH_STARTED"))
    data = json.loads(json.dumps(summary(bench), default=float))  # as --render reads it
    if args.doc == "-":
        print(render(data))
    else:
        write_doc(data, args.doc)  # the JSON first: the document can be rendered again from it
    return 0


if __name__ == "__main__":
    sys.exit(main())
