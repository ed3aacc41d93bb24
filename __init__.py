from . import models
from . import report
from . import wizard
from . import demo
from .report import funnel_report_totals


def uninstall_hook(env):
    # The database triggers of 1.0.x sat on res_partner, which stays: gone with the module
    # even on a database that was never upgraded (the totals' own table is the ORM's).
    funnel_report_totals.drop_legacy(env.cr)
