import random
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import Command, api, fields, models

from ..compat import USER_GROUPS_FIELD

# Odoo's own demo companies (base, on 18.0 and 19.0): they get an account type and a funnel
# rather than a second contact of the same name. (xmlid, account type, phases completed or
# None for no funnel, days in the current phase.)
DEMO_BASE_COMPANIES = (
    ("base.res_partner_1", "customer", None, 0),  # Wood Corner
    ("base.res_partner_2", "customer", None, 0),  # Deco Addict
    ("base.res_partner_12", "lead", 2, 6),  # Azure Interior: proposal
    ("base.res_partner_3", "lead", 3, 4),  # Gemini Furniture: negotiation
    ("base.res_partner_10", "lead", 1, 30),  # The Jackson Group: qualification, stale
    ("base.res_partner_5", "lead", 4, 3),  # OpenWood: closing
    ("base.res_partner_4", "prospect", 4, 8),  # Ready Mat: closing
    ("base.res_partner_18", "prospect", 0, 5),  # Lumber Inc: first contact
)

# A few more companies with deals under way, to fill the pipeline board.
DEMO_OPEN_DEALS = (
    ("Atlas Logistics", "lead", 0, 2),
    ("Blue Harbor Foods", "lead", 0, 9),
    ("Casa Verde Hotels", "lead", 1, 5),
    ("Delta Engineering", "lead", 2, 20),  # stale in proposal
    ("Evergreen Clinics", "lead", 3, 12),
    ("Fjord Fisheries", "prospect", 1, 7),
    ("Golden Gate Optics", "prospect", 2, 3),
    ("Helios Solar", "prospect", 3, 15),  # stale in negotiation
    ("Iberia Textiles", "prospect", 0, 1),
    ("Jade Pharmaceuticals", "lead", 4, 10),
)

# Companies closed over the past twelve months, brought in as an import brings past deals
# (phase reached, close reason and date): the win/loss report has months to compare and the
# suggested score learns from them.
DEMO_CLOSED_COMPANIES = (
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
    "Alder Dental Care",
    "Beacon Insurance",
    "Cobalt Mining Supplies",
    "Dunmore Bakeries",
    "Elm Street Architects",
    "Falcon Couriers",
    "Granite Build",
    "Harbor Light Marine",
    "Ironwood Furniture",
    "Juniper Garden Centers",
    "Keystone Plumbing",
    "Lighthouse Media",
    "Meridian Travel",
    "Northwind Traders",
    "Oakridge Schools",
    "Pioneer Farms",
    "Redwood Realty",
    "Silverline Telecom",
    "Trident Marine Parts",
    "Unity Health Partners",
    "Vista Eyewear",
    "Westbrook Breweries",
    "Yarrow Cosmetics",
    "Zephyr Air Systems",
    "Aurora Events",
)

# The Lead funnel's closed history, by phase reached (first contact … closing): (lost, won).
# Won = 12 in all, one a month; the rest lost along the way, so the win rate of the leads that
# reached each phase is about 30, 40, 55, 70 and 80 %, each phase with 10 or more closes (the
# suggested score shows from 10).
DEMO_LEAD_CLOSES = ((10, 0), (8, 0), (5, 0), (2, 0), (3, 12))
# The Prospect funnel's: a handful, too few for a suggestion.
DEMO_PROSPECT_CLOSES = ((1, 0), (0, 0), (1, 0), (0, 0), (0, 2))
DEMO_HISTORY_MONTHS = 12


class CrmPlusDemo(models.AbstractModel):
    _name = "crm.plus.demo"
    _description = "CRM+ demo data"

    @api.model
    def _populate(self):
        """Odoo's demo companies and a few dozen more in the seed funnels: deals open in every
        phase (some of them stale) and a year of won and lost deals, with figures, salespeople
        and past dates."""
        rng = random.Random(42)
        env = self.env
        users = env.ref("base.user_admin") | (
            env.ref("base.user_demo", raise_if_not_found=False) or env["res.users"]
        )
        if len(users) > 1:
            # Marc Demo, a salesperson: CRM+'s first access level, his own and unassigned deals
            # (Mitchell Admin is the Administrator).
            users[1].write(
                {USER_GROUPS_FIELD: [Command.link(env.ref("crm_plus.group_crm_plus_user").id)]}
            )
        env.ref("crm_plus.phase_lead_qualification").stale_after_days = 21
        env.ref("crm_plus.phase_lead_proposal").stale_after_days = 14
        env.ref("crm_plus.phase_prospect_negotiation").stale_after_days = 10
        types = {
            code: env.ref(f"crm_plus.account_type_{code}")
            for code in ("lead", "prospect", "customer")
        }
        deals = []
        for xmlid, code, steps, days in DEMO_BASE_COMPANIES:
            # Absent when base's demo data is (a database created without it).
            partner = env.ref(xmlid, raise_if_not_found=False)
            if partner:
                deals.append((partner, code, steps, days))
        new = env["res.partner"].create(
            [
                {
                    "name": name,
                    "is_company": True,
                    "email": self._demo_email(name),
                    "user_id": users[index % len(users)].id,
                }
                for index, (name, *_rest) in enumerate(DEMO_OPEN_DEALS)
            ]
        )
        deals += [
            (partner, code, steps, days)
            for partner, (_name, code, steps, days) in zip(new, DEMO_OPEN_DEALS, strict=True)
        ]
        for index, (partner, code, steps, days) in enumerate(deals):
            vals = {"account_type_id": types[code].id}
            if not partner.user_id:
                vals["user_id"] = users[index % len(users)].id
            partner.write(vals)
            if steps is not None:
                self._demo_open_deal(partner, steps, days, rng)
        self._populate_history(rng, users)
        # The days to close the Forecast's learned dates come from, as the nightly run counts
        # them (the closes above moved only the suggested scores' counts).
        env["crm.plus.phase.stat"]._refresh_close_days()
        return True

    @api.model
    def _demo_email(self, name):
        return f"sales@{name.lower().replace(' ', '-')}.example.com"

    @api.model
    def _demo_figures(self, rng):
        return {
            "forecast_value": rng.choice([2500, 5000, 8000, 12000, 20000, 45000]),
            "recurring_value": rng.choice([0, 0, 150, 300, 900]),
            "recurring_interval": rng.choice(["month", "quarter", "year"]),
        }

    @api.model
    def _demo_open_deal(self, partner, steps, days, rng):
        """``steps`` phases completed with Complete phase, figures and scores on the way, then
        the phases' dates set back as a manager corrects them: in the current phase for
        ``days`` days, a week or two in each phase before."""
        for step in range(steps + 1):
            line = partner.funnel_line_ids.filtered(lambda ln: ln.state == "current")
            line.write(
                {
                    **self._demo_figures(rng),
                    "score": min(100, line.score + rng.randint(0, 15)),
                }
            )
            if step < steps:
                partner.action_advance_phase()
        partner.expected_close_date = fields.Date.context_today(self) + timedelta(
            days=rng.randint(7, 120)
        )
        start = fields.Datetime.now() - timedelta(days=days, hours=rng.randint(1, 8))
        self._demo_set_dates(partner, start, rng)

    @api.model
    def _demo_set_dates(self, partner, start, rng):
        """The reached lines' dates, backwards from ``start``, the start of the last phase
        reached: through the lines' date correction, which checks them (the chatter is spared
        a note per line)."""
        # All its lines: a won lead's are history once it became a customer.
        lines = partner.phase_line_ids.filtered(lambda ln: ln.state != "todo").sorted(
            lambda ln: (ln.sequence, ln.phase_id.id), reverse=True
        )
        lines = lines.with_context(tracking_disable=True)
        lines[:1].write({"date_start": start})
        for line in lines[1:]:
            done = start
            start = done - timedelta(days=rng.randint(3, 15), hours=rng.randint(0, 8))
            line.write({"date_start": start, "date_done": done})

    @api.model
    def _populate_history(self, rng, users):
        """DEMO_LEAD_CLOSES and DEMO_PROSPECT_CLOSES as companies created with their history,
        as Contacts → Import brings past deals in: the phase reached, its start, the close
        reason and date, spread over the past DEMO_HISTORY_MONTHS months with won and lost
        deals every month."""
        env = self.env
        won_reasons = env["crm.plus.close.reason"].search([("outcome", "=", "won")])
        lost_reasons = env["crm.plus.close.reason"].search([("outcome", "=", "lost")])
        closes = []  # (account type, phase, won)
        for code, table in (("lead", DEMO_LEAD_CLOSES), ("prospect", DEMO_PROSPECT_CLOSES)):
            account_type = env.ref(f"crm_plus.account_type_{code}")
            phases = account_type.phase_ids.filtered("active").sorted(lambda p: (p.sequence, p.id))
            for phase, (lost, won) in zip(phases, table, strict=False):
                closes += [(account_type, phase, False)] * lost
                closes += [(account_type, phase, True)] * won
        rng.shuffle(closes)
        # Won deals first, one per month, then the lost ones dealt out month by month.
        closes.sort(key=lambda close: not close[2])
        names = DEMO_CLOSED_COMPANIES[: len(closes)]
        Partner = env["res.partner"]
        today = fields.Date.context_today(self)
        this_month = today.replace(day=1)
        vals_list, dates = [], []
        for index, ((account_type, phase, won), name) in enumerate(
            zip(closes, names, strict=True)
        ):
            first = this_month - relativedelta(months=index % DEMO_HISTORY_MONTHS)
            last = min(first + relativedelta(months=1, days=-1), today)
            close_date = first + timedelta(days=rng.randint(0, (last - first).days))
            start = env["crm.plus.funnel"]._day_start(close_date) - timedelta(
                days=rng.randint(2, 20), hours=rng.randint(0, 8)
            )
            reason = rng.choice(won_reasons if won else lost_reasons)
            vals_list.append(
                {
                    "name": name,
                    "is_company": True,
                    "email": self._demo_email(name),
                    "user_id": users[index % len(users)].id,
                    "account_type_id": account_type.id,
                    "lead_phase_id": phase.id,
                    "funnel_phase_date_start": start,
                    "close_reason_id": reason.id,
                    "close_date": close_date,
                }
            )
            dates.append(start)
        partners = Partner.create(vals_list)
        for partner, start in zip(partners, dates, strict=True):
            # The salesperson's scores and figures along the way, the earlier phases' dates.
            for line in partner.phase_line_ids.filtered(lambda ln: ln.state == "done"):
                line.write(
                    {
                        **self._demo_figures(rng),
                        "score": max(1, min(100, line.score + rng.randint(-10, 15))),
                    }
                )
            self._demo_set_dates(partner, start, rng)
