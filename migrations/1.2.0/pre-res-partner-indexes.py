"""1.2.0: crm_plus's indexes on res_partner only hold funnel contacts, so that a write of any
other contact (a phone, an email, another module's column) costs what it costs without
crm_plus (make tax). Dropped here, before the update:

- the full indexes of ``account_type_id``, ``lead_phase_id`` and ``funnel_state``: Odoo
  creates ``account_type_id``'s again, partial (``btree_not_null``), once the models are
  loaded; the other two have none now;
- the two open-funnel covering indexes (by type and phase, by salesperson, type and phase):
  ``res.partner.init`` creates their one replacement, keyed by type, salesperson and phase.

Odoo keeps an index it no longer expects (``check_indexes``), hence this script.
"""

from odoo.tools import SQL

DROPPED = (
    "res_partner__account_type_id_index",
    "res_partner__lead_phase_id_index",
    "res_partner__funnel_state_index",
    "res_partner_crm_plus_my_funnel_index",
    "res_partner_crm_plus_open_funnel_index",
)


def migrate(cr, version):
    if not version:
        return
    for name in DROPPED:
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(name)))
