"""`make load`'s table: Locust's statistics and the actions' times, crm_plus beside Odoo CRM.

Reads what tools/load.sh left in ``--dir`` (Locust's ``<side>-<users>_stats.csv``, the
locustfile's ``<side>-<users>-actions.json``, the server's log), prints the section of
doc/benchmarks.md, writes it there with ``--doc``, and exits 1 when a request failed or the server
logged an error. Standard library only.
"""

import argparse
import csv
import datetime
import json
import os
import re
import sys
from pathlib import Path

from doc_section import write_section

BEGIN = "<!-- load test: written by make load LOAD_DOC=1 -->"
END = "<!-- end of load test -->"
SIDES = (("plus", "crm_plus"), ("crm", "Odoo CRM"))
ACTIONS = ("open the board", "open a contact", "advance", "close (lost)", "open a report")


def percentile(values, share):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(share * len(values)))]


def locust_total(path):
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                return {
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "rps": float(row["Requests/s"]),
                    "p50": float(row["50%"]),
                    "p95": float(row["95%"]),
                }
    return None


def task_exceptions(path):
    """Errors of the locustfile's own (not a request's): counted as failures too."""
    if not path.exists():
        return 0
    with open(path, newline="") as handle:
        return sum(int(row["Count"]) for row in csv.DictReader(handle))


def server_log(path):
    """(errors, retried serialization failures, a few error lines) of the server's log. A
    query that fails on a concurrent update is logged as an error (odoo.sql_db: bad query), then
    Odoo retries the request: a retry, not an error; one that still fails after the retries
    reaches the client, which counts it."""
    errors = retries = 0
    samples = []
    if not path.exists():
        return errors, retries, samples
    entries = re.split(
        r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ )", path.read_text(errors="replace")
    )
    for entry in entries:
        if "tries left, try again" in entry:
            retries += 1
        elif re.match(r"\S+ \S+ \d+ (ERROR|CRITICAL) ", entry):
            if "odoo.sql_db: bad query" in entry and re.search(
                r"could not serialize access|deadlock detected", entry
            ):
                continue
            errors += 1
            if len(samples) < 5:
                samples.append(entry[:500])
    return errors, retries, samples


def render(args):
    directory = Path(args.dir)
    lines = [
        BEGIN,
        "## Load test (make load)",
        "",
        "`make load` (tools/load.sh, tools/locustfile.py on OdooLocust 2.0 / Locust): "
        f"Odoo {args.series} `odoo-bin --workers 2` on {args.n:,} funnel contacts "
        "(tools/bench.py's data set) and "
        f"{args.n:,} open opportunities in one database, {args.sales_users} sales users (CRM+ "
        f"user, Sales: own documents) over JSON-RPC, {args.duration} s per run and side, think "
        "time 1–3 s. The mix per user: open the board 2, open a contact 6, advance 4, close "
        "lost 1, open a report 1 (crm_plus: the pipeline board as its action opens it for a "
        "salesperson, on the first account type and My Funnel: web_read_group + "
        "web_search_read per column + read_progress_bar, the contact form's web_read, "
        "action_advance_phase, action_close, the forecast report's read_group; Odoo CRM: the "
        '"My pipeline" kanban the same way, the lead form\'s web_read, a stage write, '
        "action_set_lost, a read_group on crm.lead). Every advance or close takes a record no "
        "other request of the run takes. Before the runs every sales user's password is checked "
        "on both workers (tools/load_warm.py): Odoo caches that check per worker, and "
        "otherwise the first side to use a user pays its hashes (~0.4 s of CPU each) in its "
        "run's first seconds while the other side, with the same users, does not.",
        "",
        "Requests are RPC calls (a board opening is one per column and more); an action is what "
        "a user does (all its requests); times in ms.",
        "",
        "| users | side | requests/s | p50 | p95 | failed requests | actions/s | action p95 |"
        " board p95 | contact p95 | advance p95 | close p95 | report p95 |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    failed = 0
    for users in args.users:
        for side, label in SIDES:
            total = locust_total(directory / f"{side}-{users}_stats.csv")
            actions_file = directory / f"{side}-{users}-actions.json"
            measured = json.loads(actions_file.read_text()) if actions_file.exists() else {}
            actions = measured.get("actions", {})
            seconds = measured.get("seconds") or args.duration
            if total is None:
                lines.append(f"| {users} | {label} | no result |" + " |" * 11)
                failed += 1
                continue
            exceptions = task_exceptions(directory / f"{side}-{users}_exceptions.csv")
            run_errors = total["failures"] + exceptions
            failed += run_errors
            done = sum(len(v) for v in actions.values())
            every = [t for times in actions.values() for t, _ok in times]
            action_p95 = f"{percentile(every, 0.95) * 1000:,.0f}" if every else "–"
            p95s = []
            for action in ACTIONS:
                times = [t for t, _ok in actions.get(action, [])]
                p95s.append(f"{percentile(times, 0.95) * 1000:,.0f}" if times else "–")
            lines.append(
                f"| {users} | {label} | {total['rps']:.1f} | {total['p50']:,.0f} | "
                f"{total['p95']:,.0f} | {run_errors} of {total['requests']:,} | "
                f"{done / seconds:.1f} | {action_p95} | " + " | ".join(p95s) + " |"
            )
    errors, retries, samples = server_log(directory / "server.log")
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    lines += [
        "",
        "Reading it: the target compares p95s for the same mix of user actions. An action's "
        "p95 (what a user waits for: all the requests of a board opening, or one advance) "
        "compares like with like; a request's p95 depends on how each side splits an action "
        "into requests (Odoo CRM's board sends one cheap read per column, ten columns against "
        "five), so both are given. A single run on a shared machine: differences under ~20 % "
        "are noise.",
        "",
        f"After the runs: the funnel invariants hold (tools/bench_scale.py's check_invariants); "
        f"the server logged {errors} errors; {retries} serialization failures were retried by "
        "Odoo (not returned to the client).",
        "",
        f"Machine: {cpu}, {os.cpu_count()} cores shared by the server, PostgreSQL and Locust "
        "(and by other work on the machine at the time: the numbers are a floor, compare the "
        f"sides rather than the absolute values); load average at start {args.load[0]}, at end "
        f"{args.load[1]}; {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC.",
        END,
    ]
    return "\n".join(lines), failed, errors, samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--users", nargs="+", type=int, required=True)
    parser.add_argument("--duration", type=int, required=True)
    parser.add_argument("--sales-users", type=int, required=True)
    parser.add_argument("--series", default=os.environ.get("ODOO_SERIES", "18.0"))
    parser.add_argument("--load", nargs=2, default=("unknown", "unknown"))
    parser.add_argument("--doc", help="doc/benchmarks.md: write the section there")
    args = parser.parse_args()
    text, failed, errors, samples = render(args)
    print(text)
    if args.doc:
        write_section(Path(args.doc), BEGIN, END, text)
    if failed or errors:
        print(f"\n{failed} failed requests, {errors} server errors", file=sys.stderr)
        for line in samples:
            print(line, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
