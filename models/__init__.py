from . import crm_plus_code_mixin
from . import crm_plus_account_type
from . import crm_plus_lead_phase
from . import crm_plus_close_reason
from . import crm_plus_phase_line
from . import res_partner
from . import crm_plus_phase_stat
from . import res_config_settings
