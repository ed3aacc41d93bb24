"""SQL the reports share."""

# The main company (base.main_company, else the first one): its currency is that of the
# amounts of contacts without a company, in every report. A view is one query for every
# user, so the fallback cannot be the company the user works in.
MAIN_COMPANY_CURRENCY_SQL = (
    "(SELECT mc.currency_id FROM res_company mc"
    " LEFT JOIN ir_model_data md ON md.model = 'res.company' AND md.res_id = mc.id"
    " AND md.module = 'base' AND md.name = 'main_company'"
    " ORDER BY md.id IS NULL, mc.id LIMIT 1)"
)


def currency_sql(company_expr):
    """The currency of the amounts of a report row whose company is ``company_expr``: the
    company's, else the main company's. A column, so that every row has one: grouped reads
    sum amounts per currency (19.0's pivot, graph and list totals ask the currencies of each
    group, and show a total without one as "?")."""
    return (
        f"COALESCE((SELECT rc.currency_id FROM res_company rc WHERE rc.id = {company_expr}),"
        f" {MAIN_COMPANY_CURRENCY_SQL})"
    )
