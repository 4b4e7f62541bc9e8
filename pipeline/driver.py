"""The labelling run's driver: check, plan, submit shards, follow them, summarise.

1. Lock ``OUT`` (a second run on it refuses), hash the model files (:mod:`.provenance`; a
   missing model file fails now, before any work; the workers load the models), record
   ``run.json`` (a resume with other settings refuses, naming each difference).
2. Build the manifest, or reuse the stored one: the dataset adapter writes it block by block
   (the driver never holds all rows: SPIN's npz is read in row blocks), then, where rows
   name no person, the person pre-pass runs as tasks on the executor (resumable) and gives
   one row per person found. Row groups hold whole shards: a shard task reads its own rows.
   (The pre-pass's expanded table is assembled here in one piece: about 250 bytes per row in
   Arrow, with a peak near 2.4 KB per row of Python objects while it is built; measured on
   vtest.avi's 795 frames with 3 people each, so about 2.4 GB at 10^6 rows.)
3. Create (or reopen) ``labels.zarr`` and run every shard without a completion marker on the
   executor, with a progress bar of samples/s and kept %: one task per shard, or split into a
   keypoint task on a CPU slot and an expert task on a GPU slot (:mod:`.split_run`).

What it tells the user goes through a :class:`~furpe_label.pipeline.progress.Progress`: one
line per phase (manifest, labelling, done) and one bar at a time.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.executors import ShardExecutor, ShardOutcome
from furpe_label.pipeline.keypoint_stage import KeypointSource
from furpe_label.pipeline.people_prepass import expand_people
from furpe_label.pipeline.progress import Progress, ProgressBar, as_progress
from furpe_label.pipeline.provenance import run_files
from furpe_label.pipeline.shard_runner import ShardTask
from furpe_label.pipeline.split_run import discard_keypoints, run_split, wants_split
from furpe_label.storage.label_store import DEFAULT_CHUNK_SIZE, LabelStore
from furpe_label.storage.manifest_stream import (
    iter_row_groups,
    manifest_row_group_rows,
    media_counts,
)
from furpe_label.storage.run_check import RunDamagedError, check_run
from furpe_label.storage.run_dir import RunDir
from furpe_label.storage.run_info import RunInfo, current_code_version
from furpe_label.storage.stats import ShardStats

__all__ = ["RunSummary", "run_labels"]

logger = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """What a run did: merged stats of every completed shard, the shards that failed, and the
    run's wall time in ``seconds``."""

    out: Path
    stats: ShardStats
    shards: int
    skipped: int
    failed: dict[int, str] = field(default_factory=dict)
    synthetic: bool = False
    seconds: float = 0.0


def run_info(config: RunConfig) -> RunInfo:
    files = run_files(config)  # writes the synthetic family if asked
    source = KeypointSource(config.detector, config.openpose)
    try:
        detector = source.version
    finally:
        source.close()
    return RunInfo(
        config=config.as_dict(),
        code_version=current_code_version(),
        synthetic=files.synthetic,
        detector=detector,
        experts=files.experts,
        model_sha256=files.model_sha256,
        checkpoint_sha256=files.checkpoint_sha256,
    )


def _sources(manifest: Path) -> str:
    """``7 images``, ``4 video frames`` or both: what a manifest's rows were read from."""
    images, frames = media_counts(manifest)
    parts = [f"{images} images"] * bool(images)
    parts += [f"{frames} video frames"] * bool(frames)
    return " and ".join(parts) or "no images"


def _manifest(
    run_dir: RunDir,
    config: RunConfig,
    make_adapter: Callable,
    progress: Progress,
    executor: ShardExecutor,
):
    if run_dir.manifest.is_file():
        count = run_dir.manifest_rows()
        progress.phase(f"manifest: {count} person instances (reused from {run_dir.manifest})")
        return count
    adapter = make_adapter()
    row_group_rows = manifest_row_group_rows(config.shard_size)
    staged = run_dir.journal.temp_name(run_dir.manifest, ".adapter.tmp")  # removed if killed
    adapter.write_manifest(staged, row_group_rows, config.allow_outside_root)
    boxless = sum(
        group.column("box_xywh").null_count for group in iter_row_groups(staged, ["box_xywh"])
    )
    if boxless:  # the person pre-pass: tasks on the executor, resumable
        table = expand_people(
            pq.read_table(staged), config.decode_limits, progress, executor, run_dir
        )
        run_dir.write_manifest(table, row_group_rows)
        staged.unlink()
    else:
        os.replace(staged, run_dir.manifest)
    count = run_dir.manifest_rows()
    progress.phase(f"manifest: {count} person instances from {_sources(run_dir.manifest)}")
    return count


def run_labels(
    config: RunConfig,
    resources: RunResources,
    out: str | Path,
    make_adapter: Callable,
    executor: ShardExecutor,
    progress: bool | Progress = True,
    split: bool | None = None,
) -> RunSummary:
    """Run (or resume) the labelling of ``config`` into ``out`` (see the module docstring).

    Args:
        make_adapter: builds the dataset adapter (called only when no manifest is stored).
        executor: where the person pre-pass and the shard tasks run.
        progress: where phase lines and bars go (``True``: stderr, ``False``: the log only).
        split: keypoints and experts as two tasks per shard (:mod:`.split_run`); None: when
            the Dask cluster has CPU and GPU resources.
    """
    progress = as_progress(progress)
    started = time.monotonic()
    run_dir = RunDir(out)
    run_dir.refuse_foreign()
    run_dir.root.mkdir(parents=True, exist_ok=True)
    with run_dir.lock():
        info = run_dir.start(run_info(config))
        run_dir.remove_leftovers()
        count = _manifest(run_dir, config, make_adapter, progress, executor)
        store = LabelStore.open_or_create(
            run_dir.labels,
            count,
            config.shard_size,
            chunk_size=math.gcd(DEFAULT_CHUNK_SIZE, config.shard_size),
            attrs={"synthetic": info.synthetic, "dataset": config.dataset},
            journal=run_dir.journal,
        )
        plan = store.plan
        _forget_damaged_shards(run_dir, progress)
        pending = run_dir.pending_shards(plan)
        summary = RunSummary(
            run_dir.root,
            ShardStats(),
            plan.count,
            plan.count - len(pending),
            synthetic=info.synthetic,
        )
        split = wants_split(executor, split)
        total = sum(plan.length(shard) for shard in pending)
        progress.phase(_labelling_line(total, len(pending), plan.count, executor, split))
        bar = progress.bar(total, desc="labelling", unit="samples")
        if split:
            outcomes = run_split(executor, config, resources, run_dir, pending, progress)
        else:
            discard_keypoints(run_dir)  # a split run's leftovers, when resumed unsplit
            outcomes = executor.run(ShardTask(config, resources, str(run_dir.root)), pending)
        for outcome in outcomes:
            _follow(outcome, summary, bar)
        bar.close()
        summary.stats = run_dir.merged_stats()
    summary.seconds = time.monotonic() - started
    return summary


def _forget_damaged_shards(run_dir: RunDir, progress: Progress) -> None:
    """Resume: check every completed shard's files against its marker and drop the marker of
    a damaged one (it is redone); damage to the files every shard shares refuses."""
    if not run_dir.completed_shards():
        return
    check = check_run(run_dir.root)
    if check.shared:
        raise RunDamagedError(
            f"{run_dir.root} cannot be resumed: " + "; ".join(check.shared) + ". Use a new --out."
        )
    for line in check.strays:
        logger.warning("%s", line)
    for shard_id, problems in sorted(check.damaged.items()):
        progress.phase(f"shard {shard_id} is damaged ({problems[0]}): redoing it")
        run_dir.marker(shard_id).unlink(missing_ok=True)


def _labelling_line(
    total: int, pending: int, shards: int, executor: ShardExecutor, split: bool
) -> str:
    """``labelling 17 person instances (3 shards) on 2 Dask workers``, and how, when split."""
    done = f", {shards - pending} already complete" if pending < shards else ""
    where = getattr(executor, "where", "")  # test doubles may not say
    how = ", split: keypoints on CPU slots, experts on GPU slots" if split else ""
    return f"labelling {total} person instances ({pending} shard(s){done}) {where}".rstrip() + how


def _follow(outcome: ShardOutcome, summary: RunSummary, bar: ProgressBar) -> None:
    if not outcome.ok:
        summary.failed[outcome.shard_id] = outcome.error or "unknown error"
        bar.note(f"{len(summary.failed)} shard(s) failed")
        return
    stats: ShardStats = outcome.result
    summary.stats = summary.stats + stats
    kept = 100.0 * summary.stats.kept / max(summary.stats.samples, 1)
    failed = f", {len(summary.failed)} shard(s) failed" if summary.failed else ""
    bar.note(f"kept {kept:.1f} %{failed}")
    bar.update(stats.samples)
