"""One shard, every stage in order on one worker, outputs committed with the marker last.

decode -> keypoints -> step 1 -> crops + experts -> step 2 -> fusion + shape transfer -> step 3
-> label arrays + audit rows -> ``RunDir.commit_shard`` (labels, audit, stats, marker).
Only the shard id comes in and only the shard's small stats go back.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from furpe_label.experts.fusion.fuse import fuse_parts
from furpe_label.experts.fusion.inputs import PartOutputs
from furpe_label.experts.geometry.cameras import WeakPerspectiveCamera
from furpe_label.experts.geometry.rotations import matrix_to_axis_angle
from furpe_label.experts.part_stage import ExpertOutputs, PersonBatch, run_expert_stage
from furpe_label.experts.vocabulary import Part, Reason, Stage
from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.ground_truth import gt_errors_mm
from furpe_label.pipeline.keypoint_stage import concat_keypoints, detect_keypoints
from furpe_label.pipeline.shard_inputs import ShardInputs, read_shard_inputs
from furpe_label.pipeline.shard_outputs import ShardResults, audit_columns, label_arrays
from furpe_label.pipeline.worker_models import WorkerModels, worker_models
from furpe_label.selection import (
    BodyCropFrame,
    SelectionMetrics,
    combine,
    decide,
    part_status,
    score_keypoints,
    score_reprojection,
    score_validity,
)
from furpe_label.selection import ExpertOutputs as SelectionExpertOutputs
from furpe_label.storage.label_store import LabelStore
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


def _selection_outputs(experts: ExpertOutputs, count: int) -> SelectionExpertOutputs:
    """The expert records as step 2 reads them (NaN where a part has no output)."""
    shapes = {
        "body_rotmats": (24, 3, 3), "body_betas": (10,), "face_pose": (6,), "face_exp": (50,),
        "face_shape": (100,), "left_hand_pose": (48,), "right_hand_pose": (48,),
    }  # fmt: skip
    arrays = {name: np.full((count, *shape), np.nan) for name, shape in shapes.items()}
    cameras = np.full((count, len(Part), 3), np.nan)
    for part, record in experts.records.items():
        params = record.params
        cameras[:, part.column] = record.camera
        if part is Part.BODY:
            arrays["body_rotmats"], arrays["body_betas"] = params.rotmats, params.betas
        elif part is Part.FACE:
            arrays["face_pose"], arrays["face_exp"] = params.pose, params.exp
            arrays["face_shape"] = params.shape
        else:
            arrays[f"{part.value}_pose"] = params.pose
    return SelectionExpertOutputs(**arrays, expert_reasons=experts.reason, cameras=cameras)


def _transfer(models: WorkerModels, experts: ExpertOutputs, body_ok: np.ndarray):
    """SMPL-X betas, translation and transfer error of the rows with a usable body."""
    count = len(body_ok)
    betas = np.zeros((count, models.rig.num_betas))
    transl = np.full((count, 3), np.nan)
    error = np.full(count, np.nan)
    rows = np.flatnonzero(body_ok)
    if rows.size:
        body = experts.records[Part.BODY].params
        rotvecs = matrix_to_axis_angle(torch.as_tensor(body.rotmats[rows], dtype=torch.float64))
        result = models.transfer.transfer(
            rotvecs[:, 0], rotvecs[:, 1:], torch.as_tensor(body.betas[rows], dtype=torch.float64),
            torch.zeros(len(rows), 3, dtype=torch.float64),
        )  # fmt: skip
        betas[rows] = result.betas.numpy()
        transl[rows] = result.transl.numpy()
        error[rows] = result.error_mm.numpy()
    return betas, transl, error


def _score_step3(models, candidate, transl, experts, keypoints, status, step3_rows):
    """Step 3 on the fusion of every part with a finite output (the what-if contract)."""
    params = {**candidate.smplx_params(), "transl": np.nan_to_num(transl)}
    camera = WeakPerspectiveCamera(torch.as_tensor(np.nan_to_num(candidate.camera, nan=1.0)))
    affines = experts.affines[:, Part.BODY.column].copy()
    no_crop = ~np.isfinite(affines).all(axis=(1, 2))
    affines[no_crop] = np.eye(2, 3)  # rows step 3 does not score: any invertible frame
    frame = BodyCropFrame(affines)
    step3, projected = score_reprojection(
        models.openpose_layer, params, camera, frame, keypoints, status == Reason.OK,
        models.selection, rows=step3_rows,
    )  # fmt: skip
    return step3, projected


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
    audit = audit_columns(results, inputs.table, shard_id)
    write_start = time.perf_counter()
    stats = run_dir.commit_shard(store, config.dataset, shard_id, labels, audit)
    return stats + ShardStats(seconds={"write": time.perf_counter() - write_start})


def _keypoints_and_experts(config, models, inputs: ShardInputs, timer):
    """Decode, detect and run the experts chunk by chunk (pixels of one chunk alive at once)."""
    gt_kp = inputs.float_column("keypoints2d") if config.detector == "ground-truth" else None
    openpose = inputs.table.column("openpose_json").to_pylist()
    selection = models.selection
    keypoints, experts = [], []
    chunks = inputs.chunks()
    while True:
        with timer(Stage.INPUT):
            chunk = next(chunks, None)
        if chunk is None:
            break
        rows = chunk.rows
        with timer(Stage.KEYPOINTS):
            kp = detect_keypoints(
                models.keypoints, chunk.images, chunk.image_index, inputs.boxes[rows],
                chunk.failure, gt_keypoints=None if gt_kp is None else gt_kp[rows],
                openpose_files=[openpose[r] for r in rows],
                image_names=[inputs.names[r] for r in rows],
            )  # fmt: skip
            for row, detail in enumerate(chunk.detail):
                kp.detail[row] = detail or kp.detail[row]
            count = score_keypoints(kp.keypoints, selection)["n_confident_kp"]
        with timer(Stage.EXPERTS):
            failure = [
                why if why is not Reason.OK else (
                    Reason.OK if n >= selection.min_count else Reason.FEW_CONFIDENT_KEYPOINTS
                )
                for why, n in zip(kp.failure, count, strict=True)
            ]  # fmt: skip
            persons = PersonBatch(chunk.images, chunk.image_index, kp.keypoints, failure,
                                  kp.world_landmarks)  # fmt: skip
            experts.append(run_expert_stage(persons, models.experts))
        keypoints.append(kp)
        del chunk, persons  # the chunk's pixels
    return concat_keypoints(keypoints), ExpertOutputs.concat(experts)


def _label(config: RunConfig, models: WorkerModels, inputs: ShardInputs, timer) -> ShardResults:
    count = len(inputs)
    selection = models.selection
    kp, experts = _keypoints_and_experts(config, models, inputs, timer)
    with timer(Stage.KEYPOINTS):
        reached = np.array([f is Reason.OK for f in kp.failure])
        step1 = score_keypoints(kp.keypoints, selection)
        step1_ok = reached & (step1["n_confident_kp"] >= selection.min_count)
    with timer(Stage.EXPERTS):
        step2 = score_validity(_selection_outputs(experts, count), kp.keypoints,
                               models.hand_mean, selection, rows=step1_ok)  # fmt: skip
        status = part_status(step2, selection)
    with timer(Stage.FUSION):
        finite = experts.valid & ~np.stack([step2[f"non_finite_{p.value}"] for p in Part], 1)
        finite &= step1_ok[:, None]
        finite[~finite[:, Part.BODY.column]] = False
        betas, transl, error = _transfer(models, experts, finite[:, Part.BODY.column])
        candidate = fuse_parts(PartOutputs.from_records(experts.records, finite), betas,
                               models.rig, models.fusion)  # fmt: skip
    with timer(Stage.REPROJECTION):
        step3_rows = step1_ok & (status[:, Part.BODY.column] == Reason.OK)
        step3, projected = _score_step3(
            models, candidate, transl, experts, kp.keypoints, status, step3_rows
        )
    metrics = SelectionMetrics({**step1, **step2, **step3}, selection.scoring_parameters())
    decisions = decide(metrics, selection)
    input_reasons = np.array([f if not reached[row] else Reason.OK
                              for row, f in enumerate(kp.failure)], dtype=object)  # fmt: skip
    outcome = combine(decisions, input_reasons)
    with timer(Stage.FUSION):
        stored = fuse_parts(PartOutputs.from_records(experts.records, outcome.part_valid & finite),
                            betas, models.rig, models.fusion)  # fmt: skip
    mpjpe, pa_mpjpe = _ground_truth_errors(models, inputs, stored, outcome)
    details = [kp.detail[row] or experts.detail[row, Part.BODY.column] for row in range(count)]
    return ShardResults(
        keypoints=kp.keypoints, projected=projected, experts=experts, fused=stored,
        transl=transl, transfer_error_mm=error, metrics=metrics, decisions=decisions,
        outcome=outcome, drop_detail=[d if outcome.drop_reason[r] is not Reason.OK else ""
                                      for r, d in enumerate(details)],
        seconds=timer.seconds, gt_mpjpe_mm=mpjpe, gt_pa_mpjpe_mm=pa_mpjpe,
    )  # fmt: skip


def _ground_truth_errors(models, inputs, fused, outcome):
    count = len(inputs)
    nan = np.full(count, np.nan, np.float32)
    conventions = inputs.table.column("joints3d_convention").to_pylist()
    kept = outcome.kept
    rows = [r for r in range(count) if conventions[r] and kept[r]]
    if not rows:
        return nan, nan.copy()
    joints = inputs.float_column("joints3d")
    params = {name: torch.as_tensor(value[rows], dtype=torch.float32)
              for name, value in fused.smplx_params().items()}  # fmt: skip
    with torch.no_grad():
        points, _ = models.openpose_layer(**params)
    mpjpe, pa_mpjpe = nan.copy(), nan.copy()
    for convention in {conventions[r] for r in rows}:
        chosen = [i for i, r in enumerate(rows) if conventions[r] == convention]
        try:
            a, b = gt_errors_mm(points.numpy()[chosen], joints[[rows[i] for i in chosen]],
                                convention)  # fmt: skip
        except KeyError:  # a convention the table does not know: no error, not a crash
            continue
        mpjpe[[rows[i] for i in chosen]], pa_mpjpe[[rows[i] for i in chosen]] = a, b
    return mpjpe, pa_mpjpe


@dataclass(frozen=True)
class ShardTask:
    """The picklable task a worker runs: ``task(shard_id) -> ShardStats``."""

    config: RunConfig
    resources: RunResources
    out: str

    def __call__(self, shard_id: int) -> ShardStats:
        return run_shard(self.config, self.resources, self.out, shard_id)
