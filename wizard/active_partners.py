"""The contacts a wizard acts on: the ones selected where it was opened."""

from odoo import fields


def with_active_partners(model, defaults):
    """The wizard's defaults with the contacts of the list it is opened from as partner_ids
    (over a context default: the selection is what the user acts on)."""
    if model.env.context.get("active_model") == "res.partner":
        defaults["partner_ids"] = [fields.Command.set(model.env.context.get("active_ids", []))]
    return defaults
