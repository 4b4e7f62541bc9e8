"""One shard, every stage in order on one worker, outputs committed with the marker last.

Only the shard id comes in and only the shard's small stats go back. The stages, each in its
module:

====================  ======================================================================
stage                 module
====================  ======================================================================
decode                :mod:`furpe_label.pipeline.shard_inputs` (chunk by chunk; whole images)
keypoints             :mod:`furpe_label.pipeline.keypoint_stage`
duplicate people      :mod:`furpe_label.selection.duplicates` (one candidate per person)
step 1                :mod:`furpe_label.selection.step1_keypoints`
crops + experts       :mod:`furpe_label.experts.part_stage`
                      (these first five chunk by chunk: :mod:`.shard_observe`)
step 2 ... decisions  :mod:`.shard_decide` (fusion, step 3, signals, temporal, decisions)
write                 :mod:`furpe_label.pipeline.shard_outputs`, ``RunDir.commit_shard``
====================  ======================================================================

Decode, keypoints, step 1 and the experts run chunk by chunk, so only one chunk's pixels are
alive at once; the later stages run on the whole shard. The split run
(:mod:`furpe_label.pipeline.split_tasks`) cuts the same work in two tasks: keypoints on a CPU
slot, :func:`run_shard` with the stored keypoints (``stored``) on a GPU slot.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from furpe_label.experts.vocabulary import Stage
from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.shard_decide import label_observed
from furpe_label.pipeline.shard_inputs import read_shard_inputs
from furpe_label.pipeline.shard_observe import ShardKeypointResult, StageTimer, observe_shard
from furpe_label.pipeline.shard_outputs import audit_columns, label_arrays
from furpe_label.pipeline.worker_models import worker_models
from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.run_dir import RunDir
from furpe_label.storage.stats import ShardStats

__all__ = ["ShardTask", "run_shard"]


def run_shard(
    config: RunConfig,
    resources: RunResources,
    out: str | Path,
    shard_id: int,
    stored: ShardKeypointResult | None = None,
) -> ShardStats:
    """Label one shard and commit it (see the module docstring); returns its stats.

    Args:
        stored: the split run's keypoint result for the shard (its keypoint stages are not
            run again; its seconds are added to the shard's).
    """
    run_dir = RunDir(out)
    store = LabelStore.open(run_dir.labels, "r+")
    start, stop = store.plan.bounds(shard_id)
    models = worker_models(config, resources)
    timer = StageTimer()
    with timer(Stage.INPUT):
        inputs = read_shard_inputs(run_dir.manifest, start, stop, config.decode_limits)
    if stored is not None:
        timer.add(stored.seconds)
    seen = observe_shard(
        config, models.keypoints, models.selection, models.experts, inputs, timer, stored
    )
    own = inputs.own_rows()
    results = label_observed(models, own, seen, timer)
    labels = label_arrays(results, own.table)
    audit = audit_columns(results, own.table, shard_id)
    write_start = time.perf_counter()
    stats = run_dir.commit_shard(store, config.dataset, shard_id, labels, audit)
    return stats + ShardStats(seconds={"write": time.perf_counter() - write_start})


@dataclass(frozen=True)
class ShardTask:
    """The picklable task a worker runs: ``task(shard_id) -> ShardStats``."""

    config: RunConfig
    resources: RunResources
    out: str

    def __call__(self, shard_id: int) -> ShardStats:
        return run_shard(self.config, self.resources, self.out, shard_id)
