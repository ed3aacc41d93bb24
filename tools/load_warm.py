"""Warm Odoo's password cache for every sales user of ``make load``, on every worker.

Odoo checks the password of an RPC call once per user and worker process, then caches it
(``res.users.check``): a PBKDF2 hash, about 0.4 s of CPU. Unwarmed, the first run that uses a
sales user pays those hashes on each worker while the next run, the other side's with the same
users, does not: a burst of queued requests at the start of one side's runs only. Each user
here makes enough calls, each on a new connection (any worker may take it), that every worker
checks it: with 2 workers and 16 calls, a worker missed by a user has a chance of 2⁻¹⁵.

Usage: load_warm.py DATA_JSON PORT DATABASE
"""

import json
import sys
import xmlrpc.client

CALLS_PER_USER = 16


def main():
    data_path, port, database = sys.argv[1:4]
    with open(data_path) as data_file:
        users = json.load(data_file)["users"]
    url = f"http://127.0.0.1:{port}/xmlrpc/2/object"
    for user in users:
        for _ in range(CALLS_PER_USER):
            # A new proxy per call: a new connection, which ever worker accepts it.
            xmlrpc.client.ServerProxy(url).execute_kw(
                database,
                user["id"],
                user["password"],
                "res.users",
                "search_count",
                [[["id", "=", user["id"]]]],
            )
    print(f"{len(users)} sales users checked {CALLS_PER_USER} times each")


if __name__ == "__main__":
    main()
