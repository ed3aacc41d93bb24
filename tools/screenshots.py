"""The README's screenshots: sample funnel data, an Odoo server, headless Chromium → doc/img/*.png.

Run by `make screenshots` (tools/screenshots.sh), on a throw-away database with crm_plus
installed:

    python tools/screenshots.py --config .build/odoo.conf --database DB --out doc/img

1. Sample data is created through the ORM, with the funnel's own actions (Complete phase,
   Close…), the clock frozen (freezegun) at dates spread over the last months so the win/loss
   graph has a history.
2. ``odoo-bin`` serves the database on a free port (CRM_PLUS_HTTP_PORTS, default 18200-18299).
3. Chromium logs in as admin and visits the screens the acceptance tours drive
   (tests/test_tours*.py): a contact's Overview page, a won contact's closed funnel, the
   pipeline board, the win/loss graph and the importer after Test on the example file.
"""

import argparse
import datetime
import os
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cdp import Chromium
from ports import free_port

SHOWCASE = "Wide World Importers"
# Won from the closing phase: a Customer now, its closed Lead funnel still on Overview.
WON_SHOWCASE = "Relecloud"
EXAMPLE_URL = "/crm_plus/static/xls/crm_plus_pipeline_import.csv"
SHOTS = (
    "contact_overview.png",
    "contact_closed_won.png",
    "pipeline_board.png",
    "winloss_graph.png",
    "import_test.png",
    "funnel_list.png",
    "funnel_pivot.png",
    "funnel_analysis.png",
    "pipeline_board_phone.png",
    "contact_overview_phone.png",
    "dashboard.png",
)

# name, phase index reached (0 = First contact … 4 = Closing), [(score, forecast, recurring)…]
OPEN_PARTNERS = [
    ("Northwind Traders", 0, [(15, 8000, 0)]),
    ("Blue Harbor Logistics", 0, [(10, 5500, 0)]),
    ("Litware Systems", 0, [(20, 14000, 300)]),
    ("Contoso Retail", 1, [(15, 20000, 0), (35, 24000, 900)]),
    ("Fabrikam Studios", 1, [(10, 9000, 0), (25, 12500, 0)]),
    ("Lakeside Dental Group", 2, [(10, 15000, 0), (30, 18000, 450), (55, 18000, 450)]),
    ("Tailspin Aviation", 2, [(20, 30000, 0), (40, 42000, 0), (50, 42000, 0)]),
    (
        SHOWCASE,
        3,
        [(15, 25000, 0), (35, 30000, 800), (55, 36000, 1200), (75, 36000, 1200)],
    ),
    (
        "Adventure Works",
        4,
        [
            (20, 40000, 0),
            (40, 52000, 1500),
            (60, 60000, 2500),
            (80, 60000, 2500),
            (90, 60000, 2500),
        ],
    ),
]

ADDRESSES = {
    SHOWCASE: {
        "street": "4567 Main Street",
        "city": "Seattle",
        "zip": "98052",
        "phone": "+1 206-555-0142",
        "email": "purchasing@wideworldimporters.example.com",
    },
}

# name, months ago, phase index the close happened in, outcome reason xmlid, forecast
CLOSED_PARTNERS = [
    ("Proseware Inc.", 5, 4, "close_reason_won_contract", 28000),
    ("Coho Winery", 5, 1, "close_reason_lost_no_need", 6000),
    ("Alpine Ski House", 4, 4, "close_reason_won_order", 12000),
    ("Bellows College", 4, 2, "close_reason_lost_price", 19000),
    ("Graphic Design Institute", 4, 0, "close_reason_lost_no_response", 4000),
    ("Humongous Insurance", 3, 4, "close_reason_won_contract", 45000),
    ("Margie's Travel", 3, 3, "close_reason_lost_competitor", 22000),
    ("Trey Research", 2, 4, "close_reason_won_contract", 33000),
    ("VanArsdel Ltd", 2, 4, "close_reason_won_order", 9500),
    ("Woodgrove Bank", 2, 2, "close_reason_lost_price", 51000),
    ("School of Fine Art", 1, 1, "close_reason_lost_no_need", 7000),
    ("Wingtip Toys", 1, 4, "close_reason_won_contract", 16000),
    ("Relecloud", 0, 4, "close_reason_won_order", 27000),
    ("Southridge Video", 0, 3, "close_reason_lost_competitor", 14000),
]


# ---------------------------------------------------------------------- sample data


def seed(config, database):
    import freezegun

    import odoo
    from odoo import api

    odoo.tools.config.parse_config(["-c", config, "-d", database, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(database)
    now = datetime.datetime.now().replace(microsecond=0)
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        admin = env.ref("base.user_admin")
        admin.tour_enabled = False  # no onboarding tips in the pictures
        env = env(user=admin.id, context={"tz": admin.tz or "UTC"})
        partners = env["res.partner"]
        if partners.search_count([("name", "=", SHOWCASE)]):
            return  # already seeded
        lead = env.ref("crm_plus.account_type_lead")

        def walk(name, start, phase_index, figures, step_days):
            """Create a Lead at `start` and complete `phase_index` phases, every `step_days`."""
            with freezegun.freeze_time(start):
                partner = partners.create(
                    dict(
                        {"name": name, "is_company": True, "account_type_id": lead.id},
                        **ADDRESSES.get(name, {}),
                    )
                )
            for index in range(phase_index + 1):
                moment = start + datetime.timedelta(days=index * step_days)
                with freezegun.freeze_time(moment):
                    if index:
                        partner.action_advance_phase()
                    score, forecast, recurring = figures[min(index, len(figures) - 1)]
                    current = partner.funnel_line_ids.filtered(
                        lambda line: line.state == "current"
                    )
                    current.write(
                        {"score": score, "forecast_value": forecast, "recurring_value": recurring}
                    )
            return partner

        rng = random.Random(18)
        for name, phase_index, figures in OPEN_PARTNERS:
            step = rng.randint(4, 9)
            start = now - datetime.timedelta(days=step * phase_index + rng.randint(1, 6))
            partner = walk(name, start, phase_index, figures, step)
            partner.expected_close_date = (
                now + datetime.timedelta(days=15 + 10 * rng.randint(1, 6))
            ).date()
        for name, months_ago, phase_index, reason, forecast in CLOSED_PARTNERS:
            closed_at = now - datetime.timedelta(days=30 * months_ago + rng.randint(0, 20))
            step = rng.randint(3, 8)
            start = closed_at - datetime.timedelta(days=step * (phase_index + 1))
            score = 10 + 20 * phase_index
            partner = walk(name, start, phase_index, [(score, forecast, 0)], step)
            with freezegun.freeze_time(closed_at):
                partner.action_close(env.ref(f"crm_plus.{reason}").id)
        # Leaving the `with` block commits.


# ---------------------------------------------------------------------- server


def start_server(config, database, port):
    odoo_bin = Path(os.environ.get("ODOO_SRC", "/opt/odoo/18.0"), "odoo-bin")
    cmd = [
        sys.executable,
        str(odoo_bin),
        "-c",
        config,
        "-d",
        database,
        f"--db-filter=^{database}$",
        f"--http-port={port}",
        "--http-interface=127.0.0.1",
        "--max-cron-threads=0",
        "--log-level=warn",
    ]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"odoo-bin exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/web/login", timeout=5):
                return server, url
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise RuntimeError("odoo-bin did not answer on /web/login")


# ---------------------------------------------------------------------- screens


def login(browser, url, user="admin", password="admin"):
    browser.goto(f"{url}/web/login")
    browser.wait_for("form.oe_login_form")
    browser.evaluate(
        f"document.querySelector('#login').value = {user!r};"
        f"document.querySelector('#password').value = {password!r};"
        "document.querySelector('form.oe_login_form').submit();"
    )
    browser.wait("location.pathname.startsWith('/odoo')", what="the web client after login")
    browser.wait_for(".o_main_navbar")


def shoot_overview(browser, url, partner_id, path):
    browser.resize(1440, 1200)
    browser.goto(f"{url}/odoo/contacts/{partner_id}")
    browser.click(".o_notebook_headers a.nav-link[name=crm_plus_overview]")
    browser.wait_for(
        ".o_notebook .tab-pane.active .o_field_widget[name=funnel_line_ids] .o_data_row"
    )
    browser.settle()
    # From the top of the form to the end of the Overview page (leave the chatter out).
    bottom = browser.evaluate(
        "document.querySelector('.o_notebook .tab-pane.active').getBoundingClientRect().bottom"
    )
    browser.screenshot(path, clip={"x": 0, "y": 0, "width": 1440, "height": int(bottom) + 24})


def shoot_closed_won(browser, url, partner_id, path):
    browser.resize(1440, 1200)
    browser.goto(f"{url}/odoo/contacts/{partner_id}")
    # Overview opens by itself, with the Won ribbon, the reason and the closed lines.
    browser.wait_for(".o_notebook_headers a.nav-link.active[name=crm_plus_overview]", timeout=30)
    browser.wait_for(".o_form_sheet .ribbon")
    browser.wait_for(".o_notebook .tab-pane.active .o_data_row")
    browser.settle()
    bottom = browser.evaluate(
        "document.querySelector('.o_notebook .tab-pane.active').getBoundingClientRect().bottom"
    )
    browser.screenshot(path, clip={"x": 0, "y": 0, "width": 1440, "height": int(bottom) + 24})


def shoot_import(browser, url, path):
    """Contacts → Import records, the example file, Test: "Everything seems valid"."""
    browser.resize(1440, 900)
    browser.goto(f"{url}/odoo/contacts")
    browser.click(".o_control_panel .o_cp_action_menus button:has(.fa-cog)")
    browser.click(".o_import_menu")
    browser.wait_for(".o_control_panel .o_input_file")
    browser.evaluate(
        f"fetch({EXAMPLE_URL!r}).then(r => r.text()).then(text => {{"
        "const input = document.querySelector('.o_control_panel .o_input_file');"
        "const data = new DataTransfer();"
        "data.items.add(new File([text], 'pipeline_import.csv', {type: 'text/csv'}));"
        "input.files = data.files;"
        "input.dispatchEvent(new Event('change', {bubbles: true}));"
        "})"
    )
    browser.wait_for(".o_import_action .o_import_data_content table")
    browser.settle()
    browser.evaluate(
        "[...document.querySelectorAll('.o_control_panel button')]"
        ".find(b => b.textContent.trim() === 'Test').click()"
    )
    browser.wait(
        "!!document.querySelector('.o_import_data_content .alert-info')",
        what="the importer's verdict",
    )
    browser.settle()
    browser.screenshot(path)


def shoot_pipeline(browser, url, path):
    browser.resize(1440, 900)  # the five columns of Lead side by side, on a laptop screen
    browser.goto(f"{url}/odoo")
    browser.click(".o_navbar_apps_menu button")  # the apps menu, then CRM+ (opens Pipeline)
    browser.click(".o_app[data-menu-xmlid='crm_plus.crm_plus_menu_root']")
    browser.wait_for(".o_kanban_renderer .o_kanban_group .o_kanban_record")
    browser.settle()
    browser.screenshot(path)


def shoot_view(browser, url, action, view_type, ready, path, size=(1440, 900)):
    """An action's view as a person opens it (the walkthrough's money screens: the list's
    footer, the pivot's totals, the funnel analysis's conversion), at ``size``."""
    browser.resize(*size)
    browser.goto(f"{url}/odoo/action-{action}?view_type={view_type}")
    browser.wait_for(ready)
    browser.settle(1.5)
    browser.screenshot(path)


def shoot_winloss(browser, url, path):
    browser.resize(1440, 820)
    browser.goto(f"{url}/odoo/action-crm_plus.crm_plus_winloss_report_action")
    browser.wait_for(".o_graph_renderer canvas")
    browser.settle(1.5)  # chart.js animation
    browser.screenshot(path)


def shoot_overview_phone(browser, url, partner_id, path):
    browser.resize(390, 844)
    browser.goto(f"{url}/odoo/contacts/{partner_id}")
    browser.wait_for(".o_form_view .o_notebook")
    browser.settle(1.0)
    browser.screenshot(path)


def shoot_dashboard(browser, url, path):
    """The manager's one-page view, from CRM+ → Reporting → Dashboard."""
    browser.resize(1440, 900)
    browser.goto(f"{url}/odoo/action-crm_plus.crm_plus_dashboard_action")
    browser.wait_for(".o_crm_plus_dashboard .o_crm_plus_dashboard_phase")
    browser.settle(1.0)
    browser.screenshot(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="odoo.conf (addons path, database)")
    parser.add_argument("--database", required=True, help="a database with crm_plus installed")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "doc/img"))
    parser.add_argument("--ports", default=os.environ.get("CRM_PLUS_HTTP_PORTS", "18200-18299"))
    parser.add_argument(
        "--only", action="append", choices=SHOTS, help="take only this screenshot (repeatable)"
    )
    args = parser.parse_args()
    shots = args.only or SHOTS

    seed(args.config, args.database)
    server, url = start_server(args.config, args.database, free_port(args.ports))
    out = Path(args.out)
    try:
        with Chromium() as browser:
            login(browser, url)
            partner_id = browser.evaluate(
                "fetch('/web/dataset/call_kw', {method: 'POST', headers: {'Content-Type': "
                "'application/json'}, body: JSON.stringify({jsonrpc: '2.0', method: 'call', "
                "params: {model: 'res.partner', method: 'search', args: [[['name', '=', "
                f"{SHOWCASE!r}]]], kwargs: {{limit: 1}}}}}})}}).then(r => r.json())"
                ".then(r => r.result[0])"
            )
            won_id = browser.evaluate(
                "fetch('/web/dataset/call_kw', {method: 'POST', headers: {'Content-Type': "
                "'application/json'}, body: JSON.stringify({jsonrpc: '2.0', method: 'call', "
                "params: {model: 'res.partner', method: 'search', args: [[['name', '=', "
                f"{WON_SHOWCASE!r}]]], kwargs: {{limit: 1}}}}}})}}).then(r => r.json())"
                ".then(r => r.result[0])"
            )
            funnel = "crm_plus.res_partner_action_funnel"
            takes = {
                "contact_overview.png": lambda path: shoot_overview(
                    browser, url, partner_id, path
                ),
                "contact_closed_won.png": lambda path: shoot_closed_won(
                    browser, url, won_id, path
                ),
                "pipeline_board.png": lambda path: shoot_pipeline(browser, url, path),
                "winloss_graph.png": lambda path: shoot_winloss(browser, url, path),
                "import_test.png": lambda path: shoot_import(browser, url, path),
                "funnel_list.png": lambda path: shoot_view(
                    browser, url, funnel, "list", ".o_list_footer", path
                ),
                "funnel_pivot.png": lambda path: shoot_view(
                    browser, url, funnel, "pivot", ".o_pivot table", path
                ),
                "funnel_analysis.png": lambda path: shoot_view(
                    browser,
                    url,
                    "crm_plus.crm_plus_funnel_report_action",
                    "list",
                    ".o_list_renderer",
                    path,
                ),
                "pipeline_board_phone.png": lambda path: shoot_view(
                    browser,
                    url,
                    "crm_plus.res_partner_action_pipeline",
                    "kanban",
                    ".o_kanban_renderer .o_kanban_record",
                    path,
                    size=(390, 844),
                ),
                "contact_overview_phone.png": lambda path: shoot_overview_phone(
                    browser, url, partner_id, path
                ),
                "dashboard.png": lambda path: shoot_dashboard(browser, url, path),
            }
            for name in shots:
                takes[name](out / name)
    finally:
        server.terminate()
        server.wait(30)
    for name in shots:
        sys.stdout.write(f"{out / name}\n")


if __name__ == "__main__":
    main()
