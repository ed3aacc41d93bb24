"""Score calibration: how the scores given compare with the outcomes, from a table a daily
job refreshes."""

from odoo import api, fields, models, tools
from odoo.tools import SQL, format_datetime

from ..compat import domain_field_names
from ..models.funnel_rules import (
    OUTCOME_SELECTION,
    REACHED_BY_CLOSE_SQL,
    counted_closes_sql,
)
from .crm_plus_report_mixin import win_rate_field

REFRESHED_AT = "crm_plus.calibration_refreshed_at"


class CrmPlusCalibrationReport(models.Model):
    """Does a score predict the outcome? One row per closed contact, phase its funnel reached
    and predictor: the manual score its line of that phase holds, and the score suggested today
    for that phase. Grouped by band (0–10 … 90–100), a well calibrated score's band holds its
    win rate; the Brier score, the mean of (score / 100 − won)², is lower for the better
    predictor (0 is perfect, always saying 50 % gets 0.25).

    The closes are those the suggestion learns from: each contact's last close in an account
    type, unless reopened since (without the window: filter on the close date). The suggestion
    is measured on the history it was learned from, one rate per phase and company, so its
    Brier score is slightly optimistic; on a few dozen closes per phase the difference shows.

    The rows are a table the daily cron rebuilds (``_refresh``), not a view: computed live, the
    last close of every contact and the phases it reached take minutes on a million contacts,
    on every grouped read the pivot sends. The report says when it was computed.
    """

    _name = "crm.plus.calibration.report"
    _inherit = ["crm.plus.phase.group.mixin"]
    _description = "Score Calibration"
    _auto = False
    _rec_name = "partner_id"
    _order = "predictor, band"
    _phase_group_fields = {"phase_id": "shared_name"}

    predictor = fields.Selection(
        [("manual", "Manual score"), ("suggested", "Suggested score")], readonly=True
    )
    band = fields.Selection(
        [(str(low), f"{low}–{low + 10}") for low in range(0, 100, 10)],
        string="Score Band",
        readonly=True,
        help="Scores from the band's lower bound up to, not including, its upper bound; "
        "100 falls in 90–100.",
    )
    partner_id = fields.Many2one("res.partner", string="Partner", readonly=True)
    # Archived contacts count nowhere: every read leaves their rows out (Odoo's active test),
    # whenever the table was computed. The contact's own flag is copied here, kept by the
    # contact's archiving (_follow_archiving). Related to res.partner's, every read joined the
    # table's rows with every active contact: at a million contacts, a grouped read took 4.9 s
    # with that join and 1.6 s without.
    active = fields.Boolean(readonly=True)
    account_type_id = fields.Many2one(
        "crm.plus.account.type", string="Account Type", readonly=True
    )
    phase_id = fields.Many2one(
        "crm.plus.lead.phase", string="Phase Reached", readonly=True, help="The phase scored."
    )
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True)
    close_date = fields.Date(readonly=True)
    close_outcome = fields.Selection(OUTCOME_SELECTION, string="Outcome", readonly=True)
    score = fields.Integer(readonly=True, aggregator="avg", help="The predicted win chance.")
    # A row per predictor: summed, the pivot's Total across the predictors would count each
    # close twice. The row's phase line, counted distinct, counts it once in every cell.
    closed_count = fields.Integer(
        string="# Closed",
        readonly=True,
        aggregator="count_distinct",
        help="Closed contacts, counted once per phase their funnel reached.",
    )
    won_percent = win_rate_field()
    brier_score = fields.Float(
        readonly=True,
        aggregator="avg",
        digits=(16, 3),
        help="(score / 100 − outcome)², outcome 1 if won: averaged over a group, the lower the "
        "better the score predicted.",
    )

    def _query(self):
        # The closes the suggested score counts (funnel_rules.counted_closes_sql), and the
        # phases each reached.
        return SQL(
            """
            WITH last_close AS (%s), reached AS (
                SELECT r.id, r.partner_id, r.account_type_id, r.phase_id, c.company_id,
                       p.user_id, p.active, c.close_date, c.close_outcome, r.score AS manual,
                       NULLIF(s.suggested_score, 0) AS suggested,
                       CASE WHEN c.close_outcome = 'won' THEN 1 ELSE 0 END AS won
                  FROM last_close AS c
                  JOIN res_partner AS p ON p.id = c.partner_id
                  JOIN crm_plus_phase_line AS r ON %s
                  LEFT JOIN crm_plus_phase_stat AS s
                    ON s.phase_id = r.phase_id AND s.company_id IS NOT DISTINCT FROM c.company_id
            ), predictions AS (
                SELECT reached.*, 'manual' AS predictor, 0 AS id_offset, manual AS predicted,
                       1 AS counted_once, 1 AS counted_in_band
                  FROM reached
                 UNION ALL
                SELECT reached.*, 'suggested', 1, suggested, 0,
                       CASE WHEN LEAST(suggested, 99) / 10
                                 IS NOT DISTINCT FROM LEAST(manual, 99) / 10
                            THEN 0 ELSE 1 END
                  FROM reached
                 WHERE suggested IS NOT NULL
            )
            SELECT 2 * x.id + x.id_offset AS id,
                   x.predictor,
                   (LEAST(x.predicted, 99) / 10 * 10)::varchar AS band,
                   x.partner_id, x.active, x.account_type_id, x.phase_id, x.user_id,
                   x.company_id, x.close_date, x.close_outcome,
                   x.predicted AS score,
                   x.id AS closed_count,
                   100.0 * x.won AS won_percent,
                   POWER(x.predicted / 100.0 - x.won, 2) AS brier_score,
                   x.counted_once, x.counted_in_band
              FROM predictions AS x
            """,
            counted_closes_sql(),
            REACHED_BY_CLOSE_SQL,
        )

    def init(self):
        # The table replaces the view of earlier versions. No foreign keys, the partner's
        # included: dropping a table that references res_partner locks res_partner exclusively
        # (its referential triggers go), so each daily swap blocked every contact read and
        # write and deadlocked with them under make load (issue 33). A deleted contact's rows
        # leave with it in res.partner's unlink (CrmPlusCalibrationReport._forget_partners).
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE TABLE IF NOT EXISTS %s (
                    id integer PRIMARY KEY,
                    predictor varchar,
                    band varchar,
                    partner_id integer,
                    active boolean,
                    account_type_id integer,
                    phase_id integer,
                    user_id integer,
                    company_id integer,
                    close_date date,
                    close_outcome varchar,
                    score integer,
                    closed_count integer,
                    won_percent numeric,
                    brier_score numeric
                )
                """,
                SQL.identifier(self._table),
            )
        )
        # What ``# Closed`` sums instead of counting distinct closes (see _read_group), and the
        # contact's archiving (1.3.2; migrations/1.3.2 fills it in).
        self.env.cr.execute(
            SQL(
                """ALTER TABLE %s ADD COLUMN IF NOT EXISTS counted_once integer,
                                  ADD COLUMN IF NOT EXISTS counted_in_band integer,
                                  ADD COLUMN IF NOT EXISTS active boolean""",
                SQL.identifier(self._table),
            )
        )
        tools.create_index(
            self.env.cr,
            "crm_plus_calibration_report_partner_id_index",
            self._table,
            ["partner_id"],
        )

    @api.model
    def _refresh(self):
        """Recompute every row from the phase lines and the suggested scores of now.

        Into a new table that then takes the report's place: the pivots open meanwhile keep
        reading the previous rows until the swap, which waits only for the reads under way,
        and the report never carries yesterday's rows as dead ones (DELETE and INSERT in
        one transaction doubled the table every day, and its reads with it). The swap locks
        this table only: nothing references res_partner from it (see init)."""
        self.env.flush_all()
        cr = self.env.cr
        # One refresh at a time (the cron and a manual run): the second builds on the first's.
        cr.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [self._table])
        table = SQL.identifier(self._table)
        new = SQL.identifier(f"{self._table}_new")
        columns = SQL(
            "id, predictor, band, partner_id, active, account_type_id, phase_id, user_id, "
            "company_id, close_date, close_outcome, score, closed_count, won_percent, "
            "brier_score, counted_once, counted_in_band"
        )
        cr.execute(SQL("DROP TABLE IF EXISTS %s", new))
        cr.execute(SQL("CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS)", new, table))
        cr.execute(
            SQL(
                "INSERT INTO %s (%s) SELECT %s FROM (%s) AS q",
                new,
                columns,
                columns,
                self._query(),
            )
        )
        cr.execute(SQL("ALTER TABLE %s ADD PRIMARY KEY (id)", new))
        cr.execute(SQL("CREATE INDEX ON %s (partner_id)", new))
        cr.execute(SQL("DROP TABLE %s", table))
        cr.execute(SQL("ALTER TABLE %s RENAME TO %s", new, table))
        # The names init() and a database's earlier versions gave them.
        cr.execute(
            SQL(
                "ALTER INDEX %s RENAME TO %s",
                SQL.identifier(f"{self._table}_new_pkey"),
                SQL.identifier(f"{self._table}_pkey"),
            )
        )
        cr.execute(
            SQL(
                "ALTER INDEX %s RENAME TO %s",
                SQL.identifier(f"{self._table}_new_partner_id_idx"),
                SQL.identifier("crm_plus_calibration_report_partner_id_index"),
            )
        )
        cr.execute(SQL("ANALYZE %s", table))
        self.env["ir.config_parameter"].sudo().set_param(
            REFRESHED_AT, fields.Datetime.to_string(fields.Datetime.now())
        )
        self.invalidate_model()
        return True

    # Columns on which a close's two rows (one per predictor) differ: filtered or grouped on
    # them, ``# Closed`` counts distinct closes the slow way.
    _TWIN_FIELDS = frozenset({"id", "band", "score", "brier_score", "predictor", "closed_count"})

    @api.model
    def _read_group(self, domain, groupby=(), aggregates=(), *args, **kwargs):
        """``# Closed`` counts each close once across its two rows (one per predictor): as
        COUNT(DISTINCT), every group of the pivot sorts its rows, most of a read at a million
        contacts. Every close has its manual row, so the count is a sum instead: rows when
        grouped by predictor (one per close in each group), manual rows when no group splits a
        close's two rows, and, grouped by band, the manual rows plus the suggested rows whose
        band is not their manual row's."""
        if "closed_count:count_distinct" in aggregates:
            grouped = {spec.split(":")[0].split(".")[0] for spec in groupby}
            if self._TWIN_FIELDS & domain_field_names(domain):
                mode = None
            elif "predictor" in grouped:
                mode = "rows"
            elif self._TWIN_FIELDS & grouped - {"band"}:
                mode = None
            elif "band" in grouped:
                mode = "counted_in_band"
            else:
                mode = "counted_once"
            return super(
                CrmPlusCalibrationReport, self.with_context(crm_plus_closed_count=mode)
            )._read_group(domain, groupby, aggregates, *args, **kwargs)
        return super()._read_group(domain, groupby, aggregates, *args, **kwargs)

    def _read_group_select(self, aggregate_spec, query):
        mode = self.env.context.get("crm_plus_closed_count")
        if aggregate_spec == "closed_count:count_distinct" and mode:
            if mode == "rows":
                return SQL("COUNT(*)")
            return SQL("SUM(%s)", SQL.identifier(self._table, mode))
        return super()._read_group_select(aggregate_spec, query)

    @api.model
    def _forget_partners(self, partner_ids):
        """Deleted contacts leave the report now, not at the next refresh (what a foreign key's
        ON DELETE CASCADE did; see init). Raw SQL: the report is a table the ORM does not
        write."""
        if partner_ids:
            self.env.cr.execute(
                SQL(
                    "DELETE FROM %s WHERE partner_id = ANY(%s)",
                    SQL.identifier(self._table),
                    list(partner_ids),
                )
            )

    @api.model
    def _follow_archiving(self, partner_ids, active):
        """The contacts' archiving (or restoring) reaches their rows now, not at the next
        refresh. Raw SQL: the report is a table the ORM does not write. A contact archived
        while the daily refresh runs may keep the flag the refresh read until the next one:
        the refresh rebuilds the table from what its transaction sees."""
        if partner_ids:
            self.env.cr.execute(
                SQL(
                    "UPDATE %s SET active = %s"
                    " WHERE partner_id = ANY(%s) AND active IS DISTINCT FROM %s",
                    SQL.identifier(self._table),
                    bool(active),
                    list(partner_ids),
                    bool(active),
                )
            )
            self.invalidate_model(["active"])

    @api.model
    def _cron_refresh(self):
        return self._refresh()

    @api.readonly
    @api.model
    def action_open_report(self):
        """The report's window action, its title saying when its rows were computed."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_plus.crm_plus_calibration_report_action"
        )
        refreshed = self.env["ir.config_parameter"].sudo().get_param(REFRESHED_AT)
        if refreshed:
            action["name"] = self.env._(
                "Score Calibration (as of %(date)s)",
                date=format_datetime(self.env, fields.Datetime.from_string(refreshed)),
            )
        else:
            action["name"] = self.env._("Score Calibration (not computed yet)")
        # The web client titles the view with the display name first.
        action["display_name"] = action["name"]
        return action
