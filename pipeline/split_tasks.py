"""The split run's two tasks per shard: keypoints on a CPU slot, experts onwards on a GPU slot.

==================  =========  ==============================================================
task                resource   work
==================  =========  ==============================================================
:class:`KeypointTask`  ``CPU``  decode + keypoints + whole persons + duplicates + step 1
                                (:func:`~furpe_label.pipeline.shard_observe.shard_keypoints`);
                                writes ``OUT/shard_keypoints/<shard>.npz``
                                (:mod:`.keypoint_files`), returns its digest
:class:`ExpertTask`    ``GPU``  reads that file (digest checked), decodes the shard's chunks
                                again for the crops, runs experts + fusion + step 3 +
                                selection, writes the shard
                                (:func:`~furpe_label.pipeline.shard_runner.run_shard`), then
                                removes the file
==================  =========  ==============================================================

The expert task decodes rather than receive pixels: decoding took 7 % of the keypoint stage's
time on the test photos (0.12 s against 1.6 s for 5 photos), while the crops of a 10 240-row
shard (four 224-pixel parts a row) would be about 6 GB on disk against 21 MB of keypoints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from furpe_label.experts.vocabulary import Stage
from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.keypoint_files import keypoints_file, read_keypoints, write_keypoints
from furpe_label.pipeline.keypoint_stage import KeypointSource
from furpe_label.pipeline.shard_inputs import read_shard_inputs
from furpe_label.pipeline.shard_observe import StageTimer, shard_keypoints
from furpe_label.pipeline.shard_runner import run_shard
from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.run_dir import RunDir
from furpe_label.storage.stats import ShardStats

__all__ = [
    "ExpertTask",
    "KeypointResultMissingError",
    "KeypointTask",
    "keypoint_source",
    "shard_rows",
]


class KeypointResultMissingError(RuntimeError):
    """The expert task found no usable keypoint result for its shard."""


def shard_rows(out: str, shard_id: int) -> np.ndarray:
    """(N,) int64 the ``sample_idx`` of the shard's own rows."""
    start, stop = LabelStore.open(RunDir(out).labels, "r").plan.bounds(shard_id)
    return np.arange(start, stop, dtype=np.int64)


_SOURCES: dict[tuple[str, str | None], KeypointSource] = {}


def keypoint_source(config: RunConfig) -> KeypointSource:
    """This process's keypoint source for the run (the detector is created once)."""
    key = (config.detector, config.openpose)
    if key not in _SOURCES:
        for source in _SOURCES.values():
            source.close()
        _SOURCES.clear()  # one run per worker process at a time
        _SOURCES[key] = KeypointSource(config.detector, config.openpose)
    return _SOURCES[key]


@dataclass(frozen=True)
class KeypointTask:
    """``task(shard_id) -> digest``: the shard's keypoint result, written to its file."""

    config: RunConfig
    out: str
    task_name = "keypoints"
    resource = "CPU"

    def __call__(self, shard_id: int) -> str:
        run_dir = RunDir(self.out)
        rows = shard_rows(self.out, shard_id)
        timer = StageTimer()
        with timer(Stage.INPUT):
            inputs = read_shard_inputs(
                run_dir.manifest, int(rows[0]), int(rows[-1]) + 1, self.config.decode_limits
            )
        source = keypoint_source(self.config)
        result = shard_keypoints(self.config, source, self.config.selection, inputs, timer)
        return write_keypoints(keypoints_file(self.out, shard_id), result, run_dir.journal)


@dataclass(frozen=True)
class ExpertTask:
    """``task(shard_id, digest) -> ShardStats``: the shard labelled from its keypoint result
    (``digest``: what the keypoint task returned, or what the driver read from a file a
    killed run left; the file must still have it). A retry of a task whose worker died after
    writing the shard (its marker exists, its intermediate is gone) returns the shard's
    stored stats."""

    config: RunConfig
    resources: RunResources
    out: str
    task_name = "experts"
    resource = "GPU"

    def __call__(self, shard_id: int, digest: str | None = None) -> ShardStats:
        run_dir = RunDir(self.out)
        if run_dir.marker(shard_id).exists():  # a retry after the shard was written
            return run_dir.read_stats(shard_id)
        path = keypoints_file(self.out, shard_id)
        found = read_keypoints(path, shard_rows(self.out, shard_id), digest)
        if found is None:
            raise KeypointResultMissingError(
                f"shard {shard_id}: its keypoint result {path} is missing or damaged; rerun "
                "the same command to redo its keypoints"
            )
        stats = run_shard(self.config, self.resources, self.out, shard_id, stored=found[0])
        path.unlink(missing_ok=True)  # the shard is committed: the intermediate goes
        return stats
