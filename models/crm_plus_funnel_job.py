"""Bulk funnel work in the background (issue 21).

Giving 10,000 contacts an account type writes about 50,000 lines in about 19 s: at 100,000 a
request would pass the server's time limit and roll everything back. Above a threshold the bulk
actions queue a job instead; one scheduled action (data/crm_plus_cron.xml) works through the
jobs in committed batches, as the user who asked and with that user's companies, calling the
same funnel methods the immediate path calls: every rule and access check still applies.

Each batch commits its changes together with the job's progress (``done_count``), so work left
by a crashed or restarted server resumes where the last commit stopped, never redoing a batch.
The scheduler already runs one cron on one server at a time (it holds a lock on the cron's row
for the whole run); the job's row is locked as well (``FOR NO KEY UPDATE SKIP LOCKED``) while a
batch runs, so a second caller of the method (a manual run, a shell) skips that job instead of
repeating its batch.
"""

import logging
from datetime import timedelta

from psycopg2 import errorcodes
from psycopg2 import errors as pg_errors

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..compat import cron_batch_done

_logger = logging.getLogger(__name__)

# Above this many contacts a bulk action runs in the background: about 4 s of work, well within
# a request; the parameter lowers it (tests) or moves it (a slow or a fast server).
THRESHOLD = 2000
THRESHOLD_PARAM = "crm_plus.bulk_job_threshold"
# Contacts per committed batch: about 2 s each, so a crash loses little and a run of the
# scheduler stays far from its time limit.
BATCH_SIZE = 1000
BATCH_SIZE_PARAM = "crm_plus.bulk_job_batch_size"
CRON_XMLID = "crm_plus.crm_plus_funnel_job_cron"
# A batch that met another transaction's lock is tried again by a later run, not failed.
RETRY_PGCODES = {
    errorcodes.LOCK_NOT_AVAILABLE,
    errorcodes.SERIALIZATION_FAILURE,
    errorcodes.DEADLOCK_DETECTED,
}


class CrmPlusFunnelJob(models.Model):
    _name = "crm.plus.funnel.job"
    _inherit = ["mail.thread"]
    _description = "CRM+ Background Job"
    _order = "id desc"

    operation = fields.Selection(
        [
            ("account_type", "Set Account Type"),
            ("close", "Close"),
            ("phase_join", "New Lead Phases"),
        ],
        required=True,
        readonly=True,
    )
    state = fields.Selection(
        [("queued", "Queued"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")],
        default="queued",
        required=True,
        readonly=True,
        index=True,
    )
    # The contacts, in processing order; read a batch at a time by SQL (a million ids would be
    # copied by each ORM read).
    target_ids = fields.Json(readonly=True, prefetch=False, copy=False)
    total_count = fields.Integer(string="Contacts", readonly=True)
    done_count = fields.Integer(string="Done", readonly=True)
    progress = fields.Float(compute="_compute_progress")
    account_type_id = fields.Many2one(
        "crm.plus.account.type", string="Account Type", readonly=True, ondelete="set null"
    )
    close_reason_id = fields.Many2one(
        "crm.plus.close.reason", string="Close Reason", readonly=True, ondelete="set null"
    )
    note = fields.Text(readonly=True)
    phase_ids = fields.Many2many("crm.plus.lead.phase", string="Lead Phases", readonly=True)
    user_id = fields.Many2one(
        "res.users", string="Requested By", required=True, readonly=True, ondelete="cascade"
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    company_ids = fields.Many2many("res.company", string="Companies", readonly=True)
    error = fields.Text(readonly=True)
    date_done = fields.Datetime(string="Finished On", readonly=True)

    @api.depends("done_count", "total_count")
    def _compute_progress(self):
        for job in self:
            job.progress = 100.0 * job.done_count / job.total_count if job.total_count else 0.0

    @api.depends("operation", "total_count")
    def _compute_display_name(self):
        operations = dict(self._fields["operation"]._description_selection(self.env))
        for job in self:
            job.display_name = self.env._(
                "%(operation)s: %(count)s contacts",
                operation=operations.get(job.operation, ""),
                count=job.total_count,
            )

    # ------------------------------------------------------------------ queueing

    @api.model
    def _funnel_threshold(self):
        """Above this many contacts, a bulk action runs as a job."""
        value = self.env["ir.config_parameter"].sudo().get_param(THRESHOLD_PARAM)
        return int(value) if value and value.isdigit() else THRESHOLD

    @api.model
    def _funnel_batch_size(self):
        value = self.env["ir.config_parameter"].sudo().get_param(BATCH_SIZE_PARAM)
        return max(int(value), 1) if value and value.isdigit() else BATCH_SIZE

    @api.model
    def _funnel_queue(self, operation, partners, phases=None, **values):
        """Queue ``operation`` on ``partners`` for the current user and companies and wake the
        scheduler. The caller has checked the request (nothing is queued that would fail at
        once); ``values``: the operation's parameters (account_type_id, close_reason_id,
        note)."""
        job = (
            self.sudo()
            .with_context(mail_create_nolog=True, mail_create_nosubscribe=True)
            .create(
                {
                    "operation": operation,
                    "target_ids": partners.ids,
                    "total_count": len(partners),
                    "phase_ids": [Command.set(phases.ids)] if phases else [],
                    "user_id": self.env.uid,
                    "company_id": self.env.company.id,
                    "company_ids": [Command.set(self.env.companies.ids)],
                    **values,
                }
            )
        )
        self.env.ref(CRON_XMLID).sudo()._trigger()
        return job.with_env(self.env)

    def _funnel_started_message(self):
        self.ensure_one()
        return self.env._(
            "%(job)s: started in the background. You will be notified when it is done.",
            job=self.display_name,
        )

    def _funnel_started_action(self):
        """What a wizard returns once its job is queued: a notice, and the wizard closes."""
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "title": self.env._("Running in the background"),
                "message": self._funnel_started_message(),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    # ------------------------------------------------------------------ processing

    @api.model
    def _cron_process(self):
        """The scheduled action: the pending jobs, oldest first, one committed batch at a time,
        while the scheduler's run allows (compat.cron_batch_done)."""
        Job = self.sudo()
        while True:
            job = Job._funnel_lock_next()
            if not job:
                cron_batch_done(self.env, 0, 0)
                return
            processed = job._funnel_run_batch()
            if processed is None:
                # Met a lock: the trigger tries the batch again in a minute. Reported as
                # nothing left, or 19.0's scheduler would call again at once, into the lock.
                self.env.ref(CRON_XMLID).sudo()._trigger(
                    fields.Datetime.now() + timedelta(minutes=1)
                )
                cron_batch_done(self.env, 0, 0)
                return
            if not cron_batch_done(self.env, processed, Job._funnel_remaining()) and processed:
                return

    @api.model
    def _funnel_lock_next(self):
        self.flush_model(["state"])
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM crm_plus_funnel_job
                 WHERE state IN ('queued', 'running')
                 ORDER BY id
                 LIMIT 1
                   FOR NO KEY UPDATE SKIP LOCKED
                """
            )
        )
        row = self.env.cr.fetchone()
        return self.browse(row[0]) if row else self.browse()

    @api.model
    def _funnel_remaining(self):
        self.flush_model(["state", "total_count", "done_count"])
        self.env.cr.execute(
            SQL(
                """
                SELECT COALESCE(SUM(total_count - COALESCE(done_count, 0)), 0)
                  FROM crm_plus_funnel_job
                 WHERE state IN ('queued', 'running')
                """
            )
        )
        return max(self.env.cr.fetchone()[0], 0)

    def _funnel_batch_ids(self, offset, limit):
        self.env.cr.execute(
            SQL(
                """
                SELECT (target_ids ->> n)::int
                  FROM crm_plus_funnel_job,
                       generate_series(%s, LEAST(%s, jsonb_array_length(target_ids)) - 1) AS n
                 WHERE id = %s
                 ORDER BY n
                """,
                offset,
                offset + limit,
                self.id,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    def _funnel_user_env(self):
        """The requesting user's environment: their access rights and record rules, their
        companies (an error if they lost one), their language for messages."""
        user = self.user_id
        companies = [self.company_id.id, *(self.company_ids - self.company_id).ids]
        return self.env(
            user=user.id,
            su=False,
            context={"lang": user.lang, "allowed_company_ids": companies},
        )

    def _funnel_run_batch(self):
        """One batch of the (locked) job, committed with its progress; a refused batch fails the
        job, with the error kept and the user notified. Returns the contacts done, or None when
        the batch met a lock and should be tried later."""
        self.ensure_one()
        offset, total = self.done_count, self.total_count
        ids = self._funnel_batch_ids(offset, self._funnel_batch_size())
        try:
            if ids:
                self._funnel_apply_batch(ids)
            self.env.flush_all()
        except pg_errors.OperationalError as error:
            self.env.cr.rollback()
            if error.pgcode in RETRY_PGCODES:
                _logger.info("CRM+ job %s: batch at %s met a lock, retried later", self.id, offset)
                return None
            self._funnel_fail(error)
            return 0
        except Exception as error:  # any refusal ends the job, not the scheduled action
            self.env.cr.rollback()
            self._funnel_fail(error)
            return 0
        done = offset + len(ids)
        finished = done >= total or not ids
        self.write(
            {
                "done_count": min(done, total),
                "state": "done" if finished else "running",
                "date_done": fields.Datetime.now() if finished else False,
            }
        )
        if finished:
            self._funnel_notify_end()
        _logger.info("CRM+ job %s: %s of %s contacts done", self.id, min(done, total), total)
        return len(ids)

    def _funnel_apply_batch(self, ids):
        """The batch through the funnel's own methods, as the requesting user."""
        env = self._funnel_user_env()
        partners = env["res.partner"].browse(ids).exists()
        if not partners:
            return
        if self.operation == "account_type":
            partners._funnel_assign_account_type(
                env["crm.plus.account.type"].browse(self.account_type_id.ids)
            )
        elif self.operation == "close":
            partners.action_close(self.close_reason_id.id or None, note=self.note or None)
        elif self.operation == "phase_join":
            env["crm.plus.lead.phase"].browse(
                self.phase_ids.ids
            )._funnel_add_lines_to_open_partners(partners.ids)
        else:
            raise UserError(env._("Unknown background job: %s.", self.operation))

    def _funnel_fail(self, error):
        """Mark the job failed (after the batch was rolled back) and tell the user."""
        # The rollback released the lock: take it again before writing.
        self.env.cr.execute(
            SQL("SELECT id FROM crm_plus_funnel_job WHERE id = %s FOR NO KEY UPDATE", self.id)
        )
        self.invalidate_recordset()
        message = error.args[0] if isinstance(error, UserError) and error.args else str(error)
        # A refusal is the user's to read; anything else is also a bug to trace.
        _logger.warning(
            "CRM+ job %s failed: %s", self.id, message, exc_info=not isinstance(error, UserError)
        )
        self.write({"state": "failed", "error": message, "date_done": fields.Datetime.now()})
        self._funnel_notify_end()

    def _funnel_notify_end(self):
        job = self.with_context(lang=self.user_id.lang)
        if job.state == "done":
            job._funnel_notify_user(job.env._("%s: done.", job.display_name), kind="success")
            return
        job._funnel_notify_user(
            job.env._(
                "%(job)s: stopped after %(done)s contacts. %(error)s",
                job=job.display_name,
                done=job.done_count,
                error=job.error,
            ),
            kind="danger",
        )

    def _funnel_notify_user(self, message, kind="info"):
        """A notice on the requesting user's screen now (the bus), and, for the end of a job,
        one in their Inbox (read later, by email if they chose so): a job may end hours after
        the user left."""
        self.ensure_one()
        user = self.user_id
        job = self.with_context(lang=user.lang)
        user.sudo()._bus_send(
            "simple_notification",
            {
                "type": kind,
                "title": job.env._("CRM+ background job"),
                "message": message,
                "sticky": kind == "danger",
            },
        )
        if kind != "info":
            job.message_notify(
                partner_ids=user.partner_id.ids,
                body=message,
                subject=job.display_name,
            )
