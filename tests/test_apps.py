"""Issue 31 item 7: CRM+ as an Odoo user meets it in Apps and Settings: its own icon, a
description page, no link to a missing page, its access rights under Sales, aligned links."""

from pathlib import Path

from lxml import etree

from odoo.modules.module import get_manifest, get_module_path
from odoo.tests import tagged
from odoo.tools.misc import file_path

from ..compat import user_form_section
from .common import CrmPlusCase

ODOO_CRM_ICONS = [
    Path(f"/opt/odoo/{series}/addons/crm/static/description/icon.png")
    for series in ("18.0", "19.0")
]


@tagged("post_install", "-at_install")
class TestApps(CrmPlusCase):
    def module(self):
        return self.env["ir.module.module"].search([("name", "=", "crm_plus")])

    def test_icon_is_its_own(self):
        data = Path(file_path("crm_plus/static/description/icon.png")).read_bytes()
        self.assertTrue(data.startswith(b"\x89PNG"))
        crm_icons = [path.read_bytes() for path in ODOO_CRM_ICONS if path.exists()]
        # Odoo CRM's, wherever this addons path has it (besides the copies under /opt/odoo).
        crm_path = get_module_path("crm", display_warning=False)
        if crm_path:
            crm_icons.append((Path(crm_path) / "static/description/icon.png").read_bytes())
        self.assertTrue(crm_icons, "no Odoo CRM icon to compare with")
        for crm_icon in crm_icons:
            self.assertNotEqual(data, crm_icon, "a copy of Odoo CRM's icon")
        self.assertEqual(self.module().icon, "/crm_plus/static/description/icon.png")
        root = self.env.ref("crm_plus.crm_plus_menu_root")
        self.assertEqual(root.web_icon, "crm_plus,static/description/icon.png")

    def test_apps_card_opens_the_description_page(self):
        """No website: the Apps card shows Module Info (the description page), not a "Learn
        More" link to a page that does not exist."""
        self.assertFalse(get_manifest("crm_plus").get("website"))
        description = self.module().description_html
        self.assertIn("CRM+ Sales Funnel", description)
        self.assertIn("Configuration", description)
        self.assertIn("Table of contents", description)

    def test_access_rights_are_listed_under_sales(self):
        for xmlid in ("crm_plus.group_crm_plus_user", "crm_plus.group_crm_plus_manager"):
            group = self.env.ref(xmlid)
            self.assertEqual(user_form_section(group), ("Sales", "CRM+"), xmlid)

    def test_settings_links_line_up(self):
        """Each link of the CRM+ settings is a btn-link first in its own div, as in Odoo's
        settings: the settings style takes the padding off such a button, so the links line up
        with the text above them."""
        arch = etree.fromstring(
            self.env["res.config.settings"].get_views([(False, "form")])["views"]["form"]["arch"]
        )
        app = arch.xpath("//app[@name='crm_plus']")[0]
        links = app.xpath(".//button[contains(@class, 'btn-link')]")
        self.assertEqual(len(links), 3)
        for button in links:
            self.assertIs(button.getparent()[0], button, button.get("string"))
            self.assertEqual(button.getparent().tag, "div")
        setting = app.xpath(".//setting[@id='crm_plus_config_links']")[0]
        self.assertTrue(setting.get("string"), "a title, as Odoo's settings have")
