"""The data set of `make bench` (also make bench-scale's and make load's) and its measuring loop.

Bench(cr, n, runs, budget).build() writes, in plain SQL: N partners in the funnel (a 10-phase
type plus the seed Lead and Prospect types, two companies, history lines of earlier types),
N contacts without a type, N/5 closed ones, N crm.lead opportunities in a 10-stage pipeline
plus N/2 won or lost ones; then (orm_leads) Odoo CRM's second anchor through the ORM: N/2 leads
closed with action_set_won / _lost (the history lead scoring learns from) and N open leads as a
sales team has them. measure() times an operation from the same committed state each run.
"""

import datetime
import io
import random
import re
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from odoo import SUPERUSER_ID, Command, api

ADMIN_UID = 2
SQL = dict(
    re.findall(
        r"^-- name: (\w+)\n(.*?)(?=^-- name: |\Z)",
        (Path(__file__).parent / "bench.sql").read_text(),
        re.S | re.M,
    )
)
SMALL_N = 100
EXTRA_STAGES = 6  # Odoo CRM's pipeline mirrors the 10-phase type: 9 open stages and Won


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def median(values):
    return statistics.median(values) if values else float("nan")


@dataclass
class Result:
    label: str
    times: list
    counts: list = field(default_factory=list)
    sql_times: list = field(default_factory=list)
    fingerprint: object = None

    @property
    def time(self):
        return median(self.times)


class Bench:
    def __init__(self, cr, n, runs, budget, profile=False, orm_leads=True):
        self.cr, self.n, self.runs, self.budget = cr, n, runs, budget
        self.profile = profile
        self.orm_leads = orm_leads  # the ORM-built anchor: minutes at 10k, hours at a million
        self.skip = set()
        self.su = api.Environment(cr, SUPERUSER_ID, {"lang": "en_US", "tz": "UTC"})
        self.results, self.counts_small, self.form, self.data_info = {}, {}, {}, {}
        self.notes = []

    @property
    def env(self):
        """The admin user (CRM+ manager, Sales manager), both companies, tracking on: what the
        web client's requests run with."""
        context = {"lang": "en_US", "tz": "UTC", "uid": ADMIN_UID}
        return api.Environment(
            self.cr, ADMIN_UID, dict(context, allowed_company_ids=self.company_ids)
        )

    def reset(self):
        self.cr.rollback()
        self.env.invalidate_all()

    def build(self):
        started = time.perf_counter()
        self._build_config()
        self._build_partners()
        self._build_leads()
        if self.orm_leads:
            self._build_orm_leads()
        self._build_form_partners()
        self.cr.commit()
        self.vacuum()
        self.data_info["build_seconds"] = time.perf_counter() - started
        self._describe_data()

    def vacuum(self):
        """Each operation group starts from clean tables and fresh statistics: the runs before
        it rolled back tens of thousands of rows (dead tuples, inflated row estimates)."""
        self.reset()
        self.cr._cnx.autocommit = True
        try:
            self.cr.execute(
                "VACUUM ANALYZE res_partner, crm_plus_phase_line, crm_lead, mail_message, "
                "mail_tracking_value, mail_followers"
            )
        finally:
            self.cr._cnx.autocommit = False

    # ------------------------------------------------------------------ data set

    def _build_config(self):
        env, ref = self.su, self.su.ref
        # The Set Account Type wizard measures its own work at every size: above this
        # threshold it would only queue a background job (crm.plus.funnel.job).
        env["ir.config_parameter"].set_param("crm_plus.bulk_job_threshold", str(10 * self.n))
        self.customer_type = ref("crm_plus.account_type_customer")
        self.lead_type = ref("crm_plus.account_type_lead")
        self.prospect_type = ref("crm_plus.account_type_prospect")
        self.reason_won = ref("crm_plus.close_reason_won_contract")
        self.reason_lost = ref("crm_plus.close_reason_lost_price")
        company1 = ref("base.main_company")
        company2 = env["res.company"].create(
            {"name": "Bench Company 2", "currency_id": company1.currency_id.id}
        )
        self.company_ids = [company1.id, company2.id]
        env["res.users"].browse(ADMIN_UID).write({"company_ids": [Command.link(company2.id)]})
        self.b10_type, self.b20_type = (self._create_type(count) for count in (10, 20))
        self.phases = {
            t: t.phase_ids.sorted(lambda p: (p.sequence, p.id))
            for t in (self.lead_type, self.prospect_type, self.b10_type, self.b20_type)
        }
        # Odoo CRM: New, Qualified, Proposition, 6 more open stages, Won.
        Stage = env["crm.stage"]
        stages = Stage.search([("is_won", "=", False)], order="sequence, id")
        stages |= Stage.create(
            [{"name": f"Bench stage {i}", "sequence": 3 + i} for i in range(1, EXTRA_STAGES + 1)]
        )
        self.stages = stages.sorted(lambda s: (s.sequence, s.id))
        self.won_stage = Stage.search([("is_won", "=", True)], limit=1)
        team2 = env["crm.team"].create({"name": "Bench team 2", "company_id": company2.id})
        self.teams = [ref("sales_team.team_sales_department"), team2]
        self.lost_reason = env["crm.lost.reason"].search([], limit=1)
        env.flush_all()

    def _create_type(self, count):
        code = f"B{count}"
        phases = [
            {"name": f"{code} phase {i}", "code": f"{code}-{i}", "sequence": i}
            | {"default_score": min(95, 5 + 90 * i // count)}
            | {"phase_type": "closing" if i == count else "normal"}
            for i in range(1, count + 1)
        ]
        return self.su["crm.plus.account.type"].create(
            {"name": f"Bench {count} phases", "code": code}
            | {"won_account_type_id": self.customer_type.id}
            | {"phase_ids": [Command.create(vals) for vals in phases]}
        )

    def _insert_partners(self, prefix, count):
        self.cr.execute(
            SQL["insert_partners"],
            {"companies": self.company_ids, "uid": ADMIN_UID, "prefix": prefix, "count": count},
        )
        ids = sorted(row[0] for row in self.cr.fetchall())
        self.cr.execute(
            "UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)", [ids]
        )
        return ids

    def _build_partners(self):
        rng, n, cr = random.Random(6), self.n, self.cr
        self.now = datetime.datetime.utcnow().replace(microsecond=0)
        cr.execute("SELECT setseed(0.6)")
        # The N partners every funnel operation works on: open, never in a closing phase; N
        # contacts without an account type yet (the bulk assignment's target); N/5 closed ones
        # (won ones switched to Customer, lost ones stay in Lead), for the reports' sake.
        self.open_ids = self._insert_partners("Bench open ", n)
        self.fresh_ids = self._insert_partners("Bench fresh ", n)
        closed_ids = self._insert_partners("Bench closed ", n // 5)
        plan, won_closed, lost_closed = [], [], []

        def close(account_type):
            """A close in an earlier funnel: won in its closing phase, or lost anywhere."""
            last = len(self.phases[account_type]) - 1
            if rng.random() < 0.4:
                return last, "won", self.reason_won.id
            return rng.randrange(last), "lost", self.reason_lost.id

        def row(partner_id, i, account_type, cur, active, outcome=None, reason=None):
            days = rng.randint(5, 300) + (0 if active else 400)
            company = self.company_ids[i % 2]
            plan.append((partner_id, company, account_type.id, cur, active, outcome, reason, days))

        types = (self.b10_type, self.b10_type, self.lead_type, self.prospect_type)
        for i, partner_id in enumerate(self.open_ids):
            account_type = types[i % 4]
            # Never in the closing phase (advance would refuse it), nor in the last normal
            # phase of the 10-phase type half the time.
            last = len(self.phases[account_type]) - (2 if i % 4 < 2 else 1)
            row(partner_id, i, account_type, rng.randrange(last), True)
            if i % 8 in (0, 2):
                cur, outcome, reason = close(self.prospect_type)
                row(partner_id, i, self.prospect_type, cur, False, outcome, reason)
        for i, partner_id in enumerate(closed_ids):
            cur, outcome, reason = close(self.lead_type)
            (won_closed if outcome == "won" else lost_closed).append(partner_id)
            row(partner_id, i, self.lead_type, cur, outcome != "won", outcome, reason)
        cr.execute(
            "CREATE TEMP TABLE bench_plan (partner_id int, company_id int, type_id int, cur int,"
            " active bool, outcome varchar, reason_id int, days int)"
        )
        buf = io.StringIO(
            "".join("\t".join(r"\N" if v is None else str(v) for v in r) + "\n" for r in plan)
        )
        cr.copy_expert("COPY bench_plan FROM STDIN", buf)
        cr.execute(SQL["lines"], {"uid": ADMIN_UID, "now": self.now})
        cr.execute("DROP TABLE bench_plan")
        for state, type_id, ids in (
            ("open", None, self.open_ids),
            ("lost", self.lead_type.id, lost_closed),
            ("won", self.customer_type.id, won_closed),
        ):
            cr.execute(SQL["partners"], {"state": state, "type": type_id, "ids": ids})
        # A 5-phase partner for the contact form: in the Lead type, with Prospect history.
        self.form_partner_5 = next(
            p for i, p in enumerate(self.open_ids) if i % 8 == 2 and i > SMALL_N
        )

    def _build_leads(self):
        """N open opportunities spread over the first 9 open stages, and N/2 closed ones
        (40 % won, 60 % lost)."""
        self.cr.execute(
            SQL["leads"],
            {
                "won": self.won_stage.id, "stages": self.stages.ids, "uid": ADMIN_UID, "n": self.n,
                "teams": [t.id for t in self.teams], "companies": self.company_ids,
                "now": self.now, "reason": self.lost_reason.id, "count": self.n + self.n // 2,
                "open": len(self.stages) - 1,
            },
        )  # fmt: skip
        self.cr.execute(
            "SELECT id FROM crm_lead WHERE name LIKE 'Bench opportunity %%' ORDER BY name"
        )
        self.lead_ids = [row[0] for row in self.cr.fetchall()][: self.n]

    def _build_orm_leads(self):
        """The second Odoo CRM anchor, as a sales team's database has it: through the ORM, each
        opportunity with an email, a phone, a salesperson and a team, after a won/lost history
        closed with action_set_won / _lost (tracking on), so predictive lead scoring has its
        frequencies and the N open leads' probability is the automated one. Created under
        tracking_disable (as Odoo's crm tests and the importer do: 15 ms per lead otherwise),
        then given what the chatter would have left, by batch: followers and a creation note."""
        started, env, d = time.perf_counter(), self.su, self.data_info
        Users = env["res.users"].with_context(no_reset_password=True)
        groups_field = "groups_id" if "groups_id" in Users._fields else "group_ids"
        salesman = env.ref("sales_team.group_sale_salesman")
        self.salespeople = []  # two per team, a team per company
        for index, team in enumerate(self.teams * 2):
            login = f"bench.sales{index + 1}"
            company_id = self.company_ids[index % 2]
            user = Users.create(
                {
                    "name": f"Bench salesperson {index + 1}",
                    "login": login,
                    "company_id": company_id,
                }
                | {
                    "email": f"{login}@bench.example.com",
                    groups_field: [Command.link(salesman.id)],
                }
                | {"company_ids": [Command.set(self.company_ids)]}
            )
            env["crm.team.member"].create({"crm_team_id": team.id, "user_id": user.id})
            self.salespeople.append((team, company_id, user))
        history = self._create_orm_leads("Bench ORM history", self.n // 2)
        # By batches: action_set_won looks the won stage up once per lead over the whole set.
        won = history.filtered(lambda lead: lead.id % 5 < 2)
        lost = history - won
        for start in range(0, len(history), 500):
            won[start : start + 500].action_set_won()
            lost[start : start + 500].action_set_lost(lost_reason_id=self.lost_reason.id)
        env.flush_all()
        self.cr.precommit.run()
        env.flush_all()
        self.orm_lead_ids = self._create_orm_leads("Bench ORM opportunity", self.n).ids
        self.cr.execute(
            "SELECT (SELECT count(*) FROM crm_lead_scoring_frequency), count(*) FILTER (WHERE "
            "probability = automated_probability), round(avg(probability)::numeric, 1), (SELECT "
            "count(*) FROM mail_followers WHERE res_model = 'crm.lead' AND res_id = ANY(%(ids)s))"
            " FROM crm_lead WHERE id = ANY(%(ids)s)",
            {"ids": self.orm_lead_ids},
        )
        keys = "pls_frequencies orm_automated orm_avg_probability orm_followers".split()
        d.update(zip(keys, self.cr.fetchone(), strict=True))
        d["orm_build_seconds"] = time.perf_counter() - started

    def _create_orm_leads(self, prefix, count):
        rng, env = random.Random(count), self.env
        Lead, leads = env["crm.lead"].with_context(tracking_disable=True), env["crm.lead"]
        for start in range(0, count, 1000):
            vals = []
            for i in range(start, min(count, start + 1000)):
                team, company_id, user = self.salespeople[i % len(self.salespeople)]
                # A tenth without a phone, one in 25 with a mistyped e-mail: the lead
                # scoring's email_state / phone_state then mean something.
                email = f"contact{i}@customer{i % 997}" + (".example.com" if i % 25 else "")
                stage = self.stages[rng.randrange(len(self.stages) - 1)]
                vals.append(
                    {"name": f"{prefix} {i:06d}", "type": "opportunity", "team_id": team.id}
                    | {"user_id": user.id, "company_id": company_id, "stage_id": stage.id}
                    | {"email_from": email, "phone": f"+32 470 {i:06d}" if i % 10 else False}
                    | {"expected_revenue": rng.randrange(1000, 100000, 500)}
                )
            batch = Lead.create(vals)
            for (user, creator), group in batch.grouped(
                lambda ld: (ld.user_id, ld.create_uid)
            ).items():
                group.message_subscribe(partner_ids=(user | creator).partner_id.ids)
            batch._message_log_batch(bodies=dict.fromkeys(batch.ids, "Opportunity created"))
            leads |= batch
            env.flush_all()
        return leads

    def _build_form_partners(self):
        """The contact form's subjects: a partner in the 20-phase type (with a lost Prospect
        funnel in its history, like the 5-phase one), and one outside any funnel."""
        env = self.env
        partner = env["res.partner"].create({"name": "Bench form 20 phases", "is_company": True})
        partner.write({"account_type_id": self.prospect_type.id})
        partner.action_advance_phase()
        partner.action_close(self.reason_lost.id)
        partner.write({"account_type_id": self.b20_type.id})
        for _ in range(10):
            partner.action_advance_phase()
        self.form_partner_20, self.form_partner_none = partner.id, self.fresh_ids[-1]
        env.flush_all()
        self.cr.precommit.run()
        env.flush_all()

    def _describe_data(self):
        def one(query):
            self.cr.execute(query)
            return self.cr.fetchone()

        def counts(column, table, where="true"):
            self.cr.execute(
                f"SELECT {column}, count(*) FROM {table} WHERE {where} GROUP BY 1 ORDER BY 1"
            )
            return dict(self.cr.fetchall())

        d = self.data_info
        d["lines"], d["closes"] = one(
            "SELECT count(*), count(*) FILTER (WHERE close_outcome IS NOT NULL) "
            "FROM crm_plus_phase_line"
        )
        d["line_states"] = counts("state", "crm_plus_phase_line")
        d["partner_states"] = counts("funnel_state", "res_partner", "funnel_state IS NOT NULL")
        d["partners"] = one("SELECT count(*) FROM res_partner")[0]
        d["leads_active"], d["leads_lost"], d["leads_won"] = one(
            "SELECT count(*) FILTER (WHERE active), count(*) FILTER (WHERE NOT active), "
            "count(*) FILTER (WHERE probability = 100) FROM crm_lead"
        )

    # ------------------------------------------------------------------ measuring

    def timed(self, func, precommit=True):
        """(seconds, queries, seconds in SQL) of func(env) + flush + precommit hooks (mail's
        tracking messages are posted there, at commit; precommit=False leaves them out)."""
        env = self.env
        env.flush_all()
        env.invalidate_all()
        thread = threading.current_thread()
        thread.query_count, thread.query_time = 0, 0.0
        before, started = self.cr.sql_log_count, time.perf_counter()
        func(env)
        env.flush_all()
        if precommit:
            self.cr.precommit.run()
            env.flush_all()
        return time.perf_counter() - started, self.cr.sql_log_count - before, thread.query_time

    def measure(self, key, label, func, prepare=None, fingerprint=None, runs=None, precommit=True):
        """Up to `runs` runs of func(env), each after a rollback, until `budget` seconds."""
        if key.split("_", 1)[0] in self.skip:
            return None
        result = Result(label, [])
        for _ in range(runs or self.runs):
            if sum(result.times) >= self.budget:
                break  # Odoo CRM's per-record chatter at N = 10,000: one run says enough
            self.reset()
            if prepare:
                prepare()
            for values, value in zip(
                (result.times, result.counts, result.sql_times),
                self.timed(func, precommit),
                strict=True,
            ):
                values.append(value)
            if fingerprint:
                result.fingerprint = fingerprint()
        self.reset()
        self.results[key] = result
        log(f"  {label}: {result.time:.3f} s, {len(result.times)} runs, {result.counts[-1]} SQL")
        return result


def field_nodes(node):
    """The field elements under node, not those of the sub-views inside a field."""
    for child in node:
        if child.tag == "field":
            yield child
        elif isinstance(child.tag, str):
            yield from field_nodes(child)


def view_spec(env, model, view_type, view_ref=None):
    """(specification, aggregates) of a view as the web client builds them: every field of the
    arch, many2ones with their display name, x2manys with the fields of the list (or kanban)
    they are shown in, 40 rows, or their display name; aggregates: the fields with an
    aggregator (grouped views)."""
    view_id = env.ref(view_ref).id if view_ref else False
    views = env[model].get_views([(view_id, view_type)])
    models = {name: info["fields"] for name, info in views["models"].items()}

    def spec_of(node, model_name):
        spec = {}
        for field_node in field_nodes(node):
            info = models[model_name].get(field_node.get("name"))
            if info is None:
                continue
            entry = spec.setdefault(field_node.get("name"), {})
            invisible = "1" in (field_node.get("invisible"), field_node.get("column_invisible"))
            invisible |= "True" in (
                field_node.get("invisible"),
                field_node.get("column_invisible"),
            )
            if info["type"] in ("many2one", "reference"):
                entry.setdefault("fields", {})
                if not invisible:
                    entry["fields"]["display_name"] = {}
            elif info["type"] in ("one2many", "many2many") and not invisible:
                mode = (field_node.get("mode") or "list").split(",")[0]
                subviews = {c.tag: c for c in field_node if isinstance(c.tag, str)}
                sub = next((subviews[t] for t in (mode, "list", "kanban") if t in subviews), None)
                if sub is not None and info.get("relation") in models:
                    entry.update(fields=spec_of(sub, info["relation"]), limit=40)
                else:
                    entry["fields"] = {"display_name": {}}
                    if field_node.get("widget") == "many2many_tags":
                        entry["fields"]["color"] = {}
        return spec

    spec = spec_of(etree.fromstring(views["views"][view_type]["arch"]), model) | {
        "display_name": {}
    }
    fields_info = models[model]
    aggregates = sorted(
        f"{name}:{fields_info[name]['aggregator']}"
        for name in spec
        if fields_info.get(name, {}).get("aggregator")
        and fields_info[name]["type"] in ("integer", "float", "monetary")
    )
    return spec, aggregates
