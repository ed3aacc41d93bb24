"""pytest plugin of the crm_plus suite (tools/test.sh: ``-p pytest_crm_plus``; a conftest.py in
the addon would be imported outside of ``odoo.addons``).

- ``--odoo-http`` starts Odoo's HTTP server (the tours of tests/test_tours.py) on a free port of
  ``CRM_PLUS_HTTP_PORTS=first-last`` (default 18200-18299; ``0``: pytest-odoo's random port),
  for machines shared by several test runs.
- A skipped browser test (``HttpCase`` without ``--odoo-http``, or Chromium failing to start) is
  a failure: a green ``make test`` means every tour ran.
"""

import os

import pytest
import pytest_odoo
from ports import free_port

_PORTS = os.environ.get("CRM_PLUS_HTTP_PORTS", "18200-18299").strip()
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
