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
