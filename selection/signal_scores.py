"""The scores of the signal rules beyond FuRPE (:mod:`furpe_label.selection.signal_rules`).

All are computed once per shard, after step 3, from what the run already has: the expert
outputs, the candidate fusion step 3 scored (every finite part fused) and step 3's own inputs.
Every score is NaN where it cannot be computed (no such output, no crop, a row step 3 did not
score), and a NaN never fires a rule.

* ``wrist_disagreement_rad_{hand}``, ``head_disagreement_rad``: the angles fusion measures
  (:class:`~furpe_label.experts.fusion.fuse.FusedSmplx`) between the body expert's wrist / head
  global rotation and the hand / face expert's. The head angle is the *agreement* of two
  experts that both see the head (SPIN's neck chain, DECA's head pose).
* ``wrist_twist_rad_{hand}``: the part of that disagreement that is a twist about the forearm:
  the hand expert's rotation relative to the body expert's wrist (``G_wrist^T H``, the wrist's
  child-side frame) split into swing and twist about the forearm (the shaped rest elbow ->
  wrist bone, which the elbow's frame carries, in the wrist's frame: ``R_wrist^T b``;
  :func:`~furpe_label.experts.geometry.rotations.twist_swing_decompose`), absolute angle.
  A body network sees no hand, so its wrist is noisy in every direction; a hand turned about
  its forearm (a twisted wrist) shows fully in this one component.
* ``hands_swap_ratio``: the candidate is fused again with the left and right hand outputs
  exchanged and reprojected; the ratio, swapped over as fused, of the *aligned* squared
  distance of the hands' confident keypoints (per hand, the projected and detected points
  moved onto each other's mean first, so the body's placement of the wrist, which a swap does
  not change, does not dilute the ratio), summed over the hands with at least
  :data:`MIN_GROUP_KEYPOINTS` confident points (one visible hand is enough: it fits better
  with the other hand's output). Rows where both hands have a finite output.
* ``limbs_swap_ratio``: the candidate's arms (collar, shoulder, elbow, wrist) or legs (hip,
  knee, ankle, foot) exchanged left <-> right, each rotation mirrored across the body's
  sagittal plane (axis-angle ``(x, -y, -z)``), reprojected; the same aligned ratio over the
  keypoints of the exchanged limbs (OpenPose shoulders, elbows, wrists; hips, knees, ankles,
  feet); the lower of the arms' and the legs' ratio. ``limbs_swap_gain``: the same swap's
  improvement, ``(as fused - swapped) / count`` of the aligned squared distance in the
  normalised body crop (unit^2 per keypoint), the larger of arms and legs: near-symmetric limbs
  give a ratio anywhere but no gain.
* ``arms_swap_bone_gain``, ``arms_swap_hand_gain_rad``
  (:mod:`~furpe_label.selection.limb_swap_scores`) and ``legs_swap_llr``
  (:mod:`~furpe_label.selection.limb_swap_likelihood`): the same swaps judged with the body
  expert's own scatter allowed for (the arms' 2D bones, the hand expert's rotation against the
  body's elbows, the legs' likelihood ratio); they catch swaps the ratio and gain miss.
* ``pose_limit_excess_rad``: the body expert's joints 1..21 as axis-angle against the loose
  anatomical ranges of :func:`~furpe_label.experts.fitting.limits.smpl_body_limits`: the
  largest excess beyond a range (0 inside every range).
* ``betas_norm``: Euclidean norm of the body expert's shape coefficients (SMPL betas are unit
  Gaussian: a norm near ``sqrt(10)`` is typical).
* ``crop_outside_fraction_{part}``, ``crop_inside_fraction_{part}``: the crop stage's quality
  record (:mod:`furpe_label.experts.crops.quality`): the box area outside the image, and the
  confident part keypoints inside the box over all of them (NaN when the part has none).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.fusion.config import FusionConfig
from furpe_label.experts.fusion.fuse import FusedSmplx, fuse_parts
from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES
from furpe_label.experts.vocabulary import Part
from furpe_label.selection.limb_swap_likelihood import legs_swap_llr
from furpe_label.selection.limb_swap_scores import arms_swap_bone_gain, arms_swap_hand_gain
from furpe_label.selection.pose_scores import pose_limit_excess, wrist_twist
from furpe_label.selection.step1_keypoints import confident_mask
from furpe_label.selection.step3_inputs import Step3Inputs
from furpe_label.selection.step3_reprojection import BodyCropFrame

__all__ = [
    "ARM_PAIRS",
    "LEG_PAIRS",
    "MIN_GROUP_KEYPOINTS",
    "Step3Inputs",
    "crop_scores",
    "pose_limit_excess",
    "score_signals",
    "swap_hand_outputs",
    "swap_limbs",
    "wrist_twist",
]

ARM_PAIRS = ((13, 14), (16, 17), (18, 19), (20, 21))
"""SMPL-X joints (left, right): collars, shoulders, elbows, wrists."""
LEG_PAIRS = ((1, 2), (4, 5), (7, 8), (10, 11))
"""SMPL-X joints (left, right): hips, knees, ankles, feet."""
MIN_GROUP_KEYPOINTS = 3
"""A keypoint group (one hand, the arms, the legs) enters a swap ratio with at least this many
confident keypoints."""
_NAMES = KEYPOINT_NAMES["openpose137"]
_ARM_POINTS = np.array(
    [_NAMES.index(f"{s}_{j}") for s in ("left", "right") for j in ("shoulder", "elbow", "wrist")]
)
_LEG_POINTS = np.array(
    [
        _NAMES.index(f"{s}_{j}")
        for s in ("left", "right")
        for j in ("hip", "knee", "ankle", "big_toe", "small_toe", "heel")
    ]
)
_MIRROR = np.array([1.0, -1.0, -1.0], np.float32)
_HANDS = (Part.LEFT_HAND, Part.RIGHT_HAND)
_BODY_JOINTS = 21


def aligned_error(projected: np.ndarray, detected: np.ndarray, use: np.ndarray) -> np.ndarray:
    """(N,) summed squared distance of a keypoint group after moving it onto its detection.

    Args:
        projected, detected: (N, K, 2) points, pixels.
        use: (N, K) bool, the points that count (confident and finite).

    Returns:
        ``sum_k |(p_k - d_k) - mean_k(p - d)|^2`` over the used points; NaN where fewer than
        :data:`MIN_GROUP_KEYPOINTS` are used.
    """
    diff = np.where(use[..., None], projected - detected, 0.0)
    count = use.sum(1)
    mean = diff.sum(1) / np.maximum(count, 1)[:, None]
    squared = np.where(use, ((diff - mean[:, None]) ** 2).sum(-1), 0.0).sum(1)
    return np.where(count >= MIN_GROUP_KEYPOINTS, squared, np.nan)


def swap_hand_outputs(experts: ExpertOutputs) -> ExpertOutputs:
    """The expert outputs with the left and right hands' poses (global rotation and fingers)
    and statuses exchanged (each record keeps its side)."""
    left, right = (experts.record(hand) for hand in _HANDS)
    records = dict(experts.records)
    for hand, own, other in ((_HANDS[0], left, right), (_HANDS[1], right, left)):
        records[hand] = replace(own, params=replace(own.params, pose=other.params.pose))
    columns = [Part.BODY.column, Part.FACE.column, Part.RIGHT_HAND.column, Part.LEFT_HAND.column]
    return replace(experts, reason=experts.reason[:, columns], records=records)


def swap_limbs(body_pose: np.ndarray, pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(N, 21, 3) body pose with the joint ``pairs`` exchanged and mirrored."""
    out = np.array(body_pose, dtype=np.float32, copy=True)
    for left, right in pairs:
        a, b = out[:, left - 1].copy(), out[:, right - 1].copy()
        out[:, left - 1], out[:, right - 1] = b * _MIRROR, a * _MIRROR
    return out


def crop_scores(experts: ExpertOutputs) -> dict[str, np.ndarray]:
    """``crop_outside_fraction_{part}`` and ``crop_inside_fraction_{part}``, (N,) float32."""
    out = {}
    total = np.asarray(experts.crop_keypoints, np.float64)
    inside = np.asarray(experts.crop_keypoints_inside, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(total > 0, inside / total, np.nan)
    for part in Part:
        outside = np.asarray(experts.crop_outside_fraction[:, part.column], np.float32)
        out[f"crop_outside_fraction_{part.value}"] = outside
        out[f"crop_inside_fraction_{part.value}"] = fraction[:, part.column].astype(np.float32)
    return out


def _norm_scale(frame: BodyCropFrame) -> np.ndarray:
    """(N,) normalised body-crop units per image pixel (the crop affine's scale)."""
    unit = frame.image_to_norm(np.array([[[0.0, 0.0], [1.0, 0.0]]]).repeat(len(frame.affine), 0))
    return np.linalg.norm(unit[:, 1] - unit[:, 0], axis=-1)


def score_signals(
    experts: ExpertOutputs,
    candidate: FusedSmplx,
    usable: np.ndarray,
    betas: np.ndarray,
    rig,
    fusion: FusionConfig,
    step3: Step3Inputs,
    projected: np.ndarray,
) -> dict[str, np.ndarray]:
    """Every :data:`~furpe_label.selection.signal_rules.SIGNAL_COLUMNS` score of N rows.

    Args:
        experts: the expert stage's output.
        candidate: the fusion of every finite part output (``usable``), as step 3 scored it.
        usable: (N, 4) bool the parts fused into the candidate.
        betas: (N, B) SMPL-X shape of the candidate (shape transfer).
        rig, fusion: the SMPL-X rig and fusion rules the candidate was fused with.
        step3: step 3's inputs; ``projected`` (N, 137, 2) its projected keypoints (pixels,
            NaN where unmapped or not scored).
    """
    n = len(experts)
    rows = np.asarray(step3.rows, bool) & candidate.part_valid[:, Part.BODY.column]
    out: dict[str, np.ndarray] = {}
    for side, hand in enumerate(_HANDS):
        value = np.where(rows, candidate.wrist_disagreement_rad[:, side], np.nan)
        out[f"wrist_disagreement_rad_{hand.value}"] = value.astype(np.float32)
    twist = wrist_twist(experts, betas, rig)
    for side, hand in enumerate(_HANDS):
        used = rows & candidate.part_valid[:, hand.column]
        out[f"wrist_twist_rad_{hand.value}"] = np.where(used, twist[:, side], np.nan).astype(
            np.float32
        )
    out["head_disagreement_rad"] = np.where(rows, candidate.head_disagreement_rad, np.nan).astype(
        np.float32
    )
    body = experts.record(Part.BODY).params
    out["pose_limit_excess_rad"] = np.where(rows, pose_limit_excess(body.rotmats), np.nan).astype(
        np.float32
    )
    with np.errstate(invalid="ignore"):
        norm = np.linalg.norm(np.asarray(body.betas, np.float64), axis=1)
    out["betas_norm"] = np.where(rows, norm, np.nan).astype(np.float32)
    out.update(crop_scores(experts))

    detected = np.asarray(step3.keypoints2d, np.float64)
    use = confident_mask(detected, step3.config) & np.isfinite(detected[..., :2]).all(-1)
    original = np.asarray(projected, np.float64)
    use &= np.isfinite(original).all(-1)

    def errors(points: np.ndarray, index: np.ndarray) -> np.ndarray:
        return aligned_error(points[:, index], detected[:, index, :2], use[:, index])

    hand_points = [np.arange(h.keypoint_slice.start, h.keypoint_slice.stop) for h in _HANDS]
    both_hands = rows & candidate.part_valid[:, [h.column for h in _HANDS]].all(1)
    out["hands_swap_ratio"] = np.full(n, np.nan, np.float32)
    if both_hands.any():
        swapped_usable = np.asarray(usable, bool)[:, [0, 1, 3, 2]]
        swapped = fuse_parts(swap_hand_outputs(experts), betas, rig, fusion, usable=swapped_usable)
        points = step3.project(swapped.smplx_params(), both_hands)
        old = np.stack([errors(original, index) for index in hand_points], 1)
        new = np.stack([errors(points, index) for index in hand_points], 1)
        seen = np.isfinite(old) & np.isfinite(new)  # a hand with enough confident points
        old, new = np.where(seen, old, 0.0).sum(1), np.where(seen, new, 0.0).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(both_hands & seen.any(1) & (old > 0), new / old, np.nan)
        out["hands_swap_ratio"] = ratio.astype(np.float32)
    for name in ("limbs_swap_ratio", "limbs_swap_gain", "arms_swap_bone_gain", "legs_swap_llr"):
        out[name] = np.full(n, np.nan, np.float32)
    hand_gain = np.where(rows, arms_swap_hand_gain(experts, rig), np.nan)
    out["arms_swap_hand_gain_rad"] = hand_gain.astype(np.float32)
    if rows.any():
        ratios, gains = [], []
        scale = _norm_scale(step3.frame)
        labelled = candidate.smplx_params()
        for pairs, index in ((ARM_PAIRS, _ARM_POINTS), (LEG_PAIRS, _LEG_POINTS)):
            params = {**labelled, "body_pose": swap_limbs(labelled["body_pose"], pairs)}
            points = step3.project(params, rows)
            if pairs == ARM_PAIRS:
                norm = [step3.frame.image_to_norm(p) for p in (original, points, detected[..., :2])]
                gain = np.where(rows, arms_swap_bone_gain(*norm, use), np.nan)
                out["arms_swap_bone_gain"] = gain.astype(np.float32)
            else:
                llr = legs_swap_llr(step3, labelled, params, rows)
                out["legs_swap_llr"] = llr
            old, new = errors(original, index), errors(points, index)
            count = use[:, index].sum(1)
            with np.errstate(invalid="ignore", divide="ignore"):
                ratios.append(np.where(rows & (old > 0), new / old, np.nan))
                gains.append(np.where(rows, (old - new) * scale**2 / count, np.nan))
        out["limbs_swap_ratio"] = np.fmin(*ratios).astype(np.float32)
        out["limbs_swap_gain"] = np.fmax(*gains).astype(np.float32)
    return out
