"""Odoo's contact merge (Contacts → Action → Merge, and Deduplicate) with funnels.

A merge never deletes a close. A contact's funnel (its phase lines, a history included) moves
whole to the contact that stays, which takes its account type: what the lines say, its fields
and the suggested-score statistics, follow. Two contacts that each have a funnel are not merged
(their lines would collide phase by phase, and Odoo's merge would drop one side): the merge is
refused, naming the funnels, before anything changes.
"""

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..models.funnel_rules import FUNNEL_GROUP


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    crm_plus_funnel_conflict = fields.Text(
        string="Funnels",
        compute="_compute_crm_plus_funnel_conflict",
        groups=FUNNEL_GROUP,
        help="Why these contacts cannot be merged: more than one of them has a sales funnel.",
    )

    @api.depends("partner_ids")
    def _compute_crm_plus_funnel_conflict(self):
        for wizard in self:
            wizard.crm_plus_funnel_conflict = wizard._crm_plus_funnel_conflict(
                wizard.partner_ids._origin
            )

    # ------------------------------------------------------------------ rules

    @api.model
    def _crm_plus_funnel_holders(self, partners):
        """The contacts of ``partners`` that have phase lines (a funnel, or its history)."""
        lines = self.env["crm.plus.phase.line"].sudo()
        groups = lines._read_group([("partner_id", "in", partners.ids)], ["partner_id"])
        holder_ids = {partner.id for (partner,) in groups}
        return partners.filtered(lambda partner: partner.id in holder_ids)

    @api.model
    def _crm_plus_funnel_conflict(self, partners):
        """The message refusing the merge of ``partners``, when more than one has a funnel;
        else False."""
        holders = self._crm_plus_funnel_holders(partners).sudo()
        if len(holders) < 2:
            return False
        states = dict(holders._fields["funnel_state"]._description_selection(self.env))
        funnels = []
        for partner in holders:
            types = partner.phase_line_ids.account_type_id
            state = states.get(partner.funnel_state) or self.env._("no deal")
            if partner.funnel_state == "open":
                state = self.env._(
                    "%(state)s in %(phase)s", state=state, phase=partner.lead_phase_id.name
                )
            funnels.append(
                self.env._(
                    "%(partner)s (%(types)s: %(state)s)",
                    partner=partner.display_name,
                    types=", ".join(types.mapped("name")),
                    state=state,
                )
            )
        return self.env._(
            "These contacts each have a sales funnel: %(funnels)s. A merge keeps one contact's "
            "funnel whole and never deletes a close, so it cannot merge two funnels. Keep the "
            "contact whose deal is right; close the other's deal if it is still open (a lost "
            "reason) and archive that contact instead of merging it, or merge into the contact "
            "with the funnel only contacts that have none.",
            funnels="; ".join(funnels),
        )

    @api.model
    def _crm_plus_destination(self, partners, dst_partner):
        """The contact a merge keeps, as Odoo's _merge decides it."""
        if dst_partner and dst_partner in partners:
            return dst_partner
        return self._get_ordered_partner(partners.ids)[-1]

    def _merge(self, partner_ids, dst_partner=None, extra_checks=True):
        partners = self.env["res.partner"].browse(partner_ids).exists()
        if len(partners) >= 2:
            conflict = self._crm_plus_funnel_conflict(partners)
            if conflict:
                raise UserError(conflict)
            holders = self._crm_plus_funnel_holders(partners)
            moving = holders - self._crm_plus_destination(partners, dst_partner)
            if moving and not self.env.su and not self.env.user.has_group(FUNNEL_GROUP):
                raise AccessError(
                    self.env._(
                        "Only CRM+ users can merge a contact that has a sales funnel (%s) into "
                        "another one.",
                        moving.display_name,
                    )
                )
            # The funnel that moves is a deal the user works: their access level decides.
            self.env["crm.plus.funnel"]._check_funnel_rule(moving)
        return super()._merge(partner_ids, dst_partner=dst_partner, extra_checks=extra_checks)

    @api.model
    def _update_foreign_keys(self, src_partners, dst_partner):
        """The absorbed contact's funnel moves to ``dst_partner`` through the ORM (Odoo's
        generic update would write the lines in SQL, or delete them on a clash), before the
        generic update of the other references."""
        self._crm_plus_move_funnel(src_partners, dst_partner)
        return super()._update_foreign_keys(src_partners, dst_partner)

    @api.model
    def _crm_plus_move_funnel(self, src_partners, dst_partner):
        funnel = self.env["crm.plus.funnel"]
        lines = funnel._line_model().search([("partner_id", "in", src_partners.ids)])
        if not lines:
            return
        # _merge refused two funnels: this is the only one, and the destination has none.
        conflict = self._crm_plus_funnel_conflict(lines.partner_id | dst_partner)
        if conflict:
            raise UserError(conflict)
        source = lines.partner_id.sudo()
        stats = self.env["crm.plus.phase.stat"]
        followed = [*src_partners.ids, dst_partner.id]
        with (
            self.env["crm.plus.funnel.total"]._follow_contacts(followed),
            stats._follow_contacts(followed),
        ):
            lines.write({"partner_id": dst_partner.id})
            # The funnel comes with its type (a won contact's type when won included): the
            # destination is where the source was, open, won or lost.
            if source.account_type_id and source.account_type_id != dst_partner.account_type_id:
                dst_partner.sudo().write({"account_type_id": source.account_type_id.id})
            if source.expected_close_date and not dst_partner.sudo().expected_close_date:
                dst_partner.sudo().write({"expected_close_date": source.expected_close_date})
            self.env.flush_all()
