from . import funnel_report_totals
from . import funnel_report_days
from . import crm_plus_report_mixin
from . import crm_plus_funnel_report
from . import crm_plus_winloss_report
from . import crm_plus_forecast_report
from . import crm_plus_calibration_report
