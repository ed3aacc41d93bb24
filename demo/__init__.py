from . import crm_plus_demo
