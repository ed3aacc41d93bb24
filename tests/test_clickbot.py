"""Issue 30: Odoo's own clickbot over the CRM+ menu, as Odoo's ``web/tests/test_click_everywhere``
runs it: every menu of the app, every view of its switcher, every filter of its search panel.

The tests take the paths Odoo offers around the addon (the view switcher, a pivot, a graph, a
filter), as admin and as a salesperson set up with Odoo's defaults: Internal User + CRM+ User and
nothing else (19.0's Settings → Users leaves Contact on "No": no base.group_partner_manager).
They need demo data: a clickbot over empty views proves little. The base (tests/common.py) makes
a clickbot that cannot start Chromium an error, not a skip.
"""

from odoo.tests import new_test_user, tagged

from .common import CrmPlusTourCase

CLICKBOT_JS = (
    "odoo.loader.modules.get('@web/webclient/clickbot/clickbot_loader')"
    ".startClickEverywhere('%s');"
)
CRM_PLUS_ROOT_MENU = "crm_plus.crm_plus_menu_root"


@tagged("post_install", "-at_install")
class TestClickbot(CrmPlusTourCase):
    # The clickbot may end on a form view (a menu whose action opens one: CRM+ → Settings).
    allow_end_on_form = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not cls.env["ir.module.module"]._get("crm_plus").demo:
            raise RuntimeError("the clickbot runs on demo data: install crm_plus with demo data")
        # A salesperson set up as the README says, with Odoo's defaults for the rest.
        cls.salesperson = new_test_user(
            cls.env,
            login="clickbot_salesperson",
            groups="base.group_user,crm_plus.group_crm_plus_user",
            tour_enabled=False,
        )

    def click_everywhere(self, login):
        self.assertFalse(
            self.salesperson.has_group("base.group_partner_manager"),
            "the salesperson must not have Contact Creation (19.0's default for a new user)",
        )
        user = self.env["res.users"].search([("login", "=", login)])
        menus = self.env["ir.ui.menu"].with_user(user).load_menus(False)
        self.assertIn(
            CRM_PLUS_ROOT_MENU,
            [menus[app]["xmlid"] for app in menus["root"]["children"]],
            f"{login} sees the CRM+ app",
        )
        self.browser_js(
            "/odoo",
            CLICKBOT_JS % CRM_PLUS_ROOT_MENU,
            "odoo.isReady === true",
            login=login,
            timeout=900,
            success_signal="clickbot test succeeded",
        )

    # KNOWN FAILURE, 19.0 (issue 30 item 1, fixed by the "money" stream): Pipeline → Pivot shows
    # "Oops!": No aggregate function has been provided for the measure 'funnel_forecast_value'
    # (19.0 gives a Monetary field no aggregator when its currency field, funnel_currency_id,
    # is not stored). Clean on 18.0.
    def test_clickbot_as_admin(self):
        self.click_everywhere("admin")

    # KNOWN FAILURES (issue 30 item 4, fixed by the "guard" stream: the CRM+ User group must
    # carry the contact rights its work needs):
    # - 18.0: opening CRM+ (its Pipeline server action) raises "You are not allowed to modify
    #   'Contact' (res.partner) records": ir.actions.server.run checks write access on the model
    #   of a server action that has no groups;
    # - 19.0: first the Pipeline pivot's missing aggregator, as for admin above.
    def test_clickbot_as_salesperson(self):
        self.click_everywhere(self.salesperson.login)
