#!/usr/bin/env python3
"""CRM+ over Odoo 19.0's JSON-2 API: the same walk through the funnel as xmlrpc_client.py.

Odoo 19.0 deprecates ``/xmlrpc``, ``/xmlrpc/2`` and ``/jsonrpc`` (removed in Odoo 20); its
JSON-2 API is ``POST /json/2/<model>/<method>`` with a JSON object of **named** arguments
(``ids`` for the records, then the method's own parameters) and an **API key** as bearer token
(Preferences → Account Security → New API Key)::

    python3 examples/json2_client.py --url http://localhost:8069 --db crm_plus_19 \\
        --api-key 0123abcd…

    curl -X POST http://localhost:8069/json/2/res.partner/action_advance_phase \\
        -H "Authorization: bearer $KEY" -H "X-Odoo-Database: crm_plus_19" \\
        -H "Content-Type: application/json" -d '{"ids": [42]}'

The steps (find the Lead type by code, create a partner, fill in the current line, advance to
the closing phase, close as won, read the result) are xmlrpc_client.py's ``run``; only the
transport differs. A refusal is an HTTP error (422 for a UserError / ValidationError, 403 for
an access error, 404 for an unknown record or method) whose JSON body holds the exception's
``name`` and its ``message``, in the language of ``--lang`` if given.
"""

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The same steps (run, through walk), another transport.
from xmlrpc_client import add_walk_arguments, walk

# JSON-2 names every argument: the positional arguments of the calls run() makes, by method.
PARAMETERS = {
    "search": ["domain"],
    "search_read": ["domain", "fields"],
    "read": ["fields"],
    "create": ["vals_list"],
    "write": ["vals"],
    "action_close": ["close_reason_id", "note"],
}
# Methods of the model (no ids), as opposed to methods of records.
MODEL_METHODS = {"search", "search_read", "create"}


class Refused(Exception):
    """The server refused a call: ``status`` (HTTP), ``name`` (the exception) and message."""

    def __init__(self, status, name, message):
        super().__init__(message)
        self.status = status
        self.name = name


class Client:
    """``client.call(model, method, *args, **kwargs)`` as in xmlrpc_client.py, over JSON-2."""

    def __init__(self, url, db, api_key, lang=None):
        self.url = url.rstrip("/")
        self.db = db
        self.api_key = api_key
        self.context = {"lang": lang} if lang else {}
        self.server_version = self._request("/json/version")["version"]
        # The key's user: the API key stands for a login, context_get() tells whose.
        try:
            self.uid = self.call("res.users", "context_get")["uid"]
        except Refused as refusal:
            if refusal.status == 401:
                raise SystemExit(f"login refused: no such API key on database {db!r}") from None
            raise

    def call(self, model, method, *args, **kwargs):
        body = dict(kwargs)
        if self.context:
            body.setdefault("context", self.context)
        if method not in MODEL_METHODS and args:
            ids, *args = args
            body["ids"] = [ids] if isinstance(ids, int) else ids
        body.update(zip(PARAMETERS.get(method, []), args, strict=False))
        result = self._request(f"/json/2/{model}/{method}", body)
        # create() answers the ids of the new records: one dict in, one id out, as XML-RPC.
        if method == "create" and isinstance(body.get("vals_list"), dict):
            return result[0]
        return result

    def _request(self, path, body=None):
        """POST ``body`` as JSON to ``path`` (GET without a body); the decoded JSON answer."""
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"bearer {self.api_key}",
                "X-Odoo-Database": self.db,
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            try:
                payload = json.loads(text)
            except ValueError:
                raise Refused(error.code, "", text.strip()) from None
            raise Refused(
                error.code, payload.get("name", ""), payload.get("message", text)
            ) from None


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Take a new Lead through the CRM+ funnel over JSON-2 and close it as won."
    )
    parser.add_argument("--url", default="http://localhost:8069", help="server URL")
    parser.add_argument("--db", default="crm_plus_19", help="database name")
    parser.add_argument("--api-key", required=True, help="an API key of a CRM+ user")
    add_walk_arguments(parser, "JSON-2 Example Ltd")
    args = parser.parse_args(argv)
    return walk(
        args, lambda: Client(args.url, args.db, args.api_key, lang=args.lang), Refused, str
    )


if __name__ == "__main__":
    sys.exit(main())
