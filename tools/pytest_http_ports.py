"""pytest plugin (``-p pytest_http_ports``, tools/ on PYTHONPATH): the HTTP port of the tests.

``--odoo-http`` makes pytest-odoo start Odoo's HTTP server (needed by the browser tours of
tests/test_tours.py) on a random free port. On machines shared by several test runs the port is
taken from a range instead: ``CRM_PLUS_HTTP_PORTS=first-last`` (default 18200-18299); ``0``
keeps pytest-odoo's random port. (A conftest.py inside the addon cannot do this: pytest imports
it outside of ``odoo.addons``.)
"""

import os
import random
import socket

import pytest_odoo

DEFAULT_HTTP_PORTS = "18200-18299"


def _port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port_in_range(spec):
    first, _sep, last = spec.partition("-")
    ports = list(range(int(first), int(last or first) + 1))
    random.shuffle(ports)  # two runs starting together rarely pick the same port
    for port in ports:
        if _port_is_free(port):
            return port
    raise RuntimeError(f"no free TCP port in CRM_PLUS_HTTP_PORTS={spec}")


_PORTS = os.environ.get("CRM_PLUS_HTTP_PORTS", DEFAULT_HTTP_PORTS).strip()
if _PORTS and _PORTS != "0":
    # pytest-odoo's session fixture `load_http` calls this module-level function.
    pytest_odoo._get_available_random_port = lambda: _free_port_in_range(_PORTS)
