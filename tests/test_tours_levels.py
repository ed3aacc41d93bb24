"""The access levels as their users click through CRM+ (issue 31 item 1), a tour per level
(static/tests/tours/crm_plus_access_levels.js), and a salesperson's day
(crm_plus_salesperson_day.js). Each tour logs in as a user of that level only (with Contacts'
own right to edit contacts), not as admin; Python then checks what the clicks changed."""

from datetime import timedelta

from odoo import fields
from odoo.addons.crm_plus.models.funnel_guard import FUNNEL_OP
from odoo.tests import new_test_user, tagged

from .common import CrmPlusTourCase

PARTNER_MANAGER = "base.group_user,base.group_partner_manager"


@tagged("post_install", "-at_install")
class TestCrmPlusLevelTours(CrmPlusTourCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def user(login, level):
            return new_test_user(
                cls.env,
                login=login,
                name=login.replace("_", " ").title(),
                groups=f"{PARTNER_MANAGER},crm_plus.{level}",
                tour_enabled=False,
            )

        cls.user_own = user("level_own", "group_crm_plus_user")
        cls.user_colleague = user("level_colleague", "group_crm_plus_user")
        cls.user_all = user("level_all", "group_crm_plus_all")
        cls.user_admin_level = user("level_admin", "group_crm_plus_manager")

    def setUp(self):
        super().setUp()
        self.own = self.lead("Level Own Deal Ltd", user_id=self.user_own.id)
        self.colleagues = self.lead(
            "Level Colleague Deal Ltd", user_id=self.user_colleague.id, phone="+1 206-555-0199"
        )

    def funnel(self, partner):
        return [
            (line.phase_id.id, line.state, line.score, line.forecast_value)
            for line in partner.phase_line_ids.sorted("id")
        ]

    def test_tour_level_own_documents(self):
        colleagues_before = self.funnel(self.colleagues)
        self.run_tour("/odoo", "crm_plus_tour_level_own", login=self.user_own.login)
        # Their own deal: a phase completed, closed lost, reopened, all by them.
        self.assertEqual(self.own.funnel_state, "open")
        self.assertEqual(self.own.lead_phase_id, self.phase_qualification)
        done = self.own.phase_line_ids.filtered(lambda line: line.state == "done")
        self.assertEqual(done.done_by_id, self.user_own)
        self.assertTrue(
            self.own.message_ids.tracking_value_ids.filtered(
                lambda value: value.field_id.name == "close_reason_id"
                and value.old_value_char == "Too expensive"
            ),
            "the lost close, then the reopen, in the chatter",
        )
        # The colleague's: seen, not worked.
        self.assertEqual(self.funnel(self.colleagues), colleagues_before)
        self.assertEqual(self.colleagues.lead_phase_id, self.phase_first)

    def test_tour_level_all_documents(self):
        self.run_tour("/odoo", "crm_plus_tour_level_all", login=self.user_all.login)
        self.assertEqual(self.colleagues.lead_phase_id, self.phase_qualification)
        self.assertEqual(
            self.colleagues.phase_line_ids.filtered(lambda line: line.state == "done").done_by_id,
            self.user_all,
        )
        self.assertEqual(self.colleagues.user_id, self.user_colleague, "still the colleague's")

    def test_tour_level_administrator(self):
        Reason = self.env["crm.plus.close.reason"]
        self.assertFalse(Reason.search([("code", "=", "L-LBUD")]))
        self.run_tour("/odoo", "crm_plus_tour_level_admin", login=self.user_admin_level.login)
        reason = Reason.search([("code", "=", "L-LBUD")])
        self.assertEqual(
            (reason.name, reason.outcome, reason.create_uid),
            ("Level Budget frozen", "lost", self.user_admin_level),
        )

    def test_tour_salesperson_day(self):
        old = self.lead("Day Old Deal Ltd", user_id=self.user_own.id)
        # In its phase for three days: the card says so (both days in the user's timezone, UTC).
        self.current_line(old).with_context(crm_plus_funnel_op=FUNNEL_OP).write(
            {"date_start": fields.Datetime.now() - timedelta(days=3)}
        )
        self.run_tour("/odoo", "crm_plus_tour_salesperson_day", login=self.user_own.login)
        new = self.Partner.search([("name", "=", "Day New Deal Ltd")])
        self.assertEqual(new.user_id, self.user_own, "the salesperson is filled in")
        self.assertEqual(new.account_type_id, self.type_lead)
        self.assertEqual(new.lead_phase_id, self.phase_qualification)
        first = new.phase_line_ids.filtered(lambda line: line.phase_id == self.phase_first)
        self.assertEqual((first.state, first.score, first.forecast_value), ("done", 20, 15000))
        self.assertEqual(first.done_by_id, self.user_own)
        self.assertTrue(new.funnel_expected_close_date, "a learned expected close date")
