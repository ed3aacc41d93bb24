# Everything here runs under Odoo's own runner (odoo-bin --test-enable --test-tags /crm_plus)
# and under pytest-odoo. Suites that start an Odoo server of their own (XML-RPC, --workers)
# live in tests_live/, which Odoo's runner does not import.
from . import test_access
from . import test_access_levels
from . import test_apps
from . import test_automation
from . import test_bulk_jobs
from . import test_clickbot
from . import test_config
from . import test_dashboard
from . import test_demo
from . import test_funnel
from . import test_funnel_totals
from . import test_guard_paths
from . import test_i18n
from . import test_import
from . import test_install
from . import test_merge_paths
from . import test_money
from . import test_parity
from . import test_pipeline_board
from . import test_property
from . import test_query_count
from . import test_report_truth
from . import test_reports
from . import test_scale_reports
from . import test_suggested_score
from . import test_time_in_phase
from . import test_tours
from . import test_tours_cfg
from . import test_tours_dash
from . import test_tours_form
from . import test_tours_imp
from . import test_tours_levels
from . import test_tours_rep
from . import test_ux
