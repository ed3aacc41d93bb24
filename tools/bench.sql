-- The SQL of make bench (tools/bench_data.py, tools/bench.py), one statement list per name.
-- Parameters are psycopg2's: %(name)s, and %% for a literal %.

-- name: insert_partners
INSERT INTO res_partner (
    name, complete_name, commercial_company_name, company_id, active, type,
    is_company, partner_share, lang, email, email_normalized, user_id, color,
    employee, create_uid, write_uid, create_date, write_date)
SELECT name, name, name, (%(companies)s::int[])[1 + i %% 2], true, 'contact',
       true, true, 'en_US', email, email, %(uid)s, 0, false, %(uid)s, %(uid)s,
       now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
  FROM (SELECT i, %(prefix)s || lpad(i::text, 6, '0') AS name,
               lower(%(prefix)s) || i || '@bench.example.com' AS email
          FROM generate_series(0, %(count)s - 1) i) s
 ORDER BY i
RETURNING id

-- name: lines
-- One row per partner and funnel (bench_plan), expanded into its phase lines: the phases before
-- `cur` done, `cur` current (or closed with `outcome`), the rest to do.
INSERT INTO crm_plus_phase_line (
    partner_id, phase_id, account_type_id, sequence, phase_type, company_id, is_active_funnel,
    state, score, date_start, date_done, done_by_id, forecast_value, recurring_value,
    recurring_interval, recurring_value_monthly, close_reason_id, close_outcome, close_date,
    closed_by_id, create_uid, write_uid, create_date, write_date)
SELECT p.partner_id, ph.id, p.type_id, ph.sequence, ph.phase_type, p.company_id, p.active,
       s.state, ph.default_score, s.start, s.start + CASE WHEN s.state = 'done' THEN '3 days'
       ::interval END, CASE WHEN s.state = 'done' THEN %(uid)s END, v.forecast, v.recurring,
       'month', v.recurring, CASE WHEN s.closed THEN p.reason_id END,
       CASE WHEN s.closed THEN p.outcome END, CASE WHEN s.closed THEN (s.start + '3 days'
       ::interval)::date END, CASE WHEN s.closed THEN %(uid)s END, %(uid)s, %(uid)s, %(now)s,
       %(now)s
  FROM bench_plan p
  JOIN (SELECT *, row_number() OVER (PARTITION BY account_type_id ORDER BY sequence, id) - 1
               AS rn FROM crm_plus_lead_phase) ph ON ph.account_type_id = p.type_id
 CROSS JOIN LATERAL (SELECT CASE WHEN ph.rn < p.cur OR (ph.rn = p.cur AND p.outcome IS NOT NULL)
                                 THEN 'done' WHEN ph.rn = p.cur THEN 'current' ELSE 'todo' END
                                 AS state,
                            ph.rn = p.cur AND p.outcome IS NOT NULL AS closed,
                            CASE WHEN ph.rn <= p.cur THEN %(now)s::timestamp
                                 - (p.days - 3 * ph.rn) * interval '1 day' END AS start) s
 CROSS JOIN LATERAL (SELECT CASE WHEN ph.rn <= p.cur THEN 1000 + 500 * floor(random() * 198)
                                 ELSE 0 END AS forecast,
                            CASE WHEN ph.rn <= p.cur THEN (ARRAY[0, 0, 0, 100, 250, 1000])
                                 [1 + floor(random() * 6)::int] ELSE 0 END AS recurring) v

-- name: partners
-- The partners' stored funnel fields, as the funnel would have left them.
UPDATE res_partner p
   SET account_type_id = coalesce(%(type)s, l.account_type_id), lead_phase_id = CASE
           WHEN %(state)s != 'won' THEN l.phase_id END, funnel_state = %(state)s,
       close_reason_id = l.close_reason_id, close_date = l.close_date,
       funnel_score = CASE %(state)s WHEN 'won' THEN 100 WHEN 'lost' THEN 0 ELSE l.score END,
       funnel_forecast_value = l.forecast_value,
       funnel_recurring_value = l.recurring_value_monthly,
       funnel_weighted_value = CASE %(state)s WHEN 'won' THEN l.forecast_value WHEN 'lost' THEN 0
                               ELSE l.forecast_value * l.score / 100.0 END,
       funnel_open_value = CASE WHEN %(state)s = 'open' THEN l.forecast_value ELSE 0 END,
       funnel_open_weighted_value = CASE WHEN %(state)s = 'open'
                                    THEN l.forecast_value * l.score / 100.0 ELSE 0 END,
       funnel_won_value = CASE WHEN %(state)s = 'won' THEN l.forecast_value ELSE 0 END,
       funnel_lost_value = CASE WHEN %(state)s = 'lost' THEN l.forecast_value ELSE 0 END,
       funnel_phase_date_start = CASE WHEN %(state)s != 'won' THEN l.date_start END,
       expected_close_date = CASE WHEN %(state)s = 'open'
                             THEN (l.date_start + interval '60 days')::date END
  FROM crm_plus_phase_line l
 WHERE l.partner_id = p.id AND p.id = ANY(%(ids)s) AND CASE WHEN %(state)s = 'open'
       THEN l.state = 'current' AND l.is_active_funnel ELSE l.close_outcome IS NOT NULL END

-- name: leads
INSERT INTO crm_lead (
    name, type, active, stage_id, user_id, team_id, company_id, expected_revenue, probability,
    automated_probability, prorated_revenue, priority, color, date_open,
    date_last_stage_update, date_closed, lost_reason_id, email_from, email_normalized,
    email_state, create_uid, write_uid, create_date, write_date)
SELECT 'Bench opportunity ' || lpad(i::text, 6, '0'), 'opportunity', NOT lost,
       CASE WHEN won THEN %(won)s ELSE (%(stages)s::int[])[k] END, %(uid)s,
       (%(teams)s::int[])[1 + i %% 2], (%(companies)s::int[])[1 + i %% 2], rev, prob, prob,
       round(rev * prob / 100.0, 2), '1', 0, opened, opened,
       CASE WHEN i >= %(n)s THEN %(now)s::timestamp - floor(1 + random() * 400) * '1 day'
       ::interval END, CASE WHEN lost THEN %(reason)s END, 'lead' || i || '@bench.example.com',
       'lead' || i || '@bench.example.com', 'correct', %(uid)s, %(uid)s, %(now)s, %(now)s
  FROM (SELECT *, CASE WHEN won THEN 100 WHEN lost THEN 0 ELSE 10 * k END AS prob
          FROM (SELECT i, k, i >= %(n)s AND r < 0.4 AS won, i >= %(n)s AND r >= 0.4 AS lost,
                       (1000 + 500 * floor(random() * 198))::int AS rev,
                       %(now)s::timestamp - floor(5 + random() * 296) * '1 day'::interval
                       AS opened
                  FROM (SELECT i, random() AS r, 1 + floor(random() * %(open)s)::int AS k
                          FROM generate_series(0, %(count)s - 1) i) g) x) y
 ORDER BY i

-- The plain SQL variants: the same lines and partner columns as the actions, no chatter.
-- name: assign
WITH ph AS (SELECT id, account_type_id, sequence, phase_type, default_score,
                   row_number() OVER (ORDER BY sequence, id) AS rn
              FROM crm_plus_lead_phase WHERE account_type_id = %(type)s AND active)
INSERT INTO crm_plus_phase_line (
    partner_id, phase_id, account_type_id, sequence, phase_type, company_id, is_active_funnel,
    state, score, date_start, recurring_interval, forecast_value, recurring_value,
    recurring_value_monthly, create_uid, create_date, write_uid, write_date)
SELECT p.id, ph.id, ph.account_type_id, ph.sequence, ph.phase_type, p.company_id, true,
       CASE WHEN ph.rn = 1 THEN 'current' ELSE 'todo' END, ph.default_score,
       CASE WHEN ph.rn = 1 THEN now() AT TIME ZONE 'UTC' END, 'month', 0, 0, 0,
       %(uid)s, now() AT TIME ZONE 'UTC', %(uid)s, now() AT TIME ZONE 'UTC'
  FROM res_partner p CROSS JOIN ph WHERE p.id = ANY(%(ids)s);
UPDATE res_partner p
   SET account_type_id = %(type)s, lead_phase_id = l.phase_id, funnel_state = 'open',
       close_reason_id = NULL, close_date = NULL, funnel_score = l.score,
       funnel_forecast_value = 0, funnel_recurring_value = 0, funnel_weighted_value = 0,
       funnel_open_value = 0, funnel_open_weighted_value = 0, funnel_won_value = 0,
       funnel_lost_value = 0, funnel_phase_date_start = l.date_start,
       write_uid = %(uid)s, write_date = now() AT TIME ZONE 'UTC'
  FROM crm_plus_phase_line l
 WHERE l.partner_id = p.id AND l.state = 'current' AND l.account_type_id = %(type)s
   AND p.id = ANY(%(ids)s)

-- name: advance
WITH done AS (
    UPDATE crm_plus_phase_line
       SET state = 'done', date_done = now() AT TIME ZONE 'UTC', done_by_id = %(uid)s,
           write_uid = %(uid)s, write_date = now() AT TIME ZONE 'UTC'
     WHERE partner_id = ANY(%(ids)s) AND state = 'current' AND is_active_funnel
 RETURNING partner_id, sequence, phase_id, forecast_value, recurring_value, recurring_interval
), nxt AS (
    SELECT DISTINCT ON (n.partner_id) n.id, d.forecast_value, d.recurring_value,
           d.recurring_interval
      FROM done d
      JOIN crm_plus_phase_line n ON n.partner_id = d.partner_id AND n.is_active_funnel
       AND (n.sequence, n.phase_id) > (d.sequence, d.phase_id)
      JOIN crm_plus_lead_phase ph ON ph.id = n.phase_id AND ph.active
     ORDER BY n.partner_id, n.sequence, n.phase_id
), cur AS (
    UPDATE crm_plus_phase_line l
       SET state = 'current', date_start = now() AT TIME ZONE 'UTC', date_done = NULL,
           done_by_id = NULL,
           forecast_value = CASE WHEN coalesce(l.forecast_value, 0) = 0
                                 THEN nxt.forecast_value ELSE l.forecast_value END,
           recurring_value = CASE WHEN coalesce(l.recurring_value, 0) = 0
                                  THEN nxt.recurring_value ELSE l.recurring_value END,
           recurring_interval = CASE WHEN coalesce(l.recurring_value, 0) = 0
                                      AND nxt.recurring_value > 0
                                     THEN nxt.recurring_interval ELSE l.recurring_interval END,
           recurring_value_monthly = CASE
               WHEN coalesce(l.recurring_value, 0) = 0 AND nxt.recurring_value > 0
               THEN nxt.recurring_value / CASE nxt.recurring_interval
                    WHEN 'quarter' THEN 3 WHEN 'year' THEN 12 ELSE 1 END
               ELSE l.recurring_value_monthly END,
           write_uid = %(uid)s, write_date = now() AT TIME ZONE 'UTC'
      FROM nxt WHERE l.id = nxt.id
 RETURNING l.partner_id, l.phase_id, l.score, l.forecast_value, l.recurring_value_monthly,
           l.date_start
)
UPDATE res_partner p
   SET lead_phase_id = cur.phase_id, funnel_score = cur.score,
       funnel_forecast_value = cur.forecast_value,
       funnel_recurring_value = cur.recurring_value_monthly,
       funnel_weighted_value = cur.forecast_value * cur.score / 100.0,
       funnel_open_value = cur.forecast_value,
       funnel_open_weighted_value = cur.forecast_value * cur.score / 100.0,
       funnel_phase_date_start = cur.date_start,
       write_uid = %(uid)s, write_date = now() AT TIME ZONE 'UTC'
  FROM cur WHERE p.id = cur.partner_id

-- name: close
WITH closed AS (
    UPDATE crm_plus_phase_line
       SET state = 'done', date_done = now() AT TIME ZONE 'UTC', done_by_id = %(uid)s,
           close_reason_id = %(reason)s, close_outcome = %(outcome)s,
           close_date = (now() AT TIME ZONE 'UTC')::date, closed_by_id = %(uid)s,
           write_uid = %(uid)s, write_date = now() AT TIME ZONE 'UTC'
     WHERE partner_id = ANY(%(ids)s) AND state = 'current' AND is_active_funnel
 RETURNING partner_id
)
UPDATE res_partner p
   SET funnel_state = %(outcome)s, close_reason_id = %(reason)s,
       close_date = (now() AT TIME ZONE 'UTC')::date,
       account_type_id = coalesce(%(switch)s, p.account_type_id),
       lead_phase_id = CASE WHEN %(switch)s IS NULL THEN p.lead_phase_id END,
       -- Won: 100 %% of the amount; lost: 0 %%, the amount kept (also when the type switches).
       funnel_score = CASE WHEN %(outcome)s = 'won' THEN 100 ELSE 0 END,
       funnel_weighted_value = CASE WHEN %(outcome)s = 'won'
                                    THEN p.funnel_forecast_value ELSE 0 END,
       funnel_open_value = 0, funnel_open_weighted_value = 0,
       funnel_won_value = CASE WHEN %(outcome)s = 'won' THEN p.funnel_forecast_value ELSE 0 END,
       funnel_lost_value = CASE WHEN %(outcome)s = 'lost' THEN p.funnel_forecast_value ELSE 0 END,
       funnel_phase_date_start = CASE WHEN %(switch)s IS NULL THEN p.funnel_phase_date_start END,
       write_uid = %(uid)s, write_date = now() AT TIME ZONE 'UTC'
  FROM closed WHERE p.id = closed.partner_id;
-- The won partners leave their funnel for the (phase-less) won type (bench.py runs this for them).
UPDATE crm_plus_phase_line SET is_active_funnel = false
 WHERE partner_id = ANY(%(ids)s) AND is_active_funnel

-- name: to_closing
-- Untimed set-up of the close's won half: into the closing phase of its type.
UPDATE crm_plus_phase_line
   SET state = CASE WHEN phase_type = 'closing' THEN 'current' ELSE 'done' END,
       date_start = coalesce(date_start, now() AT TIME ZONE 'UTC'),
       date_done = CASE WHEN phase_type = 'closing' THEN NULL
                        ELSE coalesce(date_done, now() AT TIME ZONE 'UTC') END
 WHERE partner_id = ANY(%(ids)s) AND is_active_funnel AND state IN ('current', 'todo');
UPDATE res_partner p SET lead_phase_id = l.phase_id FROM crm_plus_phase_line l
 WHERE l.partner_id = p.id AND l.state = 'current' AND l.is_active_funnel AND p.id = ANY(%(ids)s)

-- name: fingerprint
-- What an operation left, to check that the ORM and the SQL variants do the same.
SELECT count(*), count(*) FILTER (WHERE l.state = 'current'),
       count(*) FILTER (WHERE l.state = 'done'), count(*) FILTER (WHERE l.is_active_funnel),
       count(*) FILTER (WHERE l.close_outcome = 'won'),
       count(*) FILTER (WHERE l.close_outcome = 'lost'),
       sum(l.sequence) FILTER (WHERE l.state = 'current'),
       sum(l.forecast_value) FILTER (WHERE l.state = 'current'),
       (SELECT count(*) FROM res_partner p JOIN crm_plus_phase_line c
            ON c.partner_id = p.id AND c.phase_id = p.lead_phase_id
           AND (c.state = 'current' OR p.funnel_state != 'open')
         WHERE p.id = ANY(%(ids)s)),
       (SELECT string_agg(s || ':' || c, ',' ORDER BY s) FROM (
            SELECT coalesce(funnel_state, '-') s, count(*) c FROM res_partner
             WHERE id = ANY(%(ids)s) GROUP BY 1) x)
  FROM crm_plus_phase_line l WHERE l.partner_id = ANY(%(ids)s)
