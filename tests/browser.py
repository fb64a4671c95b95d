"""A page in real headless Chromium, driven over the DevTools protocol on a
pipe (``--remote-debugging-pipe``: no port, no extra Python package): console
errors, uncaught exceptions, network requests, DOM queries and a screenshot."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageReport:
    errors: list[str] = field(default_factory=list)  # exceptions, console.error, error logs
    messages: list[str] = field(default_factory=list)  # every console message
    requests: list[str] = field(default_factory=list)  # URLs other than file: / data: / about:
    values: dict[str, Any] = field(default_factory=dict)  # results of the expressions asked
    screenshot: bytes = b""


class DevTools:
    def __init__(self, binary: str, profile: Path) -> None:
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()
        # Chromium reads commands on fd 3 and writes replies on fd 4.
        hi_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 100)
        hi_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 100)

        def child() -> None:
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-sync",
             "--disable-component-update", "--hide-scrollbars",
             # Nothing may leave this machine: every request goes to a dead local proxy.
             "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
             "about:blank"],
            pass_fds=(3, 4), preexec_fn=child, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        for fd in (to_chrome_r, from_chrome_w, hi_r, hi_w):
            os.close(fd)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self._r], [], [], left)
            if ready:
                chunk = os.read(self._r, 1 << 16)
                if not chunk:
                    raise EOFError("Chromium closed the DevTools pipe")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        data: dict[str, Any] = json.loads(msg)
        return data

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                result: dict[str, Any] = m.get("result", {})
                return result
            self.events.append(m)

    def wait_event(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for e in self.events:
            if e.get("method") == method:
                return e
        while True:
            m = self._read_message(deadline)
            self.events.append(m)
            if m.get("method") == method:
                return m

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except TimeoutError:
            pass

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except (OSError, RuntimeError, TimeoutError, EOFError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)


def _text(args: list[dict[str, Any]]) -> str:
    return " ".join(str(a.get("value", a.get("description", a.get("type", "")))) for a in args)


def load_page(page: Path, profile: Path, expressions: dict[str, str] | None = None,
              width: int = 1280) -> PageReport:
    """Open ``page`` (a local file), wait for load, evaluate ``expressions``,
    take a full-page screenshot; collect errors, console and network."""
    binary = chromium_binary()
    assert binary is not None, "chromium not installed"
    dt = DevTools(binary, profile)
    rep = PageReport()
    try:
        target = dt.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = dt.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            dt.call(f"{domain}.enable", session=sid)
        dt.call("Emulation.setDeviceMetricsOverride",
                {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                session=sid)
        dt.call("Page.navigate", {"url": page.resolve().as_uri()}, session=sid)
        dt.wait_event("Page.loadEventFired")
        dt.drain(0.5)  # late errors (timers, handlers run at load)
        for name, expr in (expressions or {}).items():
            res = dt.call("Runtime.evaluate", {"expression": expr, "returnByValue": True},
                          session=sid)
            if "exceptionDetails" in res:
                rep.errors.append(f"evaluating {name}: {res['exceptionDetails'].get('text')}")
            rep.values[name] = res.get("result", {}).get("value")
        metrics = dt.call("Page.getLayoutMetrics", session=sid)
        height = int(min(metrics.get("cssContentSize", metrics.get("contentSize", {}))
                         .get("height", 900), 6000))
        dt.call("Emulation.setDeviceMetricsOverride",
                {"width": width, "height": max(height, 300), "deviceScaleFactor": 1,
                 "mobile": False}, session=sid)
        shot = dt.call("Page.captureScreenshot", {"format": "png"}, session=sid)
        rep.screenshot = base64.b64decode(shot["data"])
        dt.drain(0.2)
    finally:
        dt.close()
    for e in dt.events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            rep.errors.append("uncaught: " + str((d.get("exception") or {}).get("description")
                                                 or d.get("text")))
        elif method == "Runtime.consoleAPICalled":
            text = f"console.{p.get('type')}: {_text(p.get('args', []))}"
            rep.messages.append(text)
            if p.get("type") in ("error", "assert"):
                rep.errors.append(text)
        elif method == "Log.entryAdded":
            entry = p.get("entry", {})
            rep.messages.append(f"log.{entry.get('level')}: {entry.get('text')}")
            if entry.get("level") == "error":
                rep.errors.append(f"log: {entry.get('text')} ({entry.get('url', '')})")
        elif method == "Network.requestWillBeSent":
            url = str(p.get("request", {}).get("url", ""))
            if not url.startswith(("file:", "data:", "about:")):
                rep.requests.append(url)
    return rep


def keep_artifact(src: Path, name: str) -> Path:
    """Copy a test artifact to tests/artifacts/ (ignored by git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    dst = ARTIFACTS / name
    shutil.copyfile(src, dst)
    return dst
