"""The contacts a wizard acts on: the ones selected where it was opened, and what it says once
done."""

from odoo import fields


def with_active_partners(model, defaults):
    """The wizard's defaults with the contacts of the list it is opened from as partner_ids
    (over a context default: the selection is what the user acts on)."""
    if model.env.context.get("active_model") == "res.partner":
        defaults["partner_ids"] = [fields.Command.set(model.env.context.get("active_ids", []))]
    return defaults


def notification(env, title, message):
    """What a bulk wizard returns once done: a notice of what it did, and the dialog closes
    (the list behind it reloads)."""
    return {
        "type": "ir.actions.client",
        "tag": "display_notification",
        "params": {
            "type": "success",
            "title": title,
            "message": message,
            "next": {"type": "ir.actions.act_window_close"},
        },
    }
