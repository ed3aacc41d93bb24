"""What the funnel's SQL-view reports share: the view built from ``_select``, ``_from`` and
``_where``, grouped reads in the records' order, medians, and their measures' field kinds."""

from odoo import api, fields, models, tools
from odoo.tools import SQL

from ..models.funnel_rules import LINES_WITH_CONTACT_SQL, prefetched_fields

# A report's measure read as an average over a group: a rate, a number of days.
AVERAGED = {"readonly": True, "aggregator": "avg", "digits": (16, 1)}
# A measure read as a median (_read_group_select, ``_medians``): "avg" names the measure for
# the views.
MEDIAN = AVERAGED


def averaged_with_median(string, help, median_string, median_help):
    """A count of days read two ways: its average over the group, and beside it its median
    (the report's ``_medians`` names the column the median is taken of)."""
    return (
        fields.Float(string=string, help=help, **AVERAGED),
        fields.Float(string=median_string, help=median_help, **MEDIAN),
    )


def win_rate_field():
    return fields.Float(
        string="Win Rate (%)",
        help="100 on a won close, 0 on a lost one: averaged over a group it gives the win rate.",
        **AVERAGED,
    )


def median_select(model, aggregate_spec, query, medians):
    """``medians`` ({aggregate spec: field}) as the median of the field over the group's rows:
    ``percentile_cont(0.5)``, an ordered-set aggregate Odoo's aggregators do not offer. A
    median field has the ``avg`` aggregator (a view's measures need one): that spec reads the
    median. None for any other spec."""
    fname = medians.get(aggregate_spec)
    if fname is None:
        return None
    return SQL(
        "(percentile_cont(0.5) WITHIN GROUP (ORDER BY %s))::float8",
        model._field_to_sql(model._table, fname, query),
    )


def read_group_in_record_order(
    model, super_read_group, domain, groupby, aggregates, having, offset, limit, order
):
    """A report's ``_read_group`` ordered by many2one groups (phase, account type, reason,
    salesperson), the web client's default: the groups are read in the order of their ids and
    put in the records' order afterwards (a search on the few records grouped), where the ORM
    joins the records' table to every row of the report before grouping. That join is a lookup
    per row (millions), and an ORDER BY on joined columns keeps PostgreSQL from grouping in
    parallel. With a limit or an offset (a grouped list's pages), or any other order term, the
    ORM orders as usual."""
    groupby = list(groupby)  # read_group gives dict values
    terms = _group_order_terms(model, order, groupby) if not (limit or offset) else None
    if not terms:
        return super_read_group(domain, groupby, aggregates, having, offset, limit, order)
    rows = super_read_group(domain, groupby, aggregates, having, offset, limit, None)
    # The last term first: Python's sort is stable, so the first term ends up leading.
    for position, descending in reversed(terms):
        records = model.env[model._fields[groupby[position]].comodel_name]
        ids = list({row[position].id for row in rows if row[position]})
        # Ordered and fetched in one query: the groups' labels then read them from the cache.
        ordered = (
            records.sudo()
            .with_context(active_test=False)
            .search_fetch([("id", "in", ids)], prefetched_fields(records))
        )
        rank = {record_id: index for index, record_id in enumerate(ordered.ids)}
        # No record (NULL) sorts last ascending, first descending, as in PostgreSQL.
        rows.sort(
            key=lambda row, position=position, rank=rank: rank.get(row[position].id, len(rank)),
            reverse=descending,
        )
    return rows


def _group_order_terms(model, order, groupby):
    """[(position in groupby, descending)] when every term of ``order`` is a many2one of
    ``groupby``; None otherwise."""
    if not order:
        return None
    terms = []
    for part in order.split(","):
        name, *rest = part.split()
        field = model._fields.get(name)
        if (
            field is None
            or field.type != "many2one"
            or name not in groupby
            or len(rest) > 1
            or (rest and rest[0].upper() not in ("ASC", "DESC"))
        ):
            return None
        terms.append((groupby.index(name), bool(rest) and rest[0].upper() == "DESC"))
    return terms


class CrmPlusReportMixin(models.AbstractModel):
    """A report that is an SQL view of the funnel (``_auto = False``): its rows are
    ``_select``, ``_from`` (by default the phase lines with their contacts) and ``_where``; its
    grouped reads come in the records' order (``read_group_in_record_order``) and read
    ``_medians`` as medians."""

    _name = "crm.plus.report.mixin"
    _inherit = ["crm.plus.phase.group.mixin"]
    _description = "CRM+ Report View"
    _phase_group_fields = {"phase_id": "shared_name"}
    # {aggregate spec: the field whose median it reads}: the median reads the column of the
    # average (the view then computes one of the two).
    _medians = {}

    # The columns every funnel report has: its contact and deal.
    partner_id = fields.Many2one("res.partner", string="Partner", readonly=True)
    account_type_id = fields.Many2one(
        "crm.plus.account.type", string="Account Type", readonly=True
    )
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True)
    # A column: a grouped read sums amounts per currency (funnel_rules.currency_sql).
    currency_id = fields.Many2one("res.currency", string="Currency", readonly=True)
    score = fields.Integer(readonly=True, aggregator="avg")
    forecast_value = fields.Monetary(string="Forecast", readonly=True)

    def _from(self):
        # By default a row per phase line, with its contact.
        return SQL("FROM %s", SQL(LINES_WITH_CONTACT_SQL))

    def _query(self):
        return SQL("%s %s %s", self._select(), self._from(), self._where())

    def init(self):
        if self._abstract:
            return
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL("CREATE OR REPLACE VIEW %s AS (%s)", SQL.identifier(self._table), self._query())
        )

    @api.model
    def _read_group(
        self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None
    ):
        return read_group_in_record_order(
            self, super()._read_group, domain, groupby, aggregates, having, offset, limit, order
        )

    def _read_group_select(self, aggregate_spec, query):
        median = median_select(self, aggregate_spec, query, self._medians)
        if median is not None:
            return median
        return super()._read_group_select(aggregate_spec, query)
