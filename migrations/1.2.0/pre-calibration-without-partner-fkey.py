"""1.2.0: the score calibration table no longer references res_partner. Its daily swap dropped
a table holding that foreign key, which locked res_partner exclusively until the refresh
committed (every contact read and write waited, and deadlocked with it under load); a deleted
contact's rows now leave in res.partner's unlink."""

from odoo.tools import SQL


def migrate(cr, version):
    if not version:
        return
    cr.execute("SELECT to_regclass('crm_plus_calibration_report') IS NOT NULL")
    if cr.fetchone()[0]:
        cr.execute(
            SQL(
                "ALTER TABLE crm_plus_calibration_report DROP CONSTRAINT IF EXISTS %s",
                SQL.identifier("crm_plus_calibration_report_partner_id_fkey"),
            )
        )
