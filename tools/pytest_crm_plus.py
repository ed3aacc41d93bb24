"""pytest plugin of the crm_plus suite: tools/test.sh loads it (``-p pytest_crm_plus``).

HTTP port
    ``--odoo-http`` makes pytest-odoo start Odoo's HTTP server (needed by the browser tours of
    tests/test_tours.py) on a random free port. On machines shared by several test runs the port
    is taken from a range instead: ``CRM_PLUS_HTTP_PORTS=first-last`` (default 18200-18299);
    ``0`` keeps pytest-odoo's random port.

No skipped browser test
    pytest-odoo skips ``HttpCase`` tests without ``--odoo-http`` and Odoo skips them when
    Chromium cannot start: with this plugin such a skip is a failure, so a green ``make test``
    means every tour ran.

(A conftest.py inside the addon cannot do this: pytest imports it outside of ``odoo.addons``.)
"""

import os

import pytest
import pytest_odoo
from ports import free_port

DEFAULT_HTTP_PORTS = "18200-18299"


_PORTS = os.environ.get("CRM_PLUS_HTTP_PORTS", DEFAULT_HTTP_PORTS).strip()
if _PORTS and _PORTS != "0":
    # pytest-odoo's session fixture `load_http` calls this module-level function.
    pytest_odoo._get_available_random_port = lambda: free_port(_PORTS, "CRM_PLUS_HTTP_PORTS=")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or getattr(item, "cls", None) is None:
        return
    from odoo.tests import HttpCase  # Odoo is set up by pytest-odoo by now

    if issubclass(item.cls, HttpCase):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"browser test skipped, it must run: {reason}"
