"""A shard's stages after the experts, on its own rows: step 2, fusion, step 3, signals, decisions.

====================  ======================================================================
stage                 module
====================  ======================================================================
step 2                :mod:`furpe_label.selection.step2_validity`
fusion + transfer     :mod:`furpe_label.experts.fusion.body_transfer`,
                      :mod:`furpe_label.experts.fusion.fuse`
step 3                :mod:`furpe_label.selection.step3_reprojection`
temporal score        :mod:`furpe_label.selection.temporal` (along the shard's video tracks)
signals               :mod:`furpe_label.selection.signal_scores` (the rules beyond FuRPE),
                      :mod:`furpe_label.experts.fitting.agreement` (network vs fit)
decisions             :mod:`furpe_label.selection.decisions`
ground-truth errors   :mod:`furpe_label.pipeline.ground_truth`
====================  ======================================================================

They read what :func:`~furpe_label.pipeline.shard_observe.observe_shard` gives (keypoints,
step 1, the experts' outputs) and give the :class:`ShardResults` the shard writes.
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.fusion.body_transfer import transfer_bodies
from furpe_label.experts.fusion.fuse import fuse_parts
from furpe_label.experts.vocabulary import Part, Reason, Stage
from furpe_label.pipeline.ground_truth import label_errors_mm
from furpe_label.pipeline.shard_inputs import ShardInputs
from furpe_label.pipeline.shard_observe import Observed, StageTimer
from furpe_label.pipeline.shard_outputs import ShardResults
from furpe_label.pipeline.step3_cameras import score_step3, weak_step3_inputs
from furpe_label.pipeline.worker_models import WorkerModels
from furpe_label.selection import SelectionMetrics, combine, decide, part_status, score_validity
from furpe_label.selection.signal_scores import score_signals
from furpe_label.selection.temporal import temporal_acceleration

__all__ = ["label_observed"]


def label_observed(
    models: WorkerModels, inputs: ShardInputs, seen: Observed, timer: StageTimer
) -> ShardResults:
    """Every stage after the experts, in order (see the module docstring) on the shard's own
    rows: ``inputs`` (:meth:`ShardInputs.own_rows`) and ``seen`` (N rows each)."""
    selection = models.selection
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
