"""The report page at 10^5 and 10^6 rows: build time, page size, first paint and "ready".

Run: ``pytest tests/benchmarks/bench_report_scale.py -m benchmark -s`` (``FURPE_BENCH_ROWS``:
comma-separated row counts, default ``100000,1000000``).

The audit is :func:`tests.support.report_support.random_audit` (every audit column in its
schema dtype, every kind of row: input and detection failures, few keypoints, step 2 / 3
scores over their ranges with NaN where a part had no output, signal scores, temporal scores
on 60 % of the reached rows, GT errors): its float32 scores are random in their low bits, the
hardest case for compression. The page is built from that table the way ``furpe-label
report OUT --gallery 0`` builds it (:func:`~furpe_label.workflows.report.page.page_data`,
:func:`~furpe_label.workflows.report.page.render_page`, written to disk; reading the audit's
parquet parts is not timed). Each page loads in headless Chromium
(:mod:`tests.support.page_timing`): first paint and "ready" (the what-if decided and every
section drawn, ``data-ready``) in seconds since navigation start, with the browser's peak
resident memory (all its processes) and the page's own line for the in-browser re-decision.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from furpe_label.selection import SelectionConfig
from furpe_label.storage.run_dir import RunDir
from furpe_label.storage.run_info import RunInfo
from furpe_label.workflows.report.page import page_data, render_page
from tests.support.page_timing import probed_copy, time_page
from tests.support.report_support import CHROMIUM, random_audit


def _run_folder(out: Path) -> Path:
    """A started run folder (run.json only): what the page's provenance block reads."""
    info = RunInfo(
        config={"dataset": "random-audit", "selection": {}},
        code_version="tests.benchmarks.bench_report_scale",
        synthetic=False,
        detector="none (random audit rows)",
        experts={"body": "none"},
    )
    RunDir(out).start(info)
    return out


def _build(out: Path, table) -> tuple[Path, float]:
    """The page of ``table`` written to ``out/report/index.html`` and its build seconds."""
    start = time.perf_counter()
    data = page_data(out, table, SelectionConfig(), [], [], None)
    page = out / "report" / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(render_page(data), encoding="utf-8")
    return page, time.perf_counter() - start


@pytest.mark.benchmark
@pytest.mark.skipif(not CHROMIUM.is_file(), reason="/usr/bin/chromium is not installed")
def test_report_page_at_scale(tmp_path):
    counts = [int(c) for c in os.environ.get("FURPE_BENCH_ROWS", "100000,1000000").split(",")]
    lines = []
    for n in counts:
        start = time.perf_counter()
        table = random_audit(n, seed=11)
        made = time.perf_counter() - start
        out = _run_folder(tmp_path / f"run{n}")
        page, build_s = _build(out, table)
        del table
        size = page.stat().st_size
        timing = time_page(probed_copy(page, tmp_path / f"probed{n}.html"), tmp_path / f"w{n}")
        line = (
            f"{n:>9,} rows | page {size / 1e6:7.1f} MB ({size / n:6.1f} B/row) | "
            f"build {build_s:6.1f} s | first paint {timing.first_paint_ms / 1e3:6.2f} s | "
            f"ready {timing.ready_ms / 1e3:6.2f} s | Chromium peak RSS "
            f"{timing.peak_rss_bytes / 2**20:6.0f} MiB | {timing.decide_text} "
            f"(audit made in {made:.0f} s)"
        )
        print(line, flush=True)
        lines.append(line)
        assert timing.ready_ms >= timing.first_paint_ms or timing.ready_ms > 0
    print("\n".join(["", "report page at scale:", *lines]))
