"""CRM+ groups set up at install: their category, their first members and the actions only
they see (field names differ between 18.0 and 19.0, so data files cannot say it)."""

from odoo import api, models

from ..compat import setup_groups


class ResGroups(models.Model):
    _inherit = "res.groups"

    @api.model
    def _crm_plus_setup_groups(self):
        """Category, members and restricted actions of crm_plus's groups: field names differ
        between Odoo 18.0 and 19.0 (compat.setup_groups), so data cannot name them."""
        setup_groups(
            self.env,
            "crm_plus.module_category_crm_plus",
            [
                "crm_plus.group_crm_plus_user",
                "crm_plus.group_crm_plus_all",
                "crm_plus.group_crm_plus_manager",
            ],
            {"crm_plus.group_crm_plus_manager": ["base.user_root", "base.user_admin"]},
            {
                "crm_plus.crm_plus_account_type_wizard_action": ["crm_plus.group_crm_plus_user"],
                "crm_plus.crm_plus_close_wizard_action": ["crm_plus.group_crm_plus_user"],
            },
        )
