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
step 2                :mod:`furpe_label.selection.step2_validity`
fusion + transfer     :mod:`furpe_label.experts.fusion.body_transfer`,
                      :mod:`furpe_label.experts.fusion.fuse`
step 3                :mod:`furpe_label.selection.step3_reprojection`
temporal score        :mod:`furpe_label.selection.temporal` (along the shard's video tracks)
signals               :mod:`furpe_label.selection.signal_scores` (the rules beyond FuRPE),
                      :mod:`furpe_label.experts.fitting.agreement` (network vs fit)
decisions             :mod:`furpe_label.selection.decisions`
ground-truth errors   :mod:`furpe_label.pipeline.ground_truth`
write                 :mod:`furpe_label.pipeline.shard_outputs`, ``RunDir.commit_shard``
====================  ======================================================================

Decode, keypoints, step 1 and the experts run chunk by chunk, so only one chunk's pixels are
alive at once; the later stages run on the whole shard.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.fusion.body_transfer import transfer_bodies
from furpe_label.experts.fusion.fuse import fuse_parts
from furpe_label.experts.part_stage import PersonBatch, run_expert_stage
from furpe_label.experts.vocabulary import Part, Reason, Stage
from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.ground_truth import label_errors_mm
from furpe_label.pipeline.keypoint_stage import (
    ShardKeypoints,
    concat_keypoints,
    detect_keypoints,
    mark_duplicate_people,
)
from furpe_label.pipeline.shard_inputs import ShardInputs, read_shard_inputs
from furpe_label.pipeline.shard_outputs import ShardResults, audit_columns, label_arrays
from furpe_label.pipeline.step3_cameras import score_step3, weak_step3_inputs
from furpe_label.pipeline.whole_person_stage import keep_whole_persons
from furpe_label.pipeline.worker_models import WorkerModels, worker_models
from furpe_label.selection import (
    SelectionMetrics,
    combine,
    decide,
    keep_keypoints,
    part_status,
    score_keypoints,
    score_validity,
)
from furpe_label.selection.signal_scores import score_signals
from furpe_label.selection.temporal import temporal_acceleration
from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.path_text import text_to_path
from furpe_label.storage.run_dir import RunDir
from furpe_label.storage.stats import ShardStats

__all__ = ["ShardTask", "run_shard"]


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[Stage, float] = {}

    @contextmanager
    def __call__(self, stage: Stage):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


def run_shard(
    config: RunConfig, resources: RunResources, out: str | Path, shard_id: int
) -> ShardStats:
    """Label one shard and commit it (see the module docstring); returns its stats."""
    run_dir = RunDir(out)
    store = LabelStore.open(run_dir.labels, "r+")
    start, stop = store.plan.bounds(shard_id)
    models = worker_models(config, resources)
    timer = _Timer()
    with timer(Stage.INPUT):
        inputs = read_shard_inputs(run_dir.manifest, start, stop, config.decode_limits)
    results = _label(config, models, inputs, timer)
    own = inputs.own_rows().table
    labels = label_arrays(results, own)
    audit = audit_columns(results, own, shard_id)
    write_start = time.perf_counter()
    stats = run_dir.commit_shard(store, config.dataset, shard_id, labels, audit)
    return stats + ShardStats(seconds={"write": time.perf_counter() - write_start})


@dataclass(frozen=True)
class _Observed:
    """What the chunked stages (decode -> keypoints -> step 1 -> crops + experts) give the
    shard: N rows each."""

    keypoints: ShardKeypoints
    step1: dict[str, np.ndarray]  # step 1 scores, (N,) each
    step1_ok: np.ndarray  # (N,) bool: detected and kept by step 1 (the experts ran on these)
    experts: ExpertOutputs


def _observe(config: RunConfig, models: WorkerModels, inputs: ShardInputs, timer) -> _Observed:
    """Decode, detect, grow or drop boxes that cut their person, mark duplicate people, score
    step 1 and run the experts chunk by chunk (pixels of one chunk alive at once) on
    ``inputs``' whole images; the experts run on the shard's own rows that step 1 keeps, and
    only own rows come back."""
    gt_kp = inputs.float_column("keypoints2d") if config.detector == "ground-truth" else None
    openpose = [
        None if own is None else text_to_path(own)
        for own in inputs.table.column("openpose_json").to_pylist()
    ]
    sample_idx = inputs.table.column("sample_idx").to_numpy()
    keypoints, step1, step1_ok, experts = [], [], [], []
    chunks = inputs.chunks()
    while True:
        with timer(Stage.INPUT):
            chunk = next(chunks, None)
        if chunk is None:
            break
        rows = chunk.rows
        with timer(Stage.KEYPOINTS):
            kp = detect_keypoints(
                models.keypoints,
                chunk.images,
                chunk.image_index,
                inputs.boxes[rows],
                chunk.failure,
                gt_keypoints=None if gt_kp is None else gt_kp[rows],
                openpose_files=[openpose[r] for r in rows],
                image_names=[text_to_path(inputs.names[r]) for r in rows],
            )
            for row, detail in enumerate(chunk.detail):
                kp.detail[row] = detail or kp.detail[row]
            keep_whole_persons(
                models.keypoints,
                kp,
                chunk.images,
                chunk.image_index,
                inputs.boxes[rows],
                config.whole_person,
            )  # before the de-dup, so that it compares whole persons
            mark_duplicate_people(
                kp,
                [inputs.names[r] for r in rows],
                sample_idx[rows],
                models.selection,
                config.duplicates,
            )  # on whole images; then only the shard's own rows go on
            kp, image_index = kp.take(chunk.own), chunk.image_index[chunk.own]
            scores = score_keypoints(kp.keypoints, models.selection)
            reached = np.array([why is Reason.OK for why in kp.failure], dtype=bool)
            kept = reached & keep_keypoints(scores["n_confident_kp"], models.selection)
        with timer(Stage.EXPERTS):
            failure = [
                why if why is not Reason.OK or ok else Reason.FEW_CONFIDENT_KEYPOINTS
                for why, ok in zip(kp.failure, kept, strict=True)
            ]
            persons = PersonBatch(
                chunk.images, image_index, kp.keypoints, failure, kp.world_landmarks
            )
            experts.append(run_expert_stage(persons, models.experts))
        keypoints.append(kp)
        step1.append(scores)
        step1_ok.append(kept)
        del chunk, persons  # the chunk's pixels
    return _Observed(
        keypoints=concat_keypoints(keypoints),
        step1={name: np.concatenate([s[name] for s in step1]) for name in step1[0]},
        step1_ok=np.concatenate(step1_ok),
        experts=ExpertOutputs.concat(experts),
    )


def _label(config: RunConfig, models: WorkerModels, inputs: ShardInputs, timer) -> ShardResults:
    """Every stage after decoding, in order (see the module docstring); ``inputs`` hold whole
    images, the results the shard's own rows."""
    selection = models.selection
    seen = _observe(config, models, inputs, timer)
    inputs = inputs.own_rows()
    kp, step1, step1_ok, experts = seen.keypoints, seen.step1, seen.step1_ok, seen.experts
    with timer(Stage.EXPERTS):  # step 2
        step2 = score_validity(experts, kp.keypoints, models.hand_mean, selection, rows=step1_ok)
        status = part_status(step2, selection)
    with timer(Stage.FUSION):  # shape transfer + fusion of every finite part output
        non_finite = np.stack([step2[f"non_finite_{part.value}"] for part in Part], axis=1)
        finite = experts.valid & ~non_finite & step1_ok[:, None]
        shapes = transfer_bodies(
            models.transfer, experts, finite[:, Part.BODY.column], models.rig.num_betas
        )
        candidate = fuse_parts(experts, shapes.betas, models.rig, models.fusion, usable=finite)
    with timer(Stage.REPROJECTION):  # step 3
        step3_rows = step1_ok & (status[:, Part.BODY.column] == Reason.OK)
        step3, projected = score_step3(
            models,
            candidate,
            shapes.transl,
            experts,
            kp.keypoints,
            status == Reason.OK,
            step3_rows,
            inputs.table,
        )
        inputs3 = weak_step3_inputs(
            models, candidate, shapes.transl, experts, kp.keypoints, step3_rows
        )
    with timer(Stage.SIGNALS):  # the scores of the rules beyond FuRPE's steps
        signals = score_signals(
            experts, candidate, finite, shapes.betas, models.rig, models.fusion, inputs3, projected
        )
    with timer(Stage.SIGNALS):  # the agreement: a fit beside each network expert's output
        agreement = (
            {}
            if models.agreement is None
            else models.agreement.score(
                experts,
                kp.keypoints,
                kp.world_landmarks,
                finite & (status == Reason.OK) & step3_rows[:, None],
            )
        )
    with timer(Stage.TEMPORAL):  # the temporal signal along the shard's tracks
        temporal = _score_temporal(inputs.table, candidate, finite[:, Part.BODY.column])
    metrics = SelectionMetrics(
        {**step1, **step2, **step3, **signals, **agreement, **temporal},
        selection.scoring_parameters(),
    )
    decisions = decide(metrics, selection)
    outcome = combine(decisions, np.array(kp.failure, dtype=object))
    with timer(Stage.FUSION):  # the stored labels: the parts selection kept
        kept_parts = outcome.part_valid & finite
        stored = fuse_parts(experts, shapes.betas, models.rig, models.fusion, usable=kept_parts)
    with timer(Stage.SIGNALS):  # kept rows with a suppressed part: project the stored label
        changed = outcome.kept & (kept_parts != finite).any(axis=1)
        if changed.any():
            _, label_points = score_step3(
                models,
                stored,
                shapes.transl,
                experts,
                kp.keypoints,
                kept_parts,
                changed,
                inputs.table,
            )
            projected[changed] = label_points[changed]
    kept = outcome.kept
    mpjpe, pa_mpjpe = label_errors_mm(models.openpose_layer, stored, candidate, kept, inputs)
    body_detail = experts.detail[:, Part.BODY.column]
    details = [kp.detail[row] or body_detail[row] for row in range(len(inputs))]
    return ShardResults(
        keypoints=kp.keypoints,
        projected=projected,
        experts=experts,
        fused=stored,
        transl=shapes.transl,
        transfer_error_mm=shapes.error_mm,
        metrics=metrics,
        decisions=decisions,
        outcome=outcome,
        drop_detail=[
            d if outcome.drop_reason[r] is not Reason.OK else "" for r, d in enumerate(details)
        ],
        seconds=timer.seconds,
        gt_mpjpe_mm=mpjpe,
        gt_pa_mpjpe_mm=pa_mpjpe,
    )


def _score_temporal(table, candidate, usable: np.ndarray) -> dict[str, np.ndarray]:
    """The temporal score of the shard's own rows (``table``) from the candidate labels."""
    params = candidate.smplx_params()
    rotations = np.concatenate(
        [np.asarray(params["global_orient"])[:, None], np.asarray(params["body_pose"])], axis=1
    )
    frames = [
        index if index is not None else (frame if frame is not None else -1)
        for index, frame in zip(
            table.column("frame_index").to_pylist(), table.column("frame").to_pylist(), strict=True
        )
    ]
    tracks = [-1 if t is None else t for t in table.column("track_id").to_pylist()]
    accel = temporal_acceleration(np.array(tracks), np.array(frames), rotations, usable)
    return {"temporal_accel_rad": accel}


@dataclass(frozen=True)
class ShardTask:
    """The picklable task a worker runs: ``task(shard_id) -> ShardStats``."""

    config: RunConfig
    resources: RunResources
    out: str

    def __call__(self, shard_id: int) -> ShardStats:
        return run_shard(self.config, self.resources, self.out, shard_id)
