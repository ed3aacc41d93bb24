"""The funnel's actions on contacts: the buttons, the wizards and RPC clients call these
(integrators call ``action_advance_phase``, ``action_close``, ``action_reopen``); the rules are
the state machine's (crm.plus.funnel)."""

from odoo import api, models
from odoo.exceptions import UserError

from .res_partner import MANAGER_GROUP


class ResPartner(models.Model):
    _inherit = "res.partner"

    def action_advance_phase(self):
        """Complete the current phase and make the next one current, for every contact."""
        return self.env["crm.plus.funnel"]._advance(self)

    def action_close(self, close_reason_id=None, note=None):
        """Close the funnel with a reason: won only from the closing phase, lost from any open
        phase. A won contact whose type names a "type when won" switches to it."""
        return self.env["crm.plus.funnel"]._close(self, close_reason_id, note=note)

    def action_reopen(self):
        """Undo a close: back to the phase it was closed in."""
        return self.env["crm.plus.funnel"]._reopen(self)

    def _funnel_assign_account_type(self, account_type):
        """Give every contact of the recordset ``account_type`` (the bulk wizard): one write of
        the contacts whose type differs, which starts or resumes their funnels. Returns them."""
        account_type = self._funnel_assign_account_type_check(account_type)
        changing = self.browse(
            self.sudo().filtered(lambda p: p.account_type_id != account_type).ids
        )
        if changing:
            changing.write({"account_type_id": account_type.id})
        return changing

    def _funnel_assign_account_type_check(self, account_type):
        """What ``_funnel_assign_account_type`` refuses, without changing anything (a bulk job
        checks it before it is queued): the existing ``account_type``, or an error."""
        self.env["crm.plus.funnel"]._check_access(self)
        account_type = account_type.exists()
        if not account_type:
            raise UserError(self.env._("This account type does not exist (anymore)."))
        account_type.check_access("read")
        return account_type

    def action_open_close_wizard(self):
        self.env["crm.plus.funnel"]._check_closable(self)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Close the Deal")
            if len(self) == 1
            else self.env._("Close %s Deals", len(self)),
            "res_model": "crm.plus.close.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"active_model": self._name, "active_ids": self.ids},
        }

    @api.readonly
    @api.model
    def action_crm_plus_pipeline(self):
        """The pipeline board, filtered on the first account type with phases so every column
        of that funnel shows, empty ones included. A salesperson's board opens on their own
        contacts (My Funnel), as Odoo CRM's opens on "My Pipeline"; a manager's, or that of a
        user who owns no open contact, on everyone's."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_plus.res_partner_action_pipeline"
        )
        first_type = self.env["crm.plus.account.type"].search([("has_phases", "=", True)], limit=1)
        context = dict(self.env.context, crm_plus_pipeline=True)
        if first_type:
            context["search_default_account_type_id"] = first_type.id
        if not self.env.user.has_group(MANAGER_GROUP) and self.search_count(
            [("user_id", "=", self.env.uid), ("funnel_state", "=", "open")], limit=1
        ):
            context["search_default_my_funnel"] = 1
        action["context"] = context
        return action
