"""Benchmark: what the damaged-store checks cost, in seconds per 10^5 rows.

Run: a finished run of N = 10^5 person instances (``BENCH_VERIFY_ROWS`` to change) in shards
of 10 240 (the default), written directly by the run's own writers
(:func:`tests.support.run_folders.write_run_folder`: every required label array, ~11 KiB per
row uncompressed, and a full audit), read from the page cache (warm). Median wall and process
CPU seconds of REPEATS after one warm-up, all in the same process (the checks run in one
thread: on a busy machine the CPU seconds are what an idle core's wall time would be):

- ``verify`` (``furpe-label verify``, :func:`check_run`): SHA-256 of every file of the run;
- ``audit check`` (what ``furpe-label audit`` checks first): markers, audit parts, stats,
  run.json and the store's metadata, no label array;
- ``reader start``: ``LabelDataset(OUT/labels.zarr)`` (markers, metadata and every shard's
  ``valid`` file checked) against the same store opened outside a run folder (no check);
- ``reader first batch``: a new dataset and its first random batch of 256 (every array's
  file of each shard it touches checked once; 256 random rows touch every shard) against the
  unchecked store; later batches check nothing.

    pytest tests/benchmarks -m benchmark -s -k verify
"""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest

from furpe_label.storage.reader import LabelDataset
from furpe_label.storage.run_check import check_run
from furpe_label.storage.shards import DEFAULT_SHARD_SIZE
from tests.benchmarks.timing import median_wall_and_cpu
from tests.support.run_folders import write_run_folder

ROWS = int(os.environ.get("BENCH_VERIFY_ROWS", "100000"))
REPEATS, BATCH = 3, 256
PER = 100_000


def _bytes(root) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _first_batch(path, rows: np.ndarray) -> None:
    """A new dataset's first read of ``rows`` (construction included: subtract "reader
    start")."""
    dataset = LabelDataset(path, kept_only=False, engine="zarr")
    dataset.read_rows(rows)


@pytest.mark.benchmark
def test_verify_cost(tmp_path):
    started = time.perf_counter()
    run = write_run_folder(tmp_path / "run", rows=ROWS, shard_size=DEFAULT_SHARD_SIZE)
    built = time.perf_counter() - started
    bare = tmp_path / "bare" / "labels.zarr"  # the same store outside a run: nothing checked
    shutil.copytree(run.labels, bare)
    size = _bytes(run.root)
    check = check_run(run.root)
    assert check.finished, check.problems
    rows = np.sort(np.random.default_rng(0).choice(ROWS, BATCH, replace=False))
    calls = {
        "verify": lambda: check_run(run.root),
        "audit check": lambda: check_run(run.root, labels=False),
        "reader start": lambda: LabelDataset(run.labels),
        "reader start, unchecked": lambda: LabelDataset(bare),
        "reader first batch": lambda: _first_batch(run.labels, rows),
        "reader first batch, unchecked": lambda: _first_batch(bare, rows),
    }
    timings = {name: median_wall_and_cpu(call, REPEATS) for name, call in calls.items()}
    print(
        f"\nrun of {ROWS} rows in {check.shards} shards, {size / 1e9:.2f} GB on disk "
        f"(written in {built:.0f} s); warm page cache, median of {REPEATS}"
    )
    print(f"  {'':<30} {'wall s':>8} {'CPU s':>8}   per 10^5 rows: wall, CPU")
    for name, (wall, cpu) in timings.items():
        scale = PER / ROWS
        print(f"  {name:<30} {wall:8.3f} {cpu:8.3f}   {wall * scale:7.3f} {cpu * scale:7.3f}")
    wall, cpu = timings["verify"]
    print(f"  verify hashes {size / wall / 1e9:.2f} GB/s wall, {size / cpu / 1e9:.2f} GB/s CPU")
