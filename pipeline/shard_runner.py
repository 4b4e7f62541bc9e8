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
import torch

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.fusion.body_transfer import transfer_bodies
from furpe_label.experts.fusion.fuse import fuse_parts
from furpe_label.experts.geometry.cameras import WeakPerspectiveCamera
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
from furpe_label.pipeline.whole_person_stage import keep_whole_persons
from furpe_label.pipeline.worker_models import WorkerModels, worker_models
from furpe_label.selection import (
    BodyCropFrame,
    SelectionMetrics,
    combine,
    decide,
    keep_keypoints,
    part_status,
    score_keypoints,
    score_reprojection,
    score_validity,
)
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
    labels = label_arrays(results)
    audit = audit_columns(results, inputs.own_rows().table, shard_id)
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
        step3, projected = _score_step3(
            models, candidate, shapes.transl, experts, kp.keypoints, status, step3_rows
        )
    metrics = SelectionMetrics({**step1, **step2, **step3}, selection.scoring_parameters())
    decisions = decide(metrics, selection)
    outcome = combine(decisions, np.array(kp.failure, dtype=object))
    with timer(Stage.FUSION):  # the stored labels: the parts selection kept
        kept_parts = outcome.part_valid & finite
        stored = fuse_parts(experts, shapes.betas, models.rig, models.fusion, usable=kept_parts)
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


def _score_step3(models, candidate, transl, experts, keypoints, status, step3_rows):
    """Step 3 on the fusion of every part with a finite output (the what-if contract)."""
    params = {**candidate.smplx_params(), "transl": np.nan_to_num(transl)}
    camera = WeakPerspectiveCamera(torch.as_tensor(np.nan_to_num(candidate.camera, nan=1.0)))
    affines = experts.affines[:, Part.BODY.column].copy()
    no_crop = ~np.isfinite(affines).all(axis=(1, 2))
    affines[no_crop] = np.eye(2, 3)  # rows step 3 does not score: any invertible frame
    frame = BodyCropFrame(affines)
    return score_reprojection(
        models.openpose_layer,
        params,
        camera,
        frame,
        keypoints,
        status == Reason.OK,
        models.selection,
        rows=step3_rows,
    )


@dataclass(frozen=True)
class ShardTask:
    """The picklable task a worker runs: ``task(shard_id) -> ShardStats``."""

    config: RunConfig
    resources: RunResources
    out: str

    def __call__(self, shard_id: int) -> ShardStats:
        return run_shard(self.config, self.resources, self.out, shard_id)
