"""The funnel's phase lines, its one source of truth: their fields, their checks, their
creation and the currency of their amounts (a manager's date corrections:
crm_plus_phase_line_dates.py). Only the state machine (crm_plus_funnel.py) moves them; the
rules they follow (last close, weighted forecast…) are in funnel_rules.py."""

from contextlib import nullcontext
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.sql import create_index

from ..compat import sql_constraints
from .funnel_guard import checked_client_values, is_funnel_op, values_checked_by_the_orm
from .funnel_rules import (
    ANALYSIS_LINE_FIELDS,
    LAST_CLOSE_SQL_ORDER,
    LINE_STATE_SELECTION,
    OUTCOME_SELECTION,
    RECURRING_INTERVAL_SELECTION,
    in_active_funnel,
    monthly,
    valid_score,
    weighted,
    write_grouped,
)

# A line's fields whose write moves the funnel analysis's totals ("note" does not): those it
# reads, and those its monthly recurring value is computed from.
LINE_TOTALS_WRITES = frozenset({*ANALYSIS_LINE_FIELDS, "recurring_value", "recurring_interval"})

# Who may correct the dates of a line (crm_plus_phase_line_dates.py): a wrong date is a matter
# of record, not of selling.
DATES_GROUP = "crm_plus.group_crm_plus_manager"
CORRECTABLE_DATES = ("date_start", "date_done")

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


# Stored computed fields _funnel_create gives in the create values.
CREATE_GIVEN_COMPUTED = (
    "account_type_id",
    "sequence",
    "phase_type",
    "company_id",
    "is_active_funnel",
    "recurring_value_monthly",
)


def main_company_currency(env):
    companies = env["res.company"].sudo().with_context(active_test=False)
    main = env.ref("base.main_company", raise_if_not_found=False) or companies.search(
        [], order="id", limit=1
    )
    return main.sudo().currency_id


def set_funnel_currency(records, fname="currency_id"):
    """The currency of the funnel's amounts on ``records`` (lines, contacts): their company's,
    else the main company's (``funnel_rules.currency_sql`` in SQL)."""
    fallback = None
    for record in records:
        currency = record.company_id.currency_id
        if not currency:
            fallback = fallback if fallback is not None else main_company_currency(records.env)
            currency = fallback
        record[fname] = currency


@sql_constraints
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
        LINE_STATE_SELECTION,
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
        RECURRING_INTERVAL_SELECTION,
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
    # The close of the phase the partner was closed in, until a reopen (the chatter keeps it).
    close_reason_id = fields.Many2one("crm.plus.close.reason", readonly=True, index=True)
    close_outcome = fields.Selection(OUTCOME_SELECTION, readonly=True, string="Outcome")
    close_date = fields.Date(readonly=True)
    closed_by_id = fields.Many2one("res.users", string="Closed By", readonly=True)
    is_stale = fields.Boolean(compute="_compute_is_stale", string="Stale")
    suggested_score = fields.Integer(
        string="Suggested",
        compute="_compute_suggested_score",
        help="Win rate of the closed contacts of the same company and account type whose "
        "funnel reached this phase, (won + 1) / (closed + 2) in %; empty below 10 of them.",
    )
    suggested_sample = fields.Integer(
        string="Closed Sample",
        compute="_compute_suggested_score",
        help="How many closed contacts the suggested score is learned from.",
    )
    _sql_constraints = [
        (
            "partner_phase_uniq",
            "UNIQUE (partner_id, phase_id)",
            "A partner has only one line per lead phase.",
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
        # Each contact's last close per account type, in the order the suggested scores, the
        # calibration report and the reopen take it: DISTINCT ON reads it in order, unsorted.
        create_index(
            self.env.cr,
            "crm_plus_phase_line_last_close_idx",
            self._table,
            ["partner_id", "account_type_id", *LAST_CLOSE_SQL_ORDER.split(", ")],
            where="close_outcome IS NOT NULL",
        )

    @api.depends("partner_id.account_type_id", "account_type_id")
    def _compute_is_active_funnel(self):
        for line in self:
            line.is_active_funnel = in_active_funnel(
                line.account_type_id, line.partner_id.account_type_id
            )

    @api.depends("company_id")
    def _compute_currency_id(self):
        set_funnel_currency(self)

    @api.depends("recurring_value", "recurring_interval")
    def _compute_recurring_value_monthly(self):
        for line in self:
            line.recurring_value_monthly = monthly(line.recurring_value, line.recurring_interval)

    @api.depends("forecast_value", "score")
    def _compute_weighted_value(self):
        for line in self:
            line.weighted_value = weighted(line.forecast_value, line.score)

    @api.depends("state", "is_active_funnel", "partner_id.funnel_is_stale")
    @api.depends_context("tz")
    def _compute_is_stale(self):
        # The partner's rule: its current line is the stale one.
        for line in self:
            line.is_stale = (
                line.state == "current"
                and line.is_active_funnel
                and line.partner_id.sudo().funnel_is_stale
            )

    @api.depends("company_id", "phase_id", "state", "is_active_funnel")
    def _compute_suggested_score(self):
        # Open phases only: a done line's phase is behind the contact.
        keys = {
            line.id: (line.company_id.id or None, line.phase_id.id)
            for line in self
            if line.is_active_funnel and line.state != "done"
        }
        suggestions = self.env["crm.plus.phase.stat"]._suggestions(set(keys.values()))
        for line in self:
            row = suggestions.get(keys.get(line.id))
            line.suggested_score = row["suggested_score"] if row else False
            line.suggested_sample = row["reached_closed"] if row else False

    def action_use_suggested_score(self):
        """The score becomes the suggestion, for every line that has one."""
        missing = self.filtered(lambda line: not line.suggested_score)
        if missing:
            raise UserError(
                self.env._(
                    "No suggested score for %(partner)s in %(phase)s: fewer than 10 closed "
                    "contacts reached this phase.",
                    partner=missing[0].partner_id.display_name,
                    phase=missing[0].phase_id.name,
                )
            )
        write_grouped(self, {line.id: {"score": line.suggested_score} for line in self})
        return True

    def _guard_labels(self):
        """How a refused value names the lines (funnel_guard): their contact and phase."""
        return [f"{line.partner_id.display_name} ({line.phase_id.name})" for line in self.sudo()]

    @api.constrains("score", "forecast_value", "recurring_value")
    def _check_values(self):
        def names(line):  # read only to refuse
            return {"partner": line.partner_id.display_name, "phase": line.phase_id.name}

        for line in self:
            if not valid_score(line.score):
                error = self.env._(
                    "The score of %(partner)s in %(phase)s must be between 1 and 100 "
                    "(got %(score)s).",
                    **names(line),
                    score=line.score,
                )
            elif line.forecast_value < 0 or line.recurring_value < 0:
                error = self.env._(
                    "Forecast and recurring values of %(partner)s in %(phase)s cannot be "
                    "negative.",
                    **names(line),
                )
            # Beyond what numeric(…) columns and sums over many lines can hold sensibly.
            elif max(line.forecast_value, line.recurring_value) >= 1e15:
                error = self.env._(
                    "Forecast and recurring values of %(partner)s must be below "
                    "1,000,000,000,000,000.",
                    partner=line.partner_id.display_name,
                )
            else:
                continue
            raise ValidationError(error)

    @api.model
    def _funnel_create(self, partner_phases):
        """The one place lines are created. ``partner_phases``: [(partner id, phase record,
        state[, values])]; a line starts with its phase's default score (or, with "Score from
        history", the phase's suggested score when there is one), and a line created done (a
        phase added before the partner's current one) is done now. ``values``: a line that
        starts with its history (an import), its dates and close."""
        now = fields.Datetime.now()
        partners = (
            self.env["res.partner"].sudo().browse({request[0] for request in partner_phases})
        )
        partner_types = {partner.id: partner.account_type_id.id for partner in partners}
        partner_companies = {partner.id: partner.company_id.id or None for partner in partners}
        # A batch has a handful of phases and thousands of lines: each phase is read once.
        phases = self.env["crm.plus.lead.phase"].browse(
            {request[1].id for request in partner_phases}
        )
        phase_rows = {
            phase.id: (
                phase.default_score,
                phase.account_type_id.id,
                phase.sequence,
                phase.phase_type,
            )
            for phase in phases
        }
        suggestions = {}
        if partner_phases and self._score_from_history():
            suggestions = self.env["crm.plus.phase.stat"]._suggestions(
                {(partner_companies[pid], phase.id) for pid, phase, *_rest in partner_phases}
            )

        vals_list = []
        for partner_id, phase, state, *values in partner_phases:
            default_score, type_id, sequence, phase_type = phase_rows[phase.id]
            suggestion = suggestions.get((partner_companies[partner_id], phase.id))
            vals = {
                "partner_id": partner_id,
                "phase_id": phase.id,
                "state": state,
                "score": suggestion["suggested_score"] if suggestion else default_score,
                "date_done": now if state == "done" else False,
                **(values[0] if values else {}),
            }
            # The stored fields computed from the phase and the partner, known already:
            # inserted with the line instead of recomputed and rewritten after the insert
            # (a second write of every new line, 50,000 of them at an import of 10,000 contacts).
            # is_active_funnel also spares the ORM a fetch partner by partner when it files
            # the new lines into each partner's Funnel / History lists.
            vals.update(
                account_type_id=type_id,
                sequence=sequence,
                phase_type=phase_type,
                company_id=partner_companies[partner_id] or False,
                is_active_funnel=in_active_funnel(type_id, partner_types[partner_id]),
                recurring_value_monthly=monthly(
                    vals.get("recurring_value"), vals.get("recurring_interval")
                ),
            )
            vals_list.append(vals)
        lines = self.create(vals_list)
        # create() marks every stored computed field of new records for recomputation, also
        # those given (only editable ones are spared): they hold the computed values already.
        for fname in CREATE_GIVEN_COMPUTED:
            self.env.remove_to_compute(self._fields[fname], lines)
        return lines.with_env(self.env)

    @api.model
    def _score_from_history(self):
        return (
            self.env["ir.config_parameter"].sudo().get_param("crm_plus.score_from_history")
            == "True"
        )

    @api.model
    def _funnel_create_missing(self, partners):
        """A todo line for each active phase of each partner's account type that has none."""
        if not partners:
            return self.browse()
        # Not flush_all(): the contacts' fields computed from the lines would be computed
        # halfway, between their new type and its lines, and Automation Rules would see that.
        self.flush_model(["partner_id", "phase_id"])
        self.env["crm.plus.lead.phase"].flush_model(["account_type_id", "active"])
        partners.flush_recordset(["account_type_id"])
        self.env.cr.execute(
            SQL(
                """
                SELECT p.id, ph.id
                  FROM res_partner AS p
                  JOIN crm_plus_lead_phase AS ph
                    ON ph.account_type_id = p.account_type_id AND ph.active
                 WHERE p.id = ANY(%s)
                   AND NOT EXISTS (SELECT 1 FROM crm_plus_phase_line AS l
                                    WHERE l.partner_id = p.id AND l.phase_id = ph.id)
                 ORDER BY p.id, ph.sequence, ph.id
                """,
                partners.ids,
            )
        )
        rows = self.env.cr.fetchall()
        phases = self.env["crm.plus.lead.phase"].sudo().browse({row[1] for row in rows})
        phase_by_id = {phase.id: phase for phase in phases}
        return self._funnel_create(
            [(partner_id, phase_by_id[phase_id], "todo") for partner_id, phase_id in rows]
        )

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
        totals = self.env["crm.plus.funnel.total"]
        with totals._follow_contacts([vals.get("partner_id") for vals in vals_list]):
            return super().create(vals_list)

    def write(self, vals):
        # The funnel analysis's totals move by the lines' contacts' change (the state
        # machine's _apply follows them already: nothing more then).
        follow_totals = nullcontext()
        if LINE_TOTALS_WRITES.intersection(vals):
            partner_ids = self.sudo().partner_id.ids
            if isinstance(vals.get("partner_id"), int):
                partner_ids.append(vals["partner_id"])
            follow_totals = self.env["crm.plus.funnel.total"]._follow_contacts(partner_ids)
        with follow_totals, values_checked_by_the_orm():
            vals = checked_client_values(self, vals, True)
            dates = (
                {}
                if is_funnel_op(self.env)
                else {fname: vals[fname] for fname in CORRECTABLE_DATES if fname in vals}
            )
            if not dates:
                self._check_funnel_managed(vals)
                return super().write(vals)
            self._check_funnel_managed({k: v for k, v in vals.items() if k not in dates})
            before = self._funnel_check_date_correction(dates)
            result = super().write(vals)
            self._funnel_log_date_correction(before)
            return result

    def unlink(self):
        # A deleted line may hold a close or a phase a close reached: the statistics move by
        # its contacts' change (crm.plus.phase.stat._follow_contacts), as for a close.
        stats = self.env["crm.plus.phase.stat"]
        partner_ids = self.sudo().partner_id.ids
        with (
            self.env["crm.plus.funnel.total"]._follow_contacts(partner_ids),
            stats._follow_contacts(stats._with_closes(partner_ids)),
        ):
            return super().unlink()

    @api.ondelete(at_uninstall=False)
    def _unlink_except_funnel(self):
        if not is_funnel_op(self.env):
            raise UserError(
                self.env._(
                    "Funnel lines are the contact's history and cannot be deleted; change the "
                    "contact's account type or archive the lead phase instead."
                )
            )
