"""The README's screenshots, doc/img/*.png, for `make screenshots` (tools/screenshots.sh).

``seed`` (Odoo's Python) makes sample funnels with the funnel's own actions, the clock frozen at
dates over the last months, and Sara, User: Own Documents Only (login and password ``sara``).
``shoot`` drives the system's Chromium with Playwright (no browser download) through the
screens of issue 31, at 1440×900 and, for the phone, 390×844.
"""

import argparse
import datetime
import random
import sys
from pathlib import Path

SHOWCASE, SARA = "Wide World Importers", "sara"
# fmt: off
# Lead's open deals: name, phase index (0 First contact … 4 Closing), forecast, recurring, Sara's.
LEAD_OPEN = [("Northwind Traders", 0, 8000, 0, True), ("Blue Harbor Logistics", 0, 5500, 0, False), ("Litware Systems", 0, 14000, 300, True), ("Contoso Retail", 1, 24000, 900, False), ("Fabrikam Studios", 1, 12500, 0, True), ("Lakeside Dental Group", 2, 18000, 450, False), ("Tailspin Aviation", 2, 42000, 0, True), (SHOWCASE, 3, 36000, 1200, False), ("Adventure Works", 4, 60000, 2500, False)]  # noqa: E501
WON = "Proseware Inc.|Alpine Ski House|Humongous Insurance|Trey Research|VanArsdel Ltd|Wingtip Toys|Datum Corporation|Consolidated Messenger|Fourth Estate Media|Munson's Pickles|Relecloud"  # noqa: E501
# Lost: name, phase index the close happened in, reason.
LOST = [("Coho Winery", 1, "close_reason_lost_no_need"), ("Bellows College", 2, "close_reason_lost_price"), ("Margie's Travel", 3, "close_reason_lost_competitor"), ("Woodgrove Bank", 2, "close_reason_lost_price"), ("Southridge Video", 3, "close_reason_lost_competitor")]  # noqa: E501
# fmt: on
UNTYPED = ["Fourth Coffee Ltd", "Nod Publishers Ltd", "Lucerne Publishing Ltd"]


def seed(config, database):
    import freezegun

    import odoo
    from odoo import Command, api

    odoo.tools.config.parse_config(["-c", config, "-d", database, "--log-level=warn"])
    now = datetime.datetime.now().replace(microsecond=0)
    with odoo.modules.registry.Registry(database).cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        admin = env.ref("base.user_admin")
        if env["res.partner"].search_count([("name", "=", SHOWCASE)]):
            return
        groups = [env.ref(x).id for x in ("crm_plus.group_crm_plus_user", "base.group_user")]
        sara = env["res.users"].create(
            {"name": "Sara Seller", "login": SARA, "password": SARA, "tz": admin.tz or "UTC"}
        )
        sara.write({"group_ids" if "group_ids" in sara else "groups_id": [Command.set(groups)]})
        (admin | sara).tour_enabled = False  # no onboarding tips in the pictures
        env = env(user=admin.id, context={"tz": admin.tz or "UTC"})
        lead = env.ref("crm_plus.account_type_lead")
        rng = random.Random(18)

        def walk(name, start, phases, forecast, recurring, step, user=admin):
            with freezegun.freeze_time(start):
                partner = (
                    env["res.partner"]
                    .with_user(user)
                    .create({"name": name, "is_company": True, "account_type_id": lead.id})
                )
            for index in range(phases + 1):
                with freezegun.freeze_time(start + datetime.timedelta(days=index * step)):
                    if index:
                        partner.action_advance_phase()
                    partner.funnel_line_ids.filtered(lambda x: x.state == "current").write(
                        {
                            "score": 10 + 20 * index,
                            "forecast_value": forecast,
                            "recurring_value": recurring,
                        }  # fmt: skip
                    )
            return partner.with_user(admin)

        for name, phases, forecast, recurring, mine in LEAD_OPEN:
            step = rng.randint(4, 9)
            start = now - datetime.timedelta(days=step * phases + rng.randint(1, 6))
            walk(name, start, phases, forecast, recurring, step, sara if mine else admin)
        env["res.partner"].search([("name", "=", SHOWCASE)]).write(
            {"street": "4567 Main Street", "city": "Seattle", "phone": "+1 206-555-0142"}
        )
        closes = [(name, 4, "close_reason_won_order") for name in WON.split("|")] + LOST
        for index, (name, phases, reason) in enumerate(closes):
            closed_at = now - datetime.timedelta(days=15 * (len(closes) - index) - 10)
            step = rng.randint(3, 8)
            start = closed_at - datetime.timedelta(days=step * (phases + 1))
            partner = walk(name, start, phases, rng.randint(6, 50) * 1000, 0, step)
            with freezegun.freeze_time(closed_at):
                partner.action_close(env.ref(f"crm_plus.{reason}").id)
        env["res.partner"].create([{"name": name, "is_company": True} for name in UNTYPED])


# ---------------------------------------------------------------------- screens
# Each screen as a person reaches it: steps "/path" (goto; {sara}, {module} filled in), "@Name"
# (that contact's form), "?selector" (wait), "!Key", "=selector=text" (type), "+selector"
# (tick), "*selector=file" (upload), "~selector" (scroll to), "#ms"; any other: click.
# fmt: off
OVERVIEW = ".o_notebook_headers a.nav-link[name=crm_plus_overview]"
BOARD = ["/odoo", ".o_navbar_apps_menu button", ".o_app[data-menu-xmlid='crm_plus.crm_plus_menu_root']", "?.o_kanban_record"]  # noqa: E501
ACTION, ACTIONS = "/odoo/action-crm_plus.", ".o_cp_action_menus button:has-text('Actions')"
MEASURE = ["button:has-text('Measures')", ".dropdown-item:has-text('{}')", "!Escape"]
BULK = ["/odoo/contacts?view_type=list", "=.o_searchview_input=Ltd", "!Enter", "?.o_searchview_facet", "#1500", *(f".o_data_row:has-text('{name}') .o_list_record_selector input" for name in UNTYPED), ACTIONS, ".o-dropdown-item:has-text('Set Account Type')", "?.modal .o_field_widget[name=account_type_id]"]  # noqa: E501
EXAMPLE = Path(__file__).resolve().parent.parent / "static/xls/crm_plus_pipeline_import.csv"
WIDE, TALL, PHONE = (1440, 900), (1440, 1200), (390, 844)
SHOTS = {  # name: (login, viewport, steps)
    "access_levels_user.png": ("admin", WIDE, ["/odoo/action-base.action_res_users/{sara}", "a.nav-link:has-text('Access Rights')"]),  # noqa: E501
    "access_levels_colleague.png": (SARA, WIDE, ["@Adventure Works", OVERVIEW]),
    "salesperson_my_funnel.png": (SARA, WIDE, BOARD),
    "pipeline_board.png": ("admin", WIDE, BOARD),
    "board_columns_type_search.png": ("admin", WIDE, [*BOARD, ".o_searchview_facet .o_facet_remove", "=.o_searchview_input=Prospect", ".o_searchview_autocomplete :is(li, .o-dropdown-item):has-text('Account Type')"]),  # noqa: E501
    "contact_overview.png": ("admin", TALL, [f"@{SHOWCASE}", OVERVIEW]),
    "contact_closed_won.png": ("admin", TALL, ["@Relecloud", f"?{OVERVIEW}.active"]),
    "time_in_phase_report.png": ("admin", WIDE, [f"{ACTION}crm_plus_funnel_report_action?view_type=pivot", *(m.format("Days in Phase (median)") for m in MEASURE)]),  # noqa: E501
    "cycle_report.png": ("admin", WIDE, [f"{ACTION}crm_plus_winloss_report_action?view_type=pivot", *(m.format("Cycle (days, median)") for m in MEASURE), "thead .o_pivot_header_cell_closed", ".dropdown-item:has-text('Outcome')", "tbody .o_pivot_header_cell_opened", "tbody .o_pivot_header_cell_closed", ".dropdown-item:has-text('Salesperson')"]),  # noqa: E501
    "forecast_by_month.png": ("admin", WIDE, [f"{ACTION}crm_plus_forecast_report_action?view_type=pivot", ".o_searchview_dropdown_toggler", ".o_group_by_menu .o_menu_item:has-text('Expected Closing')", ".o_group_by_menu >> text='Month'", "!Escape"]),  # noqa: E501
    "dashboard.png": ("admin", WIDE, [f"{ACTION}crm_plus_dashboard_action", "?.o_crm_plus_dashboard_phase"]),  # noqa: E501
    "apps_icon.png": ("admin", WIDE, ["/odoo/action-base.open_module_tree", "=.o_searchview_input=CRM", "!Enter", "?.o_searchview_facet"]),  # noqa: E501
    "module_description.png": ("admin", TALL, ["/odoo/action-base.open_module_tree/{module}", "?.o_form_view"]),  # noqa: E501
    "settings.png": ("admin", WIDE, [f"{ACTION}res_config_settings_action", "?.o_setting_container, .settings"]),  # noqa: E501
    "close_dialog.png": ("admin", WIDE, ["@Adventure Works", OVERVIEW, "button[name=action_open_close_wizard].btn-primary"]),  # noqa: E501
    "reopen_confirm.png": ("admin", WIDE, ["@Southridge Video", "button[name=action_reopen]"]),
    "bulk_dialog.png": ("admin", WIDE, BULK),
    "bulk_message.png": ("admin", WIDE, [*BULK, "=.modal .o_field_widget[name=account_type_id] input=Lead", ".o-autocomplete--dropdown-item a:has-text('Lead')", ".modal button[name=action_apply]", "?.o_notification"]),  # noqa: E501
    "contact_overview_phone.png": ("admin", PHONE, [f"@{SHOWCASE}", OVERVIEW]),
    "overview_lines_phone.png": ("admin", PHONE, [f"@{SHOWCASE}", OVERVIEW, "~.o_field_widget[name=funnel_line_ids]"]),  # noqa: E501
    "pipeline_board_phone.png": ("admin", PHONE, [f"{ACTION}res_partner_action_pipeline?view_type=kanban", "?.o_kanban_record"]),  # noqa: E501
    "export_dialog.png": ("admin", WIDE, [f"{ACTION}res_partner_action_funnel", "thead .o_list_record_selector", ACTIONS, ".o-dropdown-item:has-text('Export')", "+.modal .o_import_compat input"]),  # noqa: E501
    "import_test.png": ("admin", WIDE, ["/odoo/contacts?view_type=list", ".o_cp_action_menus button:has(.fa-cog)", ".o_import_menu", f"*.o_control_panel .o_input_file={EXAMPLE}", "?.o_import_data_content table", ".o_control_panel button:text-is('Test')", "?.o_import_data_content .alert-info"]),  # noqa: E501
    "funnel_analysis.png": ("admin", WIDE, [f"{ACTION}crm_plus_funnel_report_action?view_type=list", "?.o_list_renderer"]),  # noqa: E501
    "funnel_list.png": ("admin", WIDE, [f"{ACTION}res_partner_action_funnel?view_type=list", "?.o_list_footer"]),  # noqa: E501
    "winloss_graph.png": ("admin", WIDE, [f"{ACTION}crm_plus_winloss_report_action?view_type=graph", "?.o_graph_renderer canvas"]),  # noqa: E501
}


def act(page, url, ids, step):
    kind, arg = step[0], step[1:]
    if kind == "/":
        page.goto(url + step.format_map(ids))
    elif kind == "@":
        page.goto(f"{url}/odoo/contacts/{ids[arg]}")
    elif kind in "?!~#":
        {"?": page.wait_for_selector, "!": page.keyboard.press, "#": lambda ms: page.wait_for_timeout(int(ms)),  # noqa: E501
         "~": lambda sel: page.locator(sel).first.scroll_into_view_if_needed()}[kind](arg)
    elif kind in "=*":
        selector, value = arg.rsplit("=", 1)
        page.fill(selector, value) if kind == "=" else page.set_input_files(selector, value)
    else:
        page.locator(arg if kind == "+" else step).first.click()
# fmt: on


def shoot(url, out, only):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        states, ids, failed = {}, {}, []
        rpc = "([m, d]) => fetch('/web/dataset/call_kw', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({jsonrpc: '2.0', method: 'call', params: {model: m, method: 'search_read', args: [d, ['name']], kwargs: {}}})}).then(r => r.json()).then(r => r.result)"  # noqa: E501
        for user in ("admin", SARA):
            context = browser.new_context()
            context.set_default_timeout(120_000)  # a busy machine builds the assets first
            page = context.new_page()
            page.goto(f"{url}/web/login")
            page.fill("#login", user)
            page.fill("#password", user)
            page.click("form.oe_login_form button[type=submit]")
            page.wait_for_selector(".o_main_navbar")
            states[user] = context.storage_state()
            if user == "admin":
                ids.update({r["name"]: r["id"] for r in page.evaluate(rpc, ["res.partner", []])})
                ids["sara"] = page.evaluate(rpc, ["res.users", [["login", "=", SARA]]])[0]["id"]
                module = [["name", "=", "crm_plus"]]
                ids["module"] = page.evaluate(rpc, ["ir.module.module", module])[0]["id"]
            context.close()
        for name, (user, (width, height), steps) in SHOTS.items():
            if only and name not in only:
                continue
            context = browser.new_context(
                storage_state=states[user], viewport={"width": width, "height": height}
            )
            context.set_default_timeout(60_000)
            page = context.new_page()
            try:
                for step in steps:
                    act(page, url, ids, step)
                page.mouse.move(width - 1, height - 1)  # no tooltip under the last click
                page.wait_for_timeout(1500)  # the last RPCs, animations: counters, charts
                page.screenshot(path=str(Path(out) / name))
                sys.stdout.write(f"{Path(out) / name}\n")
            except Exception as exc:  # the others are still worth taking
                failed.append(name)
                sys.stderr.write(f"{name}: {exc}\n")
            context.close()
        browser.close()
    if failed:
        raise SystemExit(f"not taken: {', '.join(failed)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["seed", "shoot"])
    parser.add_argument("--config")
    parser.add_argument("--database")
    parser.add_argument("--url")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "doc/img"))
    parser.add_argument("--only", action="append", help="take only this screenshot (repeatable)")
    args = parser.parse_args()
    if args.step == "seed":
        seed(args.config, args.database)
    else:
        shoot(args.url, args.out, args.only)
