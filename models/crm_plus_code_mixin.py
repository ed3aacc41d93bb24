"""The short code of account types, lead phases and close reasons: unique per company, found
by name or code wherever a record is picked or imported."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .funnel_guard import checked_client_values, values_checked_by_the_orm


def _escape_like(value):
    return value.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


class CrmPlusCodeMixin(models.AbstractModel):
    """A short code, unique per company whatever its case, as the seed product identifies
    account types, lead phases and close reasons; records without company share one namespace.
    And what those configuration records have in common: a translated name and description,
    an order, archiving."""

    _name = "crm.plus.code.mixin"
    _description = "CRM+ code"
    # Found by name or code wherever a record is picked or imported.
    _rec_names_search = ["name", "code"]

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    description = fields.Text(translate=True)
    code = fields.Char(
        size=16,
        index=True,
        help="Short unique code (per company, case-insensitive), e.g. LEAD.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        with values_checked_by_the_orm():
            vals_list = [checked_client_values(self.browse(), vals, True) for vals in vals_list]
            return super().create(vals_list)

    def write(self, vals):
        with values_checked_by_the_orm():
            return super().write(checked_client_values(self, vals, True))

    def _code_company(self):
        return self.company_id

    @api.constrains("code", "company_id")
    def _check_code_unique(self):
        for record in self.filtered("code"):
            code = record.code.strip()
            if not code:
                raise ValidationError(self.env._("A code cannot be only spaces."))
            duplicates = (
                self.with_context(active_test=False)
                .sudo()
                .search(
                    [
                        ("id", "!=", record.id),
                        ("code", "=ilike", _escape_like(code)),
                        ("company_id", "=", record._code_company().id),
                    ],
                    limit=1,
                )
            )
            if duplicates:
                raise ValidationError(
                    self.env._(
                        "The code %(code)s is already used by %(other)s (%(model)s). "
                        "Codes are unique per company, whatever their case.",
                        code=record.code,
                        other=duplicates.display_name,
                        model=self.env["ir.model"]._get(self._name).name,
                    )
                )

    def _init_code_index(self):
        # The uniqueness is _check_code_unique's alone; an index of earlier versions checked it
        # again, before the check could name the duplicate.
        self.env.cr.execute(f"DROP INDEX IF EXISTS {self._table}_code_company_uniq")
