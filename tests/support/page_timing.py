"""Time a report page in headless Chromium: first paint, "ready" and the browser's peak memory.

A copy of the page gets a small script at the top of its ``<head>`` that logs, through the
console, the page's ``first-paint`` / ``first-contentful-paint`` times (PerformanceObserver)
and the time the page's own script marks the body ``data-ready`` (MutationObserver), all in
milliseconds since navigation start, with the what-if's own timing line (``#decide-ms``) and
the kept count it shows (``#kept-count``).
Chromium runs headless with a debugging port (so it stays open) until that line appears;
the resident memory of its whole process tree is sampled meanwhile.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.support.report_support import chromium_command

_PROBE = """<script>(function () {
  var t = {};
  function done() {
    if (t.ready === undefined || t["first-contentful-paint"] === undefined) return;
    var ms = document.getElementById("decide-ms");
    t.decide = ms ? ms.textContent : "";
    var kept = document.getElementById("kept-count");
    t.kept = kept ? kept.textContent : "";
    console.log("BENCH " + JSON.stringify(t));
  }
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (e) { t[e.name] = e.startTime; });
    done();
  }).observe({ type: "paint", buffered: true });
  new MutationObserver(function () {
    if (t.ready === undefined && document.body && document.body.getAttribute("data-ready")) {
      t.ready = performance.now();
      done();
    }
  }).observe(document.documentElement, { attributes: true, subtree: true,
    attributeFilter: ["data-ready"] });
})();</script>"""

_LINE = re.compile(r'"BENCH (\{.*?\})"')


@dataclass(frozen=True)
class PageTiming:
    """One page load: milliseconds since navigation start, and bytes."""

    first_paint_ms: float
    ready_ms: float
    peak_rss_bytes: int
    decide_text: str
    kept_text: str


def probed_copy(page: Path, target: Path) -> Path:
    """``page`` with the timing probe inserted after ``<head>``, written to ``target``."""
    text = page.read_bytes()
    head = text.index(b"<head>") + len(b"<head>")
    target.write_bytes(text[:head] + _PROBE.encode() + text[head:])
    return target


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def time_page(page: Path, work: Path, timeout_s: float = 900.0) -> PageTiming:
    """Load ``page`` (already probed: :func:`probed_copy`) in headless Chromium and time it."""
    command = [
        *chromium_command(work),
        "--remote-debugging-port=0",
        "--window-size=1400,1000",
        page.resolve().as_uri(),
    ]
    browser = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    found: list[dict] = []

    def read() -> None:
        assert browser.stderr is not None
        for raw in browser.stderr:
            match = _LINE.search(raw.decode("utf-8", "replace"))
            if match:
                found.append(json.loads(match.group(1).replace('\\"', '"')))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    process = psutil.Process(browser.pid)
    peak, deadline = 0, time.monotonic() + timeout_s
    try:
        while not found and time.monotonic() < deadline and browser.poll() is None:
            peak = max(peak, _tree_rss(process))
            time.sleep(0.1)
    finally:
        for child in process.children(recursive=True):
            child.kill()
        browser.kill()
        browser.wait()
    if not found:
        raise RuntimeError(f"{page}: no timing line from Chromium within {timeout_s:.0f} s")
    timing = found[0]
    return PageTiming(
        first_paint_ms=float(timing.get("first-paint", timing["first-contentful-paint"])),
        ready_ms=float(timing["ready"]),
        peak_rss_bytes=peak,
        decide_text=str(timing.get("decide", "")),
        kept_text=str(timing.get("kept", "")),
    )
