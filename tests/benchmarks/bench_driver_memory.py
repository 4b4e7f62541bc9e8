"""The driver's memory against the number of rows: ``check`` and ``run`` on SPIN-layout h36m.

Run: ``pytest tests/benchmarks/bench_driver_memory.py -m benchmark -s`` (``FURPE_BENCH_ROWS``:
comma-separated row counts, default ``100000,1000000``).

A SPIN-layout ``h36m_train.npz`` (``imgname``, ``center``, ``scale``, ``part``, ``S``,
``openpose``: the members and sizes of SPIN's file, about 2.1 KB a row) is written member by
member in row blocks (the generator itself stays small), with Human3.6M's image names in
SPIN's order (subject, action as listed, camera, frame), and no image on disk. Each command
runs in a fresh process whose peak RSS (``ru_maxrss``) and wall time are printed:

* ``check``: ``furpe-label check --dataset h36m`` (every image is reported missing);
* ``run``: the driver of ``furpe-label run`` up to the shards (lock, run.json, the manifest
  written, the label store created, the shards planned), with an executor that runs no shard:
  the shards' own memory is the workers', measured in ``bench_shard_memory``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.support.spin_h36m import write_spin_h36m

_CHECK = """
import resource, sys, time
from furpe_label.workflows.cli import main
start = time.perf_counter()
try:
    main(["check", "--dataset", "h36m", "--root", sys.argv[1], "--json"])
except SystemExit:
    pass
print("PEAK", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter() - start)
"""

_IMPORTS = """
import resource
import furpe_label.pipeline.driver, furpe_label.workflows.cli
print("PEAK", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 0)
"""

_RUN = """
import resource, sys, time
from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.driver import run_labels
from furpe_label.workflows.datasets import create_adapter

class NoShards:
    where = "nowhere (benchmark: the driver alone)"
    def run(self, task, ids):
        return iter(())

config = RunConfig(dataset="h36m", root=sys.argv[1], models="synthetic")
start = time.perf_counter()
summary = run_labels(
    config, RunResources(device="cpu"), sys.argv[2],
    lambda: create_adapter("h36m", root=sys.argv[1]), NoShards(), False,
)
print("ROWS", summary.shards)
print("PEAK", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter() - start)
"""


def _peak(script: str, *args: str) -> tuple[float, float, str]:
    """(peak RSS MB, seconds, output) of ``script`` in a fresh Python process."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=3600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines()[::-1] if line.startswith("PEAK"))
    _, kilobytes, seconds = line.split()
    return int(kilobytes) / 1024, float(seconds), done.stdout


def _row_counts() -> list[int]:
    return [int(v) for v in os.environ.get("FURPE_BENCH_ROWS", "100000,1000000").split(",")]


@pytest.mark.benchmark
def test_bench_driver_memory_is_flat_in_rows(tmp_path):
    baseline, _, _ = _peak(_IMPORTS)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines = [f"process with the CLI and driver imported: {baseline:.0f} MB; load average {load}"]
    for rows in _row_counts():
        root = tmp_path / f"h36m{rows}"
        start = time.perf_counter()
        npz = write_spin_h36m(root / "h36m_train.npz", rows)
        made = time.perf_counter() - start
        check_mb, check_s, _ = _peak(_CHECK, str(root))
        run_mb, run_s, output = _peak(_RUN, str(root), str(tmp_path / f"out{rows}"))
        manifest = tmp_path / f"out{rows}" / "manifest.parquet"
        lines.append(
            f"{rows:>9} rows (npz {npz.stat().st_size / 2**20:.0f} MB, made in {made:.0f} s): "
            f"check {check_mb:.0f} MB {check_s:.1f} s | run driver {run_mb:.0f} MB "
            f"{run_s:.1f} s (manifest {manifest.stat().st_size / 2**20:.0f} MB)"
        )
        assert "ROWS" in output
    print("\n" + "\n".join(lines))
