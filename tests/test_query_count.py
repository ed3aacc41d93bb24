from odoo import Command
from odoo.tests import tagged

from .common import CrmPlusCase


@tagged("post_install", "-at_install")
class TestQueryCount(CrmPlusCase):
    """Every funnel action works on a recordset in a number of queries independent of its size."""

    def _count(self, func):
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        func()
        self.env.flush_all()
        return self.env.cr.sql_log_count - before

    def _measure(self, size):
        partners = self.Partner.create([{"name": f"T-qc {size} {i}"} for i in range(size)])
        counts = {}
        # What the bulk wizard's Apply runs.
        counts["assign"] = self._count(
            lambda: partners._funnel_assign_account_type(self.lead_type)
        )
        counts["advance"] = self._count(partners.action_advance_phase)
        counts["move"] = self._count(
            lambda: partners.write({"lead_phase_id": self.phase_closing.id})
        )
        half = size // 2
        counts["close_won"] = self._count(lambda: partners[:half].action_close(self.reason_won.id))
        counts["close_lost"] = self._count(
            lambda: partners[half:].action_close(self.reason_lost.id)
        )
        counts["reopen"] = self._count(partners.action_reopen)
        self.assertFunnelInvariants(partners)
        return counts

    def test_counts_independent_of_size(self):
        self._measure(2)  # warm the registry caches (field ids, xmlids) the first call fills
        # Beyond the ORM's insert chunks (100 rows): lines and chatter notes are inserted in SQL.
        small = self._measure(4)
        large = self._measure(150)
        self.assertEqual(small, large)
        for action, count in large.items():
            self.assertLessEqual(count, 30, action)

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
        counts = {}
        for account_type in (few, many):
            partner = self.make_partners(account_type=account_type)
            partner.action_advance_phase()
            partner.write({"account_type_id": self.lead_type.id})
            partner.write({"account_type_id": account_type.id})
            counts[account_type.name] = self._count(lambda p=partner: p.web_read(spec))
        self.assertEqual(counts["T-Five"], counts["T-Twenty"], counts)
        self.assertLessEqual(counts["T-Twenty"], 12, "crm_plus's part of the contact form")
