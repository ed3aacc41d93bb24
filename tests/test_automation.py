"""Every move of the funnel is an ORM write: Automation Rules fire, stored fields computed from
the funnel follow, and mail's tracking posts (or not) as it does for any tracked field."""

from odoo import Command
from odoo.tests import tagged

from .common import CrmPlusCase


@tagged("post_install", "-at_install")
class TestFunnelThroughOrm(CrmPlusCase):
    """Rules and fields as a user adds them (Settings → Automation Rules, Studio): manual
    fields and base.automation records. make test installs base_automation with crm_plus."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if "base.automation" not in cls.env:
            cls.skipTest(cls, "base_automation is not installed (make test installs it)")
        partner_model = cls.env["ir.model"]._get("res.partner")
        cls.env["ir.model.fields"].create(
            [
                {"name": "x_phase_hits", "model_id": partner_model.id, "ttype": "integer"},
                {"name": "x_state_hits", "model_id": partner_model.id, "ttype": "integer"},
                {
                    "name": "x_phase_code",
                    "model_id": partner_model.id,
                    "ttype": "char",
                    "store": True,
                    "depends": "lead_phase_id",
                    "compute": "for record in self:\n"
                    "    record['x_phase_code'] = record.lead_phase_id.name or 'none'",
                },
                {
                    "name": "x_outcome",
                    "model_id": partner_model.id,
                    "ttype": "char",
                    "store": True,
                    "depends": "funnel_state",
                    "compute": "for record in self:\n"
                    "    record['x_outcome'] = (record.funnel_state or 'none').upper()",
                },
            ]
        )
        for field_name, counter in (
            ("lead_phase_id", "x_phase_hits"),
            ("funnel_state", "x_state_hits"),
        ):
            cls.env["base.automation"].create(
                {
                    "name": f"T-count {field_name}",
                    "model_id": partner_model.id,
                    "trigger": "on_create_or_write",
                    "trigger_field_ids": [
                        Command.set(
                            [cls.env["ir.model.fields"]._get("res.partner", field_name).id]
                        )
                    ],
                    "action_server_ids": [
                        Command.create(
                            {
                                "name": f"T-count {field_name}",
                                "model_id": partner_model.id,
                                "state": "code",
                                "code": "for record in records:\n"
                                f"    record['{counter}'] = record['{counter}'] + 1",
                            }
                        )
                    ],
                }
            )

    def hits(self, partners):
        partners.invalidate_recordset(["x_phase_hits", "x_state_hits"])
        return [(p.x_phase_hits, p.x_state_hits) for p in partners]

    def assertFired(self, partners, action, phase=0, state=0):
        """Run ``action``; each partner's rule on lead_phase_id fired ``phase`` times and the one
        on funnel_state ``state`` times; the computed fields show the new values."""
        before = self.hits(partners)
        action()
        self.env.flush_all()
        self.assertEqual(
            self.hits(partners),
            [(p + phase, s + state) for p, s in before],
            f"rule runs per partner (lead_phase_id, funnel_state) after {action}",
        )
        partners.invalidate_recordset(["x_phase_code", "x_outcome"])
        for partner in partners:
            self.assertEqual(partner.x_phase_code, partner.lead_phase_id.name or "none")
            self.assertEqual(partner.x_outcome, (partner.funnel_state or "none").upper())

    def _run_every_action(self, partners):
        self.assertFired(
            partners,
            lambda: partners.write({"account_type_id": self.lead_type.id}),
            phase=1,
            state=1,
        )
        self.assertEqual(partners.mapped("x_phase_code"), [self.phase_first.name] * len(partners))
        self.assertEqual(set(partners.mapped("x_outcome")), {"OPEN"})
        self.assertFired(partners, partners.action_advance_phase, phase=1)
        self.assertEqual(set(partners.mapped("x_phase_code")), {self.phase_qualif.name})
        # A drag on the board.
        self.assertFired(
            partners, lambda: partners.write({"lead_phase_id": self.phase_closing.id}), phase=1
        )
        self.assertFired(partners, lambda: partners.action_close(self.reason_lost.id), state=1)
        self.assertEqual(set(partners.mapped("x_outcome")), {"LOST"})
        self.assertFired(partners, partners.action_reopen, state=1)
        # Close won: the won type switch (Lead → Customer, no phases) leaves the lead phase.
        self.assertFired(
            partners, lambda: partners.action_close(self.reason_won.id), phase=1, state=1
        )
        self.assertEqual(partners.account_type_id, self.customer_type)
        self.assertEqual(set(partners.mapped("x_outcome")), {"WON"})
        self.assertEqual(set(partners.mapped("x_phase_code")), {"none"})
        # Reopen goes back to the Lead funnel's closing phase.
        self.assertFired(partners, partners.action_reopen, phase=1, state=1)
        self.assertEqual(set(partners.mapped("x_phase_code")), {self.phase_closing.name})
        # The bulk wizard: to Prospect, a new funnel.
        wizard = (
            self.env["crm.plus.account.type.wizard"]
            .with_context(active_model="res.partner", active_ids=partners.ids)
            .create({"account_type_id": self.prospect_type.id})
        )
        self.assertFired(partners, wizard.action_apply, phase=1)
        self.assertEqual(partners.account_type_id, self.prospect_type)
        self.assertEqual(set(partners.mapped("x_outcome")), {"OPEN"})

    def test_rules_and_computed_fields_follow_one_contact(self):
        self._run_every_action(self.Partner.create({"name": "T-one"}))

    def test_rules_and_computed_fields_follow_a_batch(self):
        self._run_every_action(self.Partner.create([{"name": f"T-batch {i}"} for i in range(5)]))

    def test_computed_field_filled_at_create_with_a_type(self):
        partner = self.make_partners()
        self.assertEqual(partner.x_phase_code, self.phase_first.name)
        self.assertEqual(partner.x_outcome, "OPEN")
        self.assertEqual(partner.x_phase_hits, 1)

    def test_same_transaction_reads_follow(self):
        """No SQL behind the ORM's back: what was just written reads back at once."""
        partner = self.Partner.create({"name": "T-fresh"})
        self.assertFalse(partner.has_lead_phases)
        partner.write({"account_type_id": self.lead_type.id})
        self.assertTrue(partner.has_lead_phases)
        self.assertEqual(partner.funnel_score, 10)
        self.phase_qualif.stale_after_days = 1
        partner.action_advance_phase()
        self.assertEqual(partner.funnel_score, 30)
        self.assertEqual(partner.funnel_health, "cold")
        line = partner.funnel_line_ids.filtered(lambda ln: ln.state == "current")
        line.score = 75
        self.assertEqual(partner.funnel_score, 75)
        self.assertEqual(partner.funnel_health, "hot")
        self.assertTrue(partner.funnel_stale_deadline)


@tagged("post_install", "-at_install")
class TestFunnelChatter(CrmPlusCase):
    def _followed_by(self, record, user, subtype_xmlids):
        record.message_subscribe(
            partner_ids=user.partner_id.ids,
            subtype_ids=[self.env.ref(xmlid).id for xmlid in subtype_xmlids],
        )

    def _notified(self, partner, user):
        self.env.flush_all()
        self.env.cr.flush()
        return self.env["mail.notification"].search(
            [
                ("res_partner_id", "=", user.partner_id.id),
                ("mail_message_id.model", "=", "res.partner"),
                ("mail_message_id.res_id", "=", partner.id),
            ]
        )

    def test_won_follower_is_notified(self):
        partners = self.make_partners(3, user_id=self.user_sales.id)
        self.env.cr.flush()
        watched = partners[0]
        self._followed_by(watched, self.user_manager, ["crm_plus.mt_partner_won"])
        partners.write({"lead_phase_id": self.phase_closing.id})
        self.assertFalse(self._notified(watched, self.user_manager), "not subscribed to phases")
        partners.action_close(self.reason_won.id)
        notifications = self._notified(watched, self.user_manager)
        self.assertEqual(len(notifications), 1)
        message = notifications.mail_message_id
        self.assertEqual(message.subtype_id, self.env.ref("crm_plus.mt_partner_won"))
        self.assertIn("funnel_state", message.tracking_value_ids.field_id.mapped("name"))
        # The others are logged the same way, with the subtype, and nobody is notified.
        for partner in partners[1:]:
            last = partner.message_ids[0]
            self.assertEqual(last.subtype_id, self.env.ref("crm_plus.mt_partner_won"))
            self.assertIn("funnel_state", last.tracking_value_ids.field_id.mapped("name"))
            self.assertFalse(last.notification_ids)

    def test_account_type_follower_follows_its_contacts_wins(self):
        self._followed_by(
            self.lead_type, self.user_manager, ["crm_plus.mt_account_type_partner_won"]
        )
        partner = self.make_partners()
        partner.write({"lead_phase_id": self.phase_closing.id})
        self.assertIn(self.user_manager.partner_id, partner.message_partner_ids)
        self.assertFalse(self._notified(partner, self.user_manager))
        partner.action_close(self.reason_lost.id)
        self.assertFalse(self._notified(partner, self.user_manager), "lost: not subscribed")
        partner.action_reopen()
        partner.action_close(self.reason_won.id)
        notified = self._notified(partner, self.user_manager)
        self.assertEqual(
            notified.mail_message_id.subtype_id, self.env.ref("crm_plus.mt_partner_won")
        )

    def test_tracking_disable_leaves_no_message(self):
        partners = self.make_partners(2)
        self.env.cr.flush()
        counts = [len(p.message_ids) for p in partners]
        quiet = partners.with_context(tracking_disable=True)
        quiet.action_advance_phase()
        quiet.write({"lead_phase_id": self.phase_closing.id})
        quiet.action_close(self.reason_lost.id, note="T-quiet")
        self.env.flush_all()
        self.env.cr.flush()
        partners.invalidate_recordset(["message_ids"])
        self.assertEqual([len(p.message_ids) for p in partners], counts)
        self.assertEqual(set(partners.mapped("funnel_state")), {"lost"})
        partners.action_reopen()
        self.env.cr.flush()
        partners.invalidate_recordset(["message_ids"])
        self.assertEqual([len(p.message_ids) for p in partners], [c + 1 for c in counts])

    def test_mail_notrack_leaves_no_tracking(self):
        partner = self.make_partners()
        self.env.cr.flush()
        count = len(partner.message_ids)
        partner.with_context(mail_notrack=True).action_advance_phase()
        self.env.cr.flush()
        partner.invalidate_recordset(["message_ids"])
        self.assertEqual(len(partner.message_ids), count)

    def test_close_note_is_the_tracking_message_body(self):
        partner = self.make_partners()
        partner.write({"lead_phase_id": self.phase_closing.id})
        self.env.cr.flush()
        partner.action_close(self.reason_won.id, note="Signed at the fair")
        self.env.cr.flush()
        partner.invalidate_recordset(["message_ids"])
        message = partner.message_ids.filtered(
            lambda m: "funnel_state" in m.tracking_value_ids.field_id.mapped("name")
        )[:1]
        self.assertIn("Signed at the fair", message.body)
        self.assertEqual(message.subtype_id, self.env.ref("crm_plus.mt_partner_won"))
