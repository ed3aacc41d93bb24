from odoo import api, models

from .funnel_guard import batch_default_get


class MailMessage(models.Model):
    _inherit = "mail.message"

    @api.model
    def default_get(self, fields_list):
        # The funnel logs one message per contact in one create: defaults asked once.
        return batch_default_get(self, fields_list, super().default_get)
