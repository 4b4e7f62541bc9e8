"""Selection step 2: is each part expert's output usable?

Per person and part, in this order (the first that applies is the part's status):

1. the crop / expert stage gave no output: its reason (``empty_box``, ``zero_area``,
   ``outside_image``, ``too_few_keypoints``, ``crop_failed``, ``expert_disabled``,
   ``expert_failed``) is kept as the status;
2. ``non_finite_output``: any NaN / inf in the part's parameters (body rotations and betas;
   face pose, expression and shape; hand pose) or its crop camera;
3. ``parameters_out_of_range``:
   * body: a shape coefficient with ``|beta| > betas_max_abs`` (3), or a "rotation" matrix
     that is not one (``max|R R^T - I|`` or ``|det R - 1|`` > ``rotation_tolerance``);
   * hand: any of the 45 absolute finger axis-angle components with ``|x| >= 3.15`` rad.
     This is FuRPE's loader (``data/datasets/curated_fittings.py``): it adds the mean hand
     to the stored mean-relative pose in float32, then drops the hand when
     ``np.any(pose >= 3.15) or np.any(pose <= -3.15)``; the hand's global rotation (first 3 of
     FrankMocap's 48) is not checked there and is only checked for finiteness here;
4. ``hand_invisible``: FuRPE's loader keeps a hand only when more than
   ``min_hand_keypoints = 8`` of its keypoints are confident (binarised at the hand threshold
   0.2, then summed, ``sum > 8``). Its 21 hand keypoints are the SMPL-X-named ones after
   ExPose's name mapping, where ``list.index('left_wrist')`` finds the **body's** wrist
   (OpenPose 7; right: 4) before the hand's root (25; 46): so the count is the body wrist plus
   hand keypoints 1..20, each with ``conf >= hand_threshold``.

A bad body drops the sample; a bad face or hand suppresses that part's label only.
Scores (:func:`score_validity`) and statuses (:func:`part_status`) are separate, so the
statuses can be recomputed from stored scores under other thresholds. Range scores are stored
as float32 and the rules compare the stored values (``|beta| > 3`` is decided on the float32
``betas_max_abs``; the hand limit is compared as float32(3.15), as FuRPE's float32 arrays).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES
from furpe_label.experts.vocabulary import Part, Reason
from furpe_label.selection.columns import as_reasons
from furpe_label.selection.config import SelectionConfig
from furpe_label.selection.step1_keypoints import check_keypoints2d

__all__ = ["hand_visibility_indices", "part_status", "score_validity"]

_FINITE_FIELDS = {
    Part.BODY: ("rotmats", "betas"),
    Part.FACE: ("pose", "expression", "shape"),
    Part.LEFT_HAND: ("pose",),
    Part.RIGHT_HAND: ("pose",),
}
"""The record parameters rule 2 checks per part (with the part's crop camera)."""


def _part_arrays(outputs: ExpertOutputs, part: Part) -> list[np.ndarray]:
    """The part's checked parameters and crop camera, each flattened to (N, D)."""
    record = outputs.record(part)
    if len(record) != len(outputs):
        raise ValueError(f"{part.value} record has {len(record)} rows for {len(outputs)}")
    arrays = [getattr(record.params, name) for name in _FINITE_FIELDS[part]]
    return [array.reshape(len(outputs), -1) for array in (*arrays, record.camera)]


def hand_visibility_indices(hand: Part) -> np.ndarray:
    """(21,) OpenPose-137 indices FuRPE's loader counts for ``hand``: the body's wrist, then
    the hand's keypoints 1..20 (see the module docstring)."""
    if not hand.is_hand:
        raise ValueError(f"{hand} is not a hand")
    side = "left" if hand is Part.LEFT_HAND else "right"
    wrist = KEYPOINT_NAMES["openpose137"].index(f"{side}_wrist")  # the first: the body's
    fingers = np.arange(hand.keypoint_slice.start + 1, hand.keypoint_slice.stop)
    return np.concatenate([[wrist], fingers]).astype(np.int64)


def _rotation_error(rotmats: np.ndarray) -> np.ndarray:
    """(N,) max over the 24 matrices of max|R R^T - I| and |det R - 1| (NaN propagates)."""
    rot = rotmats.astype(np.float64)
    gram = rot @ np.swapaxes(rot, -1, -2) - np.eye(3)
    orthogonality = np.abs(gram).max(axis=(-1, -2))
    det = np.abs(np.linalg.det(np.nan_to_num(rot, nan=0.0, posinf=0.0, neginf=0.0)) - 1.0)
    det = np.where(np.isfinite(rot).all(axis=(-1, -2)), det, np.nan)
    return np.maximum(orthogonality, det).max(axis=1)


def score_validity(
    outputs: ExpertOutputs,
    keypoints2d: np.ndarray,
    hand_mean: np.ndarray,
    config: SelectionConfig,
    rows: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Step 2 scores (:data:`~furpe_label.selection.columns.METRIC_COLUMNS`, step 2 part).

    Args:
        outputs: the expert stage's output for the N rows (its ``reason`` column gives rule 1;
            a part without a record reads as NaN).
        keypoints2d: (N, 137, 3) OpenPose-137 ``(x, y, conf)``, for hand visibility.
        hand_mean: (2, 45) radians, the mean hand of [left, right] that FrankMocap's poses are
            relative to (SMPL-X ``hands_meanl`` / ``hands_meanr``).
        config: the hand confidence threshold.
        rows: optional (N,) bool, the rows this step was run on (``step2_scored``); default all.

    Returns:
        (N,) arrays: ``step2_scored``, ``expert_reason_{part}``, ``non_finite_{part}``,
        ``betas_max_abs``, ``rotation_error``, ``hand_max_abs_{hand}``,
        ``n_visible_kp_{hand}``.
    """
    n = len(outputs)
    reasons = as_reasons(outputs.reason, "expert_reasons")
    if reasons.shape != (n, len(Part)):
        raise ValueError(f"expert_reasons must be (N, 4), got {reasons.shape}")
    conf = check_keypoints2d(keypoints2d)[..., 2].astype(np.float64)
    if len(conf) != n:
        raise ValueError(f"{n} expert rows but {len(conf)} keypoint rows")
    hand_mean = np.asarray(hand_mean, dtype=np.float32)
    if hand_mean.shape != (2, 45) or not np.isfinite(hand_mean).all():
        raise ValueError(f"hand_mean must be finite (2, 45) [left, right], got {hand_mean.shape}")
    scored = np.ones(n, bool) if rows is None else np.asarray(rows, dtype=bool).reshape(n)
    out: dict[str, np.ndarray] = {"step2_scored": scored}
    has_output = reasons == Reason.OK
    for part in Part:
        finite = np.ones(n, dtype=bool)
        for array in _part_arrays(outputs, part):
            finite &= np.isfinite(array).all(axis=1)
        out[f"expert_reason_{part.value}"] = reasons[:, part.column]
        out[f"non_finite_{part.value}"] = has_output[:, part.column] & ~finite
    body = outputs.record(Part.BODY).params
    with np.errstate(invalid="ignore"):
        out["betas_max_abs"] = np.abs(body.betas).max(axis=1).astype(np.float32)
        out["rotation_error"] = _rotation_error(body.rotmats).astype(np.float32)
    threshold = config.hand_threshold
    for side, hand in enumerate((Part.LEFT_HAND, Part.RIGHT_HAND)):
        pose = outputs.record(hand).params.pose
        fingers = pose[:, 3:].astype(np.float32) + hand_mean[side]  # float32, as FuRPE
        with np.errstate(invalid="ignore"):
            out[f"hand_max_abs_{hand.value}"] = np.abs(fingers).max(axis=1)
        hand_conf = conf[:, hand_visibility_indices(hand)]
        visible = ((hand_conf >= threshold) & (hand_conf > 0)).sum(axis=1)
        out[f"n_visible_kp_{hand.value}"] = visible.astype(np.int16)
    return out


def part_status(metrics: Mapping[str, np.ndarray], config: SelectionConfig) -> np.ndarray:
    """Step 2 decision: (N, 4) :class:`Reason` per :class:`Part`, ``ok`` = usable.

    Args:
        metrics: the step 2 columns of :func:`score_validity` (stored or fresh).
        config: ``betas_max_abs``, ``rotation_tolerance``, ``hand_max_abs``,
            ``hand_min_keypoints``.

    Rows with ``step2_scored`` False get ``not_scored`` for every part.
    """
    n = len(metrics["step2_scored"])
    status = np.full((n, len(Part)), Reason.OK, dtype=object)
    hand_limit = np.float32(config.hand_max_abs)  # FuRPE compares float32 poses
    for part in Part:
        column = status[:, part.column]
        if part is Part.BODY:
            with np.errstate(invalid="ignore"):
                bad_range = (np.asarray(metrics["betas_max_abs"]) > config.betas_max_abs) | (
                    np.asarray(metrics["rotation_error"]) > config.rotation_tolerance
                )
        elif part.is_hand:
            with np.errstate(invalid="ignore"):
                bad_range = np.asarray(metrics[f"hand_max_abs_{part.value}"]) >= hand_limit
        else:
            bad_range = np.zeros(n, dtype=bool)
        rules = [
            (np.asarray(metrics[f"non_finite_{part.value}"], bool), Reason.NON_FINITE_OUTPUT),
            (bad_range, Reason.OUT_OF_RANGE),
        ]
        if part.is_hand:
            visible = np.asarray(metrics[f"n_visible_kp_{part.value}"])
            rules.append((visible <= config.hand_min_keypoints, Reason.HAND_INVISIBLE))
        for failed, reason in reversed(rules):  # the first rule that fails wins
            column[failed] = reason
        upstream = as_reasons(metrics[f"expert_reason_{part.value}"])
        no_output = upstream != Reason.OK
        column[no_output] = upstream[no_output]
    status[~np.asarray(metrics["step2_scored"], bool)] = Reason.NOT_SCORED
    return status
