"""A free loopback TCP port in a range: the HTTP servers of the pytest plugin
(tools/pytest_crm_plus.py), of the live tests (tests_live/live_server.py) and of
tools/screenshots.py, on machines shared by several runs."""

import random
import socket


def free_port(spec, source="", exclude=()):
    """A loopback TCP port of ``spec`` (``first-last``, or one port) nobody listens on, but
    those of ``exclude``; ``source`` names where ``spec`` comes from in the error when there
    is none."""
    first, _sep, last = spec.partition("-")
    ports = [port for port in range(int(first), int(last or first) + 1) if port not in exclude]
    random.shuffle(ports)  # two runs starting together rarely pick the same port
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free TCP port in {source}{spec}")
