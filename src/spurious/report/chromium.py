"""Render an HTML file in headless Chromium: screenshot plus the page's console errors.

Talks the Chrome DevTools Protocol over ``--remote-debugging-pipe`` (file descriptors 3 and 4,
NUL-terminated JSON), so it needs no extra package and no network port. Used by the report tests
to check that a report renders offline without errors; usable by hand:

    from spurious.report.chromium import render_in_chromium
    result = render_in_chromium("out/report.html", "out/report.png")
    assert not result.errors
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """Path of a Chromium-family browser on PATH, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class RenderResult:
    """What the page did: console errors / uncaught exceptions / failed loads, and the screenshot path."""

    screenshot: Path
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class _Pipe:
    """Minimal CDP client over the browser's debugging pipe."""

    def __init__(self, write_fd: int, read_fd: int, deadline: float):
        self.w, self.r, self.deadline = write_fd, read_fd, deadline
        self.buf = b""
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        msg: dict = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"CDP {method} failed: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, **params) -> dict:
        """The first event ``method`` whose params include ``params`` (already received or next to come)."""
        def match(ev: dict) -> bool:
            p = ev.get("params", {})
            return ev.get("method") == method and all(p.get(k) == v for k, v in params.items())

        for ev in self.events:
            if match(ev):
                return ev
        while True:
            ev = self._read()
            self.events.append(ev)
            if match(ev):
                return ev

    def _read(self) -> dict:
        while b"\0" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self.r], [], [], left)[0]:
                raise TimeoutError("headless Chromium did not answer in time")
            chunk = os.read(self.r, 1 << 16)
            if not chunk:
                raise RuntimeError("headless Chromium closed the debugging pipe")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)


def _describe(ev: dict) -> tuple[str, str] | None:
    """(kind, text) for console / exception / log / request events; None for others."""
    method, p = ev.get("method"), ev.get("params", {})
    if method == "Runtime.consoleAPICalled":
        text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
        return ("error" if p.get("type") in ("error", "assert") else "console", f"console.{p.get('type')}: {text}")
    if method == "Runtime.exceptionThrown":
        d = p.get("exceptionDetails", {})
        return "error", f"uncaught: {d.get('exception', {}).get('description') or d.get('text')}"
    if method == "Log.entryAdded":
        e = p.get("entry", {})
        kind = "error" if e.get("level") == "error" else "console"
        return kind, f"log.{e.get('level')}: {e.get('text')} {e.get('url', '')}"
    if method == "Network.requestWillBeSent":
        return "request", p.get("request", {}).get("url", "")
    return None


def render_in_chromium(html_path: str | os.PathLike, screenshot_path: str | os.PathLike, *,
                       width: int = 1280, height: int = 2000, timeout_s: float = 60.0,
                       browser: str | None = None) -> RenderResult:
    """Load ``html_path`` in headless Chromium, save a full-page PNG, collect console errors and requests.

    Raises FileNotFoundError if no browser is found, TimeoutError if the page does not load in time.
    """
    exe = browser or find_chromium()
    if exe is None:
        raise FileNotFoundError(f"no Chromium browser on PATH (looked for {', '.join(CHROMIUM_NAMES)})")
    url = Path(html_path).resolve().as_uri()
    out = Path(screenshot_path)
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    profile = tempfile.mkdtemp(prefix="spurious-chromium-")
    # The child sees fd 3 = commands in, fd 4 = replies out.
    def _child_fds():  # copy above 10 first, so that dup2 never clobbers the other pipe end
        cmd_in = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        reply_out = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
        os.dup2(cmd_in, 3)
        os.dup2(reply_out, 4)

    proc = subprocess.Popen(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
         "--disable-extensions", "--disable-background-networking", f"--user-data-dir={profile}",
         f"--window-size={width},{height}", "about:blank"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        close_fds=False, preexec_fn=_child_fds, start_new_session=True)
    os.close(to_browser_r)
    os.close(from_browser_w)
    cdp = _Pipe(to_browser_w, from_browser_r, time.monotonic() + timeout_s)
    result = RenderResult(screenshot=out)
    try:
        target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            cdp.send(f"{domain}.enable", session=session)
        cdp.send("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        cdp.send("Page.setLifecycleEventsEnabled", {"enabled": True}, session=session)
        loader = cdp.send("Page.navigate", {"url": url}, session=session).get("loaderId")
        cdp.wait_event("Page.lifecycleEvent", name="load", loaderId=loader)  # this page's load, not about:blank's
        shot = cdp.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(shot["data"]))
        for ev in cdp.events:
            described = _describe(ev)
            if described is None:
                continue
            kind, text = described
            if kind == "request":
                result.requests.append(text)
            else:
                result.console.append(text)
                if kind == "error":
                    result.errors.append(text)
        try:
            cdp.send("Browser.close")
        except (RuntimeError, TimeoutError):
            pass
    finally:
        os.close(to_browser_w)
        os.close(from_browser_r)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # the browser and any helper it left behind (own session)
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return result
