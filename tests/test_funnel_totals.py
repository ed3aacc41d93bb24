from odoo.tests import TransactionCase, tagged

from ..report.funnel_report_totals import mismatch_query
from .common import CrmPlusCase


@tagged("post_install", "-at_install")
class TestFunnelTotalsKeptByTheORM(CrmPlusCase):
    """The funnel analysis's totals (crm.plus.funnel.total) are kept by the ORM's write paths,
    without database triggers: a read in the same transaction sees what was just written, and
    contacts archived, deleted or reassigned leave the totals equal to a recount."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Report = cls.env["crm.plus.funnel.report"]
        cls.Total = cls.env["crm.plus.funnel.total"]

    def totals_read(self, aggregates, groupby=()):
        domain = [("account_type_id", "=", self.lead_type.id)]
        self.assertTrue(self.Report._totals_answer(domain, list(groupby), aggregates))
        return self.Report._read_group(domain, list(groupby), aggregates)

    def lines_read(self, aggregates, groupby=()):
        lines = self.Report.with_context(crm_plus_funnel_read_lines=True)
        domain = [("account_type_id", "=", self.lead_type.id)]
        return lines._read_group(domain, list(groupby), aggregates)

    def assertTotalsAreARecount(self, label):
        self.env.flush_all()
        self.env.cr.execute(mismatch_query())
        self.assertEqual(self.env.cr.fetchall(), [], label)

    def test_no_database_trigger(self):
        self.env.cr.execute(
            """SELECT tgname FROM pg_trigger
                WHERE NOT tgisinternal AND tgrelid IN ('res_partner'::regclass,
                                                       'crm_plus_phase_line'::regclass)"""
        )
        self.assertEqual(self.env.cr.fetchall(), [])
        self.env.cr.execute("SELECT proname FROM pg_proc WHERE proname LIKE 'crm_plus%'")
        self.assertEqual(self.env.cr.fetchall(), [])

    def test_sums_rows_carry_no_author_nor_date(self):
        """Each close adds ~30 rows: none checks a foreign key to res_users for its author."""
        for model in ("crm.plus.funnel.total", "crm.plus.funnel.days"):
            self.assertNotIn("create_uid", self.env[model]._fields, model)
            self.env.cr.execute(
                """SELECT column_name FROM information_schema.columns
                    WHERE table_name = %s AND column_name IN ('create_uid', 'write_uid')""",
                [self.env[model]._table],
            )
            self.assertEqual(self.env.cr.fetchall(), [], model)

    def test_unflushed_writes_are_read(self):
        partners = self.make_partners(3, user_id=self.user_sales.id)
        self.env.flush_all()
        measures = ["open_forecast_value:sum", "deal_count:sum", "__count"]
        [(forecast, deals, lines)] = self.totals_read(measures)
        current = partners[0].funnel_line_ids.filtered(lambda line: line.state == "current")
        # Written, not flushed: the totals read of the same transaction sees it.
        current.write({"forecast_value": 2500.0})
        [(forecast_after, deals_after, lines_after)] = self.totals_read(measures)
        self.assertEqual(forecast_after, forecast + 2500)
        self.assertEqual((deals_after, lines_after), (deals, lines))
        # A contact archived, not flushed: gone from the totals at once.
        partners[1].action_archive()
        [(_forecast, deals_archived, _lines)] = self.totals_read(measures)
        self.assertEqual(deals_archived, deals - 1)
        self.assertEqual(self.totals_read(measures), self.lines_read(measures))
        # A total written through the ORM and not flushed: read (the report's _depends).
        self.Total.create(
            {
                "account_type_id": self.lead_type.id,
                "partner_active": True,
                "line_count": 1,
                "deal_count": 1000,
            }
        )
        [(_forecast, deals_forged, _lines)] = self.totals_read(measures)
        self.assertEqual(deals_forged, deals - 1 + 1000)
        self.env["crm.plus.funnel.report"]._cron_recount_totals()
        [(_forecast, deals_recounted, _lines)] = self.totals_read(measures)
        self.assertEqual(deals_recounted, deals - 1)

    def test_contacts_archived_deleted_reassigned_keep_totals(self):
        partners = self.make_partners(6, user_id=self.user_sales.id)
        partners[:4].action_advance_phase()
        partners[:2].action_advance_phase()
        partners[4].action_close(self.reason_lost.id)
        partners[5].write({"lead_phase_id": self.phase_closing.id})
        partners[5].action_close(self.reason_won.id)
        self.assertTotalsAreARecount("moved and closed")
        partners[:2].action_archive()
        self.assertTotalsAreARecount("archived")
        partners[0].action_unarchive()
        self.assertTotalsAreARecount("unarchived")
        partners[1:3].write({"user_id": self.user_manager.id})
        self.assertTotalsAreARecount("reassigned")
        partners[2].write({"user_id": False})
        self.assertTotalsAreARecount("unassigned")
        partners[1].unlink()  # archived, deleted
        partners[3].unlink()
        self.assertTotalsAreARecount("deleted")
        partners[4].action_reopen()
        self.assertTotalsAreARecount("reopened")
        partners[2].write({"account_type_id": self.prospect_type.id})
        self.assertTotalsAreARecount("another type")
        partners[0].write({"company_id": self.env.company.id})
        self.assertTotalsAreARecount("company")
        # Folded, still the same.
        self.env["crm.plus.funnel.report"]._cron_fold_totals()
        self.assertTotalsAreARecount("folded")


@tagged("post_install", "-at_install")
class TestFoldAndRecountGiveWay(TransactionCase):
    """Alone in its class: a class's tests share one transaction, whose snapshot would still
    see the row another cursor deletes here."""

    def test_fold_and_recount_give_way_to_each_other(self):
        """Two servers' cron workers may fold and recount at the same time: the one that
        deletes a row the other deleted (and committed) since it started gives way, its work
        undone, and runs again a minute later; no error."""
        Days = self.env["crm.plus.funnel.days"].sudo()
        Report = self.env["crm.plus.funnel.report"]
        self.env.flush_all()
        for method, xmlid in (
            ("_cron_fold_totals", "crm_plus.crm_plus_funnel_report_cron_fold"),
            ("_cron_recount_totals", "crm_plus.crm_plus_funnel_report_cron_recount"),
        ):
            with self.subTest(method=method):
                # A row committed before this transaction began (the demo's)...
                self.env.cr.execute("SELECT * FROM crm_plus_funnel_days ORDER BY id LIMIT 1")
                row = self.env.cr.dictfetchone()
                self.assertTrue(row, "the demo data has days in phase")
                # ... and one of the same group written here: the fold deletes both.
                created = Days.create({name: value for name, value in row.items() if name != "id"})
                self.env.flush_all()
                cron = self.env.ref(xmlid)
                triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
                # The other server's recount deletes the row, and commits.
                with self.registry.cursor() as other:
                    other.execute("DELETE FROM crm_plus_funnel_days WHERE id = %s", [row["id"]])
                    other.commit()
                try:
                    result = getattr(Report, method)()
                finally:  # the database as it was, for the other tests
                    with self.registry.cursor() as other:
                        columns = ", ".join(row)
                        other.execute(
                            f"INSERT INTO crm_plus_funnel_days ({columns})"
                            f" VALUES ({', '.join(['%s'] * len(row))})",
                            list(row.values()),
                        )
                        other.commit()
                self.assertIs(result, False)
                self.assertEqual(
                    self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
                    triggers + 1,
                )
                # Its work undone: this transaction's row is still there.
                self.assertTrue(created.exists())
