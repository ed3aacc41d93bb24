"""Issue 30 items 4, 13, 14 and 15: the paths Odoo offers around the funnel keep its data.

- 4: a salesperson set up with Internal User + CRM+ User only (19.0's default "Contact: No", or
  18.0's "Contact Creation" unticked) does a day's work: create, advance, close, reopen, edit a
  line.
- 13: a user without CRM+ rights cannot put a contact in a funnel through context defaults.
- 14: a type given as a context default starts the funnel as a type given as a value does.
- 15: a value a client can send but a field cannot hold is refused, and nothing changes.
"""

import math

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from ..models.crm_plus_funnel_import import HISTORY_FIELDS
from .common import PARTNER_MANAGER, USER, CrmPlusCase

FUNNEL_FIELDS = ("account_type_id", *HISTORY_FIELDS, "funnel_score", "funnel_forecast_value")


@tagged("post_install", "-at_install")
class TestGuardPaths(CrmPlusCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # As the README sets a salesperson up: Internal User + CRM+ User, nothing else.
        cls.user_plain_sales = cls.make_user(
            "T-Plain sales", "plain_sales", "base.group_user", USER
        )
        # Without CRM+, allowed to create contacts.
        cls.user_contacts = cls.make_user(
            "T-Contacts only", "contacts_only", "base.group_user", PARTNER_MANAGER
        )
        cls.partner = cls.make_partners(cls, 1)
        cls.partner.expected_close_date = "2030-01-31"
        cls.env.flush_all()

    def snapshot(self, partners=None):
        """The funnel of every contact (fields and lines), as the database holds it."""
        self.env.flush_all()
        self.env.invalidate_all()
        partners = (partners or self.Partner.with_context(active_test=False).search([])).sudo()
        lines = self.Line.sudo().with_context(active_test=False).search([])
        return (
            partners.read(list(FUNNEL_FIELDS)),
            lines.read(["partner_id", "phase_id", "state", "score", "forecast_value"]),
            self.Partner.with_context(active_test=False).sudo().search_count([]),
        )

    def assertRefusedUnchanged(self, exception, call, message=None):
        before = self.snapshot()
        with self.assertRaises(exception) as caught:
            with self.env.cr.savepoint():
                call()
                self.env.flush_all()
        if message:
            self.assertIn(message, str(caught.exception))
        self.assertEqual(self.snapshot(), before)
        return caught.exception

    # ------------------------------------------------------------------ item 4

    def test_salesperson_without_partner_manager_works_the_funnel(self):
        user = self.user_plain_sales
        self.assertFalse(user.has_group("base.group_partner_manager"))
        partner = self.Partner.with_user(user).create(
            {"name": "T-Sally's deal", "account_type_id": self.lead_type.id}
        )
        self.assertEqual(partner.funnel_state, "open")
        self.assertEqual(partner.lead_phase_id, self.phase_first)
        partner.action_advance_phase()
        self.assertEqual(partner.lead_phase_id, self.phase_qualif)
        line = partner.funnel_line_ids.filtered(lambda line: line.state == "current")
        line.write({"score": 45, "forecast_value": 1200.0})
        self.assertEqual(partner.funnel_score, 45)
        partner.action_advance_phase()
        partner.action_advance_phase()
        self.assertEqual(partner.lead_phase_id, self.phase_closing)
        partner.action_close(self.reason_won.id)
        self.assertEqual(partner.funnel_state, "won")
        partner.action_reopen()
        self.assertEqual(partner.funnel_state, "open")
        self.assertEqual(partner.lead_phase_id, self.phase_closing)
        # The close wizard and a lost close, on a contact created with a context default.
        other = (
            self.Partner.with_user(user)
            .with_context(default_account_type_id=self.lead_type.id)
            .create({"name": "T-Sally's second deal"})
        )
        wizard = (
            self.env["crm.plus.close.wizard"]
            .with_user(user)
            .with_context(active_model="res.partner", active_ids=other.ids)
            .create({"close_reason_id": self.reason_lost.id})
        )
        wizard.action_confirm()
        self.assertEqual(other.funnel_state, "lost")
        self.assertFunnelInvariants(partner | other)
        # Deleting contacts stays a partner manager's right.
        with self.assertRaises(AccessError):
            other.with_user(user).unlink()

    # ------------------------------------------------------------------ item 13

    def test_context_defaults_of_a_user_without_crm_plus_are_refused(self):
        defaults = {
            "default_account_type_id": self.lead_type.id,
            "default_lead_phase_id": self.phase_closing.id,
            "default_close_reason_id": self.reason_won.id,
            "default_funnel_state": "won",
            "default_close_date": "2020-01-15",
            "default_funnel_phase_date_start": "2020-01-01 09:00:00",
            "default_expected_close_date": "2020-01-31",
        }
        Partner = self.Partner.with_user(self.user_contacts)
        for key, value in defaults.items():
            keyed = Partner.with_context(**{key: value})
            for path, call in [
                ("create", lambda p=keyed: p.create({"name": "T-Forged by context"})),
                ("name_create", lambda p=keyed: p.name_create("T-Forged by name_create")),
                (
                    "web_save",
                    lambda p=keyed: p.web_save({"name": "T-Forged"}, {"display_name": {}}),
                ),
            ]:
                with self.subTest(key=key, path=path):
                    self.assertRefusedUnchanged(AccessError, call)
        # All of them at once, the close-won-in-the-past forgery of the issue.
        self.assertRefusedUnchanged(
            AccessError, lambda: Partner.with_context(**defaults).create({"name": "T-Won"})
        )
        # Defaults asked for a form: none for the funnel.
        self.assertFalse(
            set(Partner.with_context(**defaults).default_get(list(FUNNEL_FIELDS)))
            & set(FUNNEL_FIELDS)
        )
        # The same values given explicitly stay refused; a contact without them is fine.
        self.assertRefusedUnchanged(
            AccessError,
            lambda: Partner.create({"name": "T-Explicit", "account_type_id": self.lead_type.id}),
        )
        self.assertFalse(Partner.create({"name": "T-Plain"}).sudo().account_type_id)

    def test_user_defaults_of_a_user_without_crm_plus_do_not_apply(self):
        """A default set for everyone (ir.default) is a CRM+ user's only."""
        self.env["ir.default"].set("res.partner", "account_type_id", self.lead_type.id)
        partner = self.Partner.with_user(self.user_contacts).create({"name": "T-No default"})
        self.assertFalse(partner.sudo().account_type_id)
        partner = self.Partner.with_user(self.user_plain_sales).create({"name": "T-Default"})
        self.assertEqual(partner.funnel_state, "open")
        self.assertEqual(partner.lead_phase_id, self.phase_first)

    # ------------------------------------------------------------------ item 14

    def test_type_as_context_default_enters_the_funnel(self):
        Partner = self.Partner.with_user(self.user_plain_sales).with_context(
            default_account_type_id=self.lead_type.id
        )
        created = Partner.create({"name": "T-Quick create"})
        created |= Partner.browse(Partner.name_create("T-name_create")[0])
        created |= Partner.browse(
            Partner.web_save({"name": "T-web_save"}, {"display_name": {}})[0]["id"]
        )
        created |= Partner.create([{"name": "T-Batch 1"}, {"name": "T-Batch 2"}])
        for partner in created:
            self.assertEqual(partner.account_type_id, self.lead_type, partner.name)
            self.assertEqual(partner.funnel_state, "open", partner.name)
            self.assertEqual(partner.lead_phase_id, self.phase_first, partner.name)
            self.assertEqual(len(partner.funnel_line_ids), 4, partner.name)
        self.assertFunnelInvariants(created)
        # A value given beats the default, as in Odoo.
        prospect = Partner.create({"name": "T-Prospect", "account_type_id": self.prospect_type.id})
        self.assertEqual(prospect.lead_phase_id.account_type_id, self.prospect_type)
        # A board column (type and phase as defaults) starts the contact in that phase.
        column = Partner.with_context(default_lead_phase_id=self.phase_proposal.id).create(
            {"name": "T-Column"}
        )
        self.assertEqual(column.lead_phase_id, self.phase_proposal)
        self.assertFunnelInvariants(column)

    # ------------------------------------------------------------------ item 15

    def test_bad_ids_are_refused_and_change_nothing(self):
        partner = self.partner
        for fname, value in [
            ("account_type_id", float(self.lead_type.id)),
            ("account_type_id", float(self.prospect_type.id)),
            ("account_type_id", "T-Lead"),
            ("account_type_id", True),
            ("account_type_id", 0),
            ("account_type_id", -3),
            ("account_type_id", 2**31),
            ("account_type_id", [self.lead_type.id]),
            ("close_reason_id", "T-Price"),
            ("close_reason_id", float(self.reason_lost.id)),
            ("close_reason_id", True),
            ("lead_phase_id", float(self.phase_qualif.id)),
            ("lead_phase_id", 2**40),
        ]:
            with self.subTest(fname=fname, value=value):
                error = self.assertRefusedUnchanged(
                    ValidationError, lambda f=fname, v=value: partner.write({f: v})
                )
                self.assertIn(partner.name, str(error))
                self.assertIn("record id", str(error))
                self.assertRefusedUnchanged(
                    ValidationError,
                    lambda f=fname, v=value: self.Partner.create(
                        {"name": "T-Bad", "account_type_id": self.lead_type.id, f: v}
                    ),
                )
        self.assertEqual(partner.funnel_state, "open")
        self.assertEqual(partner.account_type_id, self.lead_type)

    def test_bad_numbers_and_strings_are_refused_and_change_nothing(self):
        partner = self.partner
        line = partner.funnel_line_ids.filtered(lambda line: line.state == "current")
        cases = [
            (line, {"score": math.inf}),
            (line, {"score": -math.inf}),
            (line, {"score": math.nan}),
            (line, {"score": 2**31}),
            (line, {"score": 50.5}),
            (line, {"forecast_value": math.inf}),
            (line, {"forecast_value": math.nan}),
            (line, {"recurring_value": -math.inf}),
            (line, {"note": "a\x00b"}),
            (partner, {"name": "T-\x00"}),
            (partner, {"color": 2**33}),
            (self.lead_type, {"name": "T-Lead\x00"}),
            (self.phase_first, {"default_score": math.inf}),
            (self.phase_first, {"name": "\x00"}),
            (self.reason_lost, {"code": "T-\x00"}),
            (self.lead_type, {"won_account_type_id": float(self.prospect_type.id)}),
        ]
        for records, vals in cases:
            with self.subTest(model=records._name, vals=repr(vals)):
                self.assertRefusedUnchanged(ValidationError, lambda r=records, v=vals: r.write(v))
        self.assertRefusedUnchanged(
            ValidationError, lambda: self.Partner.create({"name": "T-Nul\x00"})
        )
        self.assertRefusedUnchanged(
            ValidationError,
            lambda: self.Reason.create({"name": "T-Nul\x00", "outcome": "lost"}),
        )

    def test_computed_figures_are_not_written(self):
        for vals in (
            {"funnel_score": 99},
            {"funnel_forecast_value": 1e6},
            {"funnel_weighted_value": 5.0},
            {"funnel_stale_deadline": "2020-01-01 00:00:00"},
        ):
            with self.subTest(vals=vals):
                self.assertRefusedUnchanged(UserError, lambda v=vals: self.partner.write(v))
        self.assertRefusedUnchanged(
            UserError, lambda: self.Partner.create({"name": "T-Forged", "funnel_score": 99})
        )

    def test_good_values_still_pass(self):
        """Records for many2ones (internal code), False, whole floats for numbers."""
        partner = self.make_partners(1)
        partner.write({"account_type_id": self.lead_type})
        partner.write({"lead_phase_id": self.phase_qualif})
        self.assertEqual(partner.lead_phase_id, self.phase_qualif)
        line = partner.funnel_line_ids.filtered(lambda line: line.state == "current")
        line.write({"score": 70.0, "forecast_value": 10})
        self.assertEqual(partner.funnel_score, 70)
        partner.action_close(self.reason_lost)
        self.assertEqual(partner.funnel_state, "lost")
        partner.write({"account_type_id": False})
        self.assertFalse(partner.account_type_id)

    # ------------------------------------------------------------------ found by the property test

    def test_phase_written_on_a_won_contact_moved_to_its_won_type_is_refused(self):
        """Won in Lead, switched to Customer (no phases, no phase shown): writing the phase it
        was closed in is a request to move it, refused, not an accepted no-op."""
        partner = self.make_partners(1)
        partner.write({"lead_phase_id": self.phase_closing.id})
        partner.action_close(self.reason_won.id)
        self.assertEqual(partner.account_type_id, self.customer_type)
        self.assertFalse(partner.lead_phase_id)
        self.assertRefusedUnchanged(
            UserError,
            lambda: partner.with_user(self.user_sales).write(
                {"lead_phase_id": self.phase_closing.id}
            ),
            "reopen it",
        )

    def test_contact_with_a_funnel_is_deleted_by_crm_plus_users_only(self):
        """Found by the property test: a user with Contact Creation but no CRM+ deleted an open
        deal and its lines. They may archive it; a CRM+ user may delete it."""
        partner = self.make_partners(1)
        self.assertRefusedUnchanged(
            AccessError, lambda: partner.with_user(self.user_contacts).unlink(), "archive it"
        )
        partner.with_user(self.user_contacts).action_archive()
        self.assertFalse(partner.active)
        plain = self.Partner.create({"name": "T-No funnel"})
        plain.with_user(self.user_contacts).unlink()
        self.assertFalse(plain.exists())
        partner.with_user(self.user_sales).unlink()
        self.assertFalse(partner.exists())
