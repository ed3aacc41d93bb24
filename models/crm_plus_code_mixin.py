from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..compat import domain_or
from .funnel_guard import check_vals


def _escape_like(value):
    return value.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


class CrmPlusCodeMixin(models.AbstractModel):
    """A short code, unique per company whatever its case, as the seed product identifies
    account types, lead phases and close reasons; records without company share one namespace."""

    _name = "crm.plus.code.mixin"
    _description = "CRM+ code"

    code = fields.Char(
        size=16,
        index=True,
        help="Short unique code (per company, case-insensitive), e.g. LEAD.",
    )

    def _code_company(self):
        return self.company_id

    def _precheck_codes(self, vals_list):
        """Refuse a duplicate code before it reaches the database, whose unique index would
        otherwise answer first with a raw error."""
        seen = set()
        for vals in vals_list:
            if not vals.get("code"):
                continue
            code = vals["code"].strip().lower()
            companies = (
                [vals["company_id"] or False]
                if "company_id" in vals
                else (self.mapped(lambda r: r._code_company().id) or [False])
            )
            for company_id in companies:
                key = (company_id, code)
                other = (
                    self.with_context(active_test=False)
                    .sudo()
                    .search(
                        [
                            ("id", "not in", self.ids),
                            ("code", "=ilike", _escape_like(code)),
                            ("company_id", "=", company_id),
                        ],
                        limit=1,
                    )
                )
                if key in seen or len(self) > 1 or other:
                    raise ValidationError(
                        self.env._(
                            "The code %(code)s is already used by %(other)s (%(model)s). "
                            "Codes are unique per company, whatever their case.",
                            code=vals["code"],
                            other=other.display_name or vals["code"],
                            model=self.env["ir.model"]._get(self._name).name,
                        )
                    )
                seen.add(key)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_vals(self, vals)
        self.browse()._precheck_codes(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, vals)
        if vals.get("code"):
            self._precheck_codes([vals])
        return super().write(vals)

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
        # Safety net for concurrent creates the Python check cannot see.
        self.env.cr.execute(
            f"""CREATE UNIQUE INDEX IF NOT EXISTS {self._table}_code_company_uniq
                ON {self._table} (COALESCE(company_id, 0), lower(code)) WHERE code IS NOT NULL"""
        )

    @api.model
    def name_search(self, name="", *args, **kwargs):
        # The importer looks a many2one column up row by row, by name (load() caches external
        # ids only): within one load(), a type, phase or reason is looked up once per value.
        # The other arguments pass through as given (the domain is `args` in 18.0, `domain` in
        # 19.0).
        cache = self.env.context.get("import_cache")
        if cache is None or not isinstance(name, str):
            return super().name_search(name, *args, **kwargs)
        key = (
            "crm_plus.name_search",
            self._name,
            self.env.uid,
            name,
            repr(args),
            repr(sorted(kwargs.items())),
        )
        if key in cache:
            return cache[key]
        result = super().name_search(name, *args, **kwargs)
        if result:
            # Not an empty answer: the importer may create the record by its name next.
            cache[key] = result
        return result

    @api.model
    def _search_display_name(self, operator, value):
        domain = super()._search_display_name(operator, value)
        if isinstance(value, str) and value and operator in ("ilike", "=ilike", "=", "like"):
            return ["|", ("code", "=ilike", _escape_like(value)), *domain]
        # 19.0 turns display_name = x into display_name in [x] before it gets here.
        if operator == "in" and value and all(isinstance(item, str) and item for item in value):
            by_code = [[("code", "=ilike", _escape_like(item))] for item in value]
            return domain_or([*by_code, list(domain)])
        return domain
