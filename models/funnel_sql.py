"""Batch reads of the funnel's actions: the partners and their lines, whole batches in one
query each. Every change is then written through the ORM (res_partner.write_grouped)."""

from odoo.tools import SQL


def load_partners(env, partner_ids):
    """{partner id: row} with the partner's funnel columns and its type's settings."""
    env.cr.execute(
        SQL(
            """
            SELECT p.id, p.funnel_state, p.lead_phase_id, p.account_type_id, p.close_reason_id,
                   p.close_date, p.user_id, p.company_id,
                   COALESCE(t.has_phases, FALSE) AS has_phases,
                   t.won_account_type_id
              FROM res_partner AS p
              LEFT JOIN crm_plus_account_type AS t ON t.id = p.account_type_id
             WHERE p.id = ANY(%s)
            """,
            list(partner_ids),
        )
    )
    return {row["id"]: row for row in env.cr.dictfetchall()}


def load_active_lines(env, partner_ids):
    """{partner id: [line rows in phase order]}: the lines of each partner's current account
    type whose phase is active."""
    env.cr.execute(
        SQL(
            """
            SELECT l.id, l.partner_id, l.phase_id, l.state, l.sequence, l.score,
                   l.forecast_value, l.recurring_value, l.recurring_interval,
                   l.close_outcome, l.close_date, l.close_reason_id,
                   ph.phase_type, ph.default_score, ph.activity_type_id
              FROM crm_plus_phase_line AS l
              JOIN crm_plus_lead_phase AS ph ON ph.id = l.phase_id
             WHERE l.partner_id = ANY(%s) AND l.is_active_funnel AND ph.active
             ORDER BY l.partner_id, l.sequence, l.phase_id
            """,
            list(partner_ids),
        )
    )
    lines = {partner_id: [] for partner_id in partner_ids}
    for row in env.cr.dictfetchall():
        lines[row["partner_id"]].append(row)
    return lines
