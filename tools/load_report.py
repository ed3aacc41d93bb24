"""`make load`'s figures: ``snap DB OUT`` prints what the database servers and Odoo (its
logs in OUT) did so far; ``table DIR N SERVERS LOAD_START LOAD_END CHECK`` prints the section
of doc/benchmarks-scale.md from Locust's CSV reports and the snapshots around each run (and
writes it there with LOAD_DOC=1). Standard library only."""

import csv
import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from doc_section import write_section

ACTIONS = ("open the board", "open a contact", "advance", "close (lost)", "bulk close")
ACTIONS += ("open a report",)
REQUEST = "a call to the server"  # tools/locustfile.py's name for every call
# A request's line in Odoo's log: path, status, queries, SQL time, other time and, on a server
# with a replica, the cursor mode (ro: on the replica; rw and ro->rw, a read-only call that
# wrote, on the primary; nothing without a replica). tools/load_data.py checks the modes.
REQUEST_LOG = re.compile(
    r'"POST (\S+) HTTP/[\d.]+" \d+ \S+ (\d+) [\d.]+ [\d.]+(?: (\S+))?[ \t]*$', re.M
)
TICKS = os.sysconf("SC_CLK_TCK")


def psql(db, sql, port=None):
    command = ["psql", "-d", db, "-XtAc", sql] + (["-p", port] if port else [])
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()


def snap(db, out):
    """{primary, replica: [transactions, rows read]; cpu: {pid: [kind, seconds]}; logs:
    {server log: size}}: the database's counters on each PostgreSQL server, the CPU time of its
    processes (Odoo's, each server's backends: counted while they live, the runs keep their
    connections) and how far the Odoo servers' logs (in ``out``) go."""
    sql = (
        "SELECT xact_commit + xact_rollback, tup_returned + tup_fetched FROM pg_stat_database"
        " WHERE datname = current_database()"
    )
    replica = os.environ.get("LOAD_REPLICA_PORT")
    pids = set(psql(db, "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))
    cpu = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_text().replace("\0", " ")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if db in cmdline and ("odoo-bin" in cmdline or cmdline.startswith("postgres")):
            kind = (
                "odoo" if "odoo-bin" in cmdline else "primary" if proc.name in pids else "replica"
            )
            cpu[proc.name] = [kind, (int(fields[11]) + int(fields[12])) / TICKS]
    return {
        "primary": [int(v) for v in psql(db, sql)[0].split("|")],
        "replica": [int(v) for v in psql(db, sql, replica)[0].split("|")] if replica else [0, 0],
        "cpu": cpu,
        "load": Path("/proc/loadavg").read_text().split()[0],
        "logs": {str(log): log.stat().st_size for log in Path(out).glob("server-*.log")},
    }


def request_queries(before, after, on_replica):
    """{primary, replica: queries} of the requests the servers logged between two snapshots,
    by where their cursor ran."""
    queries = {"primary": 0, "replica": 0}
    for log, end in after.get("logs", {}).items():
        with open(log, "rb") as file:
            file.seek(before.get("logs", {}).get(log, 0))
            text = file.read(end - before.get("logs", {}).get(log, 0)).decode(errors="replace")
        for _path, count, mode in REQUEST_LOG.findall(text):
            queries["replica" if on_replica and mode == "ro" else "primary"] += int(count)
    return queries


def used(directory, name):
    """What the run ``name`` cost: CPU seconds per kind, primary and replica counters, the
    queries of its requests on each, and the load average (1 min) at its end."""
    before, after = (
        json.loads((directory / f"{name}-{when}.json").read_text()) for when in ("before", "after")
    )
    cpu = {"odoo": 0.0, "primary": 0.0, "replica": 0.0}
    for pid, (kind, seconds) in after["cpu"].items():
        cpu[kind] += seconds - before["cpu"].get(pid, [kind, 0])[1]
    delta = {
        side: [a - b for a, b in zip(after[side], before[side], strict=True)]
        for side in ("primary", "replica")
    }
    queries = request_queries(before, after, name.startswith("replica"))
    return cpu, delta, queries, after.get("load", "–")


def table(directory, n, servers, load_start, load_end, check):
    lines = [
        f"<!-- load test {SERIES}: written by make load LOAD_DOC=1 -->",
        f"### {SERIES}: {servers} servers, {n:,} contacts ({datetime.date.today()})",
        "",
        "| variant | users | side | actions/s | failed actions | request p50 | request p95 | "
        + " | ".join(f"{action} p95" for action in ACTIONS)
        + " | Odoo CPU s | primary CPU s | primary xacts | primary rows read | primary queries"
        + " | replica CPU s | replica queries | load avg |",
        "|---|---:|---|" + "---:|" * (len(ACTIONS) + 12),
    ]
    for stats in sorted(Path(directory).glob("*-*-*_stats.csv"), key=lambda p: p.stat().st_mtime):
        name = stats.name.removesuffix("_stats.csv")
        variant, side, users = name.split("-")
        rows = {row["Name"]: row for row in csv.DictReader(stats.open(newline=""))}
        actions = [rows[action] for action in ACTIONS if action in rows]
        calls, (cpu, delta, queries, load) = rows[REQUEST], used(Path(directory), name)
        p95s = [f"{float(rows[a]['95%']):,.0f}" if a in rows else "–" for a in ACTIONS]
        lines.append(
            f"| {variant} | {users} | {'crm_plus' if side == 'plus' else 'Odoo CRM'} | "
            f"{sum(float(row['Requests/s']) for row in actions):.1f} | "
            f"{sum(int(row['Failure Count']) for row in actions)} of "
            f"{sum(int(row['Request Count']) for row in actions):,} | "
            f"{float(calls['50%']):,.0f} | {float(calls['95%']):,.0f} | "
            + " | ".join(p95s)
            + f" | {cpu['odoo']:.0f} | {cpu['primary']:.0f} | {delta['primary'][0]:,} | "
            f"{delta['primary'][1]:,} | {queries['primary']:,} | {cpu['replica']:.0f} | "
            f"{queries['replica']:,} | {load} |"
        )
    lines += [
        "",
        f"Afterwards (tools/load_data.py check): {check}. Load average "
        f"(1, 5, 15 min) at the start {load_start}, at the end {load_end}.",
        f"<!-- end of load test {SERIES} -->",
    ]
    return "\n".join(lines)


SERIES = os.environ.get("ODOO_SERIES", "18.0")

if __name__ == "__main__":
    if sys.argv[1] == "snap":
        print(json.dumps(snap(sys.argv[2], sys.argv[3])))
    else:
        text = table(sys.argv[2], int(sys.argv[3]), *sys.argv[4:8])
        print(text)
        if os.environ.get("LOAD_DOC") == "1":
            doc = Path(__file__).resolve().parent.parent / "doc" / "benchmarks-scale.md"
            write_section(doc, text.split("\n", 1)[0], text.rsplit("\n", 1)[1], text)
