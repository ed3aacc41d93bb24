"""`make load`'s database, in the Odoo virtualenv, crm_plus and crm installed (tools/load.sh).

``build N OUT``: tools/bench.py's data set at N funnel contacts, 20 sales users (CRM+ user,
Sales: own documents) who own the contacts and the opportunities in turn, and OUT, a JSON file
of their logins, the ids each run may advance or close (each once) and the specifications the
web client sends for the boards and the forms (read from the views). ``prepare``: bulk closes
become background jobs of several batches, crm_plus's crons run every few minutes. ``check
LOG...``: afterwards, every job batch and cron run happened once and the invariants hold.
"""

import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_data import Bench, log, view_spec
from bench_scale import check_invariants
from load_report import REQUEST_LOG

import odoo  # noqa: F401
from odoo import SUPERUSER_ID, Command, api, fields
from odoo.modules.registry import Registry
from odoo.tools import config

PASSWORD = "load-test"  # throw-away users of a throw-away database


def build(registry, n, out, users=20, runs=16):
    with registry.cursor() as cr:
        bench = Bench(cr, n, 1, budget=60, orm_leads=False)
        log(f"generating the data set (N={n:,})")
        bench.build()
        su = bench.su
        from odoo.addons.crm_plus import compat

        groups = [
            su.ref("crm_plus.group_crm_plus_user").id,
            su.ref("sales_team.group_sale_salesman").id,
            su.ref("base.group_user").id,
        ]
        sales = su["res.users"].create(
            [
                {
                    "name": f"Load sales {i:02d}",
                    "login": f"load_sales_{i:02d}",
                    "password": PASSWORD,
                    "company_id": bench.company_ids[0],
                    "company_ids": [Command.set(bench.company_ids)],
                    compat.USER_GROUPS_FIELD: [Command.set(groups)],
                }
                for i in range(users)
            ]
        )
        # Sales users own the contacts and the opportunities in turn: Odoo CRM's board opens on
        # "My pipeline", and a salesman sees only their own opportunities.
        cr.execute(
            """
            UPDATE res_partner p SET user_id = (%(uids)s::int[])[1 + p.id %% %(k)s]
             WHERE p.funnel_state IS NOT NULL;
            UPDATE crm_lead l SET user_id = (%(uids)s::int[])[1 + l.id %% %(k)s]
            """,
            {"uids": sales.ids, "k": len(sales)},
        )
        rng = random.Random(21)
        open_ids = list(bench.open_ids)
        lead_ids = list(bench.lead_ids)
        rng.shuffle(open_ids)
        rng.shuffle(lead_ids)
        # Each run (users level, crm_plus or Odoo CRM) advances and closes its own records,
        # each once: a slice per run.
        env = api.Environment(cr, sales[0].id, {"lang": "en_US", "tz": "UTC"})
        plus_form, _aggregates = view_spec(env, "res.partner", "form", "base.view_partner_form")
        plus_board, plus_aggregates = view_spec(
            env, "res.partner", "kanban", "crm_plus.res_partner_view_kanban_pipeline"
        )
        crm_form, _aggregates = view_spec(env, "crm.lead", "form", "crm.crm_lead_view_form")
        crm_board, crm_aggregates = view_spec(
            env, "crm.lead", "kanban", "crm.crm_case_kanban_view_leads"
        )
        first_type = su["crm.plus.account.type"].search([("has_phases", "=", True)], limit=1)
        data = {
            "n": n,
            "users": [{"login": u.login, "password": PASSWORD, "id": u.id} for u in sales],
            "company_ids": bench.company_ids,
            "runs": runs,
            "partner_ids": [open_ids[k::runs] for k in range(runs)],
            "lead_ids": [lead_ids[k::runs] for k in range(runs)],
            "reason_lost_id": bench.reason_lost.id,
            "lost_reason_id": bench.lost_reason.id,
            "stage_ids": bench.stages.filtered(lambda s: not s.is_won).ids,
            "first_type_id": first_type.id,
            "plus": {"form": plus_form, "board": plus_board, "aggregates": plus_aggregates},
            "crm": {"form": crm_form, "board": crm_board, "aggregates": crm_aggregates},
        }
        cr.commit()
        bench.vacuum()
    Path(out).write_text(json.dumps(data))
    log(f"  {bench.data_info['lines']:,} phase lines, {users} sales users")


# A bulk close above JOB_THRESHOLD contacts is a job of batches of JOB_BATCH (a close of 20: 4).
JOB_THRESHOLD, JOB_BATCH = 10, 5
# crm_plus's crons, every few minutes during the load instead of daily (the fold: 5 minutes).
CRON_MINUTES = {
    "crm_plus.crm_plus_funnel_report_cron_fold": 1,
    "crm_plus.crm_plus_funnel_report_cron_recount": 3,
    "crm_plus.crm_plus_phase_stat_cron_refresh": 3,
    "crm_plus.crm_plus_phase_stat_cron_close_days": 2,
    "crm_plus.crm_plus_calibration_report_cron_refresh": 4,
}
BATCH_LOG = re.compile(r" CRM\+ job (\d+): (\d+) of \d+ contacts done")
CRON_LOG = re.compile(r""" Job ['"](.+)['"] \(\d+\) starting""")
ENTRY = re.compile(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ )")
ERROR = re.compile(r"\S+ \S+ \d+ (ERROR|CRITICAL) ")
RETRIED = re.compile(
    r"odoo.sql_db: bad query.*(could not serialize access|deadlock detected)", re.S
)


def prepare(env):
    # The data set is written in SQL: the totals and the statistics counted as their crons do.
    env["crm.plus.funnel.report"]._cron_recount_totals()
    env["crm.plus.phase.stat"]._refresh()
    check_invariants(env.cr)
    param = env["ir.config_parameter"]
    param.set_param("crm_plus.bulk_job_threshold", JOB_THRESHOLD)
    param.set_param("crm_plus.bulk_job_batch_size", JOB_BATCH)
    for xmlid, minutes in CRON_MINUTES.items():
        # Due now: the learned days' job is planned an hour after the install.
        env.ref(xmlid).write(
            {
                "interval_type": "minutes",
                "interval_number": minutes,
                "nextcall": fields.Datetime.now(),
            }
        )


def check(env, logs):
    """Every background job done, each batch once; each cron run once; the invariants. Returns
    the problems found (the servers have stopped)."""
    cr, problems = env.cr, []
    check_invariants(cr)  # raises: the funnel's invariants, totals = their recount
    cron = env.ref("crm_plus.crm_plus_funnel_job_cron")
    cr.execute(
        """SELECT count(*), count(*) FILTER (WHERE state <> 'done' OR done_count <> total_count),
                  COALESCE(SUM(total_count), 0), COALESCE(SUM(CEIL(total_count / %s::numeric)), 0),
                  (SELECT COALESCE(SUM(done), 0) FROM ir_cron_progress WHERE cron_id = %s)
             FROM crm_plus_funnel_job""",
        [JOB_BATCH, cron.id],
    )
    jobs, unfinished, contacts, batches, progress_done = cr.fetchone()
    batches = int(batches)
    if unfinished:
        problems.append(f"{unfinished} of {jobs} jobs not done")
    # The scheduler's count of contacts done: a batch run twice counts twice.
    if progress_done != contacts:
        problems.append(
            f"the job cron counted {progress_done} contacts done, jobs hold {contacts}"
        )
    # Each job's contacts closed with its reason (a second close of one would fail the job).
    cr.execute(
        """SELECT count(*) FROM crm_plus_funnel_job j
             JOIN LATERAL jsonb_array_elements_text(j.target_ids::jsonb) t(id) ON true
             JOIN res_partner p ON p.id = t.id::int
            WHERE p.funnel_state <> 'lost'
               OR p.close_reason_id IS DISTINCT FROM j.close_reason_id"""
    )
    if wrong := cr.fetchone()[0]:
        problems.append(f"{wrong} contacts of the jobs not closed with the job's reason")
    # No two runs of one cron at once, on either server (the scheduler's lock on its row).
    cr.execute(
        """SELECT count(*) FROM ir_cron_progress a JOIN ir_cron_progress b
               ON a.cron_id = b.cron_id AND a.id < b.id
              AND (a.create_date, a.write_date) OVERLAPS (b.create_date, b.write_date)"""
    )
    if overlaps := cr.fetchone()[0]:
        problems.append(f"{overlaps} cron runs overlap another run of the same cron")
    # The suggested scores' counts, kept by each close and by the cron, = their recount.
    stats = env["crm.plus.phase.stat"].with_context(active_test=False)
    counts = stats._read_counts()
    for stat in stats.search([]):
        key = (stat.company_id.id or None, stat.phase_id.id)
        if (stat.reached_closed, stat.reached_won) != counts.pop(key, (0, 0)):
            problems.append(f"phase stat {key} differs from its recount")
    problems += [f"phase stat {key} missing" for key, value in counts.items() if any(value)]
    seen, per_server = {}, []
    for number, path in enumerate(logs, 1):
        entries = ENTRY.split(Path(path).read_text(errors="replace"))
        mine = [m.groups() for m in map(BATCH_LOG.search, entries) if m]
        crons = sum(1 for entry in entries if CRON_LOG.search(entry))
        per_server.append(f"server {number}: {len(mine)} job batches, {crons} cron runs")
        for key in mine:
            seen[key] = seen.get(key, 0) + 1
        modes = [
            mode
            for entry in entries
            for path, _queries, mode in REQUEST_LOG.findall(entry)
            if path.startswith("/web/dataset/call_kw/")
        ]
        per_server.append(
            f"server {number}: calls {modes.count('')} without the replica, with it "
            f"{modes.count('ro')} read-only, {modes.count('rw')} read/write, "
            f"{modes.count('ro->rw')} ro->rw"
        )
        if modes.count("ro->rw"):
            problems.append(f"server {number}: {modes.count('ro->rw')} read-only calls wrote")
        errors = [e for e in entries if ERROR.match(e) and not RETRIED.search(e)]
        problems += [f"server {number} logged: {e[:400]}" for e in errors[:5]]
    if len(seen) != batches or any(n > 1 for n in seen.values()):
        problems.append(
            f"{sum(seen.values())} batches logged, {len(seen)} distinct, {batches} due"
        )
    log(f"{jobs} jobs, {contacts} contacts, {batches} batches; " + "; ".join(per_server))
    return problems


def main(config_file, database, command, *args):
    """``build N OUT``, ``prepare`` or ``check LOG...`` (the servers' logs) on ``database``."""
    config.parse_config(
        ["-c", config_file, "-d", database, "--no-http", "--log-level=warn"], setup_logging=True
    )
    registry = Registry(database)
    if command == "build":
        return build(registry, int(args[0]), args[1])
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        if command == "prepare":
            return prepare(env)
        problems = check(env, args)
        for problem in problems:
            log(f"FAILED: {problem}")
        if not problems:
            log("every job batch and cron run once, invariants and statistics = their recount")
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
