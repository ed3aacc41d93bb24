"""Shared fixtures of the crm_plus test suite."""

from odoo import Command
from odoo.tests import TransactionCase

from ..compat import USER_GROUPS_FIELD


class CrmPlusCase(TransactionCase):
    """A funnel of its own (independent from seed and demo data), users and reasons."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=False))
        cls.company = cls.env.company
        cls.AccountType = cls.env["crm.plus.account.type"]
        cls.Phase = cls.env["crm.plus.lead.phase"]
        cls.Reason = cls.env["crm.plus.close.reason"]
        cls.Line = cls.env["crm.plus.phase.line"]
        cls.Partner = cls.env["res.partner"]

        cls.customer_type = cls.AccountType.create({"name": "T-Customer", "code": "T-CUST"})
        cls.lead_type = cls.AccountType.create(
            {
                "name": "T-Lead",
                "code": "T-LEAD",
                "won_account_type_id": cls.customer_type.id,
                "phase_ids": [
                    Command.create(
                        {
                            "name": "T-First contact",
                            "code": "T-FC",
                            "sequence": 1,
                            "default_score": 10,
                        }
                    ),
                    Command.create(
                        {
                            "name": "T-Qualification",
                            "code": "T-QU",
                            "sequence": 2,
                            "default_score": 30,
                        }
                    ),
                    Command.create(
                        {"name": "T-Proposal", "code": "T-PR", "sequence": 3, "default_score": 60}
                    ),
                    Command.create(
                        {
                            "name": "T-Closing",
                            "code": "T-CL",
                            "sequence": 4,
                            "phase_type": "closing",
                            "default_score": 90,
                        }
                    ),
                ],
            }
        )
        cls.phase_first, cls.phase_qualif, cls.phase_proposal, cls.phase_closing = (
            cls.lead_type.phase_ids.sorted("sequence")
        )
        cls.prospect_type = cls.AccountType.create(
            {
                "name": "T-Prospect",
                "code": "T-PROS",
                "phase_ids": [
                    Command.create({"name": "T-P1", "sequence": 1, "default_score": 20}),
                    Command.create(
                        {
                            "name": "T-P-Closing",
                            "sequence": 2,
                            "phase_type": "closing",
                            "default_score": 80,
                        }
                    ),
                ],
            }
        )
        cls.reason_won = cls.Reason.create({"name": "T-Signed", "code": "T-W", "outcome": "won"})
        cls.reason_lost = cls.Reason.create({"name": "T-Price", "code": "T-L", "outcome": "lost"})

        group_user = cls.env.ref("crm_plus.group_crm_plus_user")
        group_manager = cls.env.ref("crm_plus.group_crm_plus_manager")
        users = cls.env["res.users"].with_context(no_reset_password=True)
        cls.user_sales = users.create(
            {
                "name": "T-Sales",
                "login": "t_crm_plus_sales",
                "email": "sales@example.com",
                USER_GROUPS_FIELD: [
                    Command.set([group_user.id, cls.env.ref("base.group_partner_manager").id])
                ],
            }
        )
        cls.user_manager = users.create(
            {
                "name": "T-Manager",
                "login": "t_crm_plus_manager",
                USER_GROUPS_FIELD: [
                    Command.set([group_manager.id, cls.env.ref("base.group_partner_manager").id])
                ],
            }
        )
        cls.user_internal = users.create(
            {
                "name": "T-Internal",
                "login": "t_crm_plus_internal",
                USER_GROUPS_FIELD: [Command.set([cls.env.ref("base.group_user").id])],
            }
        )

    def make_partners(self, count=1, account_type=None, **vals):
        account_type = self.lead_type if account_type is None else account_type
        return self.Partner.create(
            [
                dict(
                    {"name": f"T-Partner {i}", "account_type_id": account_type.id or False}, **vals
                )
                for i in range(count)
            ]
        )

    def line_states(self, partner):
        return [(line.phase_id, line.state) for line in partner.funnel_line_ids.sorted("sequence")]

    def assertFunnelInvariants(self, partners):
        """One current line per open partner, none for closed ones, a close reason exactly when
        closed, line states ordered done → current → todo along the phases."""
        order = {"done": 0, "current": 1, "todo": 2}
        for partner in partners:
            lines = partner.funnel_line_ids.sorted(lambda line: (line.sequence, line.phase_id.id))
            current = lines.filtered(lambda line: line.state == "current")
            if partner.funnel_state == "open":
                self.assertEqual(len(current), 1, partner.name)
                self.assertEqual(current.phase_id, partner.lead_phase_id, partner.name)
                self.assertFalse(partner.close_reason_id, partner.name)
                states = [order[state] for state in lines.mapped("state")]
                self.assertEqual(
                    states, sorted(states), f"{partner.name}: {lines.mapped('state')}"
                )
            elif partner.funnel_state in ("won", "lost"):
                self.assertFalse(current, partner.name)
                self.assertTrue(partner.close_reason_id, partner.name)
                self.assertEqual(partner.close_reason_id.outcome, partner.funnel_state)
