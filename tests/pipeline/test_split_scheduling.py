"""The split run's scheduling: the mode switch, the workers' resources, the look-ahead bound,
shards in turn on the inline executor, and on real `dask worker --resources` processes:
keypoint tasks only on the CPU worker, expert tasks only on the GPU worker, pipelined, at most
the look-ahead in flight."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from furpe_label.pipeline.cluster import ClusterOptions, worker_resources
from furpe_label.pipeline.executors import DaskExecutor, InlineExecutor
from furpe_label.pipeline.split_run import (
    SplitRefusedError,
    _in_turn,
    cluster_slots,
    lookahead,
    wants_split,
)
from tests.support.doubles.recording_split_tasks import (
    RecordingExpertTask,
    RecordingKeypointTask,
)

REPO = Path(__file__).resolve().parents[2]


class _Client:
    """A client double: what ``scheduler_info`` says about the workers."""

    def __init__(self, *resources: dict[str, float]) -> None:
        self.workers = {f"tcp://w{i}": {"resources": r} for i, r in enumerate(resources)}

    def scheduler_info(self) -> dict:
        return {"workers": self.workers}


class _OnClient:
    def __init__(self, client: _Client) -> None:
        self.client = client


def test_automatic_mode_splits_exactly_when_workers_advertise_cpu_and_gpu():
    assert cluster_slots(_Client({"CPU": 4}, {"GPU": 1}, {"CPU": 1, "GPU": 1})) == (5, 2)
    assert wants_split(_OnClient(_Client({"CPU": 4}, {"GPU": 1})), None)
    assert not wants_split(_OnClient(_Client({"GPU": 1})), None)  # the old GPU-only workers
    assert not wants_split(_OnClient(_Client({"CPU": 2})), None)
    assert not wants_split(InlineExecutor(), None)
    assert wants_split(InlineExecutor(), True)  # in turn, in this process
    assert not wants_split(_OnClient(_Client({"CPU": 4}, {"GPU": 1})), False)


def test_a_forced_split_on_workers_without_both_resources_is_refused_with_the_fix():
    with pytest.raises(SplitRefusedError, match=r"CPU=2, GPU=0.*--resources \"GPU=1\""):
        wants_split(_OnClient(_Client({"CPU": 2})), True)
    assert wants_split(_OnClient(_Client()), True)  # no worker has joined yet (SLURM): wait


def test_lookahead_is_cpu_slots_plus_two_per_gpu_slot_and_at_least_two():
    assert lookahead(8, 1) == 10
    assert lookahead(1, 1) == 3
    assert lookahead(0, 0) == 2


def test_local_and_slurm_workers_advertise_cpu_and_a_gpu_slot_when_split():
    assert worker_resources(ClusterOptions()) == {"CPU": 1}
    assert worker_resources(ClusterOptions(threads_per_worker=2, gpus=1)) == {"CPU": 2, "GPU": 1}
    assert worker_resources(ClusterOptions(split=True)) == {"CPU": 1, "GPU": 1}
    assert worker_resources(ClusterOptions(cluster="slurm", split=True)) == {"CPU": 8}  # cores
    slurm = ClusterOptions(cluster="slurm", workers=2, cores=8, gpus=1)
    assert worker_resources(slurm) == {"CPU": 4, "GPU": 1}


def _records(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def test_inline_runs_each_shard_keypoints_then_experts_and_reuses_stored_keypoints(tmp_path):
    """Shard 1's keypoints are reusable (a killed run left them); shard 2's keypoints fail."""
    keypoint = RecordingKeypointTask(str(tmp_path), seconds=0.0, failing=(2,))
    expert = RecordingExpertTask(str(tmp_path), seconds=0.0)
    outcomes = [
        (o.shard_id, o.result, o.error)
        for o in _in_turn(InlineExecutor(), keypoint, expert, [0, 1, 2, 3], {1: "digest-1"})
    ]
    assert [(s, r) for s, r, _ in outcomes] == [(0, 0), (1, 1), (2, None), (3, 3)]
    assert "keypoints of shard 2 failed on purpose" in outcomes[2][2]
    order = sorted(_records(tmp_path), key=lambda r: r["start"])
    assert [(r["kind"], r["shard"]) for r in order] == [
        ("keypoints", 0),
        ("experts", 0),
        ("experts", 1),  # no keypoint task: the stored result is used
        ("keypoints", 3),
        ("experts", 3),
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_dask_workers_with_resources_run_the_two_tasks_pipelined_within_the_bound(tmp_path):
    """The README's deployment: one `dask worker --resources CPU=1`, one `--resources GPU=1`."""
    from distributed import Client

    from furpe_label.pipeline.split_dask import on_dask

    dask = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env, "cwd": REPO}
    processes = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            start_new_session=True,
            **quiet,
        )
    ]
    try:
        for name, resources in (("cpu-worker", "CPU=1"), ("gpu-worker", "GPU=1")):
            processes.append(
                subprocess.Popen(
                    [
                        *(dask, "worker", address, "--nthreads", "1", "--name", name),
                        *("--resources", resources, "--no-dashboard", "--host", "127.0.0.1"),
                    ],
                    start_new_session=True,
                    **quiet,
                )
            )
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            assert wants_split(DaskExecutor(client), None)
            keypoint = RecordingKeypointTask(str(tmp_path), seconds=0.4)
            expert = RecordingExpertTask(str(tmp_path), seconds=0.8)
            shards = list(range(8))
            outcomes = list(
                on_dask(DaskExecutor(client), keypoint, expert, shards, {5: "digest-5"})
            )
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, 9)
                process.wait(30)
    assert sorted(o.shard_id for o in outcomes) == shards
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    records = _records(tmp_path)
    kinds = {(r["kind"], r["worker"]) for r in records}
    assert kinds == {("keypoints", "cpu-worker"), ("experts", "gpu-worker")}
    assert sorted(r["shard"] for r in records if r["kind"] == "keypoints") == [0, 1, 2, 3, 4, 6, 7]
    expert_runs = [r for r in records if r["kind"] == "experts"]
    keypoint_runs = [r for r in records if r["kind"] == "keypoints"]
    overlapping = [
        (k["shard"], e["shard"])
        for k in keypoint_runs
        for e in expert_runs
        if k["shard"] > e["shard"] and k["start"] < e["end"] and e["start"] < k["end"]
    ]
    assert overlapping, "no keypoint task ran while an earlier shard's expert task ran"
    most = int((tmp_path / "most-intermediates").read_text())
    assert 1 <= most <= lookahead(1, 1)  # at most the look-ahead of shards in flight
    assert not list(tmp_path.glob("intermediate-*"))  # every one consumed


def test_discard_keeps_only_the_named_shards_intermediates_and_removes_the_empty_folder(tmp_path):
    from furpe_label.pipeline.split_run import discard_keypoints
    from furpe_label.storage.run_dir import RunDir

    folder = tmp_path / "shard_keypoints"
    folder.mkdir()
    for name in ("00000.npz", "00001.npz", "00007.npz"):
        (folder / name).write_bytes(b"x")
    discard_keypoints(RunDir(tmp_path), [1, 3])
    assert sorted(p.name for p in folder.iterdir()) == ["00001.npz"]
    discard_keypoints(RunDir(tmp_path))  # a run going on unsplit
    assert not folder.exists()
    discard_keypoints(RunDir(tmp_path))  # nothing there: nothing to do


def test_a_retried_expert_task_of_a_written_shard_returns_its_stats(tmp_path):
    """Its worker died after the marker and the intermediate's removal: no second write."""
    from furpe_label.pipeline.split_tasks import ExpertTask
    from furpe_label.storage.run_dir import RunDir
    from furpe_label.storage.stats import ShardStats

    stats = ShardStats(samples=2, kept=1, drops={"keypoints": {"no_person_in_box": 1}}, shards=1)
    RunDir(tmp_path).finish_shard(3, stats)
    assert ExpertTask(None, None, str(tmp_path))(3, "digest-of-the-removed-file") == stats
