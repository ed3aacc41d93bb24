from . import crm_plus_partner_selection_mixin
