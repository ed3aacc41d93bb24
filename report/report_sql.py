"""SQL the reports share: the funnel's currency rule, defined beside the lines."""

from ..models.crm_plus_phase_line import MAIN_COMPANY_CURRENCY_SQL, currency_sql

__all__ = ["MAIN_COMPANY_CURRENCY_SQL", "currency_sql"]
