from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .funnel_guard import check_vals, is_funnel_op

MONTHS_PER_INTERVAL = {"month": 1, "quarter": 3, "year": 12}

# Fields only the funnel's own methods (res.partner actions) may write: they carry the
# invariants (one current line per open partner, states ordered along the phases).
FUNNEL_MANAGED_FIELDS = {
    "partner_id",
    "phase_id",
    "state",
    "date_start",
    "date_done",
    "done_by_id",
    "close_reason_id",
    "close_outcome",
    "close_date",
    "closed_by_id",
}


class CrmPlusPhaseLine(models.Model):
    _name = "crm.plus.phase.line"
    _description = "Funnel Phase Line"
    _order = "partner_id, sequence, phase_id"
    _rec_name = "phase_id"

    partner_id = fields.Many2one(
        "res.partner", required=True, ondelete="cascade", index=True, readonly=True
    )
    phase_id = fields.Many2one(
        "crm.plus.lead.phase", required=True, ondelete="restrict", index=True, readonly=True
    )
    account_type_id = fields.Many2one(
        related="phase_id.account_type_id", store=True, index=True, string="Account Type"
    )
    sequence = fields.Integer(related="phase_id.sequence", store=True)
    phase_type = fields.Selection(related="phase_id.phase_type", store=True)
    is_active_funnel = fields.Boolean(
        compute="_compute_is_active_funnel",
        store=True,
        help="The line belongs to the partner's current account type; the others are history.",
    )
    state = fields.Selection(
        [("todo", "To Do"), ("current", "Current"), ("done", "Done")],
        required=True,
        default="todo",
        readonly=True,
    )
    score = fields.Integer(default=10, help="Likelihood to win, from 1 to 100.")
    company_id = fields.Many2one(related="partner_id.company_id", store=True, index=True)
    currency_id = fields.Many2one("res.currency", compute="_compute_currency_id")
    forecast_value = fields.Monetary(currency_field="currency_id", string="Forecast")
    recurring_value = fields.Monetary(currency_field="currency_id", string="Recurring")
    recurring_interval = fields.Selection(
        [("month", "Monthly"), ("quarter", "Quarterly"), ("year", "Yearly")],
        default="month",
        required=True,
    )
    recurring_value_monthly = fields.Monetary(
        compute="_compute_recurring_value_monthly",
        store=True,
        currency_field="currency_id",
        string="Monthly Recurring",
    )
    weighted_value = fields.Monetary(
        compute="_compute_weighted_value",
        currency_field="currency_id",
        string="Weighted Forecast",
    )
    date_start = fields.Datetime(string="Started", readonly=True)
    date_done = fields.Datetime(string="Completed", readonly=True)
    done_by_id = fields.Many2one("res.users", string="Completed By", readonly=True)
    note = fields.Text()
    # A close is history: kept on the line where it happened, also after a reopen.
    close_reason_id = fields.Many2one("crm.plus.close.reason", readonly=True, index=True)
    close_outcome = fields.Selection(
        [("won", "Won"), ("lost", "Lost")], readonly=True, string="Outcome"
    )
    close_date = fields.Date(readonly=True)
    closed_by_id = fields.Many2one("res.users", string="Closed By", readonly=True)
    is_stale = fields.Boolean(compute="_compute_is_stale", string="Stale")

    _sql_constraints = [
        (
            "partner_phase_uniq",
            "UNIQUE (partner_id, phase_id)",
            "A partner has only one line per lead phase.",
        ),
        ("score_range", "CHECK (score BETWEEN 1 AND 100)", "The score must be between 1 and 100."),
        (
            "forecast_positive",
            "CHECK (forecast_value >= 0)",
            "The forecast value cannot be negative.",
        ),
        (
            "recurring_positive",
            "CHECK (recurring_value >= 0)",
            "The recurring value cannot be negative.",
        ),
    ]

    def init(self):
        # Few indexes on purpose: every funnel action rewrites many lines, and each index costs
        # on each write. The partner's lines come by partner_id; closes (the win/loss report)
        # by a partial index.
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS crm_plus_phase_line_partner_current_idx
               ON crm_plus_phase_line (partner_id) WHERE state = 'current'"""
        )
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS crm_plus_phase_line_close_date_idx
               ON crm_plus_phase_line (close_date) WHERE close_outcome IS NOT NULL"""
        )

    @api.depends("partner_id.account_type_id", "account_type_id")
    def _compute_is_active_funnel(self):
        for line in self:
            line.is_active_funnel = line.account_type_id == line.partner_id.account_type_id

    @api.depends("company_id")
    def _compute_currency_id(self):
        fallback = self.env.company.currency_id
        for line in self:
            line.currency_id = line.company_id.currency_id or fallback

    @api.depends("recurring_value", "recurring_interval")
    def _compute_recurring_value_monthly(self):
        for line in self:
            months = MONTHS_PER_INTERVAL.get(line.recurring_interval or "month", 1)
            line.recurring_value_monthly = (line.recurring_value or 0.0) / months

    @api.depends("forecast_value", "score")
    def _compute_weighted_value(self):
        for line in self:
            line.weighted_value = (line.forecast_value or 0.0) * (line.score or 0) / 100.0

    @api.depends("state", "date_start", "phase_id.stale_after_days")
    def _compute_is_stale(self):
        today = fields.Date.context_today(self)
        for line in self:
            days = line.phase_id.stale_after_days
            line.is_stale = bool(
                line.state == "current"
                and days
                and line.date_start
                and (today - fields.Date.context_today(self, line.date_start)).days > days
            )

    @api.constrains("score", "forecast_value", "recurring_value")
    def _check_values(self):
        for line in self:
            if not 1 <= line.score <= 100:
                raise ValidationError(
                    self.env._(
                        "The score of %(partner)s in %(phase)s must be between 1 and 100 "
                        "(got %(score)s).",
                        partner=line.partner_id.display_name,
                        phase=line.phase_id.name,
                        score=line.score,
                    )
                )
            if line.forecast_value < 0 or line.recurring_value < 0:
                raise ValidationError(
                    self.env._(
                        "Forecast and recurring values of %(partner)s in %(phase)s cannot be "
                        "negative.",
                        partner=line.partner_id.display_name,
                        phase=line.phase_id.name,
                    )
                )
            # Beyond what numeric(…) columns and sums over many lines can hold sensibly.
            if max(line.forecast_value, line.recurring_value) >= 1e15:
                raise ValidationError(
                    self.env._(
                        "Forecast and recurring values of %(partner)s must be below "
                        "1,000,000,000,000,000.",
                        partner=line.partner_id.display_name,
                    )
                )

    @api.model
    def _funnel_insert(self, vals_list):
        """Create funnel lines in one INSERT whatever their number (the ORM inserts by chunks
        of 100 and then recomputes the related columns in more UPDATEs). Each vals holds
        partner_id, phase_id, state, score and optionally date_done."""
        if not vals_list:
            return self.browse()
        self.env["res.partner"].flush_model(["company_id", "account_type_id"])
        self.env["crm.plus.lead.phase"].flush_model(["account_type_id", "sequence", "phase_type"])
        self.env.cr.execute(
            """
            INSERT INTO crm_plus_phase_line (
                partner_id, phase_id, account_type_id, sequence, phase_type, company_id,
                is_active_funnel, state, score, date_done, recurring_interval,
                forecast_value, recurring_value, recurring_value_monthly,
                create_uid, create_date, write_uid, write_date)
            SELECT v.partner_id, v.phase_id, ph.account_type_id, ph.sequence, ph.phase_type,
                   p.company_id, ph.account_type_id = p.account_type_id, v.state, v.score,
                   v.date_done, 'month', 0, 0, 0,
                   %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM unnest(%(partner_ids)s::int[], %(phase_ids)s::int[], %(states)s::varchar[],
                          %(scores)s::int[], %(dates_done)s::timestamp[])
                   AS v(partner_id, phase_id, state, score, date_done)
              JOIN crm_plus_lead_phase ph ON ph.id = v.phase_id
              JOIN res_partner p ON p.id = v.partner_id
            RETURNING id
            """,
            {
                "uid": self.env.uid,
                "now": fields.Datetime.now(),
                "partner_ids": [vals["partner_id"] for vals in vals_list],
                "phase_ids": [vals["phase_id"] for vals in vals_list],
                "states": [vals.get("state", "todo") for vals in vals_list],
                "scores": [vals["score"] for vals in vals_list],
                "dates_done": [vals.get("date_done") or None for vals in vals_list],
            },
        )
        lines = self.browse([row[0] for row in self.env.cr.fetchall()])
        # The partners' line lists changed behind the ORM's back.
        self.env["res.partner"].invalidate_model(
            ["phase_line_ids", "funnel_line_ids", "funnel_history_line_ids"]
        )
        return lines

    def _funnel_schedule_phase_activities(self):
        """Entering a phase that names an activity type schedules it once per partner and
        phase: not again on re-entry while the first one is still open."""
        lines = self.filtered("phase_id.activity_type_id")
        if not lines:
            return
        activity_model = self.env["mail.activity"].sudo()
        model_id = self.env["ir.model"]._get_id("res.partner")
        open_activities = activity_model.search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "in", lines.partner_id.ids),
                ("activity_type_id", "in", lines.phase_id.activity_type_id.ids),
            ]
        )
        already = {(a.res_id, a.activity_type_id.id) for a in open_activities}
        today = fields.Date.context_today(self)
        vals_list = []
        for line in lines:
            phase = line.phase_id
            key = (line.partner_id.id, phase.activity_type_id.id)
            if key in already:
                continue
            already.add(key)
            partner = line.partner_id
            vals_list.append(
                {
                    "res_model_id": model_id,
                    "res_id": partner.id,
                    "activity_type_id": phase.activity_type_id.id,
                    "summary": phase.activity_type_id.summary or phase.name,
                    "user_id": (partner.user_id or self.env.user).id,
                    "date_deadline": today + timedelta(days=phase.activity_delay_days or 0),
                }
            )
        if vals_list:
            activity_model.create(vals_list)

    def _check_funnel_managed(self, vals):
        if is_funnel_op(self.env):
            return
        managed = FUNNEL_MANAGED_FIELDS.intersection(vals)
        if managed:
            raise UserError(
                self.env._(
                    "Funnel lines are moved by the funnel itself: use Complete phase, Close or "
                    "Reopen on the contact, or set its lead phase (cannot write %s).",
                    ", ".join(sorted(managed)),
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        if not is_funnel_op(self.env):
            raise UserError(
                self.env._(
                    "Funnel lines are created by the funnel: give the contact an account type "
                    "with lead phases."
                )
            )
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, vals)
        self._check_funnel_managed(vals)
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_funnel(self):
        if not is_funnel_op(self.env):
            raise UserError(
                self.env._(
                    "Funnel lines are the contact's history and cannot be deleted; change the "
                    "contact's account type or archive the lead phase instead."
                )
            )
