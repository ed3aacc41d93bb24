"""1.3.1: the funnel analysis's sums tables (crm.plus.funnel.total, crm.plus.funnel.days) keep
no author nor date: ``_log_access = False`` was set on their abstract parent, where Odoo does
not read it, so every row carried four columns and two foreign keys to res_users that each of
a close's ~30 rows checked. Odoo removes the fields, not their columns: they go here."""

from odoo.tools import SQL

TABLES = ("crm_plus_funnel_total", "crm_plus_funnel_days")
LOG_ACCESS_COLUMNS = ("create_uid", "create_date", "write_uid", "write_date")


def migrate(cr, version):
    if not version:
        return
    for table in TABLES:
        cr.execute(
            SQL(
                "ALTER TABLE IF EXISTS %s %s",
                SQL.identifier(table),
                SQL(", ").join(
                    SQL("DROP COLUMN IF EXISTS %s", SQL.identifier(column))
                    for column in LOG_ACCESS_COLUMNS
                ),
            )
        )
