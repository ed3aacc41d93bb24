"""A free loopback TCP port in a range, on machines shared by several runs (tools/test.sh,
tools/pytest_crm_plus.py, tests_live/live_server.py, tools/screenshots.py)."""

import random
import socket


def free_port(spec, source="", exclude=()):
    """A port of ``spec`` (``first-last``, or one port) not in ``exclude`` that nobody listens
    on; ``source`` says where ``spec`` comes from in the error when there is none."""
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
