"""`make load`'s database: tools/bench.py's data set, sales users, and what the locustfile needs.

tools/load.sh runs this in the Odoo virtualenv on a database where crm_plus and crm are
installed: ``--build`` generates the Bench data set at ``--n`` funnel contacts (as
tools/bench_scale.py does), creates ``--users`` sales users (CRM+ user and Sales: own
documents) who own the contacts and the opportunities in turn, and writes a JSON file with
their logins, the ids each run may advance or close (each used once), and the specifications
the web client sends for the boards and the forms (read from the views, as the client does).
``--check`` checks the funnel's invariants afterwards (tools/bench_scale.py's check_invariants).
"""

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import Bench, log, view_spec
from bench_scale import check_invariants

import odoo  # noqa: F401
from odoo import Command, api
from odoo.modules.registry import Registry
from odoo.tools import config

PASSWORD = "load-test"  # throw-away users of a throw-away database


def build(registry, n, users, runs, out):
    with registry.cursor() as cr:
        bench = Bench(cr, n, 1, budget=60, orm_leads=False)
        log(f"generating the data set (N={n:,})")
        bench.build()
        check_invariants(cr)
        su = bench.su
        su["crm.plus.phase.stat"]._refresh()
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
    log(f"  {bench.data_info['lines']:,} phase lines, {users} sales users, invariants hold")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--build", action="store_true")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--runs", type=int, default=6, help="runs that advance and close")
    parser.add_argument("--out", help="JSON file for the locustfile")
    args = parser.parse_args()
    config.parse_config(
        ["-c", args.config, "-d", args.database, "--no-http", "--log-level=warn"],
        setup_logging=True,
    )
    registry = Registry(args.database)
    if args.build:
        build(registry, args.n, args.users, args.runs, args.out)
    if args.check:
        with registry.cursor() as cr:
            check_invariants(cr)
            cr.execute(
                "SELECT count(*) FILTER (WHERE funnel_state = 'open'), "
                "count(*) FILTER (WHERE funnel_state = 'lost') FROM res_partner"
            )
            open_count, lost_count = cr.fetchone()
            log(
                f"funnel invariants hold after the load ({open_count:,} open, {lost_count:,} lost)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
