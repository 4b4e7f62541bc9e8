"""Label simulated people the way a shard run does, and measure the labels against the truth.

:func:`label_people` runs on :class:`tests.support.quality_sim.SimulatedPeople` the sequence of
``pipeline/shard_runner.py`` (which starts from images): step 1, step 2, SMPL -> SMPL-X shape
transfer of every body with a finite output, fusion of every finite part (the candidate), step 3
on the candidate with the transfer's translation, the decisions, then the stored fusion of the
parts valid in the outcome. :func:`label_errors` drives the unmodified ``smplx`` SMPL-X layer
with the stored labels and with the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from furpe_label.experts.fusion.config import FusionConfig
from furpe_label.experts.fusion.fuse import FusedSmplx, fuse_parts
from furpe_label.experts.fusion.head import rotation_angle
from furpe_label.experts.geometry.cameras import WeakPerspectiveCamera
from furpe_label.experts.geometry.kinematics import global_rotations
from furpe_label.experts.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from furpe_label.experts.vocabulary import Part, Reason, Stage
from furpe_label.selection import (
    Outcome,
    SelectionConfig,
    SelectionMetrics,
    combine,
    decide,
    part_status,
    score_keypoints,
    score_reprojection,
    score_validity,
)
from furpe_label.selection.signal_scores import score_signals
from furpe_label.selection.step3_inputs import Step3Inputs
from tests.support.quality_models import QualityModels
from tests.support.quality_sim import CLEAN, WRISTS, SimulatedPeople

HANDS = (Part.LEFT_HAND, Part.RIGHT_HAND)
_FACE_JOINTS = (15, 22, 23, 24)  # head, jaw, eyes: vertices they dominate belong to the face
_ELBOWS = (18, 19)


@dataclass(frozen=True)
class Shapes:
    """Shape transfer of the bodies: SMPL-X ``betas`` (n, 10), ``transl`` (n, 3) metres."""

    betas: np.ndarray
    transl: np.ndarray


@dataclass(frozen=True)
class Labels:
    """One wrist rule's labels of N people.

    Attributes:
        metrics, outcome: the selection's scores and per-row outcome.
        stored: the written labels (parts not valid: body wrist + mean hand, neutral face).
        step3: the arguments ``score_reprojection`` was called with (for timing it).
    """

    metrics: SelectionMetrics
    outcome: Outcome
    stored: FusedSmplx
    step3: dict[str, Any]


def transfer_shapes(models: QualityModels, people: SimulatedPeople, chunk: int = 512) -> Shapes:
    """SPIN's SMPL bodies -> SMPL-X betas and translation (rows without a body: 0 / NaN)."""
    n = len(people)
    betas, transl = np.zeros((n, models.rig.num_betas)), np.full((n, 3), np.nan)
    rows = np.flatnonzero(people.experts.reason[:, Part.BODY.column] == Reason.OK)
    body = people.experts.record(Part.BODY).params
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        rotmats = torch.as_tensor(body.rotmats[part], dtype=torch.float64)
        rotvecs = matrix_to_axis_angle(rotmats)
        smpl_betas = torch.as_tensor(body.betas[part], dtype=torch.float64)
        zero = torch.zeros(len(part), 3, dtype=torch.float64)
        result = models.transfer.transfer(rotvecs[:, 0], rotvecs[:, 1:], smpl_betas, zero)
        betas[part], transl[part] = result.betas.numpy(), result.transl.numpy()
    return Shapes(betas, transl)


def label_people(
    models: QualityModels,
    people: SimulatedPeople,
    shapes: Shapes,
    rule: str,
    config: SelectionConfig | None = None,
) -> Labels:
    """Selection + fusion with wrist rule ``rule`` (module docstring)."""
    config = config or SelectionConfig()
    step1 = score_keypoints(people.keypoints2d, config)
    step1_ok = step1["n_confident_kp"] >= config.min_count
    step2 = score_validity(
        people.experts, people.keypoints2d, models.hand_mean, config, rows=step1_ok
    )
    status = part_status(step2, config)
    finite = people.experts.reason == Reason.OK
    finite &= ~np.stack([step2[f"non_finite_{p.value}"] for p in Part], 1) & step1_ok[:, None]
    fusion = FusionConfig(wrist=rule)
    candidate = fuse_parts(people.experts, shapes.betas, models.rig, fusion, usable=finite)
    camera = np.nan_to_num(candidate.camera, nan=1.0)
    step3 = {
        "layer": models.keypoints,
        "params": {**candidate.smplx_params(), "transl": np.nan_to_num(shapes.transl)},
        "camera": WeakPerspectiveCamera(torch.as_tensor(camera)),
        "frame": people.frame,
        "keypoints2d": people.keypoints2d,
        "part_valid": status == Reason.OK,
        "config": config,
        "rows": step1_ok & (status[:, 0] == Reason.OK),
    }
    step3_scores, projected = score_reprojection(**step3)
    inputs = Step3Inputs(
        models.keypoints,
        step3["camera"],
        people.frame,
        people.keypoints2d,
        step3["params"]["transl"],
        config,
        step3["rows"],
    )
    signals = score_signals(
        people.experts, candidate, finite, shapes.betas, models.rig, fusion, inputs, projected
    )
    no_track = {"temporal_accel_rad": np.full(len(step1_ok), np.nan, np.float32)}  # stills
    metrics = SelectionMetrics(
        {**step1, **step2, **step3_scores, **signals, **no_track}, config.scoring_parameters()
    )
    outcome = combine(decide(metrics, config))
    stored = fuse_parts(
        people.experts, shapes.betas, models.rig, fusion, usable=outcome.part_valid & finite
    )
    return Labels(metrics, outcome, stored, step3)


def vertex_regions(models: QualityModels) -> dict[str, np.ndarray]:
    """(V,) bool SMPL-X vertex sets by dominant skinning joint: ``face`` (head, jaw, eyes),
    ``left_hand`` / ``right_hand`` (wrist + fingers), ``left_forearm`` / ``right_forearm``
    (elbow), ``body`` (all but face and hands)."""
    owner = models.smplx.lbs_weights.argmax(1).numpy()
    regions = {"face": np.isin(owner, _FACE_JOINTS)}
    for side, start, wrist, elbow in (
        ("left", 25, WRISTS[0], _ELBOWS[0]),
        ("right", 40, WRISTS[1], _ELBOWS[1]),
    ):
        regions[f"{side}_hand"] = np.isin(owner, [wrist, *range(start, start + 15)])
        regions[f"{side}_forearm"] = owner == elbow
    regions["body"] = ~(regions["face"] | regions["left_hand"] | regions["right_hand"])
    return regions


@dataclass(frozen=True)
class LabelErrors:
    """Errors of R labels against the truth (NaN where a part's label is not valid).

    Attributes:
        vertex_mm: (R,) mean vertex distance over the vertices of the valid parts (body
            always, face / each hand where valid), both meshes moved to their pelvis, mm.
        part_vertex_mm: (R, 4) the same per part region (Part order).
        wrist_deg: (R, 2) angle between the labelled and true global wrist rotations (left,
            right), degrees.
        hand_keypoints_mm: (R, 2) mean distance of the 20 OpenPose hand keypoints after moving
            both hands to their wrist keypoint, mm.
        forearm_mm: (R, 2) mean distance of the forearm skin after moving both to the elbow, mm.
    """

    vertex_mm: np.ndarray
    part_vertex_mm: np.ndarray
    wrist_deg: np.ndarray
    hand_keypoints_mm: np.ndarray
    forearm_mm: np.ndarray


def _tensors(params: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, torch.Tensor]:
    return {
        k: torch.as_tensor(np.asarray(v)[rows], dtype=torch.float32).reshape(len(rows), -1)
        for k, v in params.items()
    }


def _wrist_globals(models: QualityModels, params: dict[str, torch.Tensor]) -> torch.Tensor:
    local = torch.cat([params["global_orient"], params["body_pose"]], 1).reshape(-1, 22, 3)
    return global_rotations(axis_angle_to_matrix(local.double()), models.rig.parents)[:, WRISTS]


def label_errors(
    models: QualityModels,
    truth: dict[str, np.ndarray],
    labels: dict[str, FusedSmplx],
    rows: np.ndarray,
    chunk: int = 128,
) -> dict[str, LabelErrors]:
    """Errors of each labelling (name -> stored labels) on the rows ``rows`` (R,)."""
    regions = vertex_regions(models)
    parts = np.stack([regions[name] for name in ("body", "face", "left_hand", "right_hand")], 1)
    out: dict[str, dict[str, list]] = {name: {} for name in labels}
    for start in range(0, len(rows), chunk):
        part_rows = rows[start : start + chunk]
        true_params = _tensors(truth, part_rows)
        with torch.no_grad():
            true_mesh = models.smplx(**true_params)
            true_kp = models.keypoints(**true_params)[0].double()
        true_v = (true_mesh.vertices - true_mesh.joints[:, :1]).double()
        true_wrists = _wrist_globals(models, true_params)
        for name, fused in labels.items():
            params = _tensors(fused.smplx_params(), part_rows)
            with torch.no_grad():
                mesh = models.smplx(**params)
                kp = models.keypoints(**params)[0].double()
            distance = ((mesh.vertices - mesh.joints[:, :1]).double() - true_v).norm(dim=-1)
            valid = torch.as_tensor(fused.part_valid[part_rows])
            per_part = (distance @ torch.as_tensor(parts, dtype=torch.float64)) / parts.sum(0)
            used = (valid.double() @ torch.as_tensor(parts.T, dtype=torch.float64)).clamp(max=1)
            hand_valid = valid[:, [h.column for h in HANDS]]
            wrist = rotation_angle(_wrist_globals(models, params), true_wrists)
            hand_kp, forearm = [], []
            for side, hand in enumerate(HANDS):
                index = np.arange(hand.keypoint_slice.start, hand.keypoint_slice.stop)
                own, ref = (
                    kp[:, index] - kp[:, index[:1]],
                    true_kp[:, index] - true_kp[:, index[:1]],
                )
                hand_kp.append((own - ref).norm(dim=-1)[:, 1:].mean(1))
                skin = regions[("left", "right")[side] + "_forearm"]
                elbow = _ELBOWS[side]
                own = mesh.vertices[:, skin] - mesh.joints[:, elbow : elbow + 1]
                ref = true_mesh.vertices[:, skin] - true_mesh.joints[:, elbow : elbow + 1]
                forearm.append((own - ref).norm(dim=-1).mean(1).double())
            nan = torch.tensor(float("nan"), dtype=torch.float64)
            values = {
                "vertex_mm": (distance * used).sum(1) / used.sum(1),
                "part_vertex_mm": torch.where(valid, per_part, nan),
                "wrist_deg": torch.where(hand_valid, torch.rad2deg(wrist), nan),
                "hand_keypoints_mm": torch.where(hand_valid, torch.stack(hand_kp, 1), nan),
                "forearm_mm": torch.where(hand_valid, torch.stack(forearm, 1), nan),
            }
            for key, value in values.items():
                scale = 1.0 if key == "wrist_deg" else 1000.0
                out[name].setdefault(key, []).append(value.numpy() * scale)
    return {
        name: LabelErrors(**{k: np.concatenate(v) for k, v in parts_.items()})
        for name, parts_ in out.items()
    }


def reached_label(people: SimulatedPeople, outcome: Outcome) -> np.ndarray:
    """(n,) bool: the injected gross error is in a kept label (its part valid in the outcome):
    the body for the body errors (every kind but the hands', held-out kinds included), either
    hand for ``flipped_hands``, the twisted hand for ``wrist_twist``; False for clean rows."""
    valid = outcome.part_valid
    hands = valid[:, [h.column for h in HANDS]]
    twisted = hands[np.arange(len(people)), np.clip(people.gross_side, 0, 1)]
    return np.select(
        [
            people.gross == CLEAN,
            people.gross == "flipped_hands",
            people.gross == "wrist_twist",
        ],
        [np.zeros(len(people), bool), hands.any(1), twisted],
        default=outcome.kept,
    )


def rejected(outcome: Outcome) -> np.ndarray:
    """(n,) bool: dropped by selection step 2 (the body) or step 3."""
    return np.isin(outcome.drop_stage, [Stage.EXPERTS, Stage.REPROJECTION])


@dataclass(frozen=True)
class SelectionFigures:
    """How a selection config judges simulated people (the rows that pass step 1).

    Attributes:
        kinds: per error kind (``none`` first): (rows, caught) counts; ``caught`` is the
            share whose error reaches no kept label (:func:`reached_label`): the row dropped,
            or for a hand error the wrong hand(s) suppressed; for ``none`` the share dropped.
        precision, recall: of flagging gross errors, where a row is flagged when it is
            dropped (step 2, step 3 or a signal rule) or a signal rule suppresses one of its
            hands; recall counts a gross row as found when it is caught.
        clean_lost: share of clean rows dropped.
        clean_hands_suppressed: share of the clean kept rows' hands FuRPE's steps keep that
            a signal rule suppresses.
    """

    kinds: dict[str, tuple[int, float]]
    precision: float
    recall: float
    clean_lost: float
    clean_hands_suppressed: float


def selection_figures(
    people: SimulatedPeople,
    metrics: SelectionMetrics,
    config: SelectionConfig,
    kinds: tuple[str, ...] | None = None,
) -> SelectionFigures:
    """:class:`SelectionFigures` of ``config`` re-decided from the stored ``metrics``, over
    the clean rows and the gross errors of ``kinds`` (default: every kind)."""
    decisions = decide(metrics, config)
    outcome = combine(decisions)
    scored = np.asarray(metrics["n_confident_kp"]) >= config.min_count
    if kinds is not None:
        scored &= np.isin(people.gross, (CLEAN, *kinds))
    clean = (people.gross == CLEAN) & scored
    gross = (people.gross != CLEAN) & scored
    caught = ~reached_label(people, outcome)
    hands = [h.column for h in HANDS]
    signal_hands = (decisions.signals()[:, hands] != Reason.OK) & outcome.kept[:, None]
    flagged = (~outcome.kept | signal_hands.any(1)) & scored
    kinds = {}
    for kind in (CLEAN, *sorted(set(people.gross[scored]) - {CLEAN})):
        rows = (people.gross == kind) & scored
        share = (~outcome.kept[rows]).mean() if kind == CLEAN else caught[rows].mean()
        kinds[kind] = (int(rows.sum()), float(share))
    furpe_hands = (decisions.part_status[:, hands] == Reason.OK) & outcome.kept[:, None]
    clean_hands = furpe_hands & clean[:, None]
    return SelectionFigures(
        kinds=kinds,
        precision=float((flagged & gross).sum() / max(flagged.sum(), 1)),
        recall=float((caught & gross).sum() / max(gross.sum(), 1)),
        clean_lost=float((~outcome.kept[clean]).mean()),
        clean_hands_suppressed=float(signal_hands[clean_hands].mean()),
    )
