from . import models
from . import report
from . import wizard
from . import demo
from .report import funnel_report_totals


def uninstall_hook(env):
    # The funnel analysis's triggers sit on res_partner, which stays.
    funnel_report_totals.uninstall(env.cr)
