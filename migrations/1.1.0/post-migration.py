"""1.1.0: the money of a deal as Odoo CRM means it (score 100 and weighted = forecast once won,
score 0 and weighted 0 once lost, the figures of the line a won close switched away from), and
the four state-pure totals (open pipeline, weighted pipeline, won revenue, lost).

``res.partner._auto_init`` creates the new columns empty, so that the upgrade does not compute
them for every contact; this script computes the contacts' figures from their lines, by the
ORM (``_compute_funnel``, the one definition), for the contacts in a funnel only, in batches.
"""

import logging

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
MONEY_FIELDS = (
    "funnel_score",
    "funnel_forecast_value",
    "funnel_weighted_value",
    "funnel_recurring_value",
    "funnel_open_value",
    "funnel_open_weighted_value",
    "funnel_won_value",
    "funnel_lost_value",
)


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {"active_test": False, "tracking_disable": True})
    partners = env["res.partner"]
    cr.execute("SELECT id FROM res_partner WHERE funnel_state IS NOT NULL ORDER BY id")
    ids = [row[0] for row in cr.fetchall()]
    fields = [partners._fields[fname] for fname in MONEY_FIELDS]
    for start in range(0, len(ids), BATCH_SIZE):
        batch = partners.browse(ids[start : start + BATCH_SIZE])
        for field in fields:
            env.add_to_compute(field, batch)
        partners.flush_model(MONEY_FIELDS)
        env.invalidate_all()
    _logger.info("crm_plus 1.1.0: the figures of %s funnel contacts recomputed", len(ids))
