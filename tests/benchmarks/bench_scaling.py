"""1 -> 2 -> 4 local Dask workers on real video frames, every library's threads capped.

Run: ``pytest tests/benchmarks/bench_scaling.py -m benchmark -s``. Options (environment):
``FURPE_VTEST`` the video (default: OpenCV's ``vtest.avi`` in the shared real data; the
benchmark is skipped, saying so, where it is absent), ``FURPE_BENCH_FRAMES`` frames taken
from its start (default 16), ``FURPE_BENCH_WORKERS`` (default ``1,2,4``),
``FURPE_BENCH_FIT_ITERATIONS`` (default 10). The goal (issue 14): >= 1.7x at 2 workers on an
idle 2-core machine; the load average is printed with the figures.

The clip: the first frames of the video re-encoded (MJPG) to a temporary file. Per worker
count, a LocalCluster from :func:`furpe_label.pipeline.cluster.connect` (one thread per worker;
BLAS / OpenMP, torch and OpenCV capped at one thread in every worker: ``pipeline.worker_threads``;
MediaPipe's TFLite runs one XNNPACK thread by default), the models loaded on every worker
before the clock starts, then

* the person pre-pass alone (:func:`~furpe_label.pipeline.people_prepass.expand_people` on the
  cluster, the frames cut into 8 chunks so they spread over the workers): frames/s;
* the labelling run on that manifest (MediaPipe keypoints, the keypoint-fitting experts, the
  synthetic body models, 8 shards): samples/s.

The pre-pass's manifests must be identical for every worker count (asserted).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import cv2
import pytest

from furpe_label.pipeline.cluster import ClusterOptions, connected
from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.driver import run_info, run_labels
from furpe_label.pipeline.executors import DaskExecutor
from furpe_label.pipeline.people_prepass import expand_people
from furpe_label.pipeline.worker_models import worker_models
from furpe_label.storage.run_dir import RunDir
from furpe_label.workflows.datasets import create_adapter

VTEST = Path(os.environ.get("FURPE_VTEST", "/work/shared/data/real/opencv_samples/vtest.avi"))
TASKS = 8


def _clip(source: Path, target: Path, frames: int) -> Path:
    """The first ``frames`` frames of ``source`` re-encoded as MJPG."""
    capture = cv2.VideoCapture(str(source))
    writer = None
    try:
        for _ in range(frames):
            ok, image = capture.read()
            if not ok:
                break
            if writer is None:
                size = (image.shape[1], image.shape[0])
                writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"MJPG"), 10, size)
            writer.write(image)
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    return target


def _env_ints(name: str, default: str) -> list[int]:
    return [int(v) for v in os.environ.get(name, default).split(",")]


@pytest.mark.benchmark
def test_bench_scaling_1_2_4_workers_on_video_frames(tmp_path):
    if not VTEST.is_file():
        pytest.skip(f"{VTEST} not found: set FURPE_VTEST to a video (OpenCV's vtest.avi)")
    frames = _env_ints("FURPE_BENCH_FRAMES", "16")[0]
    clip = _clip(VTEST, tmp_path / "clip.avi", frames)
    iterations = _env_ints("FURPE_BENCH_FIT_ITERATIONS", "10")[0]
    raw = create_adapter("video", root=clip).build_manifest()
    resources = RunResources(device="cpu")
    prepass_chunk = -(-raw.num_rows // TASKS)
    rows: dict[int, tuple[float, float, int]] = {}
    manifests = {}
    load_before = os.getloadavg()
    for workers in _env_ints("FURPE_BENCH_WORKERS", "1,2,4"):
        with connected(ClusterOptions(workers=workers, threads_per_worker=1)) as client:
            start = time.perf_counter()
            table = expand_people(
                raw,
                progress=False,
                executor=DaskExecutor(client),
                run_dir=RunDir(tmp_path / f"prepass{workers}"),
                chunk_sizes=(prepass_chunk, prepass_chunk),
            )
            prepass_rate = raw.num_rows / (time.perf_counter() - start)
            manifests[workers] = table
            config = RunConfig(
                dataset="video",
                root=str(clip),
                models="synthetic",
                shard_size=max(1, -(-table.num_rows // TASKS)),
                fitting_iterations=iterations,
            )
            client.run(lambda config=config: bool(worker_models(config, resources)))
            out = tmp_path / f"run{workers}"
            out.mkdir()
            RunDir(out).start(run_info(config))  # a run folder whose stored manifest the
            RunDir(out).write_manifest(table)  # driver reuses (its pre-pass is timed above)
            start = time.perf_counter()
            summary = run_labels(
                config,
                resources,
                out,
                lambda: create_adapter("video", root=clip),
                DaskExecutor(client),
                False,
            )
            seconds = time.perf_counter() - start
            assert not summary.failed, summary.failed
            rows[workers] = (prepass_rate, summary.stats.samples / seconds, summary.stats.samples)
        shutil.rmtree(tmp_path / f"prepass{workers}", ignore_errors=True)
    first = next(iter(manifests.values()))
    assert all(table.equals(first) for table in manifests.values())
    base = next(iter(rows.values()))
    load = ", ".join(f"{v:.1f}" for v in load_before)
    lines = [
        f"{frames} frames of {VTEST.name}, {first.num_rows} person instances, {os.cpu_count()} "
        f"CPUs, load average before: {load}, after: "
        + ", ".join(f"{v:.1f}" for v in os.getloadavg()),
        "workers | pre-pass frames/s (x) | labelling samples/s (x)",
    ]
    for workers, (prepass, labelling, _) in rows.items():
        lines.append(
            f"{workers:>7} | {prepass:8.2f} ({prepass / base[0]:.2f}x) | "
            f"{labelling:8.2f} ({labelling / base[1]:.2f}x)"
        )
    print("\n" + "\n".join(lines))
