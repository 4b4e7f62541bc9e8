"""Samples/s per GPU with the network experts (SPIN, DECA, FrankMocap): one shard on one GPU.

Run on a machine with CUDA: ``pytest tests/benchmarks/bench_gpu_samples.py -m benchmark -s``
(skipped, saying so, without CUDA; ``FURPE_BENCH_DEVICE=cpu`` runs it on the CPU instead).
Options: ``FURPE_BENCH_GPU_ROWS`` (default 2048), ``FURPE_BENCH_BATCH`` (crops per forward,
default 64), ``FURPE_BENCH_FP16=1`` (float16 autocast).

Inputs: a SPIN-layout Human3.6M file, every row its own hard link to SPIN's example photo with
the photo's OpenPose body keypoints (``--detector ground-truth``: no keypoint detector runs, so
the shard's time is decoding, the experts on the GPU, selection, fusion and step 3); the
experts folder in the official checkpoints' layouts and architectures (random weights: the
speed of a network does not depend on its weights), the synthetic body models. The models are
loaded before the clock starts; the shard runs as a worker runs it
(:func:`~furpe_label.pipeline.shard_runner.run_shard`). Printed: samples/s, and the share of
the shard's time in each stage (the GPU is busy in ``experts``; the rest is CPU work that a
CPU/GPU split of the tasks would overlap).

The split on a GPU: ``pytest tests/benchmarks/bench_gpu_samples.py -m benchmark -s -k split``
(skipped without CUDA) runs :func:`tests.benchmarks.bench_split.compare` on ``cuda``: MediaPipe
keypoints, the network experts on the GPU, unsplit vs split with W workers (every worker both
resources, and W-1 CPU workers + 1 GPU worker). Options: ``FURPE_BENCH_SPLIT_ROWS`` (default
1024), ``FURPE_BENCH_SPLIT_SHARD`` (default 64), ``FURPE_BENCH_SPLIT_WORKERS`` (default: the
CPU count, at most 16).
"""

from __future__ import annotations

import os
import time

import pytest
import torch

from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.driver import run_labels
from furpe_label.pipeline.shard_runner import run_shard
from furpe_label.pipeline.worker_models import worker_models
from furpe_label.workflows.datasets import create_adapter
from tests.benchmarks.bench_split import compare
from tests.support.doubles.official_checkpoints import write_experts_folder
from tests.support.spin_h36m import spin_h36m_with_photos


class _NoShards:
    """An executor that runs no shard: the driver only prepares OUT (manifest, store)."""

    def run(self, task, shard_ids):
        return iter(())


@pytest.mark.benchmark
def test_bench_samples_per_second_per_gpu(tmp_path):
    device = os.environ.get("FURPE_BENCH_DEVICE", "cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip("no CUDA device: run on a GPU machine (or FURPE_BENCH_DEVICE=cpu)")
    rows = int(os.environ.get("FURPE_BENCH_GPU_ROWS", "2048"))
    resources = RunResources(
        device=device,
        batch_size=int(os.environ.get("FURPE_BENCH_BATCH", "64")),
        fp16=os.environ.get("FURPE_BENCH_FP16") == "1",
    )
    root = spin_h36m_with_photos(tmp_path / "h36m", rows)
    config = RunConfig(
        dataset="h36m",
        root=str(root),
        models="synthetic",
        experts=str(write_experts_folder(tmp_path / "experts", seed=0)),
        detector="ground-truth",
        shard_size=rows,
    )
    out = tmp_path / "out"
    run_labels(
        config, resources, out, lambda: create_adapter("h36m", root=root), _NoShards(), False
    )
    worker_models(config, resources)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    stats = run_shard(config, resources, str(out), 0)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    name = torch.cuda.get_device_name() if device.startswith("cuda") else "CPU"
    stages = sum(stats.seconds.values())
    shares = ", ".join(
        f"{stage} {100 * value / stages:.0f} %" for stage, value in sorted(stats.seconds.items())
    )
    print(
        f"\n{name}: {stats.samples} samples in {seconds:.1f} s = "
        f"{stats.samples / seconds:.1f} samples/s (batch {resources.batch_size}, "
        f"fp16 {resources.fp16}, {stats.kept} kept); time by stage: {shares}"
    )
    assert stats.samples == rows


@pytest.mark.benchmark
def test_bench_split_on_a_gpu(tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: run on a GPU machine (bench_split.py measures the CPU)")
    lines = compare(
        tmp_path,
        int(os.environ.get("FURPE_BENCH_SPLIT_ROWS", "1024")),
        int(os.environ.get("FURPE_BENCH_SPLIT_SHARD", "64")),
        int(os.environ.get("FURPE_BENCH_SPLIT_WORKERS", str(min(os.cpu_count() or 2, 16)))),
        "cuda",
    )
    print(f"\n{torch.cuda.get_device_name()}\n" + "\n".join(lines))
