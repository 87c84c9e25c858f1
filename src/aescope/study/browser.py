"""Open a report in headless Chromium, as a reader would, and report what it saw.

A report can be valid HTML and still show a broken image or throw in the
console; only a browser tells. This drives Debian's ``chromium`` over the
DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON messages ended
by a NUL byte on file descriptors 3 and 4), so it needs nothing beyond the
standard library and the browser itself. Used by the report test and by
``scripts/report_screenshots.py``.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aescope.errors import AescopeError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

PAGE_FACTS = """JSON.stringify({
  images: [...document.images].map(i => ({ok: i.complete && i.naturalWidth > 0,
                                          alt: i.alt.slice(0, 60)})),
  height: document.documentElement.scrollHeight,
  width: document.documentElement.scrollWidth,
  viewport: window.innerWidth,
  wrapped: [...document.querySelectorAll('table:not(.prose) td, table:not(.prose) th')]
    .filter(c => {
      const r = document.createRange(); r.selectNodeContents(c);
      return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size > 1;
  }).length
})"""
"""What the page itself says: each image's load state, page size, and the table cells
whose text runs over more than one line (tables of class ``prose`` are meant to wrap)."""


class BrowserError(AescopeError):
    """Chromium could not be started or did not answer in time."""


def find_chromium() -> str | None:
    """Path of an installed Chromium-family browser, or None."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageReport:
    """What one page load produced: images, console errors, page size, screenshot file."""

    images: list[dict[str, Any]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    height: int = 0
    width: int = 0
    viewport: int = 0
    wrapped_cells: int = 0
    screenshot: Path | None = None

    @property
    def broken_images(self) -> list[str]:
        return [i["alt"] for i in self.images if not i["ok"]]


class _Pipe:
    """The DevTools protocol over Chromium's pipe: send a command, wait for its answer."""

    def __init__(self, browser: str, width: int, height: int, timeout: float) -> None:
        # bash puts the pipe ends on fds 3 and 4 and becomes Chromium: no Python code runs
        # in the child (a preexec_fn would fork this multithreaded process); dash cannot
        # name file descriptors above 9.
        shell = shutil.which("bash")
        if shell is None:
            raise BrowserError("driving Chromium needs bash")
        self.timeout = timeout
        self.profile = tempfile.TemporaryDirectory(prefix="aescope-chromium-")
        low_in, self._write = os.pipe()
        self._read, low_out = os.pipe()
        # Above 9, the ends cannot be 3 or 4, which the shell below is about to replace.
        to_child = fcntl.fcntl(low_in, fcntl.F_DUPFD_CLOEXEC, 10)
        from_child = fcntl.fcntl(low_out, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(low_in)
        os.close(low_out)
        args = [
            browser,
            "--headless",
            "--remote-debugging-pipe",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            f"--user-data-dir={self.profile.name}",
            f"--window-size={width},{height}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run its sandbox as root
        wire = f'exec "$0" "$@" 3<&{to_child} 4>&{from_child} {to_child}<&- {from_child}>&-'
        self.proc = subprocess.Popen(
            [shell, "-c", wire, *args, "about:blank"],
            pass_fds=(to_child, from_child),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"chromium: {method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._receive()
            if event.get("method") == method:
                return event
            self.events.append(event)

    def _receive(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._read], [], [], max(left, 0))
            if not ready:
                raise BrowserError(f"chromium did not answer within {self.timeout:g} s")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise BrowserError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.profile.cleanup()


def inspect_page(
    page: Path,
    screenshot: Path | None = None,
    *,
    width: int = 1400,
    height: int = 1000,
    full_page: bool = False,
    browser: str | None = None,
    timeout: float = 60.0,
) -> PageReport:
    """Load ``page`` at ``width`` × ``height`` CSS pixels; optionally save a PNG screenshot.

    The screenshot is the first screen (what a reader sees on opening), or the
    whole page with ``full_page``.
    """
    browser = browser or find_chromium()
    if browser is None:
        raise BrowserError("no Chromium found (apt-get install chromium)")
    pipe = _Pipe(browser, width, height, timeout)
    try:
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            pipe.send(f"{domain}.enable", session=session)
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        pipe.send("Emulation.setDeviceMetricsOverride", metrics, session=session)
        pipe.send("Page.navigate", {"url": Path(page).resolve().as_uri()}, session=session)
        pipe.wait_for("Page.loadEventFired")
        facts = json.loads(
            pipe.send(
                "Runtime.evaluate",
                {"expression": PAGE_FACTS, "returnByValue": True},
                session=session,
            )["result"]["value"]
        )
        report = PageReport(
            images=facts["images"],
            height=int(facts["height"]),
            width=int(facts["width"]),
            viewport=int(facts["viewport"]),
            wrapped_cells=int(facts["wrapped"]),
            console_errors=_errors(pipe.events),
        )
        if screenshot is not None:
            params: dict[str, Any] = {"format": "png"}
            if full_page:
                params["captureBeyondViewport"] = True
                params["clip"] = {
                    "x": 0,
                    "y": 0,
                    "width": width,
                    "height": report.height,
                    "scale": 1,
                }
            data = pipe.send("Page.captureScreenshot", params, session=session)["data"]
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(data))
            report.screenshot = screenshot
        return report
    finally:
        pipe.close()


def _errors(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, uncaught exceptions and browser log errors among the events."""
    out = []
    for e in events:
        p = e.get("params", {})
        if e.get("method") == "Runtime.consoleAPICalled" and p.get("type") == "error":
            out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
        elif e.get("method") == "Runtime.exceptionThrown":
            out.append(p.get("exceptionDetails", {}).get("text", "exception"))
        elif e.get("method") == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            out.append(p["entry"].get("text", "error"))
    return out
