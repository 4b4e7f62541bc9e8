"""Benchmark: what the damaged-store checks cost, in seconds per 10^5 rows.

Run: a finished run of N = 10^5 person instances (``BENCH_VERIFY_ROWS`` to change) in shards
of 10 240 (the default), written directly by the run's own writers
(:func:`tests.support.run_folders.write_run_folder`: every required label array, ~11 KiB per
row uncompressed, and a full audit), read from the page cache (warm). Median of REPEATS after
one warm-up, all in the same process:

- ``verify`` (``furpe-label verify``, :func:`check_run`): SHA-256 of every file of the run;
- ``audit check`` (what ``furpe-label audit`` checks first): markers, audit parts, stats,
  run.json and the store's metadata, no label array;
- ``reader start``: ``LabelDataset(OUT/labels.zarr)`` (markers, metadata and every shard's
  ``valid`` file checked) against the same store opened outside a run folder (no check);
- ``reader first batch``: the first random batch of 256 (every array's file of each shard
  it touches checked once) against the unchecked store; the next batches check nothing.

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
from tests.benchmarks.timing import median_seconds
from tests.support.run_folders import write_run_folder

ROWS = int(os.environ.get("BENCH_VERIFY_ROWS", "100000"))
REPEATS, BATCH = 3, 256
PER = 100_000


def _bytes(root) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _first_batch(path, rows: np.ndarray) -> float:
    """Seconds of a new dataset's first read of ``rows`` (construction not counted)."""
    dataset = LabelDataset(path, kept_only=False, engine="zarr")
    start = time.perf_counter()
    dataset.read_rows(rows)
    return time.perf_counter() - start


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
    timings = {
        "verify": median_seconds(lambda: check_run(run.root), REPEATS),
        "audit check": median_seconds(lambda: check_run(run.root, labels=False), REPEATS),
        "reader start": median_seconds(lambda: LabelDataset(run.labels), REPEATS),
        "reader start, unchecked": median_seconds(lambda: LabelDataset(bare), REPEATS),
        "reader first batch": median_seconds(lambda: _first_batch(run.labels, rows), REPEATS),
        "reader first batch, unchecked": median_seconds(lambda: _first_batch(bare, rows), REPEATS),
    }
    print(
        f"\nrun of {ROWS} rows in {check.shards} shards, {size / 1e9:.2f} GB on disk "
        f"(written in {built:.0f} s); warm page cache, median of {REPEATS}"
    )
    for name, seconds in timings.items():
        print(f"  {name:<30} {seconds:8.3f} s  = {seconds * PER / ROWS:7.3f} s per 10^5 rows")
    print(f"  verify hashes {size / timings['verify'] / 1e9:.2f} GB/s")
