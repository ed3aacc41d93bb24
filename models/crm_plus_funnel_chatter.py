"""The state machine's chatter (crm.plus.funnel): a funnel change of one contact is tracked by
mail as any record; a change of many at once is logged in one batch, one message per contact
with mail's own tracking values and subtypes."""

from collections import defaultdict
from contextlib import contextmanager

from odoo import api, models

from .crm_plus_funnel import TRACKED_FIELDS


class CrmPlusFunnel(models.AbstractModel):
    _inherit = "crm.plus.funnel"

    @contextmanager
    def _one_message_each(self, partners, body=None, fnames=TRACKED_FIELDS):
        """The block's changes to ``partners``, logged: by mail's own tracking for one contact,
        in one batch for many (``_log_batch``). Yields the state machine to run the block with."""
        if not self._batch_logged(partners):
            yield self
            return
        before = self._tracked_values(partners, fnames)
        yield self.with_context(mail_notrack=True)
        self._log_batch(partners, before, body)

    @api.model
    def _batch_logged(self, partners):
        """A move of many contacts at once is logged in one batch (Odoo logs a message per
        record, each with its own queries): ``mail_notrack`` for their tracked funnel fields,
        one message per contact with mail's own tracking values. One contact is tracked by
        mail as any record. ``tracking_disable`` and ``mail_notrack`` log nothing, as anywhere
        in Odoo (a contact's write of many contacts logs the batch itself:
        res_partner_funnel_write.py)."""
        context = self.env.context
        return (
            len(partners) > 1
            and not context.get("tracking_disable")
            and not context.get("mail_notrack")
        )

    @api.model
    def _tracked_values(self, partners, fnames=TRACKED_FIELDS):
        partners = partners.sudo()
        partners.fetch(list(fnames))
        return {partner.id: {fname: partner[fname] for fname in fnames} for partner in partners}

    @api.model
    def _log_batch(self, partners, before, body=None):
        """One chatter message per contact whose tracked funnel fields changed since
        ``before``, with mail's tracking values and the subtype mail would give it
        (``_track_subtype``), in one create per subtype. The contacts whose followers follow
        that subtype get it through ``message_post``, as mail notifies them."""
        if self.env.context.get("mail_notrack") or self.env.context.get("tracking_disable"):
            return
        partners = partners.sudo().with_context(mail_notrack=True)
        fnames = list(next(iter(before.values()), {}))
        # Computed now, untracked: the change of the whole batch is logged below.
        partners.flush_recordset(fnames)
        tracked_fields = partners.fields_get(
            fnames, attributes=("string", "type", "selection", "currency_field")
        )
        by_subtype, tracking = defaultdict(list), {}
        for partner in partners:
            changes, commands = partner._mail_track(tracked_fields, before[partner.id])
            if not changes:
                continue
            subtype = partner._track_subtype(
                {fname: before[partner.id][fname] for fname in changes}
            )
            by_subtype[subtype].append(partner.id)
            tracking[partner.id] = commands
        if not tracking:
            return
        followed = self._followed_subtypes(list(tracking), {s.id for s in by_subtype if s})
        author = self.env.user.partner_id.id
        for subtype, partner_ids in by_subtype.items():
            notify = [pid for pid in partner_ids if subtype and (pid, subtype.id) in followed]
            for partner_id in notify:
                partners.browse(partner_id).message_post(
                    body=body or "",
                    author_id=author,
                    subtype_id=subtype.id,
                    tracking_value_ids=tracking[partner_id],
                )
            quiet = partners.browse([pid for pid in partner_ids if pid not in notify])
            if not quiet:
                continue
            messages = quiet._message_log_batch(
                {partner_id: body or "" for partner_id in quiet.ids}, author_id=author
            )
            if subtype:
                messages.write({"subtype_id": subtype.id, "is_internal": subtype.internal})
            self.env["mail.tracking.value"].sudo().create(
                [
                    dict(command[2], mail_message_id=message.id)
                    for message, partner_id in zip(messages, quiet.ids, strict=True)
                    for command in tracking[partner_id]
                ]
            )

    @api.model
    def _followed_subtypes(self, partner_ids, subtype_ids):
        """{(partner id, subtype id)} of the contacts a follower, other than the author,
        follows for that subtype: one read for the batch."""
        if not subtype_ids:
            return set()
        followers = (
            self.env["mail.followers"]
            .sudo()
            .search_fetch(
                [
                    ("res_model", "=", "res.partner"),
                    ("res_id", "in", partner_ids),
                    ("subtype_ids", "in", list(subtype_ids)),
                    ("partner_id", "!=", self.env.user.partner_id.id),
                ],
                ["res_id", "subtype_ids"],
            )
        )
        return {
            (follower.res_id, subtype_id)
            for follower in followers
            for subtype_id in follower.subtype_ids.ids
            if subtype_id in subtype_ids
        }
