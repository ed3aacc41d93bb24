from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    crm_plus_default_account_type_id = fields.Many2one(
        "crm.plus.account.type",
        string="Default Account Type",
        help="Suggested for new contacts created from the web client.",
    )
    crm_plus_won_switches_type = fields.Boolean(
        string="Won Close Switches Account Type",
        help="A partner closed as won switches to its type's 'Type When Won' (e.g. Customer).",
    )

    @api.model
    def get_values(self):
        res = super().get_values()
        res.update(
            crm_plus_default_account_type_id=self.env["crm.plus.account.type"]
            .search([("is_default", "=", True)], limit=1)
            .id,
            crm_plus_won_switches_type=self.env["res.partner"]._funnel_won_switches_type(),
        )
        return res

    def set_values(self):
        super().set_values()
        if not self.env.user.has_group("crm_plus.group_crm_plus_manager"):
            return
        types = self.env["crm.plus.account.type"]
        new_default = self.crm_plus_default_account_type_id
        old_default = types.search([("is_default", "=", True)])
        if old_default != new_default:
            (old_default - new_default).write({"is_default": False})
            new_default.write({"is_default": True})
        # Stored as text: a False boolean parameter would be deleted and read back as default.
        self.env["ir.config_parameter"].sudo().set_param(
            "crm_plus.won_switches_type", str(bool(self.crm_plus_won_switches_type))
        )
