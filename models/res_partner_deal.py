"""A deal's own figures on the contact, for Export → "I want to update data" and Import: the
score, forecast and recurring value of its deal line (the current line while open, the line it
was closed in once won or lost).

The contact's Score, Forecast and Recurring (monthly) are computed from the lines without an
inverse (the money definition decides them: won 100, lost 0…), so an import-compatible export
leaves them out and a re-imported copy came in at its phases' defaults, at $0. These fields are
the line's values, writable: an export carries them and an import, or a write, puts them on the
deal line of the contact, after the funnel columns of the same row have given it its lines.
"""

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

from .funnel_guard import records_label
from .funnel_rules import FUNNEL_GROUP, RECURRING_INTERVAL_SELECTION, current_and_last_close

# Contact field -> field of its deal line.
DEAL_FIGURES = {
    "funnel_deal_score": "score",
    "funnel_deal_forecast_value": "forecast_value",
    "funnel_deal_recurring_value": "recurring_value",
    "funnel_deal_recurring_interval": "recurring_interval",
}
DEAL_FIGURE = {
    "compute": "_compute_funnel_deal_figures",
    "readonly": False,
    "copy": False,
    "groups": FUNNEL_GROUP,
    # Pre-selected in an import-compatible export, with the funnel columns (res_partner.py).
    "default_export_compatible": True,
}


def given_figure(value):
    """An empty cell of an import (False) or a missing value gives no figure; 0 is one."""
    return value is not None and value is not False


class ResPartner(models.Model):
    _inherit = "res.partner"

    funnel_deal_score = fields.Integer(
        string="Deal Score",
        inverse="_inverse_funnel_deal_score",
        **DEAL_FIGURE,
        help="The score of the deal's line: the current phase while open, the phase it was "
        "closed in once closed. What an import-compatible export carries and an import sets.",
    )
    funnel_deal_forecast_value = fields.Monetary(
        string="Deal Forecast",
        inverse="_inverse_funnel_deal_forecast_value",
        currency_field="funnel_currency_id",
        **DEAL_FIGURE,
        help="The forecast value of the deal's line (see Deal Score).",
    )
    funnel_deal_recurring_value = fields.Monetary(
        string="Deal Recurring",
        inverse="_inverse_funnel_deal_recurring_value",
        currency_field="funnel_currency_id",
        **DEAL_FIGURE,
        help="The recurring value of the deal's line, per Deal Recurring Interval.",
    )
    funnel_deal_recurring_interval = fields.Selection(
        RECURRING_INTERVAL_SELECTION,
        string="Deal Recurring Interval",
        inverse="_inverse_funnel_deal_recurring_interval",
        **DEAL_FIGURE,
    )

    def _funnel_deal_lines(self):
        """{partner id: its deal line}: the current line of an open contact, the last close of
        a won or lost one (also after a won close switched its type); none outside a funnel."""
        deal_lines = {}
        for partner in self:
            if partner.funnel_state:
                current, last_close = current_and_last_close(partner.phase_line_ids)
                line = current if partner.funnel_state == "open" else last_close
                if line:
                    deal_lines[partner.id] = line
        return deal_lines

    @api.depends(
        "funnel_state",
        "phase_line_ids.state",
        "phase_line_ids.is_active_funnel",
        "phase_line_ids.close_outcome",
        "phase_line_ids.score",
        "phase_line_ids.forecast_value",
        "phase_line_ids.recurring_value",
        "phase_line_ids.recurring_interval",
    )
    def _compute_funnel_deal_figures(self):
        deal_lines = self._funnel_deal_lines()
        for partner in self:
            line = deal_lines.get(partner.id)
            for fname, line_fname in DEAL_FIGURES.items():
                partner[fname] = line[line_fname] if line else False

    # One inverse per field: the ORM hands an inverse every field that shares it, and those not
    # written read empty while they are being written.
    def _inverse_funnel_deal_score(self):
        self._funnel_set_deal_figures(
            {p.id: {"funnel_deal_score": p.funnel_deal_score} for p in self}
        )

    def _inverse_funnel_deal_forecast_value(self):
        self._funnel_set_deal_figures(
            {p.id: {"funnel_deal_forecast_value": p.funnel_deal_forecast_value} for p in self}
        )

    def _inverse_funnel_deal_recurring_value(self):
        self._funnel_set_deal_figures(
            {p.id: {"funnel_deal_recurring_value": p.funnel_deal_recurring_value} for p in self}
        )

    def _inverse_funnel_deal_recurring_interval(self):
        self._funnel_set_deal_figures(
            {
                p.id: {"funnel_deal_recurring_interval": p.funnel_deal_recurring_interval}
                for p in self
            }
        )

    def _funnel_set_deal_figures(self, figures):
        """Puts ``figures`` ({partner id: {deal field: value}}) on each contact's deal line,
        with the user's rights on the lines; the line checks them (a score from 1 to 100…).
        Empty figures on a contact outside a funnel are what an export gives for it: nothing to
        do. Any other figure there is refused, naming the contact."""
        if not self._funnel_may_set():
            raise AccessError(
                self.env._(
                    "Only CRM+ users can set the funnel figures of a contact (%s).",
                    records_label(self),
                )
            )
        deal_lines = self.sudo()._funnel_deal_lines()
        for partner in self:
            values = figures.get(partner.id) or {}
            line = deal_lines.get(partner.id)
            if not line:
                given = sorted(
                    self._fields[fname]._description_string(self.env)
                    for fname, value in values.items()
                    if value and fname != "funnel_deal_recurring_interval"
                )
                if given:
                    raise ValidationError(
                        self.env._(
                            "%(contact)s is in no funnel, so there is no deal to give %(fields)s: "
                            "give it an account type with lead phases, or a lead phase or a "
                            "close, in the same row.",
                            contact=records_label(partner),
                            fields=", ".join(given),
                        )
                    )
                continue
            line = line.with_env(self.env)
            changes = {}
            for fname, value in values.items():
                line_fname = DEAL_FIGURES[fname]
                if fname == "funnel_deal_recurring_interval":
                    if value and value != line[line_fname]:
                        changes[line_fname] = value
                elif (value or 0) != line[line_fname]:
                    changes[line_fname] = value or 0
            if changes:
                line.write(changes)

    @api.model_create_multi
    def create(self, vals_list):
        """The figures go on the lines the funnel columns of the same values give: after the
        create, whatever the order of the columns. An empty figure (an empty cell) is none."""
        figures = [
            {f: vals[f] for f in DEAL_FIGURES if given_figure(vals.get(f))} for vals in vals_list
        ]
        if not any(figures):
            return super().create(vals_list)
        partners = super().create(
            [{f: v for f, v in vals.items() if f not in DEAL_FIGURES} for vals in vals_list]
        )
        given = {
            partner.id: values for partner, values in zip(partners, figures, strict=True) if values
        }
        partners.browse(list(given))._funnel_set_deal_figures(given)
        return partners

    def write(self, vals):
        """As create: the figures after the funnel columns written with them (a lead phase or a
        close gives the deal line they go on); an empty figure changes nothing."""
        if not DEAL_FIGURES.keys() & vals.keys():
            return super().write(vals)
        rest = {f: v for f, v in vals.items() if f not in DEAL_FIGURES}
        figures = {f: vals[f] for f in DEAL_FIGURES if given_figure(vals.get(f))}
        result = super().write(rest) if rest else True
        if figures:
            super().write(figures)
        return result
