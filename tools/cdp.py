"""A minimal Chrome DevTools Protocol client: headless Chromium driven over websocket-client.

Used by tools/screenshots.py; no Odoo import, so it also works as a standalone helper:

    with Chromium() as browser:
        browser.goto("http://127.0.0.1:8069/web/login")
        browser.screenshot("login.png")
"""

import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class BrowserError(RuntimeError):
    pass


def find_chromium():
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserError(
        "Chromium not found: install it (Debian/Ubuntu: `apt-get install chromium`) and retry."
    )


class Chromium:
    """A headless Chromium with one page, controlled through the DevTools protocol."""

    def __init__(self, width=1440, height=900, scale=1):
        self.width, self.height, self.scale = width, height, scale
        self.proc = None
        self.ws = None
        self.profile = None
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.profile = tempfile.mkdtemp(prefix="crm_plus_chromium_")
        cmd = [
            find_chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}",
            f"--window-size={self.width},{self.height}",
            "about:blank",
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not (port_file.is_file() and port_file.stat().st_size > 5):
            if time.time() > deadline or self.proc.poll() is not None:
                self.stop()
                raise BrowserError("Chromium did not start (no DevToolsActivePort)")
            time.sleep(0.1)
        port = int(port_file.read_text(encoding="utf-8").splitlines()[0])
        ws_url = None
        while not ws_url:
            if time.time() > deadline:
                self.stop()
                raise BrowserError("Chromium has no page target")
            with contextlib.suppress(OSError):  # not listening yet
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=3) as r:
                    targets = json.load(r)
                ws_url = next(
                    (t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page"), None
                )
            if not ws_url:
                time.sleep(0.1)
        self.ws = websocket.create_connection(ws_url, suppress_origin=True, timeout=60)
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.resize(self.width, self.height)

    def stop(self):
        if self.ws:
            with contextlib.suppress(OSError):
                self.ws.close()
            self.ws = None
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
        if self.profile:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None

    # ------------------------------------------------------------------ protocol

    def send(self, method, **params):
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") != msg_id:
                continue  # an event, or the answer to an earlier fire-and-forget
            if "error" in msg:
                raise BrowserError(f"{method}: {msg['error']}")
            return msg.get("result", {})

    def evaluate(self, expression, await_promise=True):
        result = self.send(
            "Runtime.evaluate",
            expression=expression,
            awaitPromise=await_promise,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"JS error in {expression[:80]!r}: {text}")
        return result.get("result", {}).get("value")

    # ------------------------------------------------------------------ helpers

    def goto(self, url):
        self.send("Page.navigate", url=url)
        self.wait("document.readyState === 'complete'")

    def wait(self, condition, timeout=30, what=None):
        """Poll a JS expression until it is truthy; return its value."""
        deadline = time.time() + timeout
        while True:
            try:
                value = self.evaluate(condition)
            except BrowserError:
                value = None  # page navigating
            if value:
                return value
            if time.time() > deadline:
                raise BrowserError(f"timeout waiting for {what or condition}")
            time.sleep(0.2)

    def wait_for(self, selector, timeout=30):
        return self.wait(f"!!document.querySelector({json.dumps(selector)})", timeout, selector)

    def click(self, selector):
        self.wait_for(selector)
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    def settle(self, delay=0.6):
        """Let the web client finish its RPCs and animations."""
        self.wait(
            "!document.querySelector('.o_loading_indicator, .o_blockUI, .o-loading')",
            what="the web client to be idle",
        )
        time.sleep(delay)

    def resize(self, width, height):
        self.width, self.height = width, height
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=self.scale,
            mobile=False,
        )

    def screenshot(self, path, clip=None, hide=(".o_notification_manager",)):
        """Save the viewport (or the `clip` rectangle: x, y, width, height) as a PNG, without
        the elements matching `hide` (by default Odoo's notifications)."""
        if hide:
            self.evaluate(
                "(() => { const style = document.createElement('style'); style.textContent = "
                f"{json.dumps(', '.join(hide) + ' { display: none !important; }')}; "
                "document.head.appendChild(style); })()"
            )
        params = {"format": "png"}
        if clip:
            params["clip"] = dict(clip, scale=1)
        data = self.send("Page.captureScreenshot", **params)["data"]
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path
