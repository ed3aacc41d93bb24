"""1.3.2: the score calibration's rows carry their contact's archiving (``active``), which the
contact's archiving keeps, instead of a field related to res.partner's that made every read
join the table with every active contact. init() adds the column; the rows the last daily
refresh left get their contact's flag here."""

from odoo.tools import SQL

TABLE = "crm_plus_calibration_report"


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        SQL(
            """UPDATE %s AS c SET active = p.active FROM res_partner AS p
                WHERE p.id = c.partner_id AND c.active IS DISTINCT FROM p.active""",
            SQL.identifier(TABLE),
        )
    )
