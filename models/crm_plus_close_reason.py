from odoo import fields, models


class CrmPlusCloseReason(models.Model):
    _name = "crm.plus.close.reason"
    _inherit = ["crm.plus.code.mixin"]
    _description = "Close Reason"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    outcome = fields.Selection([("won", "Won"), ("lost", "Lost")], required=True, index=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    description = fields.Text(translate=True)
    company_id = fields.Many2one(
        "res.company", index=True, help="Leave empty to share this reason between companies."
    )

    def init(self):
        self._init_code_index()
