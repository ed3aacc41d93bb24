"""How a create, a write or a deletion of contacts reaches their funnel: the funnel fields a
user may give, a contact created in its type's first phase, a type changed, a salesperson taken
over, the funnel analysis's totals and the suggested-score statistics kept in step."""

from contextlib import nullcontext

from odoo import api, models
from odoo.exceptions import AccessError, UserError

from .crm_plus_funnel_import import HISTORY_FIELDS
from .funnel_guard import checked_client_values, records_label, values_checked_by_the_orm
from .funnel_rules import FUNNEL_GROUP
from .res_partner import DERIVED_FIELDS

# The contact's funnel fields a create or a write may give (CRM+ users only); their many2ones
# take record ids only.
FUNNEL_INPUT_FIELDS = ("account_type_id", "expected_close_date", *HISTORY_FIELDS)
# A contact's fields whose write moves the funnel analysis's totals: its salesperson, company
# (its lines' own), archiving, and its type and funnel (its lines).
FUNNEL_TOTALS_WRITES = frozenset(
    {"active", "user_id", "company_id", "account_type_id", *HISTORY_FIELDS}
)
FUNNEL_MANY2ONES = ("account_type_id", "lead_phase_id", "close_reason_id")


class ResPartner(models.Model):
    _inherit = "res.partner"

    @api.model
    def _default_account_type_id(self):
        # Only the web client's form asks (see onchange): imports and RPC creates that pass
        # no type stay without one.
        if not self.env.context.get("crm_plus_web_client_default"):
            return False
        if not self.env.user.has_group(FUNNEL_GROUP):
            return False
        return self.env["crm.plus.account.type"].search([("is_default", "=", True)], limit=1)

    def onchange(self, values, field_names, fields_spec):
        if not field_names and not self:
            # The form of a new record asks for its defaults: the default type applies.
            web_form = self.with_context(crm_plus_web_client_default=True)
            return super(ResPartner, web_form).onchange(values, field_names, fields_spec)
        return super().onchange(values, field_names, fields_spec)

    @api.model
    def default_get(self, fields_list):
        """A user without CRM+ rights creates contacts outside any funnel: a default for a
        funnel field (a user-defined default, a context key) does not apply to them, as they
        cannot set those fields themselves (a create given such a context key is refused:
        _funnel_check_field_access)."""
        defaults = super().default_get(fields_list)
        if not self._funnel_may_set() and not defaults.keys().isdisjoint(FUNNEL_INPUT_FIELDS):
            defaults = {k: v for k, v in defaults.items() if k not in FUNNEL_INPUT_FIELDS}
        return defaults

    @api.model
    def _funnel_may_set(self):
        return self.env.su or self.env.user.has_group(FUNNEL_GROUP)

    @api.model
    def _funnel_with_defaults(self, vals_list):
        """The funnel fields' values a create will write, defaults included (the ORM adds them
        later, in its own create): the checks and the funnel entry below see what is written,
        whichever path gave it (a value, a context default of a quick create, name_create,
        web_save...)."""
        missing = [
            fname for fname in FUNNEL_INPUT_FIELDS if any(fname not in vals for vals in vals_list)
        ]
        defaults = missing and {k: v for k, v in self.default_get(missing).items() if v}
        if not defaults:
            return vals_list
        return [dict(defaults, **vals) for vals in vals_list]

    @api.model_create_multi
    def create(self, vals_list):
        with values_checked_by_the_orm():
            vals_list = [
                checked_client_values(self.browse(), vals, FUNNEL_MANY2ONES) for vals in vals_list
            ]
            self._funnel_check_field_access(vals_list)
            vals_list = self._funnel_with_defaults(vals_list)
            self._funnel_check_computed(vals_list)
            vals_list = self._funnel_enter_at_create(vals_list)
            vals_list = self.env["crm.plus.funnel"]._with_salesperson(vals_list)
            with self.env["crm.plus.funnel.total"]._after_create():
                partners = super().create(vals_list)
                partners._funnel_check_company()
                # The inverse gave the contacts created in a funnel their lines: their fields,
                # given or not, are what the lines say.
                with_type = partners.sudo().filtered("account_type_id")
                if with_type:
                    self._funnel_recompute(with_type)
                    # Computed now, within the create: Automation Rules see a contact created
                    # in its first phase, one event, not a create then a change.
                    with_type.flush_recordset(list(DERIVED_FIELDS))
                return partners

    @api.model
    def _funnel_enter_at_create(self, vals_list):
        """A contact created with a type that has phases, and no funnel columns of its own, is
        created in the type's first phase, open: one event for Automation Rules, not a create
        then a change; the inverse then gives it its lines. A default type (the Pipeline's
        New or a quick create, ``default_account_type_id``) counts as given: the defaults are
        in ``vals_list`` already (_funnel_with_defaults)."""
        type_ids = {
            vals["account_type_id"]
            for vals in vals_list
            if vals.get("account_type_id")
            and isinstance(vals["account_type_id"], int)
            and not any(vals.get(fname) for fname in HISTORY_FIELDS)
        }
        if not type_ids:
            return vals_list
        types = self.env["crm.plus.account.type"].sudo().browse(type_ids).exists()
        first_phase = {
            account_type.id: account_type._funnel_phases()[:1] for account_type in types
        }
        result = []
        for vals in vals_list:
            phase = first_phase.get(vals.get("account_type_id"))
            enters = phase and not any(vals.get(fname) for fname in HISTORY_FIELDS)
            result.append(
                dict(vals, lead_phase_id=phase.id, funnel_state="open") if enters else vals
            )
        return result

    def write(self, vals):
        # The funnel analysis's totals move by the contacts' change: their salesperson,
        # company, archiving, type or funnel (crm.plus.funnel.total). A phone or an email
        # changes nothing there, and costs nothing more.
        follow_totals = (
            self.env["crm.plus.funnel.total"]._follow_contacts(self.ids)
            if FUNNEL_TOTALS_WRITES.intersection(vals)
            else nullcontext()
        )
        with follow_totals, values_checked_by_the_orm():
            vals = checked_client_values(self, vals, FUNNEL_MANY2ONES)
            self._funnel_check_computed([vals])
            type_changed = were_open = self.browse()
            if "account_type_id" in vals:
                type_changed = self.browse(
                    self.sudo()
                    .filtered(lambda p: p.account_type_id.id != vals["account_type_id"])
                    .ids
                )
                were_open = type_changed.sudo().filtered(lambda p: p.funnel_state == "open")
            funnel = self.env["crm.plus.funnel"]
            if "user_id" in vals and self.env.user.has_group(FUNNEL_GROUP):
                # The salesperson owns the deal: a CRM+ user takes over (or hands on) only the
                # deals they may work (their access level, _check_funnel_rule).
                new_user_id = vals["user_id"]
                new_user_id = getattr(new_user_id, "id", new_user_id) or False
                funnel._check_funnel_rule(
                    self.browse(self.sudo().filtered(lambda p: p.user_id.id != new_user_id).ids)
                )
            if not {"account_type_id", *HISTORY_FIELDS}.intersection(vals):
                result = super().write(vals)
            else:
                # Many contacts moved at once (the bulk wizard, won closes, a drag of a
                # selection, an import that updates them) are logged in one batch, one message
                # per contact, as the state machine's own actions are; one contact by mail's
                # tracking.
                fnames = list(self._track_get_fields())
                with funnel._one_message_each(self, fnames=fnames) as funnel:
                    partners = self.with_env(funnel.env)
                    result = super(ResPartner, partners).write(vals)
                    if type_changed:
                        funnel._sync(
                            type_changed.with_env(funnel.env), were_open=set(were_open.ids)
                        )
                    partners._funnel_check_company()
                    self._funnel_recompute(partners)
            if "active" in vals:
                calibration = self.env["crm.plus.calibration.report"]
                calibration._follow_archiving(self.ids, vals["active"])
            return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_funnel_of_a_user_without_crm_plus(self):
        """A contact's funnel (its deals, its closes) goes with it: deleting one is a funnel
        change, which only CRM+ users make. Others may still archive it, as any contact."""
        if self._funnel_may_set() or not self.ids:
            return
        in_funnel = (
            self.env["crm.plus.phase.line"]
            .sudo()
            .search_fetch([("partner_id", "in", self.ids)], ["partner_id"], limit=1)
        )
        if in_funnel:
            raise AccessError(
                self.env._(
                    "Only CRM+ users can delete a contact with a sales funnel (%s): "
                    "archive it instead.",
                    in_funnel.partner_id.sudo().display_name,
                )
            )

    def unlink(self):
        # The contacts' lines go with them (ondelete cascade): their closes leave the
        # suggested-score statistics now, as a reopen's would, not at the weekly recount.
        # (An archived contact stays in them: its history still teaches.)
        stats = self.env["crm.plus.phase.stat"]
        ids = self.ids
        with (
            self.env["crm.plus.funnel.total"]._follow_contacts(ids),
            stats._follow_contacts(stats._with_closes(ids)),
        ):
            result = super().unlink()
        self.env["crm.plus.calibration.report"]._forget_partners(ids)
        return result

    def _funnel_check_company(self):
        """check_company on the funnel's fields: 19.0's contacts check it themselves (as Odoo
        checks it on create and write), 18.0's do not."""
        if not self._check_company_auto:
            self._check_company(["account_type_id", "lead_phase_id", "close_reason_id"])

    @api.model
    def _funnel_recompute(self, partners):
        # A written value of a field computed from the lines is kept from recomputation while
        # its inverse runs; the lines decide it once the write is done, and so every field
        # that depends on it (the stale deadline, a Studio field...).
        partners.modified(DERIVED_FIELDS)
        for fname in DERIVED_FIELDS:
            self.env.add_to_compute(self._fields[fname], partners)

    @api.model
    def _funnel_check_field_access(self, vals_list):
        """Odoo 18 enforces field groups on write, not on create: a create must not let a user
        outside CRM+ put a contact in a funnel, by a value or by a context default (refused as
        Odoo 19 refuses a default for a field the user may not write). Called before the
        defaults are added: a user-defined default does not apply to them (default_get)."""
        given = {
            fname for vals in vals_list for fname in FUNNEL_INPUT_FIELDS if vals.get(fname)
        } | {fname for fname in FUNNEL_INPUT_FIELDS if f"default_{fname}" in self.env.context}
        if given and not self._funnel_may_set():
            raise AccessError(
                self.env._(
                    "Only CRM+ users can set the funnel fields of a contact (%s).",
                    ", ".join(sorted(given)),
                )
            )

    def _funnel_check_computed(self, vals_list):
        """The funnel's figures are computed from the lines: a value written for one would
        stand until the next change of the lines (a forged score, forecast, stale date...)."""
        given = {
            fname
            for vals in vals_list
            for fname in vals
            if (field := self._fields.get(fname))
            and field._module == "crm_plus"
            and field.compute
            and not field.inverse
        }
        if given:
            raise UserError(
                self.env._(
                    "%(contact)s: these figures come from the funnel lines (%(fields)s): edit "
                    "the current line, or move the contact through its funnel, instead.",
                    contact=records_label(self, vals_list[0]),
                    fields=", ".join(
                        sorted(self._fields[f]._description_string(self.env) for f in given)
                    ),
                )
            )

    @api.readonly
    @api.model
    def get_import_templates(self):
        templates = super().get_import_templates()
        if self.env.user.has_group(FUNNEL_GROUP):
            templates.append(
                {
                    "label": self.env._("Import Template for a Pipeline (CRM+)"),
                    "template": "/crm_plus/static/xls/crm_plus_pipeline_import.csv",
                }
            )
        return templates
