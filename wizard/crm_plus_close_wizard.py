"""The Close dialog: a reason (won or lost) and a note, for one contact or a selection."""

from odoo import api, fields, models
from odoo.tools import split_every

from .crm_plus_partner_selection_mixin import notification

# Contacts whose close is checked at a time before a background close is queued.
CHECK_SLICE = 10000


class CrmPlusCloseWizard(models.TransientModel):
    _name = "crm.plus.close.wizard"
    _inherit = ["crm.plus.partner.selection.mixin"]
    _description = "Close a Funnel"

    count_label = fields.Char(compute="_compute_count_label")
    in_closing_phase = fields.Boolean(compute="_compute_in_closing_phase")
    close_reason_id = fields.Many2one(
        "crm.plus.close.reason",
        string="Close Reason",
        required=True,
        domain="[('outcome', 'in', ['won', 'lost'] if in_closing_phase else ['lost'])]",
    )
    outcome = fields.Selection(related="close_reason_id.outcome")
    note = fields.Text()

    @api.depends("partner_count")
    def _compute_count_label(self):
        for wizard in self:
            wizard.count_label = self.env._(
                "Closes the %s selected contacts with the reason chosen here.",
                wizard.partner_count,
            )

    @api.depends("partner_ids")
    def _compute_in_closing_phase(self):
        for wizard in self:
            wizard.in_closing_phase = bool(wizard.partner_ids) and all(
                partner.lead_phase_id.phase_type == "closing" for partner in wizard.partner_ids
            )

    def action_confirm(self):
        self.ensure_one()
        partners = self.partner_ids
        note = self.note or None
        Job = self.env["crm.plus.funnel.job"]
        if len(partners) > Job._funnel_threshold():
            # Refused now, with nothing queued, what the job's batches would refuse; by slices,
            # as a job would (each loads its contacts' lines).
            for ids in split_every(CHECK_SLICE, partners.ids):
                self.env["crm.plus.funnel"]._close_plan(
                    partners.browse(ids), self.close_reason_id.id, note=note
                )
            job = Job._funnel_queue(
                "close", partners, close_reason_id=self.close_reason_id.id, note=note
            )
            return job._funnel_started_action()
        partners.action_close(self.close_reason_id.id, note=note)
        if len(partners) == 1:
            # The contact's form shows it: the ribbon, the reason.
            return {"type": "ir.actions.act_window_close"}
        outcome = dict(self._fields["outcome"]._description_selection(self.env))[
            self.close_reason_id.outcome
        ]
        return notification(
            self.env,
            self.env._("Deals closed"),
            self.env._(
                "%(count)s contacts closed as %(outcome)s (%(reason)s).",
                count=len(partners),
                outcome=outcome,
                reason=self.close_reason_id.name,
            ),
        )
