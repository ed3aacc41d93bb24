"""Set-based SQL for the funnel's batch actions.

The ORM reads and writes records by chunks (1,000 rows to fetch, 100 to insert or update), so
an action on 10,000 partners would cost a hundred times the queries of one on 100. These helpers
read and write a whole batch in one statement each; the callers keep the ORM cache right by
invalidating what they changed."""

from odoo import fields
from odoo.tools import SQL


def sql_update(env, model_name, updates):
    """``updates``: {record id: {field name: value}}. One UPDATE … FROM unnest(…) per distinct
    set of field names, whatever the number of records."""
    model = env[model_name]
    by_columns = {}
    for record_id, values in updates.items():
        by_columns.setdefault(tuple(sorted(values)), []).append(record_id)
    now = fields.Datetime.now()
    for columns, ids in by_columns.items():
        arrays = [SQL("%s::int4[]", ids)]
        for column in columns:
            column_type = model._fields[column].column_type[1]
            values = [_to_column(updates[record_id][column]) for record_id in ids]
            arrays.append(SQL(f"%s::{column_type}[]", values))
        env.cr.execute(
            SQL(
                "UPDATE %(table)s AS t SET %(assignments)s, write_uid = %(uid)s, "
                "write_date = %(now)s FROM unnest(%(arrays)s) AS v(id, %(names)s) "
                "WHERE t.id = v.id",
                table=SQL.identifier(model._table),
                assignments=SQL(", ").join(
                    SQL("%s = v.%s", SQL.identifier(column), SQL.identifier(column))
                    for column in columns
                ),
                uid=env.uid,
                now=now,
                arrays=SQL(", ").join(arrays),
                names=SQL(", ").join(SQL.identifier(column) for column in columns),
            )
        )
    if updates:
        changed = {column for columns in by_columns for column in columns}
        model.invalidate_model([*changed, "write_uid", "write_date"])


def _to_column(value):
    if value is False:
        return None
    if hasattr(value, "_name"):  # a record
        return value.id or None
    return value


def refresh_partner_figures(env, partner_ids):
    """The partner's current figures are those of its line in its lead phase (stored so the
    pipeline board can sum them); recomputed here in one statement."""
    if not partner_ids:
        return
    env.cr.execute(
        SQL(
            """
            UPDATE res_partner AS p
               SET funnel_score = COALESCE(l.score, 0),
                   funnel_forecast_value = COALESCE(l.forecast_value, 0),
                   funnel_recurring_value = COALESCE(l.recurring_value_monthly, 0),
                   funnel_weighted_value = COALESCE(l.forecast_value * l.score / 100.0, 0),
                   funnel_phase_date_start = l.date_start
              FROM res_partner AS p2
              LEFT JOIN crm_plus_phase_line AS l
                     ON l.partner_id = p2.id AND l.phase_id = p2.lead_phase_id
             WHERE p.id = p2.id AND p.id = ANY(%s)
            """,
            list(partner_ids),
        )
    )
    env["res.partner"].invalidate_model(
        [
            "funnel_score",
            "funnel_forecast_value",
            "funnel_recurring_value",
            "funnel_weighted_value",
            "funnel_phase_date_start",
        ]
    )


def refresh_active_funnel(env, partner_ids):
    """A partner's active funnel is the lines of its current account type; the others are
    history. Re-derive the stored flag after the partners' types changed."""
    env.cr.execute(
        SQL(
            """
            UPDATE crm_plus_phase_line AS l
               SET is_active_funnel = (l.account_type_id = p.account_type_id)
              FROM res_partner AS p
             WHERE p.id = l.partner_id AND l.partner_id = ANY(%(ids)s)
               AND l.is_active_funnel IS DISTINCT FROM (l.account_type_id = p.account_type_id)
            """,
            ids=list(partner_ids),
        )
    )
    env["crm.plus.phase.line"].invalidate_model(["is_active_funnel"])
    env["res.partner"].invalidate_model(["funnel_line_ids", "funnel_history_line_ids"])


def load_partners(env, partner_ids):
    """{partner id: row} with the partner's funnel columns and its type's settings."""
    env.cr.execute(
        SQL(
            """
            SELECT p.id, p.funnel_state, p.lead_phase_id, p.account_type_id, p.close_reason_id,
                   p.close_date, p.user_id, COALESCE(t.has_phases, FALSE) AS has_phases,
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
