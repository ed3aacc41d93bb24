from collections import defaultdict

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.models import PREFETCH_MAX
from odoo.osv import expression
from odoo.tools import SQL, sql
from odoo.tools.mail import generate_tracking_message_id

from . import funnel_sql
from .crm_plus_phase_line import MONTHS_PER_INTERVAL
from .funnel_guard import FUNNEL_OP, check_vals, is_funnel_op

# Changes the funnel's batch actions log themselves, in one message per partner.
FUNNEL_TRACKED_FIELDS = ("account_type_id", "lead_phase_id", "funnel_state", "close_reason_id")
FUNNEL_GROUP = "crm_plus.group_crm_plus_user"
# Fields of res.partner this module adds: checked for type before the ORM sees them.
FUNNEL_FIELDS = {
    "account_type_id",
    "lead_phase_id",
    "funnel_state",
    "close_reason_id",
    "close_date",
    "expected_close_date",
}
# Score bands of the pipeline board's progress bar.
HOT_SCORE = 70
WARM_SCORE = 40
# Columns of mail.tracking.value the tracked fields (many2one, selection, date) fill.
TRACKING_COLUMNS = (
    "field_id",
    "old_value_integer",
    "new_value_integer",
    "old_value_char",
    "new_value_char",
    "old_value_datetime",
    "new_value_datetime",
)


class ResPartner(models.Model):
    _inherit = "res.partner"

    account_type_id = fields.Many2one(
        "crm.plus.account.type",
        string="Account Type",
        tracking=True,
        index=True,
        ondelete="restrict",
        default=lambda self: self._default_account_type_id(),
        group_expand="_read_group_expand_account_type",
        groups=FUNNEL_GROUP,
    )
    has_lead_phases = fields.Boolean(
        related="account_type_id.has_phases", string="Has Lead Phases", groups=FUNNEL_GROUP
    )
    phase_line_ids = fields.One2many(
        "crm.plus.phase.line",
        "partner_id",
        string="Funnel Lines (all)",
        groups=FUNNEL_GROUP,
        help="Every funnel line of the partner, those of earlier account types included.",
    )
    funnel_line_ids = fields.One2many(
        "crm.plus.phase.line",
        "partner_id",
        string="Funnel",
        domain=[("is_active_funnel", "=", True)],
        groups=FUNNEL_GROUP,
    )
    funnel_history_line_ids = fields.One2many(
        "crm.plus.phase.line",
        "partner_id",
        string="Funnel History",
        domain=[("is_active_funnel", "=", False)],
        readonly=True,
        groups=FUNNEL_GROUP,
    )
    lead_phase_id = fields.Many2one(
        "crm.plus.lead.phase",
        string="Lead Phase",
        tracking=True,
        index=True,
        copy=False,
        ondelete="restrict",
        domain="[('account_type_id', '=', account_type_id)]",
        group_expand="_read_group_expand_lead_phase",
        groups=FUNNEL_GROUP,
    )
    lead_phase_type = fields.Selection(
        related="lead_phase_id.phase_type", string="Lead Phase Type", groups=FUNNEL_GROUP
    )
    funnel_state = fields.Selection(
        [("open", "Open"), ("won", "Won"), ("lost", "Lost")],
        tracking=True,
        index=True,
        copy=False,
        readonly=True,
        groups=FUNNEL_GROUP,
        help="Empty for a partner that never entered a funnel.",
    )
    close_reason_id = fields.Many2one(
        "crm.plus.close.reason",
        string="Close Reason",
        tracking=True,
        copy=False,
        readonly=True,
        ondelete="restrict",
        groups=FUNNEL_GROUP,
    )
    close_date = fields.Date(copy=False, readonly=True, groups=FUNNEL_GROUP)
    expected_close_date = fields.Date(
        string="Expected Closing", copy=False, groups=FUNNEL_GROUP, tracking=True
    )
    funnel_currency_id = fields.Many2one(
        "res.currency", compute="_compute_funnel_currency_id", groups=FUNNEL_GROUP
    )
    funnel_score = fields.Integer(
        string="Score", compute="_compute_funnel_figures", store=True, groups=FUNNEL_GROUP
    )
    funnel_forecast_value = fields.Monetary(
        string="Forecast",
        compute="_compute_funnel_figures",
        store=True,
        currency_field="funnel_currency_id",
        groups=FUNNEL_GROUP,
    )
    funnel_recurring_value = fields.Monetary(
        string="Recurring (monthly)",
        compute="_compute_funnel_figures",
        store=True,
        currency_field="funnel_currency_id",
        groups=FUNNEL_GROUP,
        help="Monthly equivalent of the current phase's recurring value.",
    )
    funnel_weighted_value = fields.Monetary(
        string="Weighted Forecast",
        compute="_compute_funnel_figures",
        store=True,
        currency_field="funnel_currency_id",
        groups=FUNNEL_GROUP,
        help="Forecast × score / 100.",
    )
    funnel_phase_date_start = fields.Datetime(
        string="In Phase Since",
        compute="_compute_funnel_figures",
        store=True,
        groups=FUNNEL_GROUP,
    )
    funnel_is_stale = fields.Boolean(
        string="Stale",
        compute="_compute_funnel_is_stale",
        search="_search_funnel_is_stale",
        groups=FUNNEL_GROUP,
        help="The partner sits in its current phase longer than the phase allows.",
    )

    funnel_health = fields.Selection(
        [("stale", "Stale"), ("hot", "Hot"), ("warm", "Warm"), ("cold", "Cold")],
        string="Health",
        compute="_compute_funnel_health",
        search="_search_funnel_health",
        groups=FUNNEL_GROUP,
        help="Stale when the partner sits too long in its phase, else its score band: "
        "hot from 70, warm from 40, cold below.",
    )

    # ------------------------------------------------------------------ computes

    def _compute_funnel_currency_id(self):
        fallback = self.env.company.currency_id
        for partner in self:
            partner.funnel_currency_id = partner.company_id.currency_id or fallback

    @api.depends(
        "lead_phase_id",
        "phase_line_ids.phase_id",
        "phase_line_ids.score",
        "phase_line_ids.forecast_value",
        "phase_line_ids.recurring_value_monthly",
        "phase_line_ids.date_start",
    )
    def _compute_funnel_figures(self):
        lines = self.phase_line_ids
        lines.fetch(
            [
                "partner_id",
                "phase_id",
                "score",
                "forecast_value",
                "recurring_value_monthly",
                "date_start",
            ]
        )
        line_by_phase = {(line.partner_id.id, line.phase_id.id): line for line in lines}
        no_line = self.env["crm.plus.phase.line"]
        for partner in self:
            line = line_by_phase.get((partner.id, partner.lead_phase_id.id), no_line)
            partner.funnel_score = line.score
            partner.funnel_forecast_value = line.forecast_value
            partner.funnel_recurring_value = line.recurring_value_monthly
            partner.funnel_weighted_value = line.forecast_value * line.score / 100.0
            partner.funnel_phase_date_start = line.date_start

    @api.depends("funnel_state", "funnel_phase_date_start", "lead_phase_id.stale_after_days")
    def _compute_funnel_is_stale(self):
        today = fields.Date.context_today(self)
        for partner in self:
            days = partner.lead_phase_id.stale_after_days
            start = partner.funnel_phase_date_start
            partner.funnel_is_stale = bool(
                partner.funnel_state == "open"
                and days
                and start
                and (today - fields.Date.context_today(self, start)).days > days
            )

    @api.depends("funnel_is_stale", "funnel_score")
    def _compute_funnel_health(self):
        for partner in self:
            if partner.funnel_is_stale:
                partner.funnel_health = "stale"
            elif partner.funnel_score >= HOT_SCORE:
                partner.funnel_health = "hot"
            elif partner.funnel_score >= WARM_SCORE:
                partner.funnel_health = "warm"
            else:
                partner.funnel_health = "cold"

    def _search_funnel_health(self, operator, value):
        if operator not in ("=", "in") or not value:
            raise UserError(self.env._("The Health filter only supports = and in."))
        values = [value] if isinstance(value, str) else list(value)
        fresh = [("funnel_is_stale", "=", False)]
        bands = {
            "stale": [("funnel_is_stale", "=", True)],
            "hot": expression.AND([fresh, [("funnel_score", ">=", HOT_SCORE)]]),
            "warm": expression.AND(
                [fresh, [("funnel_score", ">=", WARM_SCORE)], [("funnel_score", "<", HOT_SCORE)]]
            ),
            "cold": expression.AND([fresh, [("funnel_score", "<", WARM_SCORE)]]),
        }
        return expression.OR([bands[band] for band in values if band in bands] or [[(0, "=", 1)]])

    def _read_group_groupby(self, groupby_spec, query):
        # The board's progress bar groups by health: the same rules as the compute, in SQL.
        if groupby_spec != "funnel_health":
            return super()._read_group_groupby(groupby_spec, query)
        self.check_field_access_rights("read", ["funnel_health"])
        self.flush_model(
            ["funnel_state", "funnel_phase_date_start", "lead_phase_id", "funnel_score"]
        )
        self.env["crm.plus.lead.phase"].flush_model(["stale_after_days"])
        phase = query.left_join(
            self._table, "lead_phase_id", "crm_plus_lead_phase", "id", "funnel_health_phase"
        )
        tz = self.env.context.get("tz") or self.env.user.tz or "UTC"
        return SQL(
            """CASE
                WHEN %(state)s = 'open' AND %(days)s > 0
                     AND (%(today)s::date
                          - (%(start)s AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date)
                         > %(days)s THEN 'stale'
                WHEN COALESCE(%(score)s, 0) >= %(hot)s THEN 'hot'
                WHEN COALESCE(%(score)s, 0) >= %(warm)s THEN 'warm'
                ELSE 'cold'
            END""",
            state=SQL.identifier(self._table, "funnel_state"),
            days=SQL.identifier(phase, "stale_after_days"),
            today=fields.Date.context_today(self),
            start=SQL.identifier(self._table, "funnel_phase_date_start"),
            tz=tz,
            score=SQL.identifier(self._table, "funnel_score"),
            hot=HOT_SCORE,
            warm=WARM_SCORE,
        )

    def _search_funnel_is_stale(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("The Stale filter only supports = True / = False."))
        today = fields.Date.context_today(self)
        # Same day arithmetic as the compute: whole days in the user's timezone, no cron needed.
        tz = self.env.context.get("tz") or self.env.user.tz or "UTC"
        self.flush_model(["funnel_state", "funnel_phase_date_start", "lead_phase_id"])
        self.env["crm.plus.lead.phase"].flush_model(["stale_after_days"])
        self.env.cr.execute(
            """
            SELECT p.id
              FROM res_partner p
              JOIN crm_plus_lead_phase ph ON ph.id = p.lead_phase_id
             WHERE p.funnel_state = 'open'
               AND ph.stale_after_days > 0
               AND p.funnel_phase_date_start IS NOT NULL
               AND (%s::date
                    - (p.funnel_phase_date_start AT TIME ZONE 'UTC' AT TIME ZONE %s)::date)
                   > ph.stale_after_days
            """,
            (today, tz),
        )
        stale_ids = [row[0] for row in self.env.cr.fetchall()]
        positive = (operator == "=") == value
        return [("id", "in" if positive else "not in", stale_ids)]

    @api.model
    def _read_group_expand_lead_phase(self, phases, domain):
        """Every phase of the account type(s) the board is filtered on is a column."""
        type_ids = self._funnel_type_ids_from_domain(domain)
        if not type_ids:
            return phases
        return phases | phases.search([("account_type_id", "in", type_ids)])

    @api.model
    def _read_group_expand_account_type(self, account_types, domain):
        return account_types | account_types.search([])

    @api.model
    def _funnel_type_ids_from_domain(self, domain):
        type_ids = set()
        context_type = self.env.context.get("default_account_type_id")
        if context_type:
            type_ids.add(context_type)
        for leaf in domain or []:
            if isinstance(leaf, (list, tuple)) and len(leaf) == 3 and leaf[0] == "account_type_id":
                if leaf[1] == "=" and isinstance(leaf[2], int):
                    type_ids.add(leaf[2])
                elif leaf[1] == "in" and isinstance(leaf[2], (list, tuple)):
                    type_ids.update(v for v in leaf[2] if isinstance(v, int))
        return list(type_ids)

    # ------------------------------------------------------------------ ORM

    @api.model
    def _default_account_type_id(self):
        # Only the web client's form asks (see onchange): imports and RPC creates that pass
        # no type stay without one.
        if not self.env.context.get("crm_plus_web_client_default"):
            return False
        if not self.env.user.has_group(FUNNEL_GROUP):
            return False
        return self.env["crm.plus.account.type"].search([("is_default", "=", True)], limit=1)

    def onchange(self, values, field_names, fields_spec):
        if not field_names and not self:
            # The form of a new record asks for its defaults: the default type applies.
            web_form = self.with_context(crm_plus_web_client_default=True)
            return super(ResPartner, web_form).onchange(values, field_names, fields_spec)
        return super().onchange(values, field_names, fields_spec)

    @api.model_create_multi
    def create(self, vals_list):
        phase_requests = []
        if not is_funnel_op(self.env):
            for vals in vals_list:
                check_vals(self, vals, only=FUNNEL_FIELDS)
                self._funnel_check_field_access(vals)
                if {"funnel_state", "close_reason_id", "close_date"}.intersection(vals):
                    raise UserError(
                        self.env._(
                            "The funnel state, close reason and close date are set by Close "
                            "and Reopen, not written directly."
                        )
                    )
            phase_requests = [vals.pop("lead_phase_id", False) for vals in vals_list]
        partners = super().create(vals_list)
        in_funnel = partners.filtered(lambda p: p.sudo().account_type_id)
        if in_funnel:
            in_funnel._funnel_sync_account_type()
        # A lead phase given at creation: the funnel starts there (same rules as a drag).
        by_phase = defaultdict(list)
        for partner, phase_id in zip(partners, phase_requests, strict=False):
            if phase_id:
                by_phase[phase_id].append(partner.id)
        for phase_id, partner_ids in by_phase.items():
            self.browse(partner_ids)._funnel_move_to_phase(
                self.env["crm.plus.lead.phase"].browse(phase_id)
            )
        return partners

    def write(self, vals):
        check_vals(self, vals, only=FUNNEL_FIELDS)
        if is_funnel_op(self.env):
            return super().write(vals)
        self._funnel_check_field_access(vals)
        funnel_vals = {"lead_phase_id", "funnel_state", "close_reason_id", "close_date"}
        if funnel_vals.intersection(vals) - {"lead_phase_id"}:
            raise UserError(
                self.env._(
                    "The funnel state, close reason and close date are set by Close and Reopen, "
                    "not written directly."
                )
            )
        if set(vals) == {"account_type_id"} and vals["account_type_id"]:
            # Only the type changes (a bulk write, an RPC client, the form): the set-based path,
            # with the same rules and the same chatter notes.
            return self._funnel_assign_account_type(
                self.env["crm.plus.account.type"].browse(vals["account_type_id"])
            )
        type_changed = self.browse()
        if "account_type_id" in vals:
            type_changed = self.filtered(
                lambda p: p.sudo().account_type_id.id != (vals["account_type_id"] or False)
            )
        target_phase = None
        if "lead_phase_id" in vals:
            target_phase = self.env["crm.plus.lead.phase"].browse(vals["lead_phase_id"] or [])
            vals = {k: v for k, v in vals.items() if k != "lead_phase_id"}
        result = super().write(vals) if vals else True
        if type_changed:
            # Generic tracking (unless disabled) already logs every tracked funnel field.
            ctx = self.env.context
            type_changed._funnel_sync_account_type(
                log=bool(ctx.get("mail_notrack") or ctx.get("tracking_disable"))
            )
        if target_phase is not None:
            self._funnel_move_to_phase(target_phase)
        return result

    @api.model
    def _funnel_check_field_access(self, vals):
        """Field groups are enforced by Odoo on write only: a create must not let a user outside
        CRM+ put a contact in a funnel. The type and phase are read as the user, so the
        multi-company rules refuse another company's."""
        funnel_vals = FUNNEL_FIELDS.intersection(vals)
        if not funnel_vals or self.env.su:
            return
        if not self.env.user.has_group(FUNNEL_GROUP):
            raise AccessError(
                self.env._(
                    "Only CRM+ users can set the funnel fields of a contact (%s).",
                    ", ".join(sorted(funnel_vals)),
                )
            )
        if vals.get("account_type_id"):
            self.env["crm.plus.account.type"].browse(vals["account_type_id"]).check_access("read")
        if vals.get("lead_phase_id"):
            self.env["crm.plus.lead.phase"].browse(vals["lead_phase_id"]).check_access("read")

    def _auto_init(self):
        # Create the stored figure columns empty before the ORM does: empty is right for every
        # contact outside a funnel, so installing on a database of existing contacts neither
        # recomputes nor rewrites them (their write_date stays).
        for column, column_type in (
            ("funnel_score", "int4"),
            ("funnel_forecast_value", "numeric"),
            ("funnel_recurring_value", "numeric"),
            ("funnel_weighted_value", "numeric"),
            ("funnel_phase_date_start", "timestamp"),
        ):
            if not sql.column_exists(self.env.cr, self._table, column):
                sql.create_column(self.env.cr, self._table, column, column_type)
        return super()._auto_init()

    # ------------------------------------------------------------------ funnel rules
    #
    # Every action below works on the whole recordset with set-based SQL (models/funnel_sql.py):
    # one load of the partners and their lines, decisions in Python, one UPDATE per kind of
    # change, one INSERT for the chatter. The query count does not depend on the batch size.

    def _funnel_check_access(self):
        if not all(isinstance(id_, int) and not isinstance(id_, bool) for id_ in self._ids):
            raise UserError(self.env._("Contacts must be given by their database ids."))
        if not self.env.su and not self.env.user.has_group(FUNNEL_GROUP):
            raise AccessError(self.env._("Only CRM+ users can move contacts through the funnel."))
        if len(self._ids) <= PREFETCH_MAX:
            self.check_access("write")
            return
        # The ORM checks record rules in Python on records fetched 1,000 at a time; on a large
        # batch, one search with the rules' domain answers the same question in one query.
        self.env["ir.model.access"].check(self._name, "write")
        domain = self.env["ir.rule"]._compute_domain(self._name, "write")
        if domain and not self.env.su:
            allowed = set(
                self.sudo()
                .with_context(active_test=False)
                ._search(expression.AND([[("id", "in", self.ids)], domain]))
            )
            forbidden = self.browse([id_ for id_ in self._ids if id_ not in allowed])
            if forbidden:
                raise self.env["ir.rule"]._make_access_error("write", forbidden)

    def _funnel_line_model(self):
        return self.env["crm.plus.phase.line"].sudo().with_context(crm_plus_funnel_op=FUNNEL_OP)

    def _funnel_partner_name(self, partner_id):
        return self.browse(partner_id).sudo().display_name

    def _funnel_log_changes(self, changes, body=None):
        """Log ``changes`` ({partner id: {field: (old, new)}}, raw column values) in the
        chatter: one note per partner with its tracking values, as mail's tracking would, for
        the whole batch in one statement."""
        changes = {
            partner_id: {
                fname: pair for fname, pair in fields_changed.items() if pair[0] != pair[1]
            }
            for partner_id, fields_changed in changes.items()
        }
        changes = {pid: changed for pid, changed in changes.items() if changed or body}
        if not changes:
            return
        # Display values for the many2one ids involved: a handful of records whatever the batch.
        names = {}
        for fname, comodel in (
            ("account_type_id", "crm.plus.account.type"),
            ("lead_phase_id", "crm.plus.lead.phase"),
            ("close_reason_id", "crm.plus.close.reason"),
        ):
            ids = {
                value
                for changed in changes.values()
                if fname in changed
                for value in changed[fname]
                if value
            }
            records = self.env[comodel].sudo().with_context(active_test=False).browse(ids)
            names[fname] = {record.id: record.display_name for record in records}
        state_labels = dict(self._fields["funnel_state"]._description_selection(self.env))
        field_ids = {
            fname: self.env["ir.model.fields"]._get(self._name, fname).id
            for fname in FUNNEL_TRACKED_FIELDS
        }
        messages = {"res_ids": [], "bodies": [], "message_ids": []}
        values = {column: [] for column in TRACKING_COLUMNS}
        values["res_id"] = []
        for partner_id, changed in changes.items():
            messages["res_ids"].append(partner_id)
            messages["bodies"].append(body or "")
            messages["message_ids"].append(generate_tracking_message_id("message-notify"))
            for fname in FUNNEL_TRACKED_FIELDS:
                if fname not in changed:
                    continue
                old, new = changed[fname]
                values["res_id"].append(partner_id)
                values["field_id"].append(field_ids[fname])
                if fname == "funnel_state":
                    values["old_value_integer"].append(None)
                    values["new_value_integer"].append(None)
                    values["old_value_char"].append(state_labels.get(old, "") if old else "")
                    values["new_value_char"].append(state_labels.get(new, "") if new else "")
                else:
                    values["old_value_integer"].append(old or 0)
                    values["new_value_integer"].append(new or 0)
                    values["old_value_char"].append(names[fname].get(old, "") if old else "")
                    values["new_value_char"].append(names[fname].get(new, "") if new else "")
                values["old_value_datetime"].append(None)
                values["new_value_datetime"].append(None)
        author = self.env.user.partner_id
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
                WITH message AS (
                    INSERT INTO mail_message (
                        model, res_id, author_id, email_from, message_type, is_internal,
                        subtype_id, body, reply_to, message_id, email_add_signature, date,
                        create_uid, create_date, write_uid, write_date)
                    SELECT 'res.partner', m.res_id, %(author)s, %(email_from)s, 'notification',
                           TRUE, %(subtype)s, m.body, %(reply_to)s, m.message_id, FALSE, %(now)s,
                           %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM unnest(%(res_ids)s::int[], %(bodies)s::text[],
                                  %(message_ids)s::varchar[]) AS m(res_id, body, message_id)
                    RETURNING id, res_id
                )
                INSERT INTO mail_tracking_value (
                    mail_message_id, field_id, old_value_integer, new_value_integer,
                    old_value_char, new_value_char, old_value_datetime, new_value_datetime,
                    create_uid, create_date, write_uid, write_date)
                SELECT message.id, t.field_id, t.old_int, t.new_int, t.old_char, t.new_char,
                       t.old_dt, t.new_dt, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM unnest(%(t_res_ids)s::int[], %(field_id)s::int[],
                              %(old_value_integer)s::int[], %(new_value_integer)s::int[],
                              %(old_value_char)s::varchar[], %(new_value_char)s::varchar[],
                              %(old_value_datetime)s::timestamp[],
                              %(new_value_datetime)s::timestamp[])
                       AS t(res_id, field_id, old_int, new_int, old_char, new_char, old_dt, new_dt)
                  JOIN message ON message.res_id = t.res_id
                """,
                author=author.id,
                email_from=author.email_formatted or None,
                subtype=self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note"),
                reply_to=self.env["mail.thread"]._notify_get_reply_to(
                    default=author.email_formatted
                )[False]
                or None,
                now=now,
                uid=self.env.uid,
                res_ids=messages["res_ids"],
                bodies=messages["bodies"],
                message_ids=messages["message_ids"],
                t_res_ids=values["res_id"],
                field_id=values["field_id"],
                old_value_integer=values["old_value_integer"],
                new_value_integer=values["new_value_integer"],
                old_value_char=values["old_value_char"],
                new_value_char=values["new_value_char"],
                old_value_datetime=values["old_value_datetime"],
                new_value_datetime=values["new_value_datetime"],
            )
        )
        self.invalidate_model(["message_ids"])

    def _funnel_apply(self, line_updates, partner_updates, entered_line_ids=(), body=None):
        """Write the decided changes in set-based SQL, refresh the partners' figures, log the
        tracked changes and schedule the activities of the phases entered (``entered_line_ids``:
        only the lines whose phase names an activity type)."""
        before = (
            funnel_sql.load_partners(self.env, list(partner_updates)) if partner_updates else {}
        )
        funnel_sql.sql_update(self.env, "crm.plus.phase.line", line_updates)
        funnel_sql.sql_update(self.env, "res.partner", partner_updates)
        # Every caller lists in partner_updates the partners whose lines it changes.
        funnel_sql.refresh_partner_figures(self.env, partner_updates)
        changes = {
            partner_id: {
                fname: (before[partner_id][fname], values[fname])
                for fname in FUNNEL_TRACKED_FIELDS
                if fname in values
            }
            for partner_id, values in partner_updates.items()
        }
        self._funnel_log_changes(changes, body=body)
        if entered_line_ids:
            self._funnel_line_model().browse(entered_line_ids)._funnel_schedule_phase_activities()

    def _funnel_sync_account_type(self, log=False):
        """Partners whose account type changed: start (or resume) the new type's funnel; the
        lines of other types stay as history. A won/lost partner moved to a type without
        phases keeps its outcome. Returns nothing; logs the changes when ``log``."""
        self.env.flush_all()
        ids = self.ids
        funnel_sql.refresh_active_funnel(self.env, ids)
        # Every active phase of the new type gets its line, in one statement.
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO crm_plus_phase_line (
                    partner_id, phase_id, account_type_id, sequence, phase_type, company_id,
                    is_active_funnel, state, score, recurring_interval, forecast_value,
                    recurring_value, recurring_value_monthly,
                    create_uid, create_date, write_uid, write_date)
                SELECT p.id, ph.id, ph.account_type_id, ph.sequence, ph.phase_type, p.company_id,
                       TRUE, 'todo', ph.default_score, 'month', 0, 0, 0,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM res_partner AS p
                  JOIN crm_plus_lead_phase AS ph
                    ON ph.account_type_id = p.account_type_id AND ph.active
                 WHERE p.id = ANY(%(ids)s)
                   AND NOT EXISTS (SELECT 1 FROM crm_plus_phase_line AS l
                                    WHERE l.partner_id = p.id AND l.phase_id = ph.id)
                """,
                ids=ids,
                uid=self.env.uid,
                now=fields.Datetime.now(),
            )
        )
        self.env["crm.plus.phase.line"].invalidate_model()
        self.invalidate_model(["phase_line_ids", "funnel_line_ids", "funnel_history_line_ids"])
        partners = funnel_sql.load_partners(self.env, ids)
        lines_by_partner = funnel_sql.load_active_lines(self.env, ids)
        now = fields.Datetime.now()
        line_updates, partner_updates, entered = {}, {}, []
        for partner_id in ids:
            lines = lines_by_partner[partner_id]
            if not lines:
                # Phase-less type (or none): the funnel is left; a past outcome stays readable.
                partner_updates[partner_id] = {"lead_phase_id": False}
                continue
            current = next((line for line in lines if line["state"] == "current"), None)
            closed = [line for line in lines if line["close_outcome"]]
            if current:
                partner_updates[partner_id] = {
                    "lead_phase_id": current["phase_id"],
                    "funnel_state": "open",
                    "close_reason_id": False,
                    "close_date": False,
                }
            elif closed and partners[partner_id]["funnel_state"] != "open":
                last = max(closed, key=lambda line: (line["close_date"], line["sequence"]))
                partner_updates[partner_id] = {
                    "lead_phase_id": last["phase_id"],
                    "funnel_state": last["close_outcome"],
                    "close_reason_id": last["close_reason_id"],
                    "close_date": last["close_date"],
                }
            else:
                for line in lines[1:]:
                    if line["state"] != "todo":
                        line_updates[line["id"]] = {
                            "state": "todo",
                            "date_start": False,
                            "date_done": False,
                            "done_by_id": False,
                        }
                line_updates[lines[0]["id"]] = {
                    "state": "current",
                    "date_start": now,
                    "date_done": False,
                    "done_by_id": False,
                }
                if lines[0]["activity_type_id"]:
                    entered.append(lines[0]["id"])
                partner_updates[partner_id] = {
                    "lead_phase_id": lines[0]["phase_id"],
                    "funnel_state": "open",
                    "close_reason_id": False,
                    "close_date": False,
                }
        if log:
            self._funnel_apply(line_updates, partner_updates, entered)
        else:
            funnel_sql.sql_update(self.env, "crm.plus.phase.line", line_updates)
            funnel_sql.sql_update(self.env, "res.partner", partner_updates)
            funnel_sql.refresh_partner_figures(self.env, ids)
            if entered:
                self._funnel_line_model().browse(entered)._funnel_schedule_phase_activities()

    def _funnel_assign_account_type(self, account_type):
        """Give every partner of the recordset ``account_type`` (the bulk wizard): one UPDATE,
        then the funnel sync, logged in one note per partner."""
        self._funnel_check_access()
        account_type = account_type.exists()
        if not account_type:
            raise UserError(self.env._("This account type does not exist (anymore)."))
        self.env.flush_all()
        before = funnel_sql.load_partners(self.env, self.ids)
        changing = self.browse(
            [pid for pid, row in before.items() if row["account_type_id"] != account_type.id]
        )
        if not changing:
            return True
        funnel_sql.sql_update(
            self.env,
            "res.partner",
            {pid: {"account_type_id": account_type.id} for pid in changing.ids},
        )
        changing._funnel_sync_account_type()
        after = funnel_sql.load_partners(self.env, changing.ids)
        self._funnel_log_changes(
            {
                pid: {
                    fname: (before[pid][fname], after[pid][fname])
                    for fname in FUNNEL_TRACKED_FIELDS
                }
                for pid in changing.ids
            }
        )
        return True

    def _funnel_check_open(self, partners, action):
        """``partners``: rows of funnel_sql.load_partners, in the recordset's order; ``action``:
        advance, move or close (one whole sentence each, for translators)."""
        for row in partners:
            if row["funnel_state"] == "open" and row["has_phases"] and row["lead_phase_id"]:
                continue
            name = self._funnel_partner_name(row["id"])
            if row["funnel_state"] in ("won", "lost"):
                state = dict(self._fields["funnel_state"]._description_selection(self.env)).get(
                    row["funnel_state"]
                )
                if action == "advance":
                    message = self.env._(
                        "%(partner)s is closed (%(state)s): reopen it before completing a phase.",
                        partner=name,
                        state=state,
                    )
                elif action == "move":
                    message = self.env._(
                        "%(partner)s is closed (%(state)s): reopen it before changing its phase.",
                        partner=name,
                        state=state,
                    )
                else:
                    message = self.env._(
                        "%(partner)s is already closed (%(state)s).", partner=name, state=state
                    )
                raise UserError(message)
            if not row["has_phases"] or not row["lead_phase_id"]:
                type_name = self.env["crm.plus.account.type"].browse(
                    row["account_type_id"]
                ).sudo().name or self.env._("none")
                if action == "advance":
                    message = self.env._(
                        "%(partner)s has no phase to complete: its account type (%(type)s) has "
                        "no lead phases.",
                        partner=name,
                        type=type_name,
                    )
                elif action == "move":
                    message = self.env._(
                        "%(partner)s cannot change phase: its account type (%(type)s) has no "
                        "lead phases.",
                        partner=name,
                        type=type_name,
                    )
                else:
                    message = self.env._(
                        "%(partner)s has no funnel to close: its account type (%(type)s) has no "
                        "lead phases.",
                        partner=name,
                        type=type_name,
                    )
                raise UserError(message)
            if row["funnel_state"] != "open":
                raise UserError(self.env._("%(partner)s is not in an open funnel.", partner=name))

    def _funnel_load_open(self, action):
        self._funnel_check_access()
        self.env.flush_all()
        partners = funnel_sql.load_partners(self.env, self.ids)
        self._funnel_check_open([partners[pid] for pid in self.ids], action)
        return partners, funnel_sql.load_active_lines(self.env, self.ids)

    def _funnel_current_line(self, partner_id, lines):
        current = [line for line in lines if line["state"] == "current"]
        if len(current) != 1:
            raise UserError(
                self.env._(
                    "%s has no current phase line; reopen it or give it its account type again.",
                    self._funnel_partner_name(partner_id),
                )
            )
        return current[0]

    @staticmethod
    def _funnel_carry(line, previous):
        """Figures entered on the phase just left carry over when the new line has none, so
        the partner's forecast does not drop to zero at each step."""
        values = {}
        if previous and not line["forecast_value"] and previous["forecast_value"]:
            values["forecast_value"] = previous["forecast_value"]
        if previous and not line["recurring_value"] and previous["recurring_value"]:
            values["recurring_value"] = previous["recurring_value"]
            values["recurring_interval"] = previous["recurring_interval"]
            values["recurring_value_monthly"] = previous[
                "recurring_value"
            ] / MONTHS_PER_INTERVAL.get(previous["recurring_interval"] or "month", 1)
        return values

    def action_advance_phase(self):
        """Complete the current phase and make the next one current, for every partner."""
        partners, lines_by_partner = self._funnel_load_open("advance")
        now = fields.Datetime.now()
        line_updates, partner_updates, entered = {}, {}, []
        for partner_id in self.ids:
            lines = lines_by_partner[partner_id]
            current = self._funnel_current_line(partner_id, lines)
            if current["phase_type"] == "closing":
                raise UserError(
                    self.env._(
                        "%s is in the closing phase: close it with a close reason (won or lost) "
                        "instead of completing the phase.",
                        self._funnel_partner_name(partner_id),
                    )
                )
            following = lines[lines.index(current) + 1 :]
            if not following:
                raise UserError(
                    self.env._(
                        "%(partner)s is in the last phase of %(type)s, which has no closing phase "
                        "yet: add a closing phase to the account type, or close it as lost.",
                        partner=self._funnel_partner_name(partner_id),
                        type=self.env["crm.plus.account.type"]
                        .browse(partners[partner_id]["account_type_id"])
                        .sudo()
                        .name,
                    )
                )
            following = following[0]
            line_updates[current["id"]] = {
                "state": "done",
                "date_done": now,
                "done_by_id": self.env.uid,
            }
            line_updates[following["id"]] = {
                "state": "current",
                "date_start": now,
                "date_done": False,
                "done_by_id": False,
                **self._funnel_carry(following, current),
            }
            if following["activity_type_id"]:
                entered.append(following["id"])
            partner_updates[partner_id] = {"lead_phase_id": following["phase_id"]}
        self._funnel_apply(line_updates, partner_updates, entered)
        return True

    def _funnel_move_to_phase(self, phase):
        """Set the current phase directly (a drag on the board): earlier lines done, the target
        current, later lines back to todo."""
        self._funnel_check_access()
        if not phase:
            raise UserError(
                self.env._("A partner in a funnel always has a lead phase; close it instead.")
            )
        phase = phase.sudo().exists()
        if not phase:
            raise UserError(self.env._("This lead phase does not exist (anymore)."))
        if not phase.active:
            raise UserError(self.env._("The lead phase %s is archived.", phase.name))
        self.env.flush_all()
        partners = funnel_sql.load_partners(self.env, self.ids)
        for partner_id in self.ids:
            if partners[partner_id]["account_type_id"] != phase.account_type_id.id:
                raise ValidationError(
                    self.env._(
                        "The lead phase %(phase)s belongs to %(phase_type)s, not to %(partner)s's "
                        "account type (%(type)s).",
                        phase=phase.name,
                        phase_type=phase.account_type_id.name,
                        partner=self._funnel_partner_name(partner_id),
                        type=self.env["crm.plus.account.type"]
                        .browse(partners[partner_id]["account_type_id"])
                        .sudo()
                        .name
                        or self.env._("none"),
                    )
                )
        self._funnel_check_open([partners[pid] for pid in self.ids], "move")
        moving = [pid for pid in self.ids if partners[pid]["lead_phase_id"] != phase.id]
        lines_by_partner = funnel_sql.load_active_lines(self.env, moving)
        now = fields.Datetime.now()
        line_updates, partner_updates, entered = {}, {}, []
        for partner_id in moving:
            lines = lines_by_partner[partner_id]
            current = self._funnel_current_line(partner_id, lines)
            target = next(line for line in lines if line["phase_id"] == phase.id)
            index = lines.index(target)
            for line in lines[:index]:
                if line["state"] != "done":
                    line_updates[line["id"]] = {
                        "state": "done",
                        "date_done": now,
                        "done_by_id": self.env.uid,
                    }
            for line in lines[index + 1 :]:
                if line["state"] != "todo":
                    line_updates[line["id"]] = {
                        "state": "todo",
                        "date_start": False,
                        "date_done": False,
                        "done_by_id": False,
                    }
            line_updates[target["id"]] = {
                "state": "current",
                "date_start": now,
                "date_done": False,
                "done_by_id": False,
                **self._funnel_carry(target, current),
            }
            if target["activity_type_id"]:
                entered.append(target["id"])
            partner_updates[partner_id] = {"lead_phase_id": phase.id}
        self._funnel_apply(line_updates, partner_updates, entered)
        return True

    def action_close(self, close_reason_id=None, note=None):
        """Close the funnel with a reason: won only from the closing phase, lost from any
        open phase. A won partner whose type names a "type when won" switches to it."""
        self._funnel_check_access()
        if isinstance(close_reason_id, models.BaseModel):
            close_reason_id = close_reason_id.id
        if not close_reason_id:
            raise UserError(
                self.env._(
                    "A close reason is needed to close: it says whether it was won or lost."
                )
            )
        if not isinstance(close_reason_id, int) or isinstance(close_reason_id, bool):
            raise UserError(
                self.env._("The close reason must be given by its id (got %s).", close_reason_id)
            )
        reason = self.env["crm.plus.close.reason"].browse(close_reason_id).exists()
        if not reason:
            raise UserError(self.env._("The close reason %s does not exist.", close_reason_id))
        if not reason.active:
            raise UserError(self.env._("The close reason %s is archived.", reason.name))
        if note is not None and not isinstance(note, str):
            raise UserError(self.env._("The close note must be text."))
        partners, lines_by_partner = self._funnel_load_open("close")
        now = fields.Datetime.now()
        today = fields.Date.context_today(self)
        line_updates, partner_updates = {}, {}
        for partner_id in self.ids:
            current = self._funnel_current_line(partner_id, lines_by_partner[partner_id])
            if reason.outcome == "won" and current["phase_type"] != "closing":
                account_type = (
                    self.env["crm.plus.account.type"]
                    .sudo()
                    .browse(partners[partner_id]["account_type_id"])
                )
                closing = account_type.closing_phase_id
                if not closing:
                    raise UserError(
                        self.env._(
                            "%(partner)s cannot be closed as won: its account type %(type)s has "
                            "no closing phase yet. Add one in Configuration → Lead phases.",
                            partner=self._funnel_partner_name(partner_id),
                            type=account_type.name,
                        )
                    )
                raise UserError(
                    self.env._(
                        "%(partner)s can only be closed as won from the closing phase "
                        "(%(closing)s); it is in %(phase)s. A lost close is possible from any "
                        "phase.",
                        partner=self._funnel_partner_name(partner_id),
                        closing=closing.name,
                        phase=self.env["crm.plus.lead.phase"].browse(current["phase_id"]).name,
                    )
                )
            line_updates[current["id"]] = {
                "state": "done",
                "date_done": now,
                "done_by_id": self.env.uid,
                "close_reason_id": reason.id,
                "close_outcome": reason.outcome,
                "close_date": today,
                "closed_by_id": self.env.uid,
                **({"note": note} if note else {}),
            }
            partner_updates[partner_id] = {
                "funnel_state": reason.outcome,
                "close_reason_id": reason.id,
                "close_date": today,
            }
        body = Markup("<p>%s</p>") % note if note else None
        self._funnel_apply(line_updates, partner_updates, body=body)
        if reason.outcome == "won" and self._funnel_won_switches_type():
            by_type = defaultdict(list)
            for partner_id in self.ids:
                won_type = partners[partner_id]["won_account_type_id"]
                if won_type:
                    by_type[won_type].append(partner_id)
            for won_type, partner_ids in by_type.items():
                self.browse(partner_ids).sudo()._funnel_assign_account_type(
                    self.env["crm.plus.account.type"].browse(won_type)
                )
        return True

    @api.model
    def _funnel_won_switches_type(self):
        return (
            self.env["ir.config_parameter"].sudo().get_param("crm_plus.won_switches_type", "True")
            != "False"
        )

    def action_reopen(self):
        """Undo a close: the partner returns to the phase it was closed in (and to that
        funnel's type if a won close switched it). The close stays in the line's history."""
        self._funnel_check_access()
        self.env.flush_all()
        partners = funnel_sql.load_partners(self.env, self.ids)
        for partner_id in self.ids:
            if partners[partner_id]["funnel_state"] not in ("won", "lost"):
                raise UserError(
                    self.env._(
                        "%s is not closed (won or lost): there is nothing to reopen.",
                        self._funnel_partner_name(partner_id),
                    )
                )
        self.env.cr.execute(
            SQL(
                """
                SELECT DISTINCT ON (l.partner_id) l.partner_id, l.id, l.phase_id,
                       l.account_type_id, ph.active
                  FROM crm_plus_phase_line AS l
                  JOIN crm_plus_lead_phase AS ph ON ph.id = l.phase_id
                 WHERE l.partner_id = ANY(%s) AND l.close_outcome IS NOT NULL
                 ORDER BY l.partner_id, l.close_date DESC, l.date_done DESC NULLS LAST, l.id DESC
                """,
                self.ids,
            )
        )
        last_close = {row["partner_id"]: row for row in self.env.cr.dictfetchall()}
        line_updates, partner_updates = {}, {}
        back_to_type = {}
        for partner_id in self.ids:
            line = last_close.get(partner_id)
            if not line or not line["active"]:
                raise UserError(
                    self.env._(
                        "%s has no closed phase to reopen.", self._funnel_partner_name(partner_id)
                    )
                )
            if partners[partner_id]["account_type_id"] != line["account_type_id"]:
                back_to_type[partner_id] = line["account_type_id"]
            line_updates[line["id"]] = {
                "state": "current",
                "date_done": False,
                "done_by_id": False,
            }
            partner_updates[partner_id] = {
                "lead_phase_id": line["phase_id"],
                "funnel_state": "open",
                "close_reason_id": False,
                "close_date": False,
            }
        for partner_id, type_id in back_to_type.items():
            # Back to the funnel the close happened in, without restarting it.
            partner_updates[partner_id]["account_type_id"] = type_id
        self._funnel_apply(line_updates, partner_updates)
        if back_to_type:
            funnel_sql.refresh_active_funnel(self.env, list(back_to_type))
        return True

    def action_open_close_wizard(self):
        self._funnel_check_access()
        self._funnel_load_open("close")
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Close"),
            "res_model": "crm.plus.close.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"active_model": self._name, "active_ids": self.ids},
        }

    @api.model
    def action_crm_plus_pipeline(self):
        """The pipeline board, filtered on the first account type with phases so every column
        of that funnel shows, empty ones included."""
        action = self.env["ir.actions.act_window"]._for_xml_id("crm_plus.action_crm_plus_pipeline")
        first_type = self.env["crm.plus.account.type"].search([("has_phases", "=", True)], limit=1)
        context = dict(self.env.context, crm_plus_pipeline=True)
        if first_type:
            context["search_default_account_type_id"] = first_type.id
        action["context"] = context
        return action
