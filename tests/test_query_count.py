from odoo import Command
from odoo.tests import tagged

from ..compat import ODOO_SERIES
from .common import CrmPlusCase


@tagged("post_install", "-at_install")
class TestQueryCount(CrmPlusCase):
    """Every funnel action on a batch costs a few grouped ORM calls, not a query per record:
    the same count for 5 and for 120 contacts, pinned per operation as Odoo CRM's
    test_performances pins its own (chatter tracking included: it is logged when the
    transaction is flushed, run here by ``cr.flush()``). A change of these numbers is a change
    of the funnel's cost: measure it, then pin the new count."""

    # The queries of each step on 5 and on 120 contacts, per series.
    QUERIES = {
        (18, 0): {
            "assign": (23, 35),
            "advance": (19, 25),
            "move": (25, 33),
            "close_won": (36, 40),
            "close_lost": (24, 25),
            "reopen": (38, 47),
        },
        (19, 0): {
            "assign": (23, 35),
            "advance": (19, 25),
            "move": (24, 32),
            "close_won": (36, 40),
            "close_lost": (24, 25),
            "reopen": (38, 47),
        },
    }

    def _measure(self, size):
        partners = self.Partner.create([{"name": f"T-qc {size} {i}"} for i in range(size)])
        half = size // 2
        steps = {
            # What the bulk wizard's Apply runs.
            "assign": lambda: partners._funnel_assign_account_type(self.lead_type),
            "advance": partners.action_advance_phase,
            "move": lambda: partners.write({"lead_phase_id": self.phase_closing.id}),
            "close_won": lambda: partners[:half].action_close(self.reason_won.id),
            "close_lost": lambda: partners[half:].action_close(self.reason_lost.id),
            "reopen": partners.action_reopen,
        }
        counts = {}
        self.env.cr.flush()
        for name, step in steps.items():
            self.env.invalidate_all()
            start = self.cr.sql_log_count
            step()
            self.env.cr.flush()
            counts[name] = self.cr.sql_log_count - start
        self.assertFunnelInvariants(partners)
        self.assertEqual(set(partners.mapped("funnel_state")), {"open"})
        self.assertEqual(partners.lead_phase_id, self.phase_closing)
        return counts

    def test_counts_are_pinned_and_flat(self):
        self._measure(2)  # warm the registry caches (field ids, xmlids) the first call fills
        small, large = self._measure(5), self._measure(120)
        measured = {step: (small[step], large[step]) for step in small}
        # Odoo writes 100 rows per INSERT / UPDATE: 120 contacts may cost a query more than 5
        # for each table a step writes, never one per contact.
        for step, (at_5, at_120) in measured.items():
            self.assertLessEqual(at_120 - at_5, 12, f"{step}: a query per contact? {measured}")
        self.assertEqual(
            measured, self.QUERIES[ODOO_SERIES], f"the funnel's cost changed: {measured}"
        )

    def test_contact_form_queries_independent_of_phases(self):
        """Opening a contact's Overview costs the same queries with 5 or 20 phases."""
        many = self.AccountType.create(
            {
                "name": "T-Twenty",
                "phase_ids": [
                    Command.create(
                        {
                            "name": f"T-Phase {index}",
                            "sequence": index,
                            "phase_type": "closing" if index == 19 else "normal",
                        }
                    )
                    for index in range(20)
                ],
            }
        )
        few = self.AccountType.create(
            {
                "name": "T-Five",
                "phase_ids": [
                    Command.create(
                        {
                            "name": f"T-P {i}",
                            "sequence": i,
                            "phase_type": "closing" if i == 4 else "normal",
                        }
                    )
                    for i in range(5)
                ],
            }
        )
        line_spec = {
            "phase_id": {"fields": {"display_name": {}}},
            "state": {},
            "score": {},
            "forecast_value": {},
            "recurring_value": {},
            "recurring_interval": {},
            "recurring_value_monthly": {},
            "date_start": {},
            "date_done": {},
            "done_by_id": {"fields": {"display_name": {}}},
            "close_reason_id": {"fields": {"display_name": {}}},
            "close_outcome": {},
            "is_stale": {},
            "note": {},
        }
        spec = {
            "name": {},
            "account_type_id": {"fields": {"display_name": {}}},
            "has_lead_phases": {},
            "lead_phase_id": {"fields": {"display_name": {}}},
            "lead_phase_type": {},
            "funnel_state": {},
            "funnel_score": {},
            "funnel_forecast_value": {},
            "funnel_weighted_value": {},
            "funnel_recurring_value": {},
            "funnel_is_stale": {},
            "expected_close_date": {},
            "close_reason_id": {"fields": {"display_name": {}}},
            "close_date": {},
            "funnel_line_ids": {"fields": line_spec},
            "funnel_history_line_ids": {"fields": line_spec},
        }
        for account_type in (few, many):
            partner = self.make_partners(account_type=account_type)
            partner.action_advance_phase()
            partner.write({"account_type_id": self.lead_type.id})
            partner.write({"account_type_id": account_type.id})
            self.env.invalidate_all()
            # crm_plus's part of the contact form, the same with 5 phases or with 20.
            with self.subTest(phases=len(account_type.phase_ids)), self.assertQueryCount(12):
                partner.web_read(spec)
            # The suggested score beside the manual one, on the contact and on its lines.
            suggestion_spec = dict(
                spec,
                funnel_suggested_score={},
                funnel_suggestion_label={},
                funnel_line_ids={
                    "fields": dict(line_spec, suggested_score={}, suggested_sample={})
                },
            )
            self.env.invalidate_all()
            with self.subTest(phases=len(account_type.phase_ids)), self.assertQueryCount(12 + 2):
                partner.web_read(suggestion_spec)
