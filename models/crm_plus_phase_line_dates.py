"""A CRM+ manager's correction of a phase line's dates (when a phase started, when it was
completed): what it may change, and the note each contact's chatter keeps of it. The line's
``write`` (crm_plus_phase_line.py) hands such a write here."""

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import format_datetime

from .crm_plus_phase_line import CORRECTABLE_DATES, DATES_GROUP


class CrmPlusPhaseLine(models.Model):
    _inherit = "crm.plus.phase.line"

    can_correct_dates = fields.Boolean(
        compute="_compute_can_correct_dates",
        help="The user may correct the line's dates (CRM+ managers).",
    )

    @api.depends_context("uid")
    def _compute_can_correct_dates(self):
        self.can_correct_dates = self.env.user.has_group(DATES_GROUP)

    def _funnel_check_date_correction(self, dates):
        """A manager's correction of ``dates`` (date_start / date_done): started no later than
        completed, neither in the future, a completion only on a done line and a start only on
        a line that started. Returns the dates before, for the chatter."""
        if not self.env.su and not self.env.user.has_group(DATES_GROUP):
            raise AccessError(
                self.env._("Only CRM+ managers can correct the dates of a funnel line.")
            )
        dates = {fname: fields.Datetime.to_datetime(value) for fname, value in dates.items()}
        now = fields.Datetime.now()
        before = {}
        for line in self:
            start = dates.get("date_start", line.date_start)
            done = dates.get("date_done", line.date_done)
            where = self.env._(
                "%(partner)s, phase %(phase)s",
                partner=line.partner_id.sudo().display_name,
                phase=line.phase_id.sudo().name,
            )
            if line.state == "todo" and (start or done):
                raise ValidationError(
                    self.env._(
                        "%s is still to do: it has no start or completion date to correct.", where
                    )
                )
            if line.state == "current" and not start:
                raise ValidationError(
                    self.env._("%s is the current phase: it keeps a start date.", where)
                )
            if line.state == "current" and done:
                raise ValidationError(
                    self.env._(
                        "%s is not completed yet: only a done phase has a completion date.", where
                    )
                )
            if line.state == "done" and "date_done" in dates and not done:
                raise ValidationError(self.env._("%s is done: it keeps a completion date.", where))
            if (start and start > now) or (done and done > now):
                raise ValidationError(
                    self.env._("%s: a phase cannot start or be completed in the future.", where)
                )
            if start and done and start > done:
                raise ValidationError(
                    self.env._(
                        "%(where)s: the start (%(start)s) must not be after the completion "
                        "(%(done)s).",
                        where=where,
                        start=format_datetime(self.env, start),
                        done=format_datetime(self.env, done),
                    )
                )
            before[line.id] = {fname: line[fname] for fname in dates}
        return before

    def _funnel_log_date_correction(self, before):
        """One note per contact on its chatter: which dates of which phase changed, from what
        to what."""
        if self.env.context.get("tracking_disable"):
            return
        labels = {
            fname: self._fields[fname]._description_string(self.env) for fname in CORRECTABLE_DATES
        }
        bodies = {}
        for line in self:
            changes = [
                Markup("<li>%s</li>")
                % self.env._(
                    "%(phase)s, %(field)s: %(old)s → %(new)s",
                    phase=line.phase_id.sudo().name,
                    field=labels[fname],
                    old=format_datetime(self.env, old) if old else self.env._("none"),
                    new=format_datetime(self.env, line[fname])
                    if line[fname]
                    else self.env._("none"),
                )
                for fname, old in before[line.id].items()
                if old != line[fname]
            ]
            if changes:
                bodies.setdefault(line.partner_id.id, Markup(""))
                bodies[line.partner_id.id] += Markup("").join(changes)
        if bodies:
            self.env["res.partner"].browse(list(bodies)).sudo()._message_log_batch(
                {
                    partner_id: Markup("<p>%s</p><ul>%s</ul>")
                    % (self.env._("Funnel dates corrected:"), body)
                    for partner_id, body in bodies.items()
                },
                author_id=self.env.user.partner_id.id,
            )
