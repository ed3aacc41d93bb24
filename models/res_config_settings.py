"""CRM+ settings: default account type, type when won, score from history, history window."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError


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

    crm_plus_score_from_history = fields.Boolean(
        string="Score from History",
        config_parameter="crm_plus.score_from_history",
        help="New funnel lines start from the phase's suggested score, learned from closed "
        "contacts, whenever there is one; else from the phase's default score.",
    )
    crm_plus_suggestion_window_days = fields.Integer(
        string="History Window (days)",
        default=730,
        config_parameter="crm_plus.suggestion_window_days",
        help="The suggested score counts each contact's last close within this many days.",
    )

    @api.constrains("crm_plus_suggestion_window_days")
    def _check_suggestion_window_days(self):
        for settings in self:
            if settings.crm_plus_suggestion_window_days < 1:
                raise ValidationError(
                    self.env._("The history window of the suggested score is at least one day.")
                )

    @api.model
    def get_values(self):
        res = super().get_values()
        res.update(
            crm_plus_default_account_type_id=self.env["crm.plus.account.type"]
            .search([("is_default", "=", True)], limit=1)
            .id,
            crm_plus_won_switches_type=self.env["crm.plus.funnel"]._won_switches_type(),
        )
        return res

    def set_values(self):
        stats = self.env["crm.plus.phase.stat"]
        window_before = stats._window_days()
        super().set_values()
        if stats._window_days() != window_before:
            stats._refresh()
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
