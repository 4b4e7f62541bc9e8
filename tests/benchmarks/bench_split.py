"""Split vs unsplit samples/s with the network experts: one command, three clusters.

Run: ``pytest tests/benchmarks/bench_split.py -m benchmark -s``. Options (environment):
``FURPE_BENCH_SPLIT_ROWS`` (default 48), ``FURPE_BENCH_SPLIT_SHARD`` (rows per shard, default
6), ``FURPE_BENCH_SPLIT_WORKERS`` (default 2), ``FURPE_BENCH_DEVICE`` (default ``cpu``;
``cuda`` on a GPU machine, see :mod:`tests.benchmarks.bench_gpu_samples`).

Inputs: a SPIN-layout Human3.6M file, every row its own hard link to SPIN's example photo
(boxes from the file, MediaPipe keypoints: the CPU-bound half), the experts folder in the
official checkpoints' layouts and architectures (random weights: a network's speed does not
depend on its weights), the synthetic body models. With W workers (one thread each, library
threads capped):

* ``unsplit``: a LocalCluster of W workers, one task per shard (``--no-split``);
* ``split, every worker both``: W workers each advertising ``CPU=1`` and ``GPU=1`` (what
  ``--split`` gives on a laptop);
* ``split, W-1 CPU + 1 GPU``: W-1 workers advertising ``CPU=1`` and one ``GPU=1`` (a cluster's
  shape: ``dask worker --resources``).

Every worker loads what its tasks need before the clock starts; the clock covers
``run_labels`` over every shard. The stores must be identical between the two split layouts
(asserted: same worker threads, same batches). Printed: samples/s and the ratio to unsplit.

On a CPU-only machine the experts (ResNet-50 backbones on the CPU) take about 90 % of a
shard's time (36.9 s of 41 s for the 5 test photos), so the split cannot beat the unsplit run
there, and the ``W-1 CPU + 1 GPU`` layout leaves the experts one worker instead of W: the
figure that matters is the GPU one (:mod:`tests.benchmarks.bench_gpu_samples`, ``-k split``).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.driver import run_labels
from furpe_label.pipeline.executors import DaskExecutor
from furpe_label.pipeline.split_tasks import keypoint_source
from furpe_label.pipeline.worker_models import worker_models
from furpe_label.pipeline.worker_threads import ThreadCaps, thread_env
from furpe_label.workflows.datasets import create_adapter
from tests.support.doubles.official_checkpoints import write_experts_folder
from tests.support.pipeline_support import store_arrays
from tests.support.spin_h36m import spin_h36m_with_photos


class _NoShards:
    """An executor that runs no shard: the driver only prepares OUT (manifest, store)."""

    def run(self, task, shard_ids):
        return iter(())


def spec_cluster(layout: list[dict[str, int]]):  # -> distributed.SpecCluster
    """Worker processes, one thread each, each advertising its ``layout`` resources."""
    from distributed import Nanny, Scheduler, SpecCluster

    workers = {
        f"worker-{i}": {
            "cls": Nanny,
            "options": {
                "nthreads": 1,
                "resources": resources,
                "env": thread_env(1),
                "host": "127.0.0.1",
                "silence_logs": logging.WARNING,
            },
        }
        for i, resources in enumerate(layout)
    }
    scheduler = {"cls": Scheduler, "options": {"dashboard_address": ":0", "host": "127.0.0.1"}}
    return SpecCluster(workers=workers, scheduler=scheduler, silence_logs=logging.WARNING)


def _warm(config: RunConfig, resources: RunResources, dask_worker=None) -> bool:
    """Load on this worker what its tasks need (by the resources it advertises; ``client.run``
    passes ``dask_worker``)."""
    advertised = dask_worker.state.total_resources
    if "GPU" in advertised or not advertised.get("CPU"):
        worker_models(config, resources).keypoints.detector()
    if "CPU" in advertised:
        keypoint_source(config).detector()
    return True


def prepared_run(tmp_path: Path, rows: int, shard: int, device: str) -> tuple:
    """(config, resources, prepared OUT, adapter maker): manifest and store made, no shard."""
    root = spin_h36m_with_photos(tmp_path / "h36m", rows)
    config = RunConfig(
        dataset="h36m",
        root=str(root),
        models="synthetic",
        experts=str(write_experts_folder(tmp_path / "experts", seed=0)),
        detector="mediapipe",
        shard_size=shard,
    )
    resources = RunResources(device=device)
    out = tmp_path / "prepared"

    def adapter():
        return create_adapter("h36m", root=root)

    run_labels(config, resources, out, adapter, _NoShards(), False)
    return config, resources, out, adapter


def timed_run(prepared: tuple, layout: list[dict[str, int]], out: Path, split: bool) -> float:
    """Samples/s of every shard on a cluster of ``layout`` workers (models loaded first)."""
    from distributed import Client

    config, resources, source, adapter = prepared
    shutil.copytree(source, out)
    with spec_cluster(layout) as cluster, Client(cluster) as client:
        client.register_plugin(ThreadCaps(1))
        client.wait_for_workers(len(layout))
        assert all(client.run(_warm, config, resources).values())
        start = time.perf_counter()
        summary = run_labels(config, resources, out, adapter, DaskExecutor(client), False, split)
        seconds = time.perf_counter() - start
    assert not summary.failed, summary.failed
    return summary.stats.samples / seconds


def layouts(workers: int) -> dict[str, tuple[list[dict[str, int]], bool]]:
    """The three clusters of the module docstring: name -> (worker resources, split)."""
    return {
        "unsplit": ([{}] * workers, False),
        "split, every worker both": ([{"CPU": 1, "GPU": 1}] * workers, True),
        f"split, {workers - 1} CPU + 1 GPU": ([{"CPU": 1}] * (workers - 1) + [{"GPU": 1}], True),
    }


def compare(tmp_path: Path, rows: int, shard: int, workers: int, device: str) -> list[str]:
    """Run the three layouts; the lines of the table (split stores asserted identical)."""
    prepared = prepared_run(tmp_path, rows, shard, device)
    rates = {}
    outs = {}
    for index, (name, (layout, split)) in enumerate(layouts(workers).items()):
        outs[name] = tmp_path / f"run{index}"
        rates[name] = timed_run(prepared, layout, outs[name], split)
    first, second = (store_arrays(outs[name]) for name in list(outs)[1:])
    for name, value in first.items():
        np.testing.assert_array_equal(second[name], value, err_msg=name)
    base = rates["unsplit"]
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    lines = [
        f"{rows} rows, {shard} per shard, {workers} workers on {device} ({os.cpu_count()} CPUs, "
        f"load average after: {load})",
        "layout                        | samples/s | vs unsplit",
    ]
    lines += [f"{name:<29} | {rate:9.2f} | {rate / base:.2f}x" for name, rate in rates.items()]
    return lines


@pytest.mark.benchmark
def test_bench_split_vs_unsplit_samples_per_second(tmp_path):
    device = os.environ.get("FURPE_BENCH_DEVICE", "cpu")
    lines = compare(
        tmp_path,
        int(os.environ.get("FURPE_BENCH_SPLIT_ROWS", "48")),
        int(os.environ.get("FURPE_BENCH_SPLIT_SHARD", "6")),
        int(os.environ.get("FURPE_BENCH_SPLIT_WORKERS", "2")),
        device,
    )
    print("\n" + "\n".join(lines))
