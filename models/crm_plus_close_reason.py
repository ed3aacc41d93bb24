"""Close reasons: why a deal was closed, and whether that means won or lost."""

from odoo import api, fields, models

from .funnel_rules import OUTCOME_SELECTION


class CrmPlusCloseReason(models.Model):
    _name = "crm.plus.close.reason"
    _inherit = ["crm.plus.code.mixin"]
    _description = "Close Reason"
    # Won first, then lost (the outcome's values: "won" > "lost"), each by sequence.
    _order = "outcome desc, sequence, name, id"

    outcome = fields.Selection(OUTCOME_SELECTION, required=True, index=True)
    company_id = fields.Many2one(
        "res.company", index=True, help="Leave empty to share this reason between companies."
    )

    def init(self):
        self._init_code_index()

    @api.depends("name", "outcome")
    @api.depends_context("crm_plus_show_outcome", "lang")
    def _compute_display_name(self):
        # Where a reason is picked (the Close… dialog), its name alone does not say whether
        # the deal ends won or lost; elsewhere the outcome has a column of its own.
        if not self.env.context.get("crm_plus_show_outcome"):
            return super()._compute_display_name()
        outcomes = dict(self._fields["outcome"]._description_selection(self.env))
        for reason in self:
            if reason.outcome:
                reason.display_name = self.env._(
                    "%(reason)s (%(outcome)s)",
                    reason=reason.name or "",
                    outcome=outcomes[reason.outcome],
                )
            else:
                reason.display_name = reason.name
