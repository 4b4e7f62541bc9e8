"""Peak memory of one worker labelling a full default shard (10 240 rows), measured.

Run: ``pytest tests/benchmarks/bench_shard_memory.py -m benchmark -s``
(``FURPE_BENCH_SHARD_ROWS``: comma-separated shard sizes, default ``512,10240``;
``FURPE_BENCH_FIT_ITERATIONS``: steps of the keypoint-fitting experts, default 2: the
memory does not depend on them, the time does).

Inputs: a SPIN-layout Human3.6M file whose every row is a real photo (SPIN's example, one hard
link per row, so every row is its own image as in Human3.6M) with the photo's OpenPose body
keypoints (``--detector ground-truth``: the keypoints come from the file, no MediaPipe), its
box and 3D joints; the keypoint-fitting experts, the synthetic body models, CPU, one torch
thread. The driver prepares OUT (manifest, label store); then one shard runs in a fresh process
(:func:`~furpe_label.pipeline.shard_runner.run_shard`, as a worker runs it) whose peak RSS
(``ru_maxrss``) is printed beside that of the same process with the models loaded and no shard.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.driver import run_labels
from furpe_label.storage.shards import DEFAULT_SHARD_SIZE
from furpe_label.workflows.datasets import create_adapter
from tests.support.spin_h36m import spin_h36m_with_photos

_SHARD = """
import resource, sys, time, torch
from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.shard_runner import run_shard
from furpe_label.pipeline.worker_models import worker_models
config = RunConfig.from_dict(eval(sys.argv[1]))
torch.set_num_threads(1)
resources = RunResources(device="cpu")
worker_models(config, resources)
print("MODELS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
start = time.perf_counter()
stats = run_shard(config, resources, sys.argv[2], 0)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("SHARD", peak, seconds, stats.samples, stats.kept)
"""


class _NoShards:
    """An executor that runs no shard: the driver only prepares OUT (manifest, store)."""

    def run(self, task, shard_ids):
        return iter(())


def _drop_reasons(out: Path) -> dict[str, int]:
    from furpe_label.storage.audit import read_audit

    reasons = read_audit(out / "audit").column("drop_reason").to_pylist()
    return {str(r): reasons.count(r) for r in sorted(set(map(str, reasons))) if r != "ok"}


def _sizes() -> list[int]:
    default = f"512,{DEFAULT_SHARD_SIZE}"
    return [int(v) for v in os.environ.get("FURPE_BENCH_SHARD_ROWS", default).split(",")]


@pytest.mark.benchmark
def test_bench_full_default_shard_peak_memory(tmp_path):
    iterations = int(os.environ.get("FURPE_BENCH_FIT_ITERATIONS", "2"))
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines = [f"load average {load}; fitting iterations {iterations}"]
    for rows in _sizes():
        root = spin_h36m_with_photos(tmp_path / f"h36m{rows}", rows)
        config = RunConfig(
            dataset="h36m",
            root=str(root),
            models="synthetic",
            detector="ground-truth",
            shard_size=rows,
            fitting_iterations=iterations,
        )
        out = tmp_path / f"out{rows}"
        adapter = lambda root=root: create_adapter("h36m", root=root)  # noqa: E731
        run_labels(config, RunResources(device="cpu"), out, adapter, _NoShards(), False)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _SHARD, repr(config.as_dict()), str(out)],
            capture_output=True,
            text=True,
            timeout=4 * 3600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        reasons = _drop_reasons(out)
        found = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()}
        models_mb = int(found["MODELS"][0]) / 1024
        peak_kb, seconds, samples, kept = (float(v) for v in found["SHARD"])
        peak_mb = peak_kb / 1024
        assert samples == rows
        lines.append(
            f"shard of {rows:>6} rows: peak RSS {peak_mb:.0f} MB (models loaded, no shard: "
            f"{models_mb:.0f} MB; the shard adds {peak_mb - models_mb:.0f} MB), "
            f"{seconds:.0f} s, {int(kept)} kept, dropped: {reasons} "
            f"(process {time.perf_counter() - start:.0f} s)"
        )
    print("\n" + "\n".join(lines))
