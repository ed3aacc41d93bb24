"""CRM+'s access levels, as Odoo CRM has them (issue 31, item 1): a test per level.

- User: Own Documents Only works the funnels of the contacts they are the salesperson of, and
  of unassigned contacts (Odoo CRM's own-documents rule on leads); a colleague's deal is
  refused (AccessError naming the contact and its salesperson), nothing changed. The contacts
  themselves stay readable and writable as Odoo allows: the funnel is restricted, not the
  contact.
- User: All Documents works every funnel.
- Administrator configures account types, lead phases and close reasons; the levels below
  cannot.
"""

import importlib.util
from pathlib import Path

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..models.crm_plus_funnel_job import BATCH_SIZE_PARAM, THRESHOLD_PARAM
from .common import PARTNER_MANAGER, CrmPlusCase

OWN = "crm_plus.group_crm_plus_user"
ALL = "crm_plus.group_crm_plus_all"
ADMIN = "crm_plus.group_crm_plus_manager"


@tagged("post_install", "-at_install")
class TestAccessLevels(CrmPlusCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def user(login, group):
            return cls.make_user(f"T-{login}", f"levels_{login}", group, PARTNER_MANAGER)

        # user_sales (common.py) is an own-documents user: "Sara".
        cls.user_own = cls.user_sales
        cls.user_colleague = user("marc", OWN)
        cls.user_all = user("all", ALL)
        cls.user_admin_level = cls.user_manager

    def setUp(self):
        super().setUp()
        self.mine, self.unassigned, self.colleagues = self.Partner.create(
            [
                {
                    "name": "T-Sara's deal",
                    "account_type_id": self.lead_type.id,
                    "user_id": self.user_own.id,
                },
                {"name": "T-Nobody's deal", "account_type_id": self.lead_type.id},
                {
                    "name": "T-Marc's deal",
                    "account_type_id": self.lead_type.id,
                    "user_id": self.user_colleague.id,
                },
            ]
        )
        self.assertFalse(self.unassigned.user_id, "created by OdooBot: nobody's deal")

    # ------------------------------------------------------------------ helpers

    def snapshot(self, partners):
        self.env.invalidate_all()
        return [
            (
                partner.account_type_id.id,
                partner.user_id.id,
                partner.lead_phase_id.id,
                partner.funnel_state,
                partner.close_reason_id.id,
                [
                    (line.phase_id.id, line.state, line.score, line.forecast_value, line.note)
                    for line in partner.phase_line_ids.sorted("id")
                ],
            )
            for partner in partners
        ]

    def current_line(self, partner):
        return partner.funnel_line_ids.filtered(lambda line: line.state == "current")

    def works(self, partner, user):
        """Advance, edit the current line, move back, close (lost), reopen, as ``user``."""
        as_user = partner.with_user(user)
        as_user.action_advance_phase()
        self.assertEqual(partner.lead_phase_id, self.phase_qualif)
        self.current_line(partner).with_user(user).write({"score": 45, "forecast_value": 900.0})
        self.assertEqual(partner.funnel_score, 45)
        as_user.write({"lead_phase_id": self.phase_first.id})
        self.assertEqual(partner.lead_phase_id, self.phase_first)
        as_user.write(
            {"funnel_line_ids": [Command.update(self.current_line(partner).id, {"score": 20})]}
        )
        self.assertEqual(partner.funnel_score, 20)
        as_user.action_close(self.reason_lost.id)
        self.assertEqual(partner.funnel_state, "lost")
        as_user.action_reopen()
        self.assertEqual(partner.funnel_state, "open")
        self.assertFunnelInvariants(partner)

    def colleague_operations(self, partner):
        """Every way to work a deal, as a function of the user's environment."""
        closed = self.Partner.create(
            {
                "name": "T-Marc's lost deal",
                "account_type_id": self.lead_type.id,
                "user_id": self.user_colleague.id,
            }
        )
        closed.action_close(self.reason_lost.id)
        line = self.current_line(partner)
        return {
            "advance": lambda env: partner.with_env(env).action_advance_phase(),
            "move (board drag)": lambda env: partner.with_env(env).write(
                {"lead_phase_id": self.phase_proposal.id}
            ),
            "close": lambda env: partner.with_env(env).action_close(self.reason_lost.id),
            "close by its fields": lambda env: partner.with_env(env).write(
                {"funnel_state": "lost", "close_reason_id": self.reason_lost.id}
            ),
            "open the close dialog": lambda env: partner.with_env(env).action_open_close_wizard(),
            "reopen": lambda env: closed.with_env(env).action_reopen(),
            "edit the line": lambda env: line.with_env(env).write({"score": 77}),
            "edit the line from the contact": lambda env: partner.with_env(env).write(
                {"funnel_line_ids": [Command.update(line.id, {"forecast_value": 5000.0})]}
            ),
            "new account type": lambda env: partner.with_env(env).write(
                {"account_type_id": self.prospect_type.id}
            ),
            "take the deal over": lambda env: partner.with_env(env).write({"user_id": env.uid}),
            "close wizard": lambda env: env["crm.plus.close.wizard"]
            .with_context(active_model="res.partner", active_ids=partner.ids)
            .create({"close_reason_id": self.reason_lost.id})
            .action_confirm(),
            "account type wizard": lambda env: env["crm.plus.account.type.wizard"]
            .with_context(active_model="res.partner", active_ids=partner.ids)
            .create({"account_type_id": self.prospect_type.id})
            .action_apply(),
        }, closed

    # ------------------------------------------------------------------ the levels

    def test_levels_chain(self):
        """Administrator implies All Documents, which implies Own Documents Only; Odoo CRM's
        names."""
        own, every, admin = (self.env.ref(xmlid) for xmlid in (OWN, ALL, ADMIN))
        self.assertEqual(own.name, "User: Own Documents Only")
        self.assertEqual(every.name, "User: All Documents")
        self.assertEqual(admin.name, "Administrator")
        self.assertIn(own, every.implied_ids)
        self.assertIn(every, admin.implied_ids)
        self.assertTrue(self.user_admin_level.has_group(ALL))
        self.assertTrue(self.user_all.has_group(OWN))
        self.assertFalse(self.user_all.has_group(ADMIN))
        self.assertFalse(self.user_own.has_group(ALL))
        self.assertTrue(self.env.ref("base.user_admin").has_group(ADMIN))

    def test_own_documents_user_works_own_and_unassigned_deals(self):
        for partner in (self.mine, self.unassigned):
            with self.subTest(partner=partner.name):
                self.works(partner, self.user_own)
        # An unassigned contact stays unassigned: working it does not take it.
        self.assertFalse(self.unassigned.user_id)

    def test_own_documents_user_is_refused_a_colleagues_deal(self):
        """Sara completed a phase on Marc's deal (walkthrough 2026-12-05, 18.0-88): refused,
        whichever way, and nothing changes."""
        operations, closed = self.colleague_operations(self.colleagues)
        env = self.env(user=self.user_own, su=False)
        before = self.snapshot(self.colleagues | closed)
        for label, operation in operations.items():
            with self.subTest(operation=label):
                with self.assertRaises(AccessError) as caught:
                    operation(env)
                    env.flush_all()
                if label not in ("edit the line", "edit the line from the contact"):
                    # The state machine's refusal names the deal and its salesperson (a direct
                    # write of a line is refused by Odoo's record rule, in Odoo's words).
                    self.assertIn("T-Marc", str(caught.exception))
                    self.assertIn(self.user_colleague.name, str(caught.exception))
                self.assertEqual(self.snapshot(self.colleagues | closed), before, label)
        # The contact itself stays the contacts app's: readable, its own fields writable.
        self.colleagues.with_user(self.user_own).write({"phone": "+32 2 555 01 01"})
        self.assertEqual(self.colleagues.with_user(self.user_own).funnel_state, "open")
        self.assertEqual(
            self.colleagues.with_user(self.user_own).funnel_line_ids.mapped("state"),
            ["current", "todo", "todo", "todo"],
        )

    def test_own_documents_user_hands_on_own_deal_and_cannot_create_for_a_colleague(self):
        # Handing one's own deal on to a colleague is allowed; then it is the colleague's.
        self.mine.with_user(self.user_own).write({"user_id": self.user_colleague.id})
        with self.assertRaises(AccessError):
            self.mine.with_user(self.user_own).action_advance_phase()
        # A new deal in a colleague's name: as Odoo CRM refuses a lead created for another.
        with self.assertRaises(AccessError):
            self.Partner.with_user(self.user_own).create(
                {
                    "name": "T-For Marc",
                    "account_type_id": self.lead_type.id,
                    "user_id": self.user_colleague.id,
                }
            )
        # An existing contact of a colleague joining a funnel: the same.
        outside = self.Partner.create(
            {"name": "T-Marc's contact", "user_id": self.user_colleague.id}
        )
        with self.assertRaises(AccessError):
            outside.with_user(self.user_own).write({"account_type_id": self.lead_type.id})
        self.assertFalse(outside.account_type_id)
        self.assertFalse(outside.phase_line_ids)

    def test_own_documents_user_cannot_merge_a_colleagues_deal_away(self):
        keeper = self.Partner.create({"name": "T-Sara's duplicate", "user_id": self.user_own.id})
        before = self.snapshot(self.colleagues | keeper)
        wizard = (
            self.env["base.partner.merge.automatic.wizard"]
            .with_user(self.user_own)
            .with_context(active_model="res.partner", active_ids=(self.colleagues | keeper).ids)
            .create({})
        )
        wizard.dst_partner_id = keeper
        with self.assertRaises(AccessError) as caught:
            wizard.action_merge()
        self.assertIn("T-Marc's deal", str(caught.exception))
        self.assertEqual(self.snapshot(self.colleagues | keeper), before)

    def test_form_shows_the_actions_the_level_allows(self):
        """The Overview's buttons and lines follow the same rule (funnel_can_work)."""
        partners = self.mine | self.unassigned | self.colleagues
        self.assertEqual(
            partners.with_user(self.user_own).mapped("funnel_can_work"), [True, True, False]
        )
        self.assertEqual(
            partners.with_user(self.user_all).mapped("funnel_can_work"), [True, True, True]
        )

    def test_all_documents_user_works_every_deal(self):
        for partner in (self.mine, self.unassigned, self.colleagues):
            with self.subTest(partner=partner.name):
                self.works(partner, self.user_all)
        operations, closed = self.colleague_operations(self.colleagues)
        env = self.env(user=self.user_all, su=False)
        for label in ("reopen", "take the deal over", "new account type"):
            with self.subTest(operation=label), self.env.cr.savepoint():
                operations[label](env)
                env.flush_all()
        self.assertEqual(closed.funnel_state, "open")
        self.assertEqual(self.colleagues.user_id, self.user_all)
        self.assertEqual(self.colleagues.account_type_id, self.prospect_type)

    def test_administrator_configures_and_the_levels_below_cannot(self):
        configure = {
            "account type": lambda env: env["crm.plus.account.type"].create(
                {"name": "T-Partner type", "code": "T-PT"}
            ),
            "lead phase": lambda env: env["crm.plus.lead.phase"].create(
                {"name": "T-Demo", "account_type_id": self.prospect_type.id, "sequence": 1}
            ),
            "close reason": lambda env: env["crm.plus.close.reason"].create(
                {"name": "T-Budget", "code": "T-BU", "outcome": "lost"}
            ),
            "rename a phase": lambda env: self.phase_first.with_env(env).write(
                {"name": "T-First call"}
            ),
        }
        for user in (self.user_own, self.user_all):
            env = self.env(user=user, su=False)
            for label, operation in configure.items():
                with self.subTest(user=user.name, operation=label):
                    with self.assertRaises(AccessError):
                        operation(env)
        env = self.env(user=self.user_admin_level, su=False)
        for label, operation in configure.items():
            with self.subTest(user="administrator", operation=label), self.env.cr.savepoint():
                operation(env)
                env.flush_all()
        # And works every deal, as All Documents.
        self.works(self.colleagues, self.user_admin_level)

    def test_reports_stay_readable_by_every_level(self):
        self.colleagues.action_close(self.reason_lost.id)
        for user in (self.user_own, self.user_all, self.user_admin_level):
            env = self.env(user=user, su=False)
            for model in (
                "crm.plus.funnel.report",
                "crm.plus.winloss.report",
                "crm.plus.forecast.report",
            ):
                with self.subTest(user=user.name, report=model):
                    self.assertTrue(env[model].search_count([]), model)
            lines = env["crm.plus.phase.line"].search([("partner_id", "=", self.colleagues.id)])
            self.assertEqual(len(lines), 4)

    # ------------------------------------------------------------------ bulk

    def test_bulk_wizards_refuse_a_selection_with_a_colleagues_deal(self):
        selection = self.mine | self.unassigned | self.colleagues
        before = self.snapshot(selection)
        for threshold in ("1000", "1"):
            # At once, and before a background job is queued.
            self.env["ir.config_parameter"].sudo().set_param(THRESHOLD_PARAM, threshold)
            self.env["ir.config_parameter"].sudo().set_param(BATCH_SIZE_PARAM, "1")
            for model, vals, action in (
                ("crm.plus.close.wizard", {"close_reason_id": self.reason_lost.id}, "confirm"),
                (
                    "crm.plus.account.type.wizard",
                    {"account_type_id": self.prospect_type.id},
                    "apply",
                ),
            ):
                wizards = (
                    self.env[model]
                    .with_user(self.user_own)
                    .with_context(active_model="res.partner", active_ids=selection.ids)
                )
                with self.subTest(wizard=model, threshold=threshold):
                    with self.assertRaises(AccessError) as caught:
                        getattr(wizards.create(vals), f"action_{action}")()
                    self.assertIn("T-Marc's deal", str(caught.exception))
                    self.assertEqual(self.snapshot(selection), before)
                    self.assertFalse(self.env["crm.plus.funnel.job"].search_count([]))
        # Without the colleague's deal, the same selection goes through.
        self.env["ir.config_parameter"].sudo().set_param(THRESHOLD_PARAM, "1000")
        self.env["crm.plus.close.wizard"].with_user(self.user_own).with_context(
            active_model="res.partner", active_ids=(self.mine | self.unassigned).ids
        ).create({"close_reason_id": self.reason_lost.id}).action_confirm()
        self.assertEqual(set((self.mine | self.unassigned).mapped("funnel_state")), {"lost"})

    def test_bulk_wizards_all_documents(self):
        selection = self.mine | self.unassigned | self.colleagues
        self.env["crm.plus.account.type.wizard"].with_user(self.user_all).with_context(
            active_model="res.partner", active_ids=selection.ids
        ).create({"account_type_id": self.prospect_type.id}).action_apply()
        self.assertEqual(selection.account_type_id, self.prospect_type)
        self.env["crm.plus.close.wizard"].with_user(self.user_all).with_context(
            active_model="res.partner", active_ids=selection.ids
        ).create({"close_reason_id": self.reason_lost.id}).action_confirm()
        self.assertEqual(set(selection.mapped("funnel_state")), {"lost"})
        self.assertFunnelInvariants(selection)

    # ------------------------------------------------------------------ upgrade

    def test_upgrade_gives_former_users_all_documents(self):
        """1.0's "User" worked every funnel: the 1.1.0 migration keeps it so."""
        path = Path(__file__).parents[1] / "migrations" / "1.1.0" / "post-access-levels.py"
        spec = importlib.util.spec_from_file_location("crm_plus_post_access_levels", path)
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        script.migrate(self.env.cr, "18.0.1.0.0")
        self.env.invalidate_all()
        self.assertTrue(self.user_own.has_group(ALL))
        self.assertTrue(self.user_colleague.has_group(ALL))
        self.assertFalse(self.user_internal.has_group(OWN), "no CRM+ right is given")
        self.assertFalse(self.user_all.has_group(ADMIN))
        self.works(self.colleagues, self.user_own)
