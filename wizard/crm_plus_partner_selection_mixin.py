"""The contacts a bulk wizard acts on: the ones selected where it was opened, and what it says
once done."""

from odoo import api, fields, models


def notification(env, title, message):
    """What a bulk wizard returns once done: a notice of what it did, and the dialog closes
    (the list behind it reloads)."""
    return {
        "type": "ir.actions.client",
        "tag": "display_notification",
        "params": {
            "type": "success",
            "title": title,
            "message": message,
            "next": {"type": "ir.actions.act_window_close"},
        },
    }


class CrmPlusPartnerSelectionMixin(models.AbstractModel):
    _name = "crm.plus.partner.selection.mixin"
    _description = "CRM+ Wizard on Selected Contacts"

    partner_ids = fields.Many2many("res.partner", string="Contacts", required=True)
    partner_count = fields.Integer(compute="_compute_partner_count")

    @api.model
    def default_get(self, fields_list):
        """The contacts of the list the wizard is opened from as partner_ids (over a context
        default: the selection is what the user acts on)."""
        defaults = super().default_get(fields_list)
        if self.env.context.get("active_model") == "res.partner":
            defaults["partner_ids"] = [fields.Command.set(self.env.context.get("active_ids", []))]
        return defaults

    @api.depends("partner_ids")
    def _compute_partner_count(self):
        for wizard in self:
            wizard.partner_count = len(wizard.partner_ids)
