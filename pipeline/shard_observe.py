"""The chunked stages of a shard: decode -> keypoints -> step 1 (CPU), then crops + experts.

A shard's inputs are decoded chunk by chunk (:meth:`ShardInputs.chunks`), so only one chunk's
pixels are alive at once. Per chunk, :func:`chunk_keypoints` is the CPU half (keypoint
detection, whole persons, one candidate per person, step 1; the shard's own rows come back)
and :func:`chunk_experts` the expert half (crops cut from the chunk's images, the part
experts). :func:`observe_shard` runs both halves chunk by chunk in one task (the unsplit run);
the split run (:mod:`furpe_label.pipeline.split_tasks`) runs the CPU half in a keypoint task,
stores its :class:`ShardKeypointResult` (:mod:`furpe_label.pipeline.keypoint_files`), and the
expert task decodes the same chunks again and runs the expert half on the stored keypoints:
both runs give the experts the same batches, so they write the same labels.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.part_experts import PartExpert
from furpe_label.experts.part_stage import PersonBatch, run_expert_stage
from furpe_label.experts.vocabulary import Reason, Stage
from furpe_label.pipeline.config import RunConfig
from furpe_label.pipeline.keypoint_stage import (
    KeypointSource,
    ShardKeypoints,
    concat_keypoints,
    detect_keypoints,
    mark_duplicate_people,
)
from furpe_label.pipeline.shard_inputs import DecodedChunk, ShardInputs
from furpe_label.pipeline.whole_person_stage import keep_whole_persons
from furpe_label.selection import SelectionConfig, keep_keypoints, score_keypoints
from furpe_label.storage.path_text import text_to_path

__all__ = [
    "ChunkKeypoints",
    "Observed",
    "ShardKeypointResult",
    "StageTimer",
    "chunk_experts",
    "chunk_keypoints",
    "observe_shard",
    "shard_keypoints",
]


class StageTimer:
    """Wall seconds per :class:`Stage` (``with timer(Stage.KEYPOINTS): ...`` adds up)."""

    def __init__(self) -> None:
        self.seconds: dict[Stage, float] = {}

    @contextmanager
    def __call__(self, stage: Stage) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start

    def add(self, seconds: dict[Stage, float]) -> None:
        """Add another timer's seconds (the keypoint task's, in the expert task)."""
        for stage, value in seconds.items():
            self.seconds[stage] = self.seconds.get(stage, 0.0) + value


@dataclass(frozen=True)
class ChunkKeypoints:
    """The CPU half's result for the M own rows of one chunk.

    Attributes:
        keypoints: M instances (keypoints, failure reasons, details, world landmarks).
        step1: step 1 scores, (M,) int16 each (:func:`~furpe_label.selection.score_keypoints`).
        step1_ok: (M,) bool: detected and kept by step 1 (the experts run on these).
    """

    keypoints: ShardKeypoints
    step1: dict[str, np.ndarray]
    step1_ok: np.ndarray

    def __len__(self) -> int:
        return len(self.step1_ok)

    def expert_failures(self) -> list[Reason]:
        """M reasons for the experts: the keypoint reason, or ``few_confident_keypoints``
        where step 1 dropped a row that has keypoints."""
        return [
            why if why is not Reason.OK or ok else Reason.FEW_CONFIDENT_KEYPOINTS
            for why, ok in zip(self.keypoints.failure, self.step1_ok, strict=True)
        ]


@dataclass(frozen=True)
class ShardKeypointResult:
    """The CPU half of one shard: its N own rows, chunk after chunk.

    Attributes:
        sample_idx: (N,) int64 the own rows' ``sample_idx``.
        chunk_rows: (C,) int64 own rows of each decoded chunk (sum N): the expert task checks
            that it cuts the same chunks.
        keypoints, step1, step1_ok: as :class:`ChunkKeypoints`, N rows.
        seconds: the keypoint task's wall seconds per stage (input, keypoints).
    """

    sample_idx: np.ndarray
    chunk_rows: np.ndarray
    keypoints: ShardKeypoints
    step1: dict[str, np.ndarray]
    step1_ok: np.ndarray
    seconds: dict[Stage, float]

    def chunk(self, index: int) -> ChunkKeypoints:
        """The rows of chunk ``index`` (0-based)."""
        start = int(self.chunk_rows[:index].sum())
        rows = np.arange(start, start + int(self.chunk_rows[index]))
        return ChunkKeypoints(
            keypoints=self.keypoints.take(rows),
            step1={name: values[rows] for name, values in self.step1.items()},
            step1_ok=self.step1_ok[rows],
        )


@dataclass(frozen=True)
class Observed:
    """What the chunked stages give the shard: its N own rows."""

    keypoints: ShardKeypoints
    step1: dict[str, np.ndarray]  # step 1 scores, (N,) each
    step1_ok: np.ndarray  # (N,) bool: detected and kept by step 1 (the experts ran on these)
    experts: ExpertOutputs


def chunk_keypoints(
    config: RunConfig,
    source: KeypointSource,
    selection: SelectionConfig,
    inputs: ShardInputs,
    chunk: DecodedChunk,
) -> ChunkKeypoints:
    """Detect, grow or drop boxes that cut their person, mark duplicate people (on the
    chunk's whole images) and score step 1; only the chunk's own rows come back."""
    rows = chunk.rows
    gt_kp = None
    if config.detector == "ground-truth":
        gt_kp = inputs.float_column("keypoints2d")[rows]
    openpose = inputs.table.column("openpose_json").to_pylist()
    kp = detect_keypoints(
        source,
        chunk.images,
        chunk.image_index,
        inputs.boxes[rows],
        chunk.failure,
        gt_keypoints=gt_kp,
        openpose_files=[None if openpose[r] is None else text_to_path(openpose[r]) for r in rows],
        image_names=[text_to_path(inputs.names[r]) for r in rows],
    )
    for row, detail in enumerate(chunk.detail):
        kp.detail[row] = detail or kp.detail[row]
    keep_whole_persons(
        source, kp, chunk.images, chunk.image_index, inputs.boxes[rows], config.whole_person
    )  # before the de-dup, so that it compares whole persons
    sample_idx = inputs.table.column("sample_idx").to_numpy()
    mark_duplicate_people(
        kp, [inputs.names[r] for r in rows], sample_idx[rows], selection, config.duplicates
    )  # on whole images; then only the shard's own rows go on
    kp = kp.take(chunk.own)
    scores = score_keypoints(kp.keypoints, selection)
    reached = np.array([why is Reason.OK for why in kp.failure], dtype=bool)
    kept = reached & keep_keypoints(scores["n_confident_kp"], selection)
    return ChunkKeypoints(kp, scores, kept)


def chunk_experts(
    chunk: DecodedChunk, found: ChunkKeypoints, experts: tuple[PartExpert, ...]
) -> ExpertOutputs:
    """Crops + experts on the chunk's own rows that step 1 keeps (``found``: its own rows)."""
    persons = PersonBatch(
        chunk.images,
        chunk.image_index[chunk.own],
        found.keypoints.keypoints,
        found.expert_failures(),
        found.keypoints.world_landmarks,
    )
    return run_expert_stage(persons, experts)


def shard_keypoints(
    config: RunConfig,
    source: KeypointSource,
    selection: SelectionConfig,
    inputs: ShardInputs,
    timer: StageTimer,
) -> ShardKeypointResult:
    """The CPU half over every chunk of ``inputs`` (the split run's keypoint task)."""
    found: list[ChunkKeypoints] = []
    for chunk in _decoded_chunks(inputs, timer):
        with timer(Stage.KEYPOINTS):
            found.append(chunk_keypoints(config, source, selection, inputs, chunk))
        del chunk  # the chunk's pixels, before the next chunk is decoded
    start, stop = inputs.own_bounds()
    return ShardKeypointResult(
        sample_idx=inputs.table.column("sample_idx").to_numpy()[start:stop].astype(np.int64),
        chunk_rows=np.array([len(f) for f in found], np.int64),
        keypoints=concat_keypoints([f.keypoints for f in found]),
        step1=_concat_scores([f.step1 for f in found]),
        step1_ok=np.concatenate([f.step1_ok for f in found]) if found else np.zeros(0, bool),
        seconds=dict(timer.seconds),
    )


def observe_shard(
    config: RunConfig,
    source: KeypointSource,
    selection: SelectionConfig,
    experts: tuple[PartExpert, ...],
    inputs: ShardInputs,
    timer: StageTimer,
    stored: ShardKeypointResult | None = None,
) -> Observed:
    """Both halves chunk by chunk on ``inputs``' whole images; only own rows come back.

    Args:
        stored: the keypoint task's result (split run): the CPU half is not run again, the
            chunks are only decoded for the experts' crops.
    """
    found: list[ChunkKeypoints] = []
    experts_out: list[ExpertOutputs] = []
    for chunk in _decoded_chunks(inputs, timer):
        if stored is None:
            with timer(Stage.KEYPOINTS):
                part = chunk_keypoints(config, source, selection, inputs, chunk)
        else:
            part = _stored_chunk(stored, len(found), int(chunk.own.sum()))
        with timer(Stage.EXPERTS):
            experts_out.append(chunk_experts(chunk, part, experts))
        found.append(part)
        del chunk  # the chunk's pixels, before the next chunk is decoded
    if stored is not None and len(found) != len(stored.chunk_rows):
        raise RuntimeError(
            f"the keypoint result has {len(stored.chunk_rows)} chunks, the shard {len(found)}"
        )
    return Observed(
        keypoints=concat_keypoints([f.keypoints for f in found]),
        step1=_concat_scores([f.step1 for f in found]),
        step1_ok=np.concatenate([f.step1_ok for f in found]),
        experts=ExpertOutputs.concat(experts_out),
    )


def _decoded_chunks(inputs: ShardInputs, timer: StageTimer) -> Iterator:
    """``inputs``' chunks, each decoded under the input stage's timer; the generator holds no
    chunk while the next one is decoded."""
    chunks = inputs.chunks()
    while True:
        with timer(Stage.INPUT):
            chunk = next(chunks, None)
        if chunk is None:
            return
        yield chunk
        del chunk


def _stored_chunk(stored: ShardKeypointResult, index: int, own_rows: int) -> ChunkKeypoints:
    """Chunk ``index`` of the keypoint task's result, checked against the chunk decoded now."""
    if index >= len(stored.chunk_rows) or int(stored.chunk_rows[index]) != own_rows:
        raise RuntimeError(
            f"chunk {index}: the keypoint result does not match the shard's chunks "
            "(the manifest changed since?)"
        )
    return stored.chunk(index)


def _concat_scores(pieces: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not pieces:
        return {}
    return {name: np.concatenate([p[name] for p in pieces]) for name in pieces[0]}
