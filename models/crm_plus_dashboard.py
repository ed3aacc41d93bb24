"""The manager's one-page view: each figure read from the report or the contacts' field that
already carries it (never a money rule of its own), each tile opening the records behind it.

Built from standard pieces (an OWL client action and this model) rather than a spreadsheet in
Odoo's Dashboards app: a ``depends`` on ``spreadsheet_dashboard`` would pull the spreadsheet
engine into every install of a CRM addon, and its dashboard files (JSON of a spreadsheet
version) differ between 18.0 and 19.0. Odoo ships such dashboards as bridge modules
(``spreadsheet_dashboard_sale``); this repository is one addon."""

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_date

# The periods of the Win/Loss report's default filter ("Last 12 Months": this month and the
# eleven before), which the win rate and the lost reasons read, as the report opens.
WINLOSS_MONTHS = 12
TOP_LOST_REASONS = 5


class CrmPlusDashboard(models.AbstractModel):
    """The figures of the manager's one-page view, and the records behind each tile."""

    _name = "crm.plus.dashboard"
    _description = "CRM+ Dashboard"

    @api.model
    def _dashboard_periods(self):
        today = fields.Date.context_today(self)
        month = today.replace(day=1)
        quarter = month.replace(month=(month.month - 1) // 3 * 3 + 1)
        return {
            "today": today,
            "month": (month, month + relativedelta(months=1)),
            "quarter": (quarter, quarter + relativedelta(months=3)),
            "year": month - relativedelta(months=WINLOSS_MONTHS - 1),
        }

    @api.model
    def _dashboard_domain(self, tile, value=None):
        """(model, domain) of the records behind a tile: the figure is read from them, and the
        tile opens them."""
        periods = self._dashboard_periods()
        since_year = [("close_date", ">=", periods["year"])]
        lost = [*since_year, ("close_outcome", "=", "lost")]
        month = fields.Date.to_date(value) if tile == "forecast_month" and value else None
        domains = {
            "open": ("crm.plus.forecast.report", []),
            "weighted": ("crm.plus.forecast.report", []),
            "win_rate": ("crm.plus.winloss.report", since_year),
            "lost_reasons": ("crm.plus.winloss.report", lost),
            "lost_reason": (
                "crm.plus.winloss.report",
                [*lost, ("close_reason_id", "=", value or False)],
            ),
            "stale": (
                "res.partner",
                [("funnel_state", "=", "open"), ("funnel_is_stale", "=", True)],
            ),
            "phase": ("crm.plus.funnel.report", [("phase_id", "=", value or False)]),
            "forecast_month": (
                "crm.plus.forecast.report",
                [
                    ("expected_close_date", ">=", month),
                    ("expected_close_date", "<", month + relativedelta(months=1)),
                ]
                if month
                else [("expected_close_date", "=", False)],
            ),
        }
        for period in ("month", "quarter"):
            start, end = periods[period]
            domains[f"won_{period}"] = (
                "crm.plus.winloss.report",
                [
                    ("close_outcome", "=", "won"),
                    ("close_date", ">=", start),
                    ("close_date", "<", end),
                ],
            )
        if tile not in domains:
            raise UserError(self.env._("The dashboard has no tile %(tile)r.", tile=tile))
        return domains[tile]

    @api.readonly
    @api.model
    def get_dashboard_data(self):
        """Every figure of the dashboard in one read, as the user may read them."""
        currency = self.env.company.currency_id
        periods = self._dashboard_periods()

        def read(tile, groupby, aggregates, value=None):
            model, domain = self._dashboard_domain(tile, value)
            return self.env[model]._read_group(domain, groupby, aggregates)

        ((open_count, open_value, weighted_value),) = read(
            "open", [], ["__count", "forecast_value:sum", "weighted_value:sum"]
        )
        won = {}
        for period in ("month", "quarter"):
            ((count, value),) = read(f"won_{period}", [], ["__count", "won_value:sum"])
            won[period] = {"count": count, "value": value or 0.0}
        ((closed, won_count),) = read("win_rate", [], ["__count", "won_count:sum"])
        ((stale_count, stale_value),) = read("stale", [], ["__count", "funnel_open_value:sum"])

        phases = []
        # All phases (a phase's tile opens its own), in the board's order: the account
        # type's, then the phase's sequence.
        rows = self.env["crm.plus.funnel.report"]._read_group(
            [],
            ["account_type_id", "phase_id"],
            ["reached:sum", "moved_on:sum", "reached_percent:avg", "phase_conversion:avg"],
        )
        for account_type, phase, reached, moved_on, reached_percent, conversion in sorted(
            rows, key=lambda row: (row[0].sequence, row[0].name or "", row[1].sequence, row[1].id)
        ):
            if not phase:
                continue
            phases.append(
                {
                    "id": phase.id,
                    "account_type": account_type.display_name,
                    "name": phase.display_name,
                    "reached": reached or 0,
                    "moved_on": moved_on or 0,
                    "reached_percent": round(reached_percent or 0.0, 1),
                    "conversion": round(conversion or 0.0, 1),
                }
            )

        forecast = [
            {
                "month": month and fields.Date.to_string(month),
                "label": format_date(self.env, month, date_format="MMMM y")
                if month
                else self.env._("No expected closing"),
                "count": count,
                "value": value or 0.0,
                "weighted": weighted or 0.0,
            }
            for month, count, value, weighted in sorted(
                self.env["crm.plus.forecast.report"]._read_group(
                    [],
                    ["expected_close_date:month"],
                    ["__count", "forecast_value:sum", "weighted_value:sum"],
                ),
                key=lambda row: (not row[0], row[0] or periods["today"]),
            )
        ]

        lost = read("lost_reasons", ["close_reason_id"], ["__count", "lost_value:sum"])
        lost.sort(key=lambda row: (-row[1], -(row[2] or 0.0), row[0].display_name or ""))
        lost_reasons = [
            {
                "id": reason.id,
                "name": reason.display_name or self.env._("No reason"),
                "count": count,
                "value": value or 0.0,
            }
            for reason, count, value in lost[:TOP_LOST_REASONS]
        ]

        # The reports sum each currency apart (a column of theirs); companies of different
        # currencies in one view are not converted here either: the page says so.
        currencies = {
            row[0]
            for model in ("crm.plus.forecast.report", "crm.plus.winloss.report")
            for row in self.env[model]._read_group([], ["currency_id"])
        }
        return {
            "currency_id": currency.id,
            "mixed_currencies": len(currencies) > 1,
            "open": {
                "count": open_count,
                "value": open_value or 0.0,
                "weighted": weighted_value or 0.0,
            },
            "won_month": won["month"],
            "won_quarter": won["quarter"],
            "win_rate": {
                "closed": closed,
                "won": won_count or 0,
                "percent": round(100.0 * (won_count or 0) / closed, 1) if closed else 0.0,
            },
            "stale": {"count": stale_count, "value": stale_value or 0.0},
            "phases": phases,
            "forecast": forecast,
            "lost_reasons": lost_reasons,
        }

    @api.readonly
    @api.model
    def get_dashboard_action(self, tile, value=None):
        """The window action a tile opens: its report (or the contacts in funnel) on the
        records its figure counts."""
        model, domain = self._dashboard_domain(tile, value)
        xmlid = {
            "crm.plus.forecast.report": "crm_plus.crm_plus_forecast_report_action",
            "crm.plus.winloss.report": "crm_plus.crm_plus_winloss_report_action",
            "crm.plus.funnel.report": "crm_plus.crm_plus_funnel_report_action",
            "res.partner": "crm_plus.res_partner_action_funnel",
        }[model]
        action = self.env["ir.actions.actions"]._for_xml_id(xmlid)
        action["domain"] = domain
        # The domain replaces the report's default period filter.
        action["context"] = {"create": False}
        return action
