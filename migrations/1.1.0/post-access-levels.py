"""1.1.0 brings Odoo CRM's three access levels. 1.0's "User" (group_crm_plus_user, now "User:
Own Documents Only") worked every contact's funnel: its users get "User: All Documents", so an
upgrade takes no right away silently. An administrator narrows them down in Settings → Users.
Administrators (1.0's "Manager", the same xmlid) get the new level by implication."""

from odoo import SUPERUSER_ID, Command, api
from odoo.addons.crm_plus.compat import USER_GROUPS_FIELD


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    own = env.ref("crm_plus.group_crm_plus_user")
    everyone = env.ref("crm_plus.group_crm_plus_all")
    users = (
        env["res.users"]
        .with_context(active_test=False)
        .search([(USER_GROUPS_FIELD, "in", own.ids), (USER_GROUPS_FIELD, "not in", everyone.ids)])
    )
    if users:
        users.write({USER_GROUPS_FIELD: [Command.link(everyone.id)]})
