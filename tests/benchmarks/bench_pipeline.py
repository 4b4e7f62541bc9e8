"""The labelling run on the demo configuration: overhead, worker scaling, memory per worker.

Run: ``pytest tests/benchmarks -m benchmark -s -k pipeline``.

Inputs: the shipped real photos copied ``COPIES`` times into one folder (``--dataset samples
--root``), MediaPipe keypoints, the keypoint-fitting experts, the synthetic body models.

* Overhead: one inline run with the detector's ``detect`` and every expert call timed; the
  pipeline overhead is the shards' wall time minus those (decode, crops, selection, fusion,
  transfer, step 3, writes), as a share of the shards' wall time (goal <= 10 %).
* Scaling: the same run on a LocalCluster of 1 and of 2 worker processes (1 thread each,
  models loaded on every worker before the clock starts): samples/s and the ratio (goal
  >= 1.7x; this machine has 2 cores).
* Memory: peak RSS of one worker process labelling one shard, for two shard sizes, and the
  per-row size of what a shard keeps for all its rows (label arrays + expert records); pixels
  and expert batches are bounded by one 256-row chunk. The default shard size (10 240) is not
  run here (hours of keypoint fitting on this CPU): its peak is the one-chunk peak plus
  10 240 x the per-row size (goal <= 4 GB).
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.driver import run_labels
from furpe_label.pipeline.executors import DaskExecutor, InlineExecutor
from furpe_label.pipeline.worker_models import worker_models
from furpe_label.storage.schema import label_fields
from furpe_label.workflows.datasets import create_adapter
from tests.support.real_data import OPENCV_SAMPLES, SPIN_EXAMPLE

COPIES = 4
SHARD = 4
DEFAULT_SHARD = 10_240


class _Timed:
    """A callable wrapped with a stopwatch (``seconds`` accumulates)."""

    def __init__(self, target) -> None:
        self.target, self.seconds = target, 0.0

    def __getattr__(self, name):
        return getattr(self.target, name)

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.target(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def _photos(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    sources = [
        SPIN_EXAMPLE / "im1010.jpg",
        OPENCV_SAMPLES / "messi5.jpg",
        OPENCV_SAMPLES / "basketball1.png",
    ]
    for copy in range(COPIES):
        for source in sources:
            shutil.copy(source, folder / f"{source.stem}_{copy}{source.suffix}")
    return folder


def _config(root: Path, shard_size: int = SHARD) -> RunConfig:
    return RunConfig(
        dataset="samples", root=str(root), shard_size=shard_size, fitting_iterations=30
    )


def _adapter(config: RunConfig, out: Path):
    return lambda: create_adapter("samples", root=config.root, work_dir=out)


@pytest.mark.benchmark
def test_bench_pipeline_overhead_and_scaling(tmp_path):
    root = _photos(tmp_path / "photos")
    config, resources = _config(root), RunResources(device="cpu")
    torch.set_num_threads(1)
    models = worker_models(config, resources)
    detector = models.keypoints.detector(None)
    detect = _Timed(detector.detect)
    detector.detect = detect
    models.experts = tuple(_Timed(expert) for expert in models.experts)
    out = tmp_path / "inline"
    start = time.perf_counter()
    summary = run_labels(config, resources, out, _adapter(config, out), InlineExecutor(), False)
    wall = time.perf_counter() - start
    shard_seconds = sum(summary.stats.seconds.values())
    model_seconds = detect.seconds + sum(expert.seconds for expert in models.experts)
    overhead = (shard_seconds - model_seconds) / shard_seconds
    lines = [
        f"samples {summary.stats.samples}, kept {summary.stats.kept}, run wall {wall:.1f} s",
        f"shards {shard_seconds:.1f} s = detector {detect.seconds:.1f} s + experts "
        f"{model_seconds - detect.seconds:.1f} s + pipeline overhead "
        f"{shard_seconds - model_seconds:.1f} s ({100 * overhead:.1f} %, goal <= 10 %)",
    ]
    rates = {}
    from distributed import Client, LocalCluster

    for workers in (1, 2):
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            client.run(lambda: (torch.set_num_threads(1), worker_models(config, resources)))
            out = tmp_path / f"dask{workers}"
            start = time.perf_counter()
            summary = run_labels(
                config, resources, out, _adapter(config, out), DaskExecutor(client), False
            )
            rates[workers] = summary.stats.samples / (time.perf_counter() - start)
    lines.append(
        f"LocalCluster: 1 worker {rates[1]:.2f} samples/s, 2 workers {rates[2]:.2f} "
        f"samples/s, ratio {rates[2] / rates[1]:.2f}x (goal >= 1.7x)"
    )
    print("\n" + "\n".join(lines))
    assert summary.stats.samples > 0


_PEAK = """
import resource, sys, torch
from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.shard_runner import run_shard
config = RunConfig.from_dict(eval(sys.argv[1]))
torch.set_num_threads(1)
run_shard(config, RunResources(device="cpu"), sys.argv[2], 0)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.benchmark
def test_bench_pipeline_memory_per_worker(tmp_path):
    root = _photos(tmp_path / "photos")
    peaks = {}
    for size in (12, 40):
        config = _config(root, shard_size=size)
        out = tmp_path / f"mem{size}"
        run_labels(
            config, RunResources(device="cpu"), out, _adapter(config, out), _NoShards(), False
        )
        done = subprocess.run(
            [sys.executable, "-c", _PEAK, repr(config.as_dict()), str(out)],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        peaks[size] = int(done.stdout.strip().splitlines()[-1]) / 1024  # MB
    row_bytes = (
        sum(np.dtype(f.dtype).itemsize * int(np.prod(f.shape)) for f in label_fields())
        + 4 * (2048 + 1024) * 2
    )  # label arrays + the four parts' float16 features in records
    estimate = peaks[40] + DEFAULT_SHARD * row_bytes / 2**20
    print(
        f"\npeak RSS per worker: {peaks[12]:.0f} MB (12 samples), {peaks[40]:.0f} MB (40); "
        f"per-row arrays {row_bytes / 1024:.1f} KB -> about {estimate / 1024:.2f} GB at "
        f"{DEFAULT_SHARD} (goal <= 4 GB; one 256-row chunk of pixels at a time)"
    )
    assert peaks[40] > 0 and resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0


class _NoShards:
    """An executor that runs nothing: the driver only prepares OUT (manifest, store)."""

    def run(self, task, shard_ids):
        return iter(())
