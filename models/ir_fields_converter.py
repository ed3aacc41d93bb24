"""The importer's side of a contacts import: each row's funnel checked where the importer
reports it, and a Lead Phase looked up in its own row's account type."""

from odoo import api, models
from odoo.exceptions import UserError, ValidationError

from .crm_plus_funnel_import import HISTORY_FIELDS

# Context key: the account type of the import row whose lead phase is being looked up.
ROW_ACCOUNT_TYPE = "crm_plus_import_account_type_id"


class IrFieldsConverter(models.AbstractModel):
    _inherit = "ir.fields.converter"

    @api.model
    def for_model(self, model, *args, **kwargs):
        """Each row of a contacts import is checked as its funnel history would be (see
        crm.plus.funnel.import): a refusal is reported on its own row, as Odoo reports a value
        it cannot convert.

        A contact's Lead Phase is looked up in the account type of its own row: Lead and
        Prospect both have a Proposal, and the importer looks a name up without the row, so it
        would pick the first and warn about the others. The row's type is converted first, by
        the importer as any column, then the phase with a converter bound to that type."""
        # The other arguments pass through (19.0 adds a keyword-only savepoint).
        convert = super().for_model(model, *args, **kwargs)
        if model._name != "res.partner":
            return convert
        by_type = {}
        # The funnel's columns repeat a handful of values over thousands of rows: each value is
        # converted once per file (its name_search), and its messages replayed on every row.
        converted_values = {}

        def convert_value(converter, fname, value, type_id, log):
            key = (fname, repr(value), type_id)
            if key not in converted_values:
                messages = []
                result = converter({fname: value}, lambda *entry: messages.append(entry))
                converted_values[key] = (result, messages)
            result, messages = converted_values[key]
            for entry in messages:
                log(*entry)
            return dict(result)

        def convert_row(record, log):
            converted = convert_funnel_columns(record, log)
            if any(converted.get(fname) for fname in HISTORY_FIELDS):
                try:
                    self.env["crm.plus.funnel.import"]._plan(converted)
                except UserError as error:
                    # Reported on its row, as a value the importer cannot convert; the row's
                    # funnel columns are left out, and nothing is imported.
                    log("lead_phase_id", ValidationError(str(error.args[0]).replace("%", "%%")))
                    for fname in HISTORY_FIELDS:
                        converted.pop(fname, None)
            return converted

        def convert_funnel_columns(record, log):
            columns = ("account_type_id", "lead_phase_id", "close_reason_id")
            converted = convert(
                {fname: value for fname, value in record.items() if fname not in columns}, log
            )
            for fname in ("account_type_id", "close_reason_id"):
                if fname in record:
                    converted.update(convert_value(convert, fname, record[fname], None, log))
            if "lead_phase_id" in record:
                type_id = converted.get("account_type_id")
                convert_phase = convert
                if type_id and isinstance(type_id, int) and record["lead_phase_id"]:
                    if type_id not in by_type:
                        # One converter per account type of the file, not per row.
                        by_type[type_id] = super(
                            IrFieldsConverter, self.with_context(**{ROW_ACCOUNT_TYPE: type_id})
                        ).for_model(model, *args, **kwargs)
                    convert_phase = by_type[type_id]
                converted.update(
                    convert_value(
                        convert_phase, "lead_phase_id", record["lead_phase_id"], type_id, log
                    )
                )
            return converted

        return convert_row
