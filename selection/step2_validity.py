"""Selection step 2: is each part expert's output usable?

Per person and part, in this order (the first that applies is the part's status):

1. the crop / expert stage gave no output: its reason (``empty_box``, ``zero_area``,
   ``outside_image``, ``too_few_keypoints``, ``crop_failed``, ``expert_disabled``,
   ``expert_failed``) is kept as the status;
2. ``non_finite_output``: any NaN / inf in the part's parameters (or crop camera);
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
from dataclasses import dataclass

import numpy as np

from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES
from furpe_label.experts.vocabulary import Part, Reason
from furpe_label.selection.columns import as_reasons
from furpe_label.selection.config import SelectionConfig
from furpe_label.selection.step1_keypoints import check_keypoints2d

__all__ = ["ExpertOutputs", "hand_visibility_indices", "part_status", "score_validity"]

_SHAPES = {
    "body_rotmats": (24, 3, 3),
    "body_betas": (10,),
    "face_pose": (6,),
    "face_exp": (50,),
    "face_shape": (100,),
    "left_hand_pose": (48,),
    "right_hand_pose": (48,),
}
_PART_FIELDS = {
    Part.BODY: ("body_rotmats", "body_betas"),
    Part.FACE: ("face_pose", "face_exp", "face_shape"),
    Part.LEFT_HAND: ("left_hand_pose",),
    Part.RIGHT_HAND: ("right_hand_pose",),
}


@dataclass(frozen=True)
class ExpertOutputs:
    """Part-expert outputs row-aligned with N persons; NaN rows where a part has no output.

    Attributes:
        body_rotmats: (N, 24, 3, 3) SPIN's SMPL rotations (0 global orient, 1..23 body).
        body_betas: (N, 10) SPIN's SMPL shape coefficients.
        face_pose: (N, 6) DECA axis-angle, radians: [0:3] head, [3:6] jaw.
        face_exp: (N, 50) FLAME expression; face_shape: (N, 100) FLAME shape.
        left_hand_pose, right_hand_pose: (N, 48) FrankMocap, radians: [0:3] hand global
            rotation, [3:48] 15 finger joints relative to the mean hand (left un-flipped).
        expert_reasons: (N, 4) :class:`Reason` (or its strings) per :class:`Part`: ``ok``
            where the part's expert gave an output, else the crop / expert-stage reason.
        cameras: optional (N, 4, 3) each part's crop camera ``[s, tx, ty]`` (Part order),
            checked for finiteness with its part.
    """

    body_rotmats: np.ndarray
    body_betas: np.ndarray
    face_pose: np.ndarray
    face_exp: np.ndarray
    face_shape: np.ndarray
    left_hand_pose: np.ndarray
    right_hand_pose: np.ndarray
    expert_reasons: np.ndarray
    cameras: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.expert_reasons)
        for name, shape in _SHAPES.items():
            value = np.asarray(getattr(self, name))
            if value.shape != (n, *shape) or not np.issubdtype(value.dtype, np.floating):
                raise ValueError(f"{name} must be float (N, {', '.join(map(str, shape))}) with "
                                 f"N = {n} rows, got {value.dtype} {value.shape}")  # fmt: skip
            object.__setattr__(self, name, value)
        reasons = as_reasons(self.expert_reasons, "expert_reasons")
        if reasons.shape != (n, len(Part)):
            raise ValueError(f"expert_reasons must be (N, 4), got {reasons.shape}")
        object.__setattr__(self, "expert_reasons", reasons)
        if self.cameras is not None:
            cameras = np.asarray(self.cameras)
            if cameras.shape != (n, len(Part), 3):
                raise ValueError(f"cameras must be (N, 4, 3), got {cameras.shape}")
            object.__setattr__(self, "cameras", cameras)

    def __len__(self) -> int:
        return len(self.expert_reasons)

    def part_arrays(self, part: Part) -> list[np.ndarray]:
        """The part's arrays flattened to (N, D) each (its crop camera included if given)."""
        arrays = [getattr(self, name).reshape(len(self), -1) for name in _PART_FIELDS[part]]
        if self.cameras is not None:
            arrays.append(self.cameras[:, part.column])
        return arrays


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
        outputs: the N rows' expert outputs.
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
    conf = check_keypoints2d(keypoints2d)[..., 2].astype(np.float64)
    if len(conf) != n:
        raise ValueError(f"{n} expert rows but {len(conf)} keypoint rows")
    hand_mean = np.asarray(hand_mean, dtype=np.float32)
    if hand_mean.shape != (2, 45) or not np.isfinite(hand_mean).all():
        raise ValueError(f"hand_mean must be finite (2, 45) [left, right], got {hand_mean.shape}")
    scored = np.ones(n, bool) if rows is None else np.asarray(rows, dtype=bool).reshape(n)
    out: dict[str, np.ndarray] = {"step2_scored": scored}
    has_output = outputs.expert_reasons == Reason.OK
    for part in Part:
        finite = np.ones(n, dtype=bool)
        for array in outputs.part_arrays(part):
            finite &= np.isfinite(array).all(axis=1)
        out[f"expert_reason_{part.value}"] = outputs.expert_reasons[:, part.column]
        out[f"non_finite_{part.value}"] = has_output[:, part.column] & ~finite
    with np.errstate(invalid="ignore"):
        out["betas_max_abs"] = np.abs(outputs.body_betas).max(axis=1).astype(np.float32)
        out["rotation_error"] = _rotation_error(outputs.body_rotmats).astype(np.float32)
    threshold = config.hand_threshold
    for side, hand in enumerate((Part.LEFT_HAND, Part.RIGHT_HAND)):
        pose = getattr(outputs, f"{hand.value}_pose")
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
        rules = [(np.asarray(metrics[f"non_finite_{part.value}"], bool), Reason.NON_FINITE_OUTPUT),
                 (bad_range, Reason.OUT_OF_RANGE)]  # fmt: skip
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
