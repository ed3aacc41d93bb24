"""Set Account Type on many contacts: at once, or in the background for a large selection."""

from odoo import api, fields, models

from ..models.funnel_rules import CLOSED_STATES
from .crm_plus_partner_selection_mixin import notification


class CrmPlusAccountTypeWizard(models.TransientModel):
    _name = "crm.plus.account.type.wizard"
    _inherit = ["crm.plus.partner.selection.mixin"]
    _description = "Set Account Type on Contacts"

    account_type_id = fields.Many2one(
        "crm.plus.account.type", string="Account Type", required=True
    )
    # Selected contacts whose deal is closed (won or lost) that the chosen type puts in its
    # funnel again, open: the dialog warns before Apply.
    reopened_count = fields.Integer(compute="_compute_reopened_count")
    reopened_warning = fields.Char(compute="_compute_reopened_count")

    @api.depends("partner_ids", "account_type_id")
    def _compute_reopened_count(self):
        """What _sync does to a closed contact that gets a type with phases: open in that
        type's funnel (a new one, or the one it left open there), unless its deal was closed in
        that very type (then it stays closed there)."""
        for wizard in self:
            account_type = wizard.account_type_id
            wizard.reopened_count = wizard.reopened_warning = False
            if not (account_type.has_phases and wizard.partner_ids):
                continue
            wizard.reopened_count = self.env["res.partner"].search_count(
                [
                    ("id", "in", wizard.partner_ids.ids),
                    ("funnel_state", "in", CLOSED_STATES),
                    ("account_type_id", "!=", account_type.id),
                    (
                        "phase_line_ids",
                        "not any",
                        [
                            ("account_type_id", "=", account_type.id),
                            ("close_outcome", "!=", False),
                        ],
                    ),
                ]
            )
            if wizard.reopened_count:
                wizard.reopened_warning = self.env._(
                    "%(count)s of the selected contacts are closed (won or lost): %(type)s puts "
                    "them in its funnel again, open (a new deal, or the one they left open in "
                    "%(type)s). Their closed deals stay in their history.",
                    count=wizard.reopened_count,
                    type=account_type.display_name,
                )

    def action_apply(self):
        self.ensure_one()
        partners = self.partner_ids
        Job = self.env["crm.plus.funnel.job"]
        if len(partners) > Job._funnel_threshold():
            # Refused now, with nothing queued, what the job's batches would refuse.
            account_type = partners._funnel_assign_account_type_check(self.account_type_id)
            job = Job._funnel_queue("account_type", partners, account_type_id=account_type.id)
            return job._funnel_started_action()
        changed = partners._funnel_assign_account_type(self.account_type_id)
        return notification(
            self.env,
            self.env._("Account type set"),
            self.env._(
                "%(type)s set on %(changed)s of the %(total)s selected contacts (the others "
                "had it already).",
                type=self.account_type_id.display_name,
                changed=len(changed),
                total=len(partners),
            )
            if len(changed) < len(partners)
            else self.env._(
                "%(type)s set on the %(total)s selected contacts.",
                type=self.account_type_id.display_name,
                total=len(partners),
            ),
        )
