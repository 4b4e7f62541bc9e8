"""The split run: per shard a keypoint task (CPU slot) then an expert task (GPU slot), pipelined.

Task graph, per pending shard ``s`` (:mod:`.split_tasks`)::

    keypoints-s  --digest-->  experts-s          (the expert task depends on the keypoint task)
    resources={"CPU": 1}      resources={"GPU": 1}

On Dask (:func:`_on_dask`) both are submitted as futures; the expert task takes the keypoint
task's future as its argument, so it starts as soon as that finishes, on a worker that
advertises ``GPU``, while the keypoint tasks of later shards run on the workers that advertise
``CPU``. **Bounded look-ahead**: at most ``lookahead = CPU slots + 2 x GPU slots`` shards (at
least 2) are between "keypoint task submitted" and "expert task finished" at any time, so
every CPU slot has a shard and every GPU slot one running and one ready, and at most that many
intermediates (``OUT/shard_keypoints/<shard>.npz``, about 2.1 KB per row) exist. The slots are
the sums of the workers' ``CPU`` / ``GPU`` resources, read again before each submission
(workers that join later count). Expert tasks have the higher priority, so a worker with both
resources finishes a shard before starting another's keypoints.

Anywhere else (the inline executor, test doubles) the shards run one after the other, keypoint
task then expert task, through the executor's ``run``.

**Resume.** A killed run leaves intermediates (complete files: each is renamed into place) and
shards without markers. Before submitting, :func:`reusable_keypoints` reads the intermediate of
every pending shard: one whose digest and rows check out is used (only its expert task runs);
a damaged one is ignored and its keypoint task runs again (it overwrites it). Intermediates of
completed shards (a kill between the marker and the removal) are removed, and so are all of
them when a run goes on unsplit (:func:`discard_keypoints`). Every task writes its
files atomically and both tasks depend only on the manifest, so a resumed split run writes the
same store as an uninterrupted one, whatever the number of workers.

**Mode.** ``split=None`` (the CLI's default) splits exactly when the Dask cluster has workers
advertising ``CPU`` and workers advertising ``GPU`` (``--gpus N`` on a LocalCluster gives every
worker both; see README for ``dask worker --resources``); ``True`` / ``False`` force it (a
forced split on a cluster without both resources is refused, since its tasks would never start).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.executors import ShardExecutor, ShardOutcome
from furpe_label.pipeline.keypoint_files import KEYPOINTS_FOLDER, keypoints_file, read_keypoints
from furpe_label.pipeline.progress import Progress
from furpe_label.pipeline.split_tasks import ExpertTask, KeypointTask, shard_rows
from furpe_label.storage.run_dir import RunDir

__all__ = [
    "SplitRefusedError",
    "cluster_slots",
    "discard_keypoints",
    "lookahead",
    "reusable_keypoints",
    "run_split",
    "wants_split",
]

logger = logging.getLogger(__name__)

MIN_LOOKAHEAD = 2


class SplitRefusedError(ValueError):
    """A split run asked for on a cluster whose workers cannot run both kinds of task."""


def cluster_slots(client: Any) -> tuple[float, float]:
    """``(CPU, GPU)``: the sums of the ``CPU`` and ``GPU`` resources of the workers now."""
    workers = client.scheduler_info().get("workers", {}).values()
    cpu = sum(float(w.get("resources", {}).get("CPU", 0)) for w in workers)
    gpu = sum(float(w.get("resources", {}).get("GPU", 0)) for w in workers)
    return cpu, gpu


def lookahead(cpu_slots: float, gpu_slots: float) -> int:
    """Shards at most between keypoint submission and expert completion (module docstring)."""
    return max(MIN_LOOKAHEAD, int(cpu_slots + 2 * gpu_slots))


def wants_split(executor: ShardExecutor, split: bool | None) -> bool:
    """Whether the run splits (see the module docstring's "Mode").

    Raises:
        SplitRefusedError: ``split`` is True on a Dask cluster whose workers (some joined)
            lack the ``CPU`` or the ``GPU`` resource.
    """
    client = getattr(executor, "client", None)
    if client is None:
        return bool(split)
    cpu, gpu = cluster_slots(client)
    if split is None:
        return cpu > 0 and gpu > 0
    joined = bool(client.scheduler_info().get("workers"))
    if split and joined and not (cpu > 0 and gpu > 0):
        raise SplitRefusedError(
            f"--split needs Dask workers with the CPU resource and workers with the GPU "
            f"resource (this cluster has CPU={cpu:g}, GPU={gpu:g}): start them with "
            '`dask worker --resources "CPU=1"` and `--resources "GPU=1"` (README), or run '
            "with --no-split"
        )
    return split


def discard_keypoints(run_dir: RunDir, keep: Sequence[int] = ()) -> None:
    """Remove the intermediates of every shard not in ``keep`` (committed shards', or all of
    them when a run goes on unsplit), and the folder once empty."""
    folder = run_dir.root / KEYPOINTS_FOLDER
    if not folder.is_dir():
        return
    kept = set(keep)
    for path in folder.glob("*.npz"):
        if not (path.stem.isdigit() and int(path.stem) in kept):
            path.unlink(missing_ok=True)
    if not any(folder.iterdir()):
        folder.rmdir()


def reusable_keypoints(run_dir: RunDir, pending: Sequence[int]) -> dict[int, str]:
    """Shard -> digest of each pending shard's intact intermediate; the intermediates of
    shards not pending (already committed) are removed."""
    discard_keypoints(run_dir, pending)
    found = {}
    for shard_id in pending:
        path = keypoints_file(run_dir.root, shard_id)
        if path.is_file():
            stored = read_keypoints(path, shard_rows(str(run_dir.root), shard_id))
            if stored is not None:
                found[shard_id] = stored[1]
    return found


@dataclass(frozen=True)
class _WithDigests:
    """The expert task for an executor's ``run(task, ids)``: the digest comes from a map."""

    task: ExpertTask
    digests: dict[int, str]

    def __call__(self, shard_id: int) -> Any:
        return self.task(shard_id, self.digests.get(shard_id))


def _in_turn(
    executor: ShardExecutor,
    keypoint: KeypointTask,
    expert: ExpertTask,
    pending: Sequence[int],
    reusable: dict[int, str],
) -> Iterator[ShardOutcome]:
    """Shard after shard: its keypoint task (unless reusable), then its expert task."""
    digests = dict(reusable)
    for shard_id in pending:
        if shard_id not in digests:
            outcome = next(iter(executor.run(keypoint, [shard_id])))
            if not outcome.ok:
                yield outcome
                continue
            digests[shard_id] = outcome.result
        yield from executor.run(_WithDigests(expert, digests), [shard_id])


def run_split(
    executor: ShardExecutor,
    config: RunConfig,
    resources: RunResources,
    run_dir: RunDir,
    pending: Sequence[int],
    progress: Progress,
) -> Iterator[ShardOutcome]:
    """Run the pending shards split (see the module docstring); outcomes of the expert tasks
    (or of the keypoint task where it failed) in completion order."""
    reusable = reusable_keypoints(run_dir, pending)
    if reusable:
        progress.phase(f"split run: {len(reusable)} shard(s) keep the keypoints a killed run left")
    keypoint = KeypointTask(config, str(run_dir.root))
    expert = ExpertTask(config, resources, str(run_dir.root))
    if getattr(executor, "client", None) is None:
        yield from _in_turn(executor, keypoint, expert, pending, reusable)
    else:
        from furpe_label.pipeline.split_dask import on_dask

        yield from on_dask(executor, keypoint, expert, pending, reusable)
    discard_keypoints(run_dir, [s for s in pending if not run_dir.marker(s).exists()])
