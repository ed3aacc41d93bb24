"""Module life cycle on a database with existing contacts (issues 2 and 7).

Each step is a real ``odoo-bin`` process on a database of its own, in order:

1. a database with base, contacts and mail gets ``CRM_PLUS_LIFECYCLE_CONTACTS`` contacts (2,000
   in ``make test``; ``make stress`` uses 10,000);
2. ``-i crm_plus``: every existing contact row is untouched (all its columns, write_date
   included), the new funnel columns are empty;
3. funnel data: partners advanced, won (switching type), lost, reopened;
4. ``-u crm_plus``: every phase line and every close is kept as it was;
5. uninstall (``button_immediate_uninstall`` in ``odoo-bin shell``): every res.partner row is
   kept (count, ids and names), the crm_plus tables are gone;
6. ``-i crm_plus`` again works: seed data back, partners still all there.

The funnel invariants are checked in SQL after each step where crm_plus is installed.
"""

import os
import time

from psycopg2 import sql

from ..demo.crm_plus_demo import DEMO_BASE_COMPANIES
from ..models.crm_plus_funnel_import import HISTORY_FIELDS
from .live_server import (
    assert_funnel_invariants,
    odoo_shell,
    pg_cursor,
    report,
    run_odoo,
    throwaway_database,
)

CONTACTS = int(os.environ.get("CRM_PLUS_LIFECYCLE_CONTACTS", 2000))
PREFIX = "LC Contact "

CREATE_CONTACTS = f"""
count = {CONTACTS}
partners = env["res.partner"].with_context(tracking_disable=True, mail_create_nolog=True)
for start in range(0, count, 1000):
    partners.create(
        [{{"name": f"{PREFIX}{{i:06d}}", "email": f"lc{{i}}@example.com"}}
         for i in range(start, min(start + 1000, count))]
    )
env.cr.commit()
"""

FUNNEL_DATA = f"""
lead = env.ref("crm_plus.account_type_lead")
prospect = env.ref("crm_plus.account_type_prospect")
won = env.ref("crm_plus.close_reason_won_contract")
lost = env.ref("crm_plus.close_reason_lost_price")
existing = env["res.partner"].search([("name", "=like", "{PREFIX}%")], order="id", limit=20)
existing.write({{"account_type_id": lead.id}})
new = env["res.partner"].create(
    [{{"name": f"LC Funnel {{i:02d}}", "account_type_id": prospect.id}} for i in range(20)]
)
partners = existing | new
for count in (30, 20, 15, 10):
    partners[:count].action_advance_phase()
partners[:4].action_close(won.id, note="LC won")
partners[4:10].action_close(lost.id)
partners[4:6].action_reopen()
partners[30:].action_close(lost.id)
env.cr.commit()
print("LC funnel partners:", len(partners))
"""

UNINSTALL = """
module = env["ir.module.module"].search([("name", "=", "crm_plus")])
module.button_immediate_uninstall()
env.cr.commit()
"""


def _columns(cr, table):
    cr.execute(
        """SELECT column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position""",
        [table],
    )
    return [row[0] for row in cr.fetchall()]


def _rows(db, table, columns, where=None):
    where = sql.SQL("TRUE") if where is None else where
    with pg_cursor(db) as cr:
        cr.execute(
            sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY id").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table), where
            )
        )
        return cr.fetchall()


def _id_in(ids):
    return sql.SQL("id = ANY({})").format(sql.Literal(list(ids)))


def _changed_columns(columns, before, after):
    return sorted(
        {
            column
            for old, new in zip(before, after, strict=False)
            for column, a, b in zip(columns, old, new, strict=False)
            if a != b
        }
    )


def _module_state(db):
    with pg_cursor(db) as cr:
        cr.execute("SELECT state FROM ir_module_module WHERE name = 'crm_plus'")
        row = cr.fetchone()
        return row and row[0]


class Steps:
    """The shared state of the ordered steps: the database, what each step saw, timings."""

    def __init__(self, db):
        self.db = db
        self.timings = []
        self.data = {}

    def run(self, label, function, *args, **kwargs):
        started = time.monotonic()
        result = function(*args, **kwargs)
        self.timings.append(f"{label}: {time.monotonic() - started:.1f}s")
        return result


def test_life_cycle(pytestconfig):
    """The steps depend on each other by nature (install, upgrade, uninstall, reinstall of one
    database), so they are one test: it runs them in order whatever pytest's order is."""
    with throwaway_database("lifecycle", install=False) as db:
        steps = Steps(db)
        try:
            _install_keeps_existing_contacts(steps)
            _upgrade_keeps_every_line_and_close(steps)
            _uninstall_keeps_every_partner(steps)
            _reinstall_works(steps)
        finally:
            report(
                pytestconfig,
                f"crm_plus: module life cycle with {CONTACTS} existing contacts",
                steps.timings,
            )


def _install_keeps_existing_contacts(steps):
    db = steps.db
    assert _module_state(db) in (None, "uninstalled")
    steps.run(f"create {CONTACTS} contacts", odoo_shell, db, CREATE_CONTACTS)
    with pg_cursor(db) as cr:
        columns = _columns(cr, "res_partner")
    before = _rows(db, "res_partner", columns)
    assert sum(1 for row in before if row[columns.index("name")].startswith(PREFIX)) == CONTACTS

    steps.run("install crm_plus", run_odoo, db, "-i", "crm_plus", "--log-level=warn")
    assert _module_state(db) == "installed"
    existing_ids = [row[0] for row in before]
    # Demo data (when the database has demo data) may add partners; existing ones stay as is.
    after = _rows(db, "res_partner", columns, _id_in(existing_ids))
    assert len(after) == len(before), "installing crm_plus removed contacts"
    # Installing grants CRM+ Manager to the administrators (superuser and admin), and the demo
    # gives Marc Demo (login demo) a CRM+ level: writing their users touches their own
    # partners' write_date. Every other contact stays as it was.
    with pg_cursor(db) as cr:
        cr.execute(
            "SELECT partner_id FROM res_users WHERE login IN ('__system__', 'admin', 'demo')"
        )
        admin_partners = {row[0] for row in cr.fetchall()}
    # With demo data, crm_plus's demo puts Odoo's own demo companies in its funnels instead of
    # creating look-alikes, with a salesperson their people share: those, and only those, are
    # meant to change.
    demo_companies, demo_contacts = _demo_companies(db)
    changed = [
        old[0]
        for old, new in zip(before, after, strict=False)
        if old != new and old[0] not in admin_partners | demo_contacts
    ]
    assert not changed, (
        f"installing crm_plus changed {len(changed)} of {len(before)} existing contacts, e.g. "
        f"{changed[:10]}; columns changed: {_changed_columns(columns, before, after)}"
    )
    with pg_cursor(db) as cr:
        cr.execute(
            """SELECT count(*) FROM res_partner
                WHERE id = ANY(%s) AND (account_type_id IS NOT NULL OR lead_phase_id IS NOT NULL
                   OR funnel_state IS NOT NULL OR close_reason_id IS NOT NULL)""",
            [list(set(existing_ids) - demo_companies)],
        )
        assert cr.fetchone()[0] == 0, "existing contacts were put in a funnel"
        cr.execute(
            "SELECT count(*) FROM crm_plus_phase_line WHERE partner_id = ANY(%s)",
            [list(set(existing_ids) - demo_companies)],
        )
        assert cr.fetchone()[0] == 0
        if demo_companies:
            cr.execute(
                "SELECT count(*) FROM res_partner WHERE id = ANY(%s) AND account_type_id IS NULL",
                [list(demo_companies)],
            )
            assert cr.fetchone()[0] == 0, "the demo left Odoo's demo companies without a type"
    assert_funnel_invariants(db)


def _demo_companies(db):
    """(companies, companies and their people): Odoo's demo companies that crm_plus's demo
    data gives an account type and a salesperson, when the database has demo data."""
    with pg_cursor(db) as cr:
        cr.execute("SELECT demo FROM ir_module_module WHERE name = 'crm_plus'")
        if not cr.fetchone()[0]:
            return set(), set()
        cr.execute(
            """SELECT res_id FROM ir_model_data
                WHERE module = 'base' AND model = 'res.partner' AND name = ANY(%s)""",
            [[xmlid.split(".", 1)[1] for xmlid, *_rest in DEMO_BASE_COMPANIES]],
        )
        companies = {row[0] for row in cr.fetchall()}
        cr.execute(
            "SELECT id FROM res_partner WHERE id = ANY(%s) OR parent_id = ANY(%s)",
            [list(companies), list(companies)],
        )
        return companies, {row[0] for row in cr.fetchall()}


def _upgrade_keeps_every_line_and_close(steps):
    db = steps.db
    output = steps.run("create funnel data", odoo_shell, db, FUNNEL_DATA)
    assert "LC funnel partners: 40" in output, output[-2000:]
    assert_funnel_invariants(db)
    with pg_cursor(db) as cr:
        line_columns = _columns(cr, "crm_plus_phase_line")
        cr.execute(
            "SELECT funnel_state, count(*) FROM res_partner "
            "WHERE funnel_state IS NOT NULL AND name LIKE 'LC %%' GROUP BY funnel_state"
        )
        states = dict(cr.fetchall())
    assert states.get("won") == 4 and states.get("lost") == 14 and states.get("open") == 22, states
    funnel_columns = [
        "id",
        "account_type_id",
        *HISTORY_FIELDS,
        "funnel_score",
        "funnel_forecast_value",
    ]
    lines_before = _rows(db, "crm_plus_phase_line", line_columns)
    partners_before = _rows(db, "res_partner", funnel_columns)
    assert any(row[line_columns.index("close_outcome")] == "won" for row in lines_before)

    steps.run("upgrade crm_plus (-u)", run_odoo, db, "-u", "crm_plus", "--log-level=warn")
    assert _module_state(db) == "installed"
    lines_after = _rows(db, "crm_plus_phase_line", line_columns)
    assert len(lines_after) == len(lines_before), "the upgrade added or removed phase lines"
    changed = [old[0] for old, new in zip(lines_before, lines_after, strict=False) if old != new]
    assert not changed, f"the upgrade changed phase lines {changed[:10]}"
    partners_after = _rows(db, "res_partner", funnel_columns)
    changed = [
        old[0] for old, new in zip(partners_before, partners_after, strict=False) if old != new
    ]
    assert partners_after == partners_before, f"the upgrade changed partners {changed[:10]}"
    assert_funnel_invariants(db)


def _uninstall_keeps_every_partner(steps):
    db = steps.db
    before = _rows(db, "res_partner", ["id", "name", "active"])
    steps.run("uninstall crm_plus", odoo_shell, db, UNINSTALL)
    assert _module_state(db) == "uninstalled"
    after = _rows(db, "res_partner", ["id", "name", "active"])
    missing = sorted({row[0] for row in before} - {row[0] for row in after})
    assert not missing, f"uninstalling crm_plus deleted {len(missing)} partners: {missing[:10]}"
    assert after == before, "uninstalling crm_plus changed partner names or archived partners"
    with pg_cursor(db) as cr:
        cr.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE %s",
            ["crm\\_plus\\_%"],
        )
        assert not cr.fetchall(), "crm_plus tables left behind"
        assert "account_type_id" not in _columns(cr, "res_partner")
        # The funnel analysis's triggers on res_partner went with it: contacts stay writable.
        cr.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE %s", ["crm\\_plus\\_%"])
        assert not cr.fetchall(), "crm_plus triggers left behind"
        cr.execute("UPDATE res_partner SET user_id = user_id")  # fails if a trigger is left


def _reinstall_works(steps):
    db = steps.db
    before = _rows(db, "res_partner", ["id", "name", "active"])
    steps.run("reinstall crm_plus", run_odoo, db, "-i", "crm_plus", "--log-level=warn")
    assert _module_state(db) == "installed"
    ids = [row[0] for row in before]
    with pg_cursor(db) as cr:
        cr.execute("SELECT count(*) FROM crm_plus_account_type")
        assert cr.fetchone()[0] >= 3, "seed account types missing after reinstall"
        cr.execute("SELECT count(*) FROM crm_plus_lead_phase")
        assert cr.fetchone()[0] >= 10
        # The old funnel is gone with the uninstall: no partner is back in a funnel by itself
        # (but Odoo's demo companies, put in one by the demo data again).
        cr.execute(
            "SELECT count(*) FROM res_partner WHERE id = ANY(%s) AND account_type_id IS NOT NULL",
            [list(set(ids) - _demo_companies(db)[0])],
        )
        assert cr.fetchone()[0] == 0
    assert _rows(db, "res_partner", ["id", "name", "active"], _id_in(ids)) == before
    assert_funnel_invariants(db)
    # The reinstalled module works: a partner enters and moves through a funnel.
    output = steps.run(
        "funnel after reinstall",
        odoo_shell,
        db,
        """
lead = env.ref("crm_plus.account_type_lead")
partner = env["res.partner"].create({"name": "LC after reinstall", "account_type_id": lead.id})
partner.action_advance_phase()
env.cr.commit()
print("LC phase:", partner.lead_phase_id.code)
""",
    )
    assert "LC phase: L-QUAL" in output, output[-2000:]
    assert_funnel_invariants(db)
