{
    "name": "CRM+ Sales Funnel",
    "summary": "Partner-based sales funnel: account types, lead phases, scores, "
    "forecasts, win/loss reporting",
    "version": "18.0.1.0.0",
    "category": "Sales/CRM",
    "license": "LGPL-3",
    "author": "crm_plus developers",
    "website": "https://github.com/crm-plus/crm_plus",
    "depends": ["contacts", "mail"],
    "data": [
        "security/crm_plus_security.xml",
        "security/ir.model.access.csv",
    ],
    "demo": [],
    "application": True,
    "installable": True,
}
