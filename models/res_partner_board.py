"""What the pipeline board and the contacts' lists show of a contact's deal beyond its lines:
the stale rule and the health bands (written once, as domains: the computes evaluate them in
Python, the searches return them, the board's progress bar turns them into SQL), days in
phase, the suggested score and the learned closing date; and the board itself: its columns,
its grouping by health or suggestion, its indexes."""

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..compat import (
    FALSE_DOMAIN,
    check_field_read_access,
    domain_and,
    domain_or,
    domain_positive_conditions,
    groupby_args,
)
from .funnel_rules import FUNNEL_GROUP, learned_close_date

# The pipeline board's and the forecast's index (see init): open funnel contacts only, so a
# write of any other contact (a phone, an email, a module's column) does not touch it. The key
# serves a manager's board (one type), a salesperson's (one type, their own contacts: "My
# Funnel") and the forecast (all of it).
BOARD_INDEX = "res_partner_crm_plus_open_funnel_index"
BOARD_INDEX_KEY = ["account_type_id", "user_id", "lead_phase_id"]
# What the board's progress bar and column sums, and the forecast report, read of them
# (partner_share: res.partner's multi-company record rule reads it).
BOARD_INDEX_INCLUDE = [
    "active",
    "company_id",
    "partner_share",
    "funnel_score",
    "funnel_stale_deadline",
    "funnel_forecast_value",
    "funnel_weighted_value",
    "funnel_recurring_value",
    # The board's column sums (its progress bar's sum_field) and the forecast's totals.
    "funnel_open_value",
    "funnel_open_weighted_value",
]
# The operators a search on an account type's name selects types with (the search view's
# "Search Account Type for: …" is an ilike).
TYPE_NAME_OPERATORS = ("=", "in", "ilike", "=ilike", "like", "=like")
# Score bands of the pipeline board's progress bar.
HOT_SCORE = 70
WARM_SCORE = 40


class ResPartner(models.Model):
    _inherit = "res.partner"

    funnel_days_in_phase = fields.Integer(
        string="Days in Phase",
        compute="_compute_funnel_days_in_phase",
        groups=FUNNEL_GROUP,
        help="Days an open partner has been in its current phase, as you count days: 0 on "
        "the day it entered the phase, 1 the next day.",
    )
    funnel_days_in_phase_label = fields.Char(
        string="Time in Phase", compute="_compute_funnel_days_in_phase", groups=FUNNEL_GROUP
    )
    funnel_learned_close_date = fields.Date(
        string="Learned Expected Closing",
        compute="_compute_funnel_expected_close_date",
        groups=FUNNEL_GROUP,
        help="Learned from the account type's history: the day the phase started plus the "
        "median days from this phase to a won close, once 10 won contacts went through it; "
        "until then the day the partner goes stale in the phase. Open partners only.",
    )
    funnel_expected_close_date = fields.Date(
        string="Expected Closing (or learned)",
        compute="_compute_funnel_expected_close_date",
        groups=FUNNEL_GROUP,
        help="The expected closing a person set, else the learned one: the date Forecast " "uses.",
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

    funnel_suggested_score = fields.Integer(
        string="Suggested Score",
        compute="_compute_funnel_suggested_score",
        search="_search_funnel_suggested_score",
        groups=FUNNEL_GROUP,
        help="Win rate of the closed contacts of the same company and account type whose "
        "funnel reached the contact's phase, (won + 1) / (closed + 2) in %; empty below 10 "
        "of them, and for contacts not open.",
    )
    funnel_suggested_sample = fields.Integer(
        string="Suggestion Sample",
        compute="_compute_funnel_suggested_score",
        groups=FUNNEL_GROUP,
        help="How many closed contacts the suggested score is learned from.",
    )
    funnel_suggestion_label = fields.Char(
        string="Suggested",
        compute="_compute_funnel_suggested_score",
        groups=FUNNEL_GROUP,
    )

    @api.depends("funnel_state", "lead_phase_id", "company_id")
    def _compute_funnel_suggested_score(self):
        # One read of the stats (crm.plus.phase.stat) for the whole recordset.
        keys = self._funnel_stat_keys()
        suggestions = self.env["crm.plus.phase.stat"]._suggestions(set(keys.values()))
        # Translated once: formatted per contact below.
        label = self.env._("%(score)s %% of %(closed)s closed")
        for partner in self:
            row = suggestions.get(keys.get(partner.id))
            partner.funnel_suggested_score = row["suggested_score"] if row else False
            partner.funnel_suggested_sample = row["reached_closed"] if row else False
            partner.funnel_suggestion_label = (
                label % {"score": row["suggested_score"], "closed": row["reached_closed"]}
                if row
                else False
            )

    def _funnel_stat_keys(self):
        """{contact id: its phase's stat row key (company id or None, phase id)}, for the open
        contacts in a phase: what the suggested score and the learned closing date read."""
        return {
            partner.id: (partner.company_id.id or None, partner.lead_phase_id.id)
            for partner in self
            if partner.funnel_state == "open" and partner.lead_phase_id
        }

    def _search_funnel_suggested_score(self, operator, value):
        return self.env["crm.plus.phase.stat"]._contacts_domain(operator, value)

    @api.depends("funnel_state", "funnel_phase_date_start")
    @api.depends_context("tz")
    def _compute_funnel_days_in_phase(self):
        """Whole days between the day the phase started and today, both in the user's
        timezone (the day boundary of the stale rule, _funnel_stale_cutoff)."""
        today = fields.Date.context_today(self)
        for partner in self:
            start = partner.funnel_phase_date_start
            if partner.funnel_state != "open" or not start:
                partner.funnel_days_in_phase = False
                partner.funnel_days_in_phase_label = False
                continue
            days = max(0, (today - fields.Date.context_today(self, start)).days)
            partner.funnel_days_in_phase = days
            partner.funnel_days_in_phase_label = (
                self.env._("1 day in phase")
                if days == 1
                else self.env._("%(days)s days in phase", days=days)
            )

    @api.depends(
        "funnel_state",
        "funnel_phase_date_start",
        "funnel_stale_deadline",
        "lead_phase_id",
        "company_id",
        "expected_close_date",
    )
    def _compute_funnel_expected_close_date(self):
        # One read of the stats (crm.plus.phase.stat) for the whole recordset.
        keys = self._funnel_stat_keys()
        learned = self.env["crm.plus.phase.stat"]._learned_close(set(keys.values()))
        for partner in self:
            partner.funnel_learned_close_date = learned_close_date(
                partner.funnel_state,
                partner.funnel_phase_date_start,
                partner.funnel_stale_deadline,
                learned.get(keys.get(partner.id)),
            )
            partner.funnel_expected_close_date = (
                partner.expected_close_date or partner.funnel_learned_close_date
            )

    # The stale rule and the health bands are written once, as domains: the computes evaluate
    # them in Python (filtered_domain), the searches return them, the board's progress bar
    # turns them into SQL.

    @api.model
    def _funnel_stale_cutoff(self):
        """Midnight today in the user's timezone, in UTC: a partner is stale once its deadline
        falls on a day before today (whole days, as the user counts them)."""
        return self.env["crm.plus.funnel"]._day_start(fields.Date.context_today(self))

    @api.model
    def _funnel_stale_domains(self):
        """(stale, not stale)"""
        cutoff = self._funnel_stale_cutoff()
        return (
            [("funnel_stale_deadline", "<", cutoff)],
            ["|", ("funnel_stale_deadline", "=", None), ("funnel_stale_deadline", ">=", cutoff)],
        )

    @api.model
    def _funnel_health_bands(self):
        """[(band, domain)]: stale when the partner sits too long in its phase, else its score
        band. The domains exclude each other."""
        stale, fresh = self._funnel_stale_domains()
        return [
            ("stale", stale),
            ("hot", domain_and([fresh, [("funnel_score", ">=", HOT_SCORE)]])),
            (
                "warm",
                domain_and(
                    [
                        fresh,
                        [("funnel_score", ">=", WARM_SCORE), ("funnel_score", "<", HOT_SCORE)],
                    ]
                ),
            ),
            ("cold", domain_and([fresh, [("funnel_score", "<", WARM_SCORE)]])),
        ]

    @api.depends("funnel_stale_deadline")
    @api.depends_context("tz")
    def _compute_funnel_is_stale(self):
        stale = self.filtered_domain(self._funnel_stale_domains()[0])
        for partner in self:
            partner.funnel_is_stale = partner in stale

    def _search_funnel_is_stale(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("The Stale filter only supports = True / = False."))
        stale, fresh = self._funnel_stale_domains()
        return stale if (operator == "=") == value else fresh

    @api.depends("funnel_stale_deadline", "funnel_score")
    @api.depends_context("tz")
    def _compute_funnel_health(self):
        remaining = self
        for band, domain in self._funnel_health_bands():
            matching = remaining.filtered_domain(domain)
            for partner in matching:
                partner.funnel_health = band
            remaining -= matching
        for partner in remaining:
            partner.funnel_health = False

    def _search_funnel_health(self, operator, value):
        if operator not in ("=", "in") or not value:
            raise UserError(self.env._("The Health filter only supports = and in."))
        values = [value] if isinstance(value, str) else list(value)
        return domain_or(
            [domain for band, domain in self._funnel_health_bands() if band in values]
            or [FALSE_DOMAIN]
        )

    def init(self):
        res = super().init()
        # The pipeline board and the forecast read open funnel contacts of one type by phase
        # (a salesperson's board: their own), the progress bar their health, the columns and
        # the forecast their figures: a covering index, read alone (index-only) instead of a
        # heap page per contact, next to res_partner's many columns and its closed or
        # non-funnel rows. (An earlier version's indexes: migrations/1.2.0.)
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS %s ON res_partner (%s) INCLUDE (%s)"
                " WHERE funnel_state = 'open'",
                SQL.identifier(BOARD_INDEX),
                SQL(", ").join(SQL.identifier(column) for column in BOARD_INDEX_KEY),
                SQL(", ").join(SQL.identifier(column) for column in BOARD_INDEX_INCLUDE),
            )
        )
        return res

    def _read_group_groupby(self, *args):
        alias, groupby_spec, query = groupby_args(self, args)
        if groupby_spec == "funnel_suggested_score":
            # The contacts list groups by suggestion: the stat row of each open contact's phase.
            check_field_read_access(self, "funnel_suggested_score")
            self.flush_model(["funnel_state", "lead_phase_id", "company_id"])
            self.env["crm.plus.phase.stat"].flush_model()
            return SQL(
                """(SELECT NULLIF(s.suggested_score, 0) FROM crm_plus_phase_stat AS s
                     WHERE s.phase_id = %s AND s.company_id IS NOT DISTINCT FROM %s
                       AND %s = 'open')""",
                self._field_to_sql(alias, "lead_phase_id", query),
                self._field_to_sql(alias, "company_id", query),
                self._field_to_sql(alias, "funnel_state", query),
            )
        # The board's progress bar groups by health: the bands' own domains, as SQL.
        if groupby_spec != "funnel_health":
            return super()._read_group_groupby(*args)
        check_field_read_access(self, "funnel_health")
        self.flush_model(["funnel_stale_deadline", "funnel_score"])
        # sudo: the grouped query applies the record rules already; the bands add conditions.
        model = self.sudo().with_context(active_test=False)
        return SQL(
            "CASE %s END",
            SQL(" ").join(
                SQL("WHEN %s THEN %s", model._search(domain).where_clause, band)
                for band, domain in self._funnel_health_bands()
            ),
        )

    @api.model
    def _read_group_expand_lead_phase(self, phases, domain):
        """Every phase of the account type(s) the board is filtered on is a column, so a card
        can be dragged to any of them; those types' columns come first. The columns of each
        type stay together, in its order (the phases' own order is by sequence only, which
        would interleave the types). ``domain``: a list, or a ``Domain`` on 19.0."""
        type_ids = set(self._funnel_type_ids_from_domain(domain))
        if type_ids:
            phases |= phases.search([("account_type_id", "in", list(type_ids))])
        return phases.sorted(
            lambda phase: (
                phase.account_type_id.id not in type_ids,
                phase.account_type_id.sequence,
                phase.account_type_id.id,
                phase.sequence,
                phase.id,
            )
        )

    @api.model
    def _read_group_expand_account_type(self, account_types, domain):
        return account_types | account_types.search([])

    @api.model
    def _funnel_type_ids_from_domain(self, domain):
        """The account types a domain selects the contacts of, as the search view builds it:
        by id (a filter, "Group by"), by name ("Search Account Type for: Partner", an
        ``ilike`` on the many2one or on ``account_type_id.name``; 19.0 hands it over as an
        ``any`` on the type's display name) or a sub-domain (``any``). Negated conditions
        select nothing."""
        AccountType = self.env["crm.plus.account.type"]
        type_ids = set()
        for path, operator, value in domain_positive_conditions(domain):
            field_name, _dot, sub_path = path.partition(".")
            if field_name != "account_type_id":
                continue
            if sub_path:
                if operator in TYPE_NAME_OPERATORS:
                    type_ids.update(AccountType.search([(sub_path, operator, value)]).ids)
                continue
            values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
            if operator == "any":
                type_ids.update(AccountType.search(value).ids)
            elif operator in ("=", "in"):
                type_ids.update(v for v in values if isinstance(v, int) and v)
                names = [v for v in values if isinstance(v, str)]
                if names:
                    type_ids.update(AccountType.search([("display_name", "in", names)]).ids)
            elif operator in TYPE_NAME_OPERATORS and isinstance(value, str):
                type_ids.update(AccountType.search([("display_name", operator, value)]).ids)
        # Else the type the board was opened for (an account type's contacts). Not as well:
        # the search view keeps a default facet's value in the context (default_<field>) when
        # the facet is replaced, so the Lead board searched for "Prospect" would keep Lead's
        # empty columns in front.
        context_type = self.env.context.get("default_account_type_id")
        if not type_ids and isinstance(context_type, int):
            type_ids.add(context_type)
        return list(type_ids)
