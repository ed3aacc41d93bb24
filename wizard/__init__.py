from . import crm_plus_partner_selection_mixin
from . import crm_plus_close_wizard
from . import crm_plus_account_type_wizard
from . import base_partner_merge
