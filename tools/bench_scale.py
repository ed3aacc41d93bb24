"""`make bench-scale`: what one contact's actions and the reports cost as the database grows.

tools/bench_scale.sh installs crm_plus and crm once, then for each size (10k, 100k, 1M funnel
contacts, up to SCALE_MAX) copies that database and runs this script on the copy: the data set
of tools/bench.py (N funnel contacts with ~10 phase lines each, N/5 closed, N crm.lead
opportunities and N/2 won or lost ones, all inserted in SQL), the funnel's invariants checked in
SQL, then each measure as the median of BENCH_RUNS runs, each rolled back. ``--render`` prints
the table of every size measured (JSON files) with the ratios to Odoo CRM.
"""

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

from dateutil.relativedelta import relativedelta

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import Bench, log

import odoo  # noqa: F401
from odoo.modules.registry import Registry
from odoo.tools import config

# (key, what, crm_plus measure, Odoo CRM measure or None)
ROWS = [
    ("close_one", "close one contact", "plus_close_one", "crm_close_one"),
    ("reopen_one", "reopen one contact", "plus_reopen_one", None),
    ("report_funnel", "funnel analysis read_group", "plus_report_funnel", "crm_report_forecast"),
    (
        "report_funnel_lines",
        "funnel analysis read_group, summing the lines (before its totals)",
        "plus_report_funnel_lines",
        "crm_report_forecast",
    ),
    (
        "report_funnel_pivot",
        "funnel analysis pivot as it opens (3 grouped reads)",
        "plus_report_funnel_pivot",
        None,
    ),
    ("recount_funnel", "daily funnel analysis totals recount", "plus_funnel_recount", None),
    ("report_forecast", "forecast read_group", "plus_report_forecast", "crm_report_forecast"),
    ("report_winloss", "win/loss read_group", "plus_report_winloss", "crm_report_winloss"),
    (
        "report_winloss_12m",
        "win/loss graph by month, last 12 months",
        "plus_report_winloss_12m",
        "crm_report_winloss_12m",
    ),
    ("report_calibration", "score calibration read_group", "plus_report_calibration", None),
    ("cron_calibration", "daily calibration refresh", "plus_calibration_cron", None),
    ("board_progress", "board progress bar", "plus_board_progress", "crm_board_progress"),
    ("cron_suggest", "daily suggested-score refresh", "plus_suggest_cron", None),
    ("recount_suggest", "weekly suggested-score recount", "plus_suggest_recount", None),
    # Issue 31: time in phase (crm's "Days to Close" is its nearest measure) and the learned
    # expected close date (its nightly learning, the board's page, Forecast by month).
    ("tip", "time in phase by type, phase", "plus_time_in_phase", "crm_days_to_close"),
    ("cycle", "cycle by outcome, salesperson", "plus_cycle", "crm_days_to_close_user"),
    ("learn", "learned close days: their daily recount", "plus_learn_close", None),
    ("page", "learned close date, 80 contacts", "plus_learned_page", None),
    ("month", "forecast by expected month", "plus_forecast_month", "crm_forecast_month"),
]


def check_invariants(cr):
    """The data set is a funnel the actions could have made: one current line per open
    contact, none for a closed one, a close reason exactly when closed."""
    cr.execute(
        """
        SELECT count(*) FILTER (WHERE p.funnel_state = 'open' AND c.n IS DISTINCT FROM 1),
               count(*) FILTER (WHERE p.funnel_state IN ('won', 'lost') AND c.n IS NOT NULL),
               count(*) FILTER (WHERE (p.funnel_state IN ('won', 'lost'))
                                      <> (p.close_reason_id IS NOT NULL))
          FROM res_partner p
          LEFT JOIN (SELECT partner_id, count(*) AS n FROM crm_plus_phase_line
                      WHERE state = 'current' AND is_active_funnel GROUP BY partner_id) c
            ON c.partner_id = p.id
         WHERE p.funnel_state IS NOT NULL
        """
    )
    bad = cr.fetchone()
    if any(bad):
        raise SystemExit(
            f"invariants broken (open without one current line, closed with one, "
            f"reason vs state): {bad}"
        )
    # The funnel analysis's totals (kept by the ORM paths; the SQL-built data set is counted
    # by the recount) are what the lines give.
    from odoo.addons.crm_plus.report.funnel_report_totals import mismatch_query

    cr.execute(f"SELECT count(*) FROM ({mismatch_query()}) AS mismatch")
    mismatched = cr.fetchone()[0]
    if mismatched:
        raise SystemExit(f"funnel analysis totals differ from the lines in {mismatched} groups")


def reattach(bench):
    """What measure() needs of a data set built by an earlier run (--no-build)."""
    env = bench.su
    bench.reason_lost = env.ref("crm_plus.close_reason_lost_price")
    bench.lost_reason = env["crm.lost.reason"].search([], limit=1)
    company2 = env["res.company"].search([("name", "=", "Bench Company 2")], limit=1)
    bench.company_ids = [env.ref("base.main_company").id, company2.id]
    bench.open_ids = env["res.partner"].search([("name", "=like", "Bench open %")], order="id").ids
    bench.lead_ids = env["crm.lead"].with_context(active_test=False).search([], order="id").ids
    env.cr.execute("SELECT count(*) FROM crm_plus_phase_line")
    bench.data_info["lines"] = env.cr.fetchone()[0]


def measure(bench):
    env = bench.su
    reason_lost = bench.reason_lost.id
    # An open contact of the Lead type, whose closes the suggested scores count already: the
    # data set has none in its 10-phase types, where a first close creates the statistics'
    # rows, once in a database with a history, here on every rolled-back run (~1 ms at 1M).
    lead_type = env.ref("crm_plus.account_type_lead")
    middle = env["res.partner"].browse(bench.open_ids[len(bench.open_ids) // 2 :][:4])
    partner_id = middle.filtered(lambda p: p.account_type_id == lead_type)[:1].id
    # An open opportunity: action_set_lost on a lead already lost or won costs next to nothing.
    lead_id = (
        bench.su["crm.lead"]
        .search(
            [
                ("id", "in", bench.lead_ids),
                ("type", "=", "opportunity"),
                ("active", "=", True),
                ("probability", "<", 100),
            ],
            limit=1,
            offset=len(bench.lead_ids) // 4,
        )
        .id
    )
    bench.su["crm.plus.phase.stat"]._refresh()
    bench.cr.commit()

    # One close is a few ms either way: the median of 30 runs each, where 5 moved by 1.3×.
    bench.measure(
        "plus_close_one",
        "crm_plus action_close (1 contact)",
        lambda env: env["res.partner"].browse(partner_id).action_close(reason_lost),
        runs=30,
    )
    bench.measure(
        "crm_close_one",
        "Odoo CRM action_set_lost (1 lead)",
        lambda env: env["crm.lead"]
        .browse(lead_id)
        .action_set_lost(lost_reason_id=bench.lost_reason.id),
        runs=30,
    )

    def close_first():
        bench.env["res.partner"].browse(partner_id).action_close(reason_lost)
        bench.env.flush_all()

    bench.measure(
        "plus_reopen_one",
        "crm_plus action_reopen (1 contact)",
        lambda env: env["res.partner"].browse(partner_id).action_reopen(),
        prepare=close_first,
    )
    measure_suggest_cron(bench)
    bench.vacuum()
    bench.op_reports()
    measure_funnel_analysis(bench)
    measure_board_and_calibration(bench)
    measure_time_and_close(bench)
    del env


def measure_time_and_close(bench):
    """Issue 31's time in phase and learned close date, as their screens read them."""
    page = bench.open_ids[:80]

    def grouped(model, domain, aggregates, groupby, **ctx):
        return (
            lambda env: env[model]
            .with_context(**ctx)
            .read_group(domain, aggregates, groupby, lazy=False)
        )

    def learned_page(env):
        env["res.partner"].browse(page).mapped("funnel_learned_close_date")

    days = ["days_in_phase:avg", "days_in_phase_median:avg"]
    cycle = ["cycle_days:avg", "cycle_days_median:avg"]
    for key, model, domain, aggregates, groupby in [
        (
            "plus_time_in_phase",
            "crm.plus.funnel.report",
            [("is_active_funnel", "=", True)],
            days,
            ["account_type_id", "phase_id"],
        ),
        ("plus_cycle", "crm.plus.winloss.report", [], cycle, ["close_outcome", "user_id"]),
        ("crm_days_to_close", "crm.lead", [], ["day_close:avg"], ["stage_id"]),
        ("crm_days_to_close_user", "crm.lead", [], ["day_close:avg"], ["stage_id", "user_id"]),
        (
            "plus_forecast_month",
            "crm.plus.forecast.report",
            [],
            ["forecast_value:sum", "weighted_value:sum"],
            ["expected_close_date:month"],
        ),
        (
            "crm_forecast_month",
            "crm.lead",
            [("type", "=", "opportunity")],
            ["expected_revenue:sum", "prorated_revenue:sum"],
            ["date_deadline:month"],
        ),
    ]:
        label = f"{model} read_group {aggregates} by {groupby}"
        bench.measure(key, label, grouped(model, domain, aggregates, groupby, active_test=False))
    bench.measure(
        "plus_learn_close",
        "crm_plus learned close days recount (phase stats' close_days, own daily cron)",
        lambda env: env["crm.plus.phase.stat"].sudo()._refresh_close_days(),
    )
    bench.measure("plus_learned_page", "crm_plus learned close date, 80 contacts", learned_page)


def measure_funnel_analysis(bench):
    """The funnel analysis's pivot as its action opens it (Current Funnel; the total, by
    account type, by type and phase), from its totals; its read summing the lines instead;
    and the daily recount of the totals."""
    measures = [
        "reached:sum",
        "reached_percent:avg",
        "days_in_phase:avg",
        "open_weighted_value:sum",
    ]
    current = [("is_active_funnel", "=", True)]

    def pivot(env):
        for groupby in ([], ["account_type_id"], ["account_type_id", "phase_id"]):
            env["crm.plus.funnel.report"].read_group(current, measures, groupby, lazy=False)

    bench.measure("plus_report_funnel_pivot", "crm_plus funnel analysis pivot", pivot)
    bench.measure(
        "plus_report_funnel_lines",
        "crm_plus funnel analysis read_group over the lines",
        lambda env: env["crm.plus.funnel.report"]
        .with_context(crm_plus_funnel_read_lines=True)
        .read_group(
            current,
            ["reached:sum", "reached_percent:avg", "days_in_phase:avg"],
            ["phase_id"],
            lazy=False,
        ),
    )
    bench.measure(
        "plus_funnel_recount",
        "crm_plus funnel analysis totals recount",
        lambda env: env["crm.plus.funnel.report"]._cron_recount_totals(),
    )


def measure_suggest_cron(bench):
    """The nightly run as it runs on most nights: the last count was the night before, and one
    day of closes leaves the window. The window is set so that the day leaving is the median
    day of the closes (the data set has no close older than its window otherwise)."""
    cr = bench.cr
    cr.execute(
        """SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY close_date)
             FROM crm_plus_phase_line WHERE close_outcome IS NOT NULL"""
    )
    leaving = cr.fetchone()[0]
    today = date.today()
    stats = bench.su["crm.plus.phase.stat"]
    params = bench.su["ir.config_parameter"]
    window = params.get_param("crm_plus.suggestion_window_days")

    def set_window(days):
        params.set_param("crm_plus.suggestion_window_days", str(days))
        stats._refresh()
        bench.cr.commit()

    # Last night's count: the closes from the median day on.
    set_window((today - leaving).days)

    def last_night():
        env = bench.su
        env["ir.config_parameter"].set_param(
            "crm_plus.suggestion_window_days", str((today - leaving).days - 1)
        )
        if hasattr(stats, "_set_counted"):
            yesterday = today - relativedelta(days=1)
            env["crm.plus.phase.stat"]._set_counted(yesterday, leaving, full=yesterday)
        env.flush_all()

    cr.execute(
        "SELECT count(DISTINCT partner_id) FROM crm_plus_phase_line"
        " WHERE close_outcome IS NOT NULL AND close_date = %s",
        [leaving],
    )
    log(f"  the nightly run: {cr.fetchone()[0]:,} contacts' closes of {leaving} leave the window")
    bench.measure(
        "plus_suggest_cron",
        "crm_plus daily suggested-score refresh",
        lambda env: env["crm.plus.phase.stat"].sudo()._cron_refresh(),
        prepare=last_night,
    )
    # The nightly run leaves the stats a recount would: checked once, outside the timing.
    bench.reset()
    last_night()
    stats._cron_refresh()

    def snapshot():
        bench.su.flush_all()
        cr.execute(
            "SELECT company_id, phase_id, reached_closed, reached_won FROM crm_plus_phase_stat"
            " WHERE reached_closed > 0 OR reached_won > 0"
        )
        return set(cr.fetchall())

    nightly = snapshot()
    stats._refresh()
    if snapshot() != nightly:
        raise SystemExit("the nightly suggested-score run differs from a recount")
    bench.reset()
    bench.measure(
        "plus_suggest_recount",
        "crm_plus weekly suggested-score recount",
        lambda env: env["crm.plus.phase.stat"].sudo()._refresh(),
    )
    set_window(window or 730)


def measure_board_and_calibration(bench):
    """The calibration pivot's grouped read, and the progress bar the pipeline board asks for
    (the board's domain on its first account type, columns by phase) against crm's kanban
    progress bar on activity_state."""
    env = bench.env
    since = date.today() - relativedelta(months=12)
    bench.measure(
        "plus_report_winloss_12m",
        "crm_plus win/loss graph by month (last 12 months)",
        lambda env: env["crm.plus.winloss.report"].read_group(
            [("close_date", ">=", since)],
            ["closed_count:sum"],
            ["close_date:month", "close_outcome"],
            lazy=False,
        ),
    )
    bench.measure(
        "crm_report_winloss_12m",
        "Odoo CRM won/lost graph by month (last 12 months)",
        lambda env: env["crm.lead"]
        .with_context(active_test=False)
        .read_group(
            [
                "|",
                ("stage_id.is_won", "=", True),
                "&",
                ("active", "=", False),
                ("probability", "=", 0),
                ("date_closed", ">=", since),
            ],
            ["expected_revenue:sum"],
            ["date_closed:month", "stage_id"],
            lazy=False,
        ),
    )
    if hasattr(env["crm.plus.calibration.report"], "_refresh"):
        bench.measure(
            "plus_calibration_cron",
            "crm_plus daily calibration refresh",
            lambda env: env["crm.plus.calibration.report"]._cron_refresh(),
        )
        env["crm.plus.calibration.report"]._refresh()
        bench.cr.commit()
    bench.measure(
        "plus_report_calibration",
        "crm_plus crm.plus.calibration.report read_group",
        lambda env: env["crm.plus.calibration.report"].read_group(
            [],
            ["closed_count:count_distinct", "won_percent:avg", "brier_score:avg"],
            ["account_type_id", "band", "predictor"],
            lazy=False,
        ),
    )
    first_type = env["crm.plus.account.type"].search([("has_phases", "=", True)], limit=1)
    board_domain = [
        ("funnel_state", "=", "open"),
        ("lead_phase_id", "!=", False),
        ("account_type_id", "=", first_type.id),
    ]
    bench.measure(
        "plus_board_progress",
        "crm_plus res.partner read_progress_bar (pipeline board)",
        lambda env: env["res.partner"]
        .with_context(crm_plus_pipeline=True)
        .read_progress_bar(
            board_domain,
            "lead_phase_id",
            {
                "field": "funnel_health",
                "colors": {"stale": "danger", "hot": "success", "warm": "warning", "cold": "info"},
                "sum_field": "funnel_open_value",
            },
        ),
    )
    bench.measure(
        "crm_board_progress",
        "Odoo CRM crm.lead read_progress_bar (pipeline kanban)",
        lambda env: env["crm.lead"].read_progress_bar(
            [("type", "=", "opportunity")],
            "stage_id",
            {
                "field": "activity_state",
                "colors": {"planned": "success", "today": "warning", "overdue": "danger"},
            },
        ),
    )


def render(results):
    sizes = sorted(results, key=int)
    head = (
        "| measure | "
        + " | ".join(f"crm_plus {int(n):,} | Odoo CRM | ratio" for n in sizes)
        + " |"
    )
    lines = [head, "|---|" + "---|---|---|" * len(sizes)]
    for _key, what, plus, crm in ROWS:
        cells = []
        for n in sizes:
            data = results[n]
            plus_t = data.get(plus)
            crm_t = data.get(crm) if crm else None
            ratio = f"{plus_t / crm_t:.2f}×" if plus_t and crm_t else "–"
            cells.append(
                f"{plus_t * 1000:,.0f} ms | "
                + (f"{crm_t * 1000:,.0f} ms" if crm_t else "–")
                + f" | {ratio}"
                if plus_t is not None
                else "– | – | –"
            )
        lines.append(f"| {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--config")
    parser.add_argument("--database")
    parser.add_argument("--n", type=int)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 5)))
    parser.add_argument(
        "--no-build", action="store_true", help="measure the data set an earlier run kept"
    )
    parser.add_argument("--out", help="JSON file for this size's medians")
    parser.add_argument("--render", nargs="*", help="JSON files to print as one table")
    args = parser.parse_args()
    if args.render is not None:
        results = {}
        for path in args.render:
            data = json.loads(Path(path).read_text())
            results[str(data["n"])] = data["medians"]
        print(render(results))
        return 0
    config.parse_config(
        ["-c", args.config, "-d", args.database, "--no-http", "--log-level=warn"],
        setup_logging=True,
    )
    registry = Registry(args.database)
    with registry.cursor() as cr:
        bench = Bench(cr, args.n, args.runs, budget=60, orm_leads=False)
        if args.no_build:
            reattach(bench)
        else:
            log(f"generating the data set (N={args.n:,})")
            bench.build()
            # Built in SQL: the funnel analysis's totals are counted as the daily cron does.
            bench.su["crm.plus.funnel.report"]._cron_recount_totals()
            cr.commit()
        check_invariants(cr)
        log(f"  {bench.data_info['lines']:,} phase lines, invariants hold")
        measure(bench)
        cr.rollback()
        check_invariants(cr)
    medians = {key: result.time for key, result in bench.results.items()}
    Path(args.out).write_text(json.dumps({"n": args.n, "medians": medians}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
