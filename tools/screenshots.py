"""The README's screenshots, doc/img/*.png, for `make screenshots` (tools/screenshots.sh).

    python screenshots.py seed --config CONF --database DB      # Odoo's Python: sample data
    python screenshots.py shoot --url URL --out doc/img [--only NAME]   # Playwright

``seed`` makes sample funnels through the ORM with the funnel's own actions (Complete phase,
Close…), the clock frozen (freezegun) at dates spread over the last months, and a salesperson,
Sara (User: Own Documents Only; login and password ``sara``). ``shoot`` drives Debian's
Chromium (/usr/bin/chromium, no browser download) with Playwright through the screens of
issue 31, at 1440×900 and, for the phone, 390×844.
"""

import argparse
import datetime
import random
import sys
from pathlib import Path

SHOWCASE, SARA = "Wide World Importers", "sara"
LEAD_OPEN = [  # name, phase index (0 First contact … 4 Closing), forecast, recurring, Sara's
    ("Northwind Traders", 0, 8000, 0, True),
    ("Blue Harbor Logistics", 0, 5500, 0, False),
    ("Litware Systems", 0, 14000, 300, True),
    ("Contoso Retail", 1, 24000, 900, False),
    ("Fabrikam Studios", 1, 12500, 0, True),
    ("Lakeside Dental Group", 2, 18000, 450, False),
    ("Tailspin Aviation", 2, 42000, 0, True),
    (SHOWCASE, 3, 36000, 1200, False),
    ("Adventure Works", 4, 60000, 2500, False),
]
WON = "Proseware Inc.|Alpine Ski House|Humongous Insurance|Trey Research|VanArsdel Ltd|Wingtip Toys|Datum Corporation|Consolidated Messenger|Fourth Estate Media|Munson's Pickles|Relecloud"  # noqa: E501
LOST = [  # name, phase index the close happened in, reason
    ("Coho Winery", 1, "close_reason_lost_no_need"),
    ("Bellows College", 2, "close_reason_lost_price"),
    ("Margie's Travel", 3, "close_reason_lost_competitor"),
    ("Woodgrove Bank", 2, "close_reason_lost_price"),
    ("Southridge Video", 3, "close_reason_lost_competitor"),
]
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
                partner = env["res.partner"].with_user(user).create(
                    {"name": name, "is_company": True, "account_type_id": lead.id}
                )
            for index in range(phases + 1):
                with freezegun.freeze_time(start + datetime.timedelta(days=index * step)):
                    if index:
                        partner.action_advance_phase()
                    partner.funnel_line_ids.filtered(lambda x: x.state == "current").write(
                        {"score": 10 + 20 * index, "forecast_value": forecast,
                         "recurring_value": recurring}  # fmt: skip
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


def shots(page, url, ids):
    """{name: (user, (width, height), take(page))}: each screen as a person reaches it."""

    def go(path, ready, *clicks):
        page.goto(url + path)
        page.wait_for_selector(ready)
        for selector in clicks:
            page.locator(selector).first.click()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(800)  # animations: counters, charts, dialogs

    def contact(name, *clicks, overview=True):
        tab = ".o_notebook_headers a.nav-link[name=crm_plus_overview]"
        go(f"/odoo/contacts/{ids[name]}", ".o_form_view .o_notebook", *([tab] * overview), *clicks)

    def board(*clicks):
        go("/odoo", ".o_navbar_apps_menu button", ".o_navbar_apps_menu button",
           ".o_app[data-menu-xmlid='crm_plus.crm_plus_menu_root']")  # fmt: skip
        go(page.url.removeprefix(url), ".o_kanban_record", *clicks)

    def view(action, view_type, ready, *clicks):
        go(f"/odoo/action-crm_plus.{action}?view_type={view_type}", ready, *clicks)

    def measure(label):  # a pivot's Measures menu, then one more measure
        return ("button:has-text('Measures')", f".dropdown-item:has-text('{label}')")

    def group_by(label):  # the search panel's Group By, as a person opens it
        return (".o_searchview_dropdown_toggler", f".o_group_by_menu .o_menu_item:has-text('{label}')")  # noqa: E501

    def bulk(apply):
        go("/odoo/contacts?view_type=list", ".o_list_view .o_data_row")
        page.fill(".o_searchview_input", "Ltd")
        page.keyboard.press("Enter")
        for name in UNTYPED:
            page.locator(f".o_data_row:has-text('{name}') .o_list_record_selector input").click()
        page.locator(".o_cp_action_menus button:has-text('Actions')").click()
        page.locator(".o-dropdown-item:has-text('Set Account Type')").first.click()
        page.wait_for_selector(".modal .o_field_widget[name=account_type_id]")
        if apply:
            page.locator(".modal .o_field_widget[name=account_type_id] input").fill("Lead")
            page.locator(".o-autocomplete--dropdown-item a:has-text('Lead')").first.click()
            page.locator(".modal button[name=action_apply]").click()
            page.wait_for_selector(".o_notification")
        page.wait_for_timeout(800)

    def export():
        view("res_partner_action_funnel", "list", ".o_data_row", "thead .o_list_record_selector")
        page.locator(".o_cp_action_menus button:has-text('Actions')").click()
        page.locator(".o-dropdown-item:has-text('Export')").first.click()
        page.locator(".modal .o_import_compat input").check()
        page.wait_for_timeout(800)

    funnel_report = "crm_plus_funnel_report_action"
    phone, tall = (390, 844), (1440, 1200)
    admin, sara = "admin", SARA
    return {
        "access_levels_user.png": (admin, tall, lambda: go(
            f"/odoo/action-base.action_res_users/{ids['sara']}", ".o_form_view",
            "a.nav-link:has-text('Access Rights')")),  # fmt: skip
        "access_levels_colleague.png": (sara, (1440, 900), lambda: contact("Adventure Works")),
        "salesperson_my_funnel.png": (sara, (1440, 900), board),
        "pipeline_board.png": (admin, (1440, 900), board),
        "board_columns_type_search.png": (admin, (1440, 900), lambda: (board(
            ".o_searchview_facet .o_facet_remove"), page.fill(".o_searchview_input", "Prospect"),
            page.locator(".o_searchview_autocomplete li:has-text('Account Type')").first.click(),
            page.wait_for_timeout(800))),  # fmt: skip
        "contact_overview.png": (admin, tall, lambda: contact(SHOWCASE)),
        "contact_closed_won.png": (admin, tall, lambda: contact("Relecloud", overview=False)),
        "time_in_phase_report.png": (admin, (1440, 900), lambda: view(
            funnel_report, "pivot", ".o_pivot table", *measure("Days in Phase (median)"))),
        "cycle_report.png": (admin, (1440, 900), lambda: view(
            "crm_plus_winloss_report_action", "pivot", ".o_pivot table",
            *measure("Cycle (median)"))),  # fmt: skip
        "forecast_by_month.png": (admin, (1440, 900), lambda: view(
            "crm_plus_forecast_report_action", "pivot", ".o_pivot table",
            *group_by("Expected Closing"))),  # fmt: skip
        "dashboard.png": (admin, (1440, 900), lambda: view(
            "crm_plus_dashboard_action", "form", ".o_crm_plus_dashboard_phase")),
        "apps_icon.png": (admin, (1440, 900), lambda: go(
            "/odoo", ".o_navbar_apps_menu button", ".o_navbar_apps_menu button")),
        "module_description.png": (admin, tall, lambda: go(
            f"/odoo/action-base.open_module_tree/{ids['module']}", ".o_form_view iframe, "
            ".o_form_view .o_field_html")),  # fmt: skip
        "settings.png": (admin, (1440, 900), lambda: go(
            "/odoo/action-crm_plus.res_config_settings_action", ".o_setting_container, .settings")),
        "close_dialog.png": (admin, (1440, 900), lambda: contact(
            "Adventure Works", "button[name=action_open_close_wizard].btn-primary")),
        "reopen_confirm.png": (admin, (1440, 900), lambda: contact(
            "Southridge Video", "button[name=action_reopen]")),
        "bulk_dialog.png": (admin, (1440, 900), lambda: bulk(apply=False)),
        "bulk_message.png": (admin, (1440, 900), lambda: bulk(apply=True)),
        "contact_overview_phone.png": (admin, phone, lambda: contact(SHOWCASE)),
        "overview_lines_phone.png": (admin, phone, lambda: (contact(SHOWCASE), page.locator(
            ".o_field_widget[name=funnel_line_ids]").scroll_into_view_if_needed())),
        "pipeline_board_phone.png": (admin, phone, board),
        "export_dialog.png": (admin, (1440, 900), export),
        "funnel_analysis.png": (admin, (1440, 900), lambda: view(funnel_report, "list", ".o_list_renderer")),  # noqa: E501
        "winloss_graph.png": (admin, (1440, 900), lambda: view(
            "crm_plus_winloss_report_action", "graph", ".o_graph_renderer canvas")),
    }


def shoot(url, out, only):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        states, ids = {}, {}
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
                rpc = "(m, d) => fetch('/web/dataset/call_kw', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({jsonrpc: '2.0', method: 'call', params: {model: m, method: 'search_read', args: [d, ['name']], kwargs: {}}})}).then(r => r.json()).then(r => r.result)"  # noqa: E501
                ids.update({r["name"]: r["id"] for r in page.evaluate(rpc, ["res.partner", []])})
                ids["sara"] = page.evaluate(rpc, ["res.users", [["login", "=", SARA]]])[0]["id"]
                module = [["name", "=", "crm_plus"]]
                ids["module"] = page.evaluate(rpc, ["ir.module.module", module])[0]["id"]
            context.close()
        for name, (user, size, _take) in shots(None, url, ids).items():
            if only and name not in only:
                continue
            context = browser.new_context(storage_state=states[user], viewport=dict(
                zip(("width", "height"), size)))  # fmt: skip
            context.set_default_timeout(60_000)
            page = context.new_page()
            shots(page, url, ids)[name][2]()
            page.screenshot(path=str(Path(out) / name))
            sys.stdout.write(f"{Path(out) / name}\n")
            context.close()
        browser.close()


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
