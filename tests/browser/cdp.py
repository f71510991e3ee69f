"""A small driver for headless Chromium over the DevTools protocol, for hearth's browser tests.

Starts Debian's `chromium --headless=new` on a private profile, attaches to its page, and offers
what the tests need: navigate, evaluate JavaScript, wait for a condition, throttle the network,
answer requests itself, capture a PNG screenshot, and collect console errors and uncaught
exceptions. Standard library plus `websocket-client` (tests/server/requirements.txt).

    with Browser() as page:
        page.navigate("http://127.0.0.1:8080/")
        page.wait_for("document.title === 'hearth chat'")
        page.screenshot("shot.png")
        assert not page.errors
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket

INSTALL_HINT = "install Debian's chromium (apt-get install chromium, or bash scripts/install-deps.sh)"


class BrowserError(RuntimeError):
    pass


def find_chromium():
    """The Chromium binary: $HEARTH_CHROMIUM, else chromium or chromium-browser on PATH."""
    for name in (os.environ.get("HEARTH_CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    raise BrowserError("no Chromium found: " + INSTALL_HINT)


class Browser:
    def __init__(self, width=1280, height=900, timeout=30.0):
        self.timeout = timeout
        self.errors = []       # console errors, failed loads and uncaught exceptions, as text
        self.handlers = {}     # DevTools event name -> function(params)
        self._next_id = 0
        self._replies = {}
        self._profile = tempfile.mkdtemp(prefix="hearth-chromium-")
        self._log = open(os.path.join(self._profile, "chromium.log"), "w+b")
        args = [find_chromium(), "--headless=new", "--remote-debugging-port=0",
                "--user-data-dir=" + self._profile, "--no-sandbox",  # CI runs as root
                "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=%d,%d" % (width, height), "about:blank"]
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._ws = websocket.create_connection(self._page_socket(), timeout=timeout, suppress_origin=True)
            for domain in ("Page", "Runtime", "Log"):
                self.send(domain + ".enable")
        except BaseException:
            self.close()
            raise

    # ---- start-up ----

    def _page_socket(self):
        # Chromium writes the port it chose into the profile once it listens.
        port_file = os.path.join(self._profile, "DevToolsActivePort")
        deadline = time.monotonic() + self.timeout
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if self._proc.poll() is not None:
                raise BrowserError("chromium exited with status %d:\n%s" % (self._proc.returncode, self.log_text()))
            if time.monotonic() > deadline:
                raise BrowserError("chromium did not open its DevTools port within %.0f s" % self.timeout)
            time.sleep(0.05)
        port = open(port_file).read().split()[0]
        while True:
            with urllib.request.urlopen("http://127.0.0.1:%s/json/list" % port, timeout=self.timeout) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
            if time.monotonic() > deadline:
                raise BrowserError("chromium opened no page")
            time.sleep(0.05)

    def log_text(self):
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-4000:]

    # ---- protocol ----

    def send(self, method, params=None, timeout=None):
        """Sends one command and returns its result; events that arrive meanwhile are dispatched."""
        self._next_id += 1
        my_id = self._next_id
        self._ws.send(json.dumps({"id": my_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + (timeout or self.timeout)
        while my_id not in self._replies:
            self._receive_one(deadline, method)
        reply = self._replies.pop(my_id)
        if "error" in reply:
            raise BrowserError("%s: %s" % (method, reply["error"].get("message", reply["error"])))
        return reply.get("result", {})

    def _receive_one(self, deadline, waiting_for):
        left = deadline - time.monotonic()
        if left <= 0:
            raise BrowserError("no reply to %s within the time limit" % waiting_for)
        self._ws.settimeout(left)
        try:
            msg = json.loads(self._ws.recv())
        except websocket.WebSocketTimeoutException:
            raise BrowserError("no reply to %s within the time limit" % waiting_for) from None
        if "id" in msg:
            self._replies[msg["id"]] = msg
        else:
            self._on_event(msg.get("method", ""), msg.get("params", {}))

    def _on_event(self, method, params):
        if method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            desc = d.get("exception", {}).get("description") or d.get("text", "exception")
            self.errors.append("uncaught: %s (%s:%s)" % (desc, d.get("url", ""), d.get("lineNumber", "")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = [a.get("value", a.get("description", "")) for a in params.get("args", [])]
            self.errors.append("console.%s: %s" % (params["type"], " ".join(str(a) for a in args)))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            e = params["entry"]
            self.errors.append("%s: %s %s" % (e.get("source", "log"), e.get("text", ""), e.get("url", "")))
        handler = self.handlers.get(method)
        if handler:
            handler(params)

    # ---- what the tests use ----

    def navigate(self, url):
        loaded = []
        self.handlers["Page.loadEventFired"] = lambda p: loaded.append(p)
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError("navigating to %s: %s" % (url, result["errorText"]))
        deadline = time.monotonic() + self.timeout
        while not loaded:
            self._receive_one(deadline, "the load event of " + url)
        del self.handlers["Page.loadEventFired"]

    def evaluate(self, expression, await_promise=False):
        """The value of a JavaScript expression (JSON-able); a thrown exception raises BrowserError."""
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": await_promise, "userGesture": True})
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise BrowserError("JavaScript error in %r: %s" % (
                expression[:120], d.get("exception", {}).get("description") or d.get("text")))
        return r.get("result", {}).get("value")

    def wait_for(self, expression, timeout=None, interval=0.05, what=None):
        """Polls until the expression is truthy and returns its value; BrowserError on timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError("timed out waiting for %s" % (what or expression))
            time.sleep(interval)

    def throttle(self, download_bytes_per_s, latency_ms=0):
        """Emulates a slow link (what a remote user sees); 0 switches it off."""
        self.send("Network.enable")
        self.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": latency_ms,
            "downloadThroughput": download_bytes_per_s if download_bytes_per_s > 0 else -1,
            "uploadThroughput": -1})

    def fulfill(self, url_pattern, respond):
        """Answers requests matching url_pattern from Python: respond(request) -> (status, headers, body bytes)."""
        def on_paused(params):
            status, headers, body = respond(params["request"])
            self.send("Fetch.fulfillRequest", {
                "requestId": params["requestId"], "responseCode": status,
                "responseHeaders": [{"name": k, "value": v} for k, v in headers.items()],
                "body": base64.b64encode(body).decode()})
        self.handlers["Fetch.requestPaused"] = on_paused
        self.send("Fetch.enable", {"patterns": [{"urlPattern": url_pattern, "requestStage": "Request"}]})

    def stop_fulfilling(self):
        self.send("Fetch.disable")
        self.handlers.pop("Fetch.requestPaused", None)

    def screenshot(self, path):
        data = base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])
        with open(path, "wb") as f:
            f.write(data)
        return len(data)

    def close(self):
        ws = getattr(self, "_ws", None)
        if ws:
            try:
                self.send("Browser.close", timeout=5)
            except Exception:
                pass
            ws.close()
            self._ws = None
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def png_size(path):
    """(width, height) of a PNG file; BrowserError if it is not one."""
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise BrowserError("%s is not a PNG file" % path)
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
