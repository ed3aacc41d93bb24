"""Set Account Type on many contacts: at once, or in the background for a large selection."""

from odoo import api, fields, models

from .active_partners import with_active_partners


class CrmPlusAccountTypeWizard(models.TransientModel):
    _name = "crm.plus.account.type.wizard"
    _description = "Set Account Type on Contacts"

    partner_ids = fields.Many2many("res.partner", string="Contacts", required=True)
    partner_count = fields.Integer(compute="_compute_partner_count")
    account_type_id = fields.Many2one(
        "crm.plus.account.type", string="Account Type", required=True
    )

    @api.model
    def default_get(self, fields_list):
        return with_active_partners(self, super().default_get(fields_list))

    @api.depends("partner_ids")
    def _compute_partner_count(self):
        for wizard in self:
            wizard.partner_count = len(wizard.partner_ids)

    def action_apply(self):
        self.ensure_one()
        partners = self.partner_ids
        Job = self.env["crm.plus.funnel.job"]
        if len(partners) > Job._funnel_threshold():
            # Refused now, with nothing queued, what the job's batches would refuse.
            account_type = partners._funnel_assign_account_type_check(self.account_type_id)
            job = Job._funnel_queue("account_type", partners, account_type_id=account_type.id)
            return job._funnel_started_action()
        partners._funnel_assign_account_type(self.account_type_id)
        return {"type": "ir.actions.act_window_close"}
