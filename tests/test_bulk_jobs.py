"""Bulk work in the background (issue 21): above the threshold, the Set Account Type and Close
wizards and a type's new lead phases queue a crm.plus.funnel.job, which the scheduled action
works through in committed batches as the requesting user.

The scheduler's commits are real here: the job runs on a cursor of the registry in test mode,
whose commit and rollback are savepoints of the test's transaction (as Odoo's own cron tests
do), so a batch that commits stays, and a batch that fails or is interrupted rolls back to the
last commit."""

import json
from contextlib import contextmanager
from unittest.mock import patch

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..compat import USER_GROUPS_FIELD
from ..models.crm_plus_funnel_job import BATCH_SIZE_PARAM, CRON_XMLID, THRESHOLD_PARAM
from .common import CrmPlusCase


class ServerStopped(BaseException):
    """A server killed or out of time in the middle of a batch: no handler of the job sees
    it, as none would run."""


@tagged("post_install", "-at_install")
class TestBulkJobs(CrmPlusCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param(THRESHOLD_PARAM, "5")
        params.set_param(BATCH_SIZE_PARAM, "4")
        cls.Job = cls.env["crm.plus.funnel.job"]
        cls.PartnerClass = type(cls.env["res.partner"])

    # ------------------------------------------------------------------ helpers

    @contextmanager
    def scheduler_env(self):
        """The environment of a scheduler run: its own cursor, whose commits and rollbacks
        are savepoints of the test's transaction."""
        self.env.flush_all()
        if hasattr(self, "enter_registry_test_mode"):  # 19.0
            test_mode = self.enter_registry_test_mode()
        else:
            test_mode = self._registry_test_mode_18()
        with test_mode, self.registry.cursor() as cr:
            yield api.Environment(cr, SUPERUSER_ID, {})
        self.env.invalidate_all()

    @contextmanager
    def _registry_test_mode_18(self):
        self.registry.enter_test_mode(self.cr)
        try:
            yield
        finally:
            self.registry.leave_test_mode()
            self.env.invalidate_all()

    def run_scheduler(self, max_runs=10):
        """Call the scheduled action as the scheduler does (18.0: one batch a call; 19.0: as
        many as the run's time allows) until no job is pending; the number of calls."""
        for run in range(1, max_runs + 1):
            with self.scheduler_env() as env:
                env["crm.plus.funnel.job"]._cron_process()
            if not self.Job.search([("state", "in", ("queued", "running"))]):
                return run
        self.fail(f"jobs still pending after {max_runs} runs of the scheduled action")

    @contextmanager
    def spy(self, method, stop_at_call=None):
        """Record each call of res.partner's ``method`` (uid, ids), or of the state machine's
        (``crm.plus.funnel.<method>``, called with the contacts); ``stop_at_call``: that call
        stops the server before it changes anything."""
        calls = []
        if method.startswith("crm.plus.funnel."):
            owner, method = self.registry["crm.plus.funnel"], method.rsplit(".", 1)[1]
        else:
            owner = self.PartnerClass
        original = getattr(owner, method)

        def spying(records, *args, **kwargs):
            contacts = records if owner is self.PartnerClass else args[0]
            calls.append((contacts.env.uid, contacts.ids))
            if len(calls) == stop_at_call:
                raise ServerStopped()
            return original(records, *args, **kwargs)

        with patch.object(owner, method, spying):
            yield calls

    def type_wizard(self, partners, account_type, user=None):
        return (
            self.env["crm.plus.account.type.wizard"]
            .with_user(user or self.user_sales)
            .with_context(active_model="res.partner", active_ids=partners.ids)
            .create({"account_type_id": account_type.id})
        )

    def close_wizard(self, partners, reason, note=False, user=None):
        return (
            self.env["crm.plus.close.wizard"]
            .with_user(user or self.user_sales)
            .with_context(active_model="res.partner", active_ids=partners.ids)
            .create({"close_reason_id": reason.id, "note": note})
        )

    def snapshot(self, partners):
        """What a contact's funnel looks like, comparable between two contacts."""
        return [
            (
                partner.account_type_id,
                partner.lead_phase_id,
                partner.funnel_state,
                partner.close_reason_id,
                [
                    (line.phase_id, line.state, line.score, line.close_outcome, line.note)
                    for line in partner.funnel_line_ids.sorted(lambda ln: (ln.sequence, ln.id))
                ],
            )
            for partner in partners
        ]

    def notifications(self, user):
        """(payloads of the bus notices, Inbox messages) sent to ``user`` by the jobs."""
        self.env.cr.flush()  # the bus writes its notices at commit
        notices = [
            json.loads(bus.message)["payload"]
            for bus in self.env["bus.bus"].sudo().search([], order="id")
            if json.loads(bus.channel)[1:] == ["res.partner", user.partner_id.id]
            and json.loads(bus.message)["type"] == "simple_notification"
        ]
        messages = (
            self.env["mail.message"]
            .sudo()
            .search(
                [
                    ("model", "=", "crm.plus.funnel.job"),
                    ("partner_ids", "in", user.partner_id.ids),
                ]
            )
        )
        return notices, messages

    # ------------------------------------------------------------------ tests

    def test_set_account_type_in_batches(self):
        partners = self.make_partners(10, account_type=self.customer_type)
        immediate = self.make_partners(2, account_type=self.customer_type)

        action = self.type_wizard(partners, self.lead_type).action_apply()

        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["next"], {"type": "ir.actions.act_window_close"})
        job = self.Job.search([])
        self.assertEqual(len(job), 1)
        self.assertRecordValues(
            job,
            [
                {
                    "operation": "account_type",
                    "state": "queued",
                    "total_count": 10,
                    "done_count": 0,
                    "account_type_id": self.lead_type.id,
                    "user_id": self.user_sales.id,
                }
            ],
        )
        self.assertEqual(partners.account_type_id, self.customer_type, "nothing changed yet")
        self.assertFalse(partners.funnel_line_ids)
        cron = self.env.ref(CRON_XMLID)
        self.assertTrue(
            self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id)]),
            "the job wakes the scheduler",
        )

        # One call of the scheduled action, with the progress record the scheduler gives it.
        with self.spy("_funnel_assign_account_type") as calls, self.scheduler_env() as env:
            cron_env, progress = env.ref(CRON_XMLID).with_context(cron_id=cron.id)._add_progress()
            env["crm.plus.funnel.job"].with_context(
                cron_id=cron.id, ir_cron_progress_id=progress.id
            )._cron_process()
            self.assertEqual(cron_env.env.context["ir_cron_progress_id"], progress.id)
            reported = (progress.done, progress.remaining)
        job.invalidate_recordset()
        self.assertEqual(reported, (job.done_count, 10 - job.done_count))
        self.assertIn(job.done_count, (4, 10), "whole batches only")
        first_calls = list(calls)

        with self.spy("_funnel_assign_account_type") as calls:
            self.run_scheduler()
        calls = first_calls + calls
        self.assertEqual(
            calls,
            [
                (self.user_sales.id, partners.ids[:4]),
                (self.user_sales.id, partners.ids[4:8]),
                (self.user_sales.id, partners.ids[8:]),
            ],
            "batches of 4, in order, each once, as the requesting user",
        )
        self.assertRecordValues(job, [{"state": "done", "done_count": 10, "error": False}])
        self.assertTrue(job.date_done)

        # The same end as the immediate path.
        self.type_wizard(immediate, self.lead_type).action_apply()
        self.assertEqual(immediate.lead_phase_id, self.phase_first)
        self.assertEqual(self.snapshot(partners), self.snapshot(immediate[:1]) * 10)
        self.assertFunnelInvariants(partners)

        notices, messages = self.notifications(self.user_sales)
        self.assertEqual([notice["type"] for notice in notices], ["success"])
        self.assertIn("done", notices[0]["message"])
        self.assertEqual(len(messages), 1)
        self.assertEqual(messages.res_id, job.id)
        self.assertIn("done", messages.body)

    def test_interrupted_job_resumes_without_redoing(self):
        partners = self.make_partners(10, account_type=self.customer_type)
        self.type_wizard(partners, self.lead_type).action_apply()
        job = self.Job.search([])

        # Not assertRaises: Odoo's rolls the test's transaction back to where it began.
        stopped = False
        with self.spy("_funnel_assign_account_type", stop_at_call=2) as calls:
            try:
                self.run_scheduler()
            except ServerStopped:
                stopped = True
        self.assertTrue(stopped)
        self.assertEqual(len(calls), 2)
        self.assertRecordValues(job, [{"state": "running", "done_count": 4}])
        self.assertEqual(partners[:4].account_type_id, self.lead_type, "the first batch stays")
        self.assertEqual(partners[4:].account_type_id, self.customer_type)
        first_lines = {
            line.id: (line.state, line.date_start) for line in partners[:4].funnel_line_ids
        }
        self.assertEqual(len(first_lines), 16)

        with self.spy("_funnel_assign_account_type") as calls:
            self.run_scheduler()
        self.assertEqual([ids for _uid, ids in calls], [partners.ids[4:8], partners.ids[8:]])
        self.assertRecordValues(job, [{"state": "done", "done_count": 10}])
        self.assertEqual(
            {line.id: (line.state, line.date_start) for line in partners[:4].funnel_line_ids},
            first_lines,
            "the first batch is not done again",
        )
        self.assertEqual(partners.lead_phase_id, self.phase_first)
        self.assertFunnelInvariants(partners)

    def test_job_of_user_without_rights_fails_cleanly(self):
        partners = self.make_partners(6, account_type=self.customer_type)
        self.type_wizard(partners, self.lead_type).action_apply()
        job = self.Job.search([])
        # The user leaves the CRM+ team before the job runs.
        self.user_sales.write(
            {USER_GROUPS_FIELD: [Command.unlink(self.env.ref("crm_plus.group_crm_plus_user").id)]}
        )
        self.assertFalse(self.user_sales.has_group("crm_plus.group_crm_plus_user"))

        self.run_scheduler()

        self.assertRecordValues(job, [{"state": "failed", "done_count": 0}])
        self.assertIn("Only CRM+ users", job.error)
        self.assertEqual(partners.account_type_id, self.customer_type, "nothing changed")
        self.assertFalse(partners.funnel_line_ids)
        notices, messages = self.notifications(self.user_sales)
        self.assertEqual(
            [(notice["type"], notice["sticky"]) for notice in notices], [("danger", True)]
        )
        self.assertIn("Only CRM+ users", notices[0]["message"])
        self.assertEqual(len(messages), 1)
        # A failed job is not a failed scheduled action: later jobs still run.
        others = self.make_partners(6, account_type=self.customer_type)
        self.type_wizard(others, self.lead_type, user=self.user_manager).action_apply()
        self.run_scheduler()
        self.assertEqual(others.lead_phase_id, self.phase_first)

    def test_bad_input_queues_nothing(self):
        partners = self.make_partners(6)
        closed = partners[3]
        closed.action_close(self.reason_lost.id)
        with self.assertRaisesRegex(UserError, "already closed"):
            self.close_wizard(partners, self.reason_lost).action_confirm()
        with self.assertRaisesRegex(UserError, "closed as won"):
            self.close_wizard(partners - closed, self.reason_won).action_confirm()
        other_company = self.env["res.company"].create({"name": "T-Other company"})
        other_type = self.AccountType.create(
            {"name": "T-Other", "code": "T-OTHER", "company_id": other_company.id}
        )
        with self.assertRaises(AccessError):
            self.type_wizard(partners, other_type).action_apply()
        self.assertFalse(self.Job.search([]), "nothing queued")
        self.assertEqual((partners - closed).mapped("funnel_state"), ["open"] * 5)

    def test_bulk_close_in_batches(self):
        partners = self.make_partners(9)
        immediate = self.make_partners(1)
        (partners | immediate).write({"lead_phase_id": self.phase_closing.id})

        action = self.close_wizard(partners, self.reason_won, note="Signed").action_confirm()

        self.assertEqual(action["tag"], "display_notification")
        job = self.Job.search([])
        self.assertRecordValues(
            job,
            [
                {
                    "operation": "close",
                    "state": "queued",
                    "total_count": 9,
                    "close_reason_id": self.reason_won.id,
                    "note": "Signed",
                }
            ],
        )
        self.assertEqual(set(partners.mapped("funnel_state")), {"open"}, "nothing closed yet")

        with self.spy("action_close") as calls:
            self.run_scheduler()
        self.assertEqual([len(ids) for _uid, ids in calls], [4, 4, 1])
        self.assertEqual(job.state, "done")

        self.close_wizard(immediate, self.reason_won, note="Signed").action_confirm()
        self.assertEqual(immediate.funnel_state, "won")
        self.assertEqual(immediate.account_type_id, self.customer_type, "type when won")
        self.assertEqual(self.snapshot(partners), self.snapshot(immediate) * 9)
        self.assertFunnelInvariants(partners)

    def test_scheduler_is_told_every_queued_contact(self):
        """The scheduler calls the jobs' action again while it reports contacts remaining (18.0):
        a job queued behind another counts from the start (its done count still empty), or it
        would wait for the next hourly run."""
        first, second = self.make_partners(6), self.make_partners(7)
        (first | second).write({"lead_phase_id": self.phase_closing.id})
        self.close_wizard(first, self.reason_lost).action_confirm()
        self.close_wizard(second, self.reason_lost).action_confirm()
        self.assertEqual(self.Job._funnel_remaining(), 13)
        with self.scheduler_env() as env:
            Job = env["crm.plus.funnel.job"]
            Job._funnel_lock_next()._funnel_run_batch()
            self.assertEqual(Job._funnel_remaining(), 9)
        self.run_scheduler()
        self.assertEqual(self.Job._funnel_remaining(), 0)
        self.assertEqual(set((first | second).mapped("funnel_state")), {"lost"})

    def test_failed_batch_fails_the_job_and_keeps_the_done_batches(self):
        partners = self.make_partners(10)
        self.close_wizard(partners, self.reason_lost).action_confirm()
        job = self.Job.search([])
        # Closed by someone else after the job was queued: its batch is refused.
        partners[6].action_close(self.reason_lost.id)

        self.run_scheduler()

        self.assertRecordValues(job, [{"state": "failed", "done_count": 4}])
        self.assertIn(partners[6].name, job.error)
        self.assertIn("already closed", job.error)
        self.assertEqual(partners[:4].mapped("funnel_state"), ["lost"] * 4)
        self.assertEqual(
            (partners[4:] - partners[6]).mapped("funnel_state"), ["open"] * 5, "rolled back"
        )
        self.assertFunnelInvariants(partners)
        notices, messages = self.notifications(self.user_sales)
        self.assertEqual(len(notices), 1)
        self.assertIn("stopped after 4 contacts", notices[0]["message"])
        self.assertEqual(len(messages), 1)

    def test_first_phase_of_a_type_in_batches(self):
        new_type = self.AccountType.create({"name": "T-New", "code": "T-NEW"})
        twin_type = self.AccountType.create({"name": "T-Twin", "code": "T-TWIN"})
        partners = self.make_partners(7, account_type=new_type)
        twins = self.make_partners(1, account_type=twin_type)

        new_type.with_user(self.user_manager).write(
            {
                "phase_ids": [
                    Command.create({"name": "T-N1", "sequence": 1, "default_score": 15}),
                    Command.create({"name": "T-N2", "sequence": 2, "default_score": 50}),
                ]
            }
        )
        job = self.Job.search([])
        self.assertRecordValues(
            job,
            [
                {
                    "operation": "phase_join",
                    "state": "queued",
                    "total_count": 7,
                    "user_id": self.user_manager.id,
                }
            ],
        )
        self.assertEqual(job.phase_ids, new_type.phase_ids)
        self.assertFalse(partners.funnel_line_ids, "nothing changed yet")
        self.assertFalse(partners.lead_phase_id)
        notices, _messages = self.notifications(self.user_manager)
        self.assertEqual(len(notices), 1)
        self.assertIn("started in the background", notices[0]["message"])

        with self.spy("crm.plus.funnel._sync") as calls:
            self.run_scheduler()
        self.assertEqual([len(ids) for _uid, ids in calls], [4, 3])
        self.assertEqual(job.state, "done")
        first = new_type.phase_ids.sorted("sequence")[0]
        self.assertEqual(partners.lead_phase_id, first)

        # Below the threshold, the same phases join at once.
        twin_type.write(
            {
                "phase_ids": [
                    Command.create({"name": "T-N1", "sequence": 1, "default_score": 15}),
                    Command.create({"name": "T-N2", "sequence": 2, "default_score": 50}),
                ]
            }
        )
        self.assertEqual(len(self.Job.search([])), 1)

        def shape(partner):
            return [
                (line.phase_id.name, line.state, line.score)
                for line in partner.funnel_line_ids.sorted("sequence")
            ]

        self.assertEqual([shape(p) for p in partners], [shape(twins)] * 7)
        self.assertFunnelInvariants(partners)

        # A later phase reaches the open contacts the same way: todo after their phase.
        new_type.write(
            {"phase_ids": [Command.create({"name": "T-N3", "sequence": 3, "default_score": 70})]}
        )
        self.run_scheduler()
        self.assertEqual(
            [state for _name, state, _score in shape(partners[0])], ["current", "todo", "todo"]
        )
        self.assertFunnelInvariants(partners)
