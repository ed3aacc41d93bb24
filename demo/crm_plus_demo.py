import random
from datetime import timedelta

from odoo import api, fields, models

from ..models.funnel_guard import FUNNEL_OP

DEMO_COMPANIES = [
    "Azure Interior",
    "Deco Addict",
    "Gemini Furniture",
    "Lumber Inc",
    "Ready Mat",
    "The Jackson Group",
    "Wood Corner",
    "Atlas Logistics",
    "Blue Harbor Foods",
    "Casa Verde Hotels",
    "Delta Engineering",
    "Evergreen Clinics",
    "Fjord Fisheries",
    "Golden Gate Optics",
    "Helios Solar",
    "Iberia Textiles",
    "Jade Pharmaceuticals",
    "Kestrel Aviation",
    "Lisbon Ceramics",
    "Maple Software",
    "Nordic Timber",
    "Orion Security",
    "Porto Wines",
    "Quartz Analytics",
    "Rotterdam Shipping",
    "Sierra Outdoor",
    "Tulip Florists",
    "Utrecht Bikes",
    "Valencia Citrus",
    "Windmill Energy",
    "Xavier Legal",
    "Yellowstone Tours",
    "Zenith Robotics",
    "Amsterdam Print",
    "Braga Dairy",
    "Coimbra Books",
]


# The win probability of a lead, in %, once its funnel reached each phase of the seed Lead type
# (first contact … closing): the demo's closed history follows it, so the suggested score can
# be seen to recover it.
DEMO_WIN_RATE_BY_PHASE = (30, 40, 55, 70, 80)
DEMO_HISTORY_COHORTS = 3
DEMO_HISTORY_COHORT_SIZE = 100


class CrmPlusDemo(models.AbstractModel):
    _name = "crm.plus.demo"
    _description = "CRM+ demo data"

    @api.model
    def _populate(self):
        """A few dozen companies spread over the seed funnels: open in every phase (some of
        them stale), won and lost, with figures, salespeople and past dates."""
        rng = random.Random(42)
        env = self.env
        lead = env.ref("crm_plus.account_type_lead")
        prospect = env.ref("crm_plus.account_type_prospect")
        won_reasons = env["crm.plus.close.reason"].search([("outcome", "=", "won")])
        lost_reasons = env["crm.plus.close.reason"].search([("outcome", "=", "lost")])
        users = env.ref("base.user_admin") | (
            env.ref("base.user_demo", raise_if_not_found=False) or env["res.users"]
        )
        env.ref("crm_plus.phase_lead_qualification").stale_after_days = 21
        env.ref("crm_plus.phase_lead_proposal").stale_after_days = 14
        env.ref("crm_plus.phase_prospect_negotiation").stale_after_days = 10
        partners = env["res.partner"].create(
            [
                {
                    "name": name,
                    "is_company": True,
                    "account_type_id": (lead if index % 3 else prospect).id,
                    "user_id": users[index % len(users)].id,
                    "email": f"sales@{name.lower().replace(' ', '-')}.example.com",
                }
                for index, name in enumerate(DEMO_COMPANIES)
            ]
        )
        today = fields.Date.context_today(self)
        now = fields.Datetime.now()
        for index, partner in enumerate(partners):
            steps = index % 5  # 0..4 phases completed
            if steps == 4:
                steps = 4 if index % 2 else rng.randint(0, 3)
            for _step in range(steps):
                line = partner.funnel_line_ids.filtered(lambda ln: ln.state == "current")
                line.write(
                    {
                        "forecast_value": rng.choice([2500, 5000, 8000, 12000, 20000, 45000]),
                        "recurring_value": rng.choice([0, 0, 150, 300, 900]),
                        "recurring_interval": rng.choice(["month", "quarter", "year"]),
                        "score": min(100, line.score + rng.randint(0, 15)),
                    }
                )
                partner.action_advance_phase()
            partner.expected_close_date = today + timedelta(days=rng.randint(7, 120))
            if index % 7 == 3:
                partner.action_close(rng.choice(lost_reasons).id, note="Demo: lost")
            elif index % 10 == 9 and partner.lead_phase_id.phase_type == "closing":
                partner.action_close(rng.choice(won_reasons).id, note="Demo: won")
        # Spread the history over the past months so durations and stale markers mean something.
        lines = env["crm.plus.phase.line"].search([("partner_id", "in", partners.ids)])
        for partner in partners:
            offset = rng.randint(5, 40)
            for line in lines.filtered(lambda ln, p=partner: ln.partner_id == p).sorted(
                "sequence", reverse=True
            ):
                if line.state == "todo":
                    continue
                start = now - timedelta(days=offset + rng.randint(3, 20))
                vals = {"date_start": start}
                if line.state == "done":
                    vals["date_done"] = now - timedelta(days=offset)
                if line.close_date:
                    vals["close_date"] = (now - timedelta(days=offset)).date()
                line.with_context(crm_plus_funnel_op=FUNNEL_OP).write(vals)
                offset = (start - now).days * -1
        closed = partners.filtered(lambda p: p.funnel_state in ("won", "lost"))
        for partner in closed:
            line = lines.filtered(lambda ln, p=partner: ln.partner_id == p and ln.close_outcome)
            partner.with_context(crm_plus_funnel_op=FUNNEL_OP).close_date = line[:1].close_date
        self._populate_history(rng)
        return True

    @api.model
    def _populate_history(self, rng):
        """Closed leads drawn so that P(won | reached phase k) = DEMO_WIN_RATE_BY_PHASE[k]: a
        lead moves on from phase k with rate[k] / rate[k + 1] and is won from the closing phase
        with rate[-1]. Closed in cohorts, so the later ones close with a suggestion (the
        calibration report compares it with the manual score)."""
        env = self.env
        lead = env.ref("crm_plus.account_type_lead")
        phases = lead.phase_ids.filtered("active").sorted(lambda p: (p.sequence, p.id))
        rates = DEMO_WIN_RATE_BY_PHASE
        if len(phases) != len(rates):
            return
        won_reason = env["crm.plus.close.reason"].search([("outcome", "=", "won")], limit=1)
        lost_reasons = env["crm.plus.close.reason"].search([("outcome", "=", "lost")])
        for cohort in range(DEMO_HISTORY_COHORTS):
            partners = env["res.partner"].create(
                [
                    {
                        "name": f"Closed lead {cohort * DEMO_HISTORY_COHORT_SIZE + index + 1:03d}",
                        "account_type_id": lead.id,
                    }
                    for index in range(DEMO_HISTORY_COHORT_SIZE)
                ]
            )
            last_phase, won = {}, {}
            for partner in partners:
                index = 0
                while index < len(rates) - 1 and rng.random() < rates[index] / rates[index + 1]:
                    index += 1
                last_phase[partner.id] = index
                won[partner.id] = index == len(rates) - 1 and rng.random() < rates[-1] / 100
            for step in range(len(rates) - 1):
                partners.browse(
                    [pid for pid, index in last_phase.items() if index > step]
                ).action_advance_phase()
            won_ids = [pid for pid, is_won in won.items() if is_won]
            lost = partners - partners.browse(won_ids)
            groups = [
                (lost.filtered(lambda p, i=index: p.id % len(lost_reasons) == i), reason)
                for index, reason in enumerate(lost_reasons)
            ]
            groups.append((partners.browse(won_ids), won_reason))
            for group, reason in groups:
                if group:
                    group.action_close(reason.id)
