"""The report page at 10^5 and 10^6 rows: build time, page size, first paint and "ready".

Run: ``pytest tests/benchmarks/bench_report_scale.py -m benchmark -s`` (``FURPE_BENCH_ROWS``:
comma-separated row counts, default ``100000,1000000``; ``FURPE_BENCH_BASELINE``: a git
commit whose report code, ``workflows/report/``, is measured on the same audit in the same
run, e.g. ``095d76e``, the last one with every column as its own base64 JSON string).

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
resident memory (all its processes) and the page's own line for the in-browser re-decision;
the kept count the page shows must be ``audit --what-if``'s (``recompute``) for every row.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from furpe_label.selection import SelectionConfig
from furpe_label.storage.run_dir import RunDir
from furpe_label.storage.run_info import RunInfo
from furpe_label.workflows.audit import recompute
from furpe_label.workflows.report.page import page_data, render_page
from tests.support.page_timing import probed_copy, time_page
from tests.support.paths import REPO_ROOT
from tests.support.report_support import CHROMIUM, random_audit


def _baseline_page_module(commit: str, folder: Path) -> ModuleType:
    """``workflows/report/page.py`` of ``commit`` (with its payload and assets), importable
    beside the current package: its own report modules are the commit's, the rest today's."""
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", commit, "workflows/report"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    source = folder / "workflows" / "report"
    name = f"baseline_report_{commit}"
    for module in ("payload", "page"):
        text = (source / f"{module}.py").read_text()
        text = text.replace("furpe_label.workflows.report.payload", f"{name}_payload")
        path = source / f"{name}_{module}.py"
        path.write_text(text)
        spec = importlib.util.spec_from_file_location(f"{name}_{module}", path)
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[f"{name}_{module}"] = loaded
        spec.loader.exec_module(loaded)
    return sys.modules[f"{name}_page"]


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


def _build(out: Path, table, code: ModuleType | None, name: str) -> tuple[Path, float]:
    """The page of ``table`` written to ``out/report/<name>.html`` by ``code`` (a page module;
    None: today's) and its build seconds."""
    build_data, render = (
        (page_data, render_page) if code is None else (code.page_data, code.render_page)
    )
    start = time.perf_counter()
    data = build_data(out, table, SelectionConfig(), [], [], None)
    page = out / "report" / f"{name}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(render(data), encoding="utf-8")
    return page, time.perf_counter() - start


@pytest.mark.benchmark
@pytest.mark.skipif(not CHROMIUM.is_file(), reason="/usr/bin/chromium is not installed")
def test_report_page_at_scale(tmp_path):
    counts = [int(c) for c in os.environ.get("FURPE_BENCH_ROWS", "100000,1000000").split(",")]
    codes: dict[str, ModuleType | None] = {"current": None}
    if os.environ.get("FURPE_BENCH_BASELINE"):
        commit = os.environ["FURPE_BENCH_BASELINE"]
        (tmp_path / "baseline").mkdir()
        codes = {commit: _baseline_page_module(commit, tmp_path / "baseline"), **codes}
    lines = []
    for n in counts:
        start = time.perf_counter()
        table = random_audit(n, seed=11)
        made = time.perf_counter() - start
        out = _run_folder(tmp_path / f"run{n}")
        base = SelectionConfig()
        python_kept = int((recompute(table, base, base)["drop_stage"] == "kept").sum())
        for name, code in codes.items():
            page, build_s = _build(out, table, code, name)
            size = page.stat().st_size
            probed = probed_copy(page, tmp_path / f"probed-{name}-{n}.html")
            timing = time_page(probed, tmp_path / f"w-{name}-{n}")
            line = (
                f"{name:>8} {n:>9,} rows | page {size / 1e6:7.1f} MB ({size / n:6.1f} B/row) | "
                f"build {build_s:6.1f} s | first paint {timing.first_paint_ms / 1e3:6.2f} s | "
                f"ready {timing.ready_ms / 1e3:6.2f} s | Chromium peak RSS "
                f"{timing.peak_rss_bytes / 2**20:6.0f} MiB | kept {timing.kept_text} (Python "
                f"{python_kept:,}) | {timing.decide_text} "
                f"(audit made in {made:.0f} s)"
            )
            print(line, flush=True)
            if name == "current":  # the page's what-if decides every row as Python does
                assert timing.kept_text == f"{python_kept:,}", (timing.kept_text, python_kept)
            lines.append(line)
            page.unlink()
            probed.unlink()
    print("\n".join(["", "report page at scale:", *lines]))
