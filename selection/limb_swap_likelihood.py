"""``legs_swap_llr``: is the label's left / right leg swap the better explanation of the
detected keypoints, once the body expert's own rotation errors are allowed for?

A swap of mirrored limbs keeps the pose plausible and each limb on its side, so only the limb
keypoints' positions tell it apart, and those scatter widely even in a correct label: the body
expert's rotation errors add up along each limb (the ankle moves with the hip, knee and ankle
errors). Comparing plain reprojection distances (``limbs_swap_ratio`` / ``limbs_swap_gain``)
mistakes that scatter for evidence. This score weighs the residuals by the scatter the label
itself predicts:

* per hypothesis (as labelled; the legs exchanged left <-> right and mirrored,
  :func:`~furpe_label.selection.signal_scores.swap_limbs`), the residual ``r`` (projected minus
  detected, normalised body crop, of the K = 12 leg keypoints: hips, knees, ankles, toes,
  heels) and its covariance
  ``S = s_e^2 J J^T + s_p^2 T T^T + s_d^2 I``: ``J`` the keypoints' derivatives by the
  rotation (axis-angle components) of each joint of the group's chains and of the joint above
  them (:class:`LimbGroup`, forward differences through the same projection as step 3), ``T``
  a common shift of the group (body placement, camera), ``s_d`` the detector's noise; a
  keypoint that is not confident gets a variance that removes it;
* the score is the log-likelihood ratio of the Gaussian models, swapped over as labelled:
  ``(r0^T S0^-1 r0 + log det S0 - r1^T S1^-1 r1 - log det S1) / 2``; positive where the swap
  explains the detections better. NaN where fewer than 3 leg keypoints are confident or the
  row was not scored.

The arms get no such score: on the label-quality simulator the same test on shoulders,
elbows and wrists had heavy tails on correct labels (six keypoints, and correct labels whose
wrists were 0.3-0.5 crop units off fitted the swap better; the same with spine3's rotation
allowed for); :mod:`furpe_label.selection.limb_swap_scores` scores them.

The noise levels (:data:`EXPERT_ROTATION_NOISE`, :data:`DETECTOR_NOISE`,
:data:`PLACEMENT_NOISE`) are fixed, typical values (a good body regressor, a keypoint detector
at about 2 % of the body's size); the rule's threshold absorbs their miscalibration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES
from furpe_label.selection.step1_keypoints import confident_mask

if TYPE_CHECKING:
    from furpe_label.selection.step3_inputs import Step3Inputs

__all__ = [
    "DETECTOR_NOISE",
    "EXPERT_ROTATION_NOISE",
    "LEGS",
    "PLACEMENT_NOISE",
    "LimbGroup",
    "legs_swap_llr",
    "swap_log_likelihood_ratio",
]

EXPERT_ROTATION_NOISE = 0.15
"""``s_e``: the body expert's error per axis-angle component of a joint rotation, rad."""
DETECTOR_NOISE = 0.05
"""``s_d``: the detector's error per coordinate of a confident keypoint, normalised crop units."""
PLACEMENT_NOISE = 0.3
"""``s_p``: a common shift of a limb group (the body's placement), normalised crop units."""
_UNSEEN = 1e4  # variance of a keypoint that is not confident: no weight
_STEP = 1e-3  # rad, forward differences
_NAMES = KEYPOINT_NAMES["openpose137"]
_MIN_POINTS = 3


@dataclass(frozen=True)
class LimbGroup:
    """One limb group of the swap test.

    Attributes:
        pairs: SMPL-X (left, right) joints the swap exchanges (and mirrors).
        chains: SMPL-X (left, right) joints whose rotation errors move the group's keypoints.
        shared: SMPL-X joints above both sides (0 = the global orientation).
        points: (K,) OpenPose-137 keypoints of the group.
        left: (K,) bool, the keypoint is on the subject's left.
    """

    pairs: tuple[tuple[int, int], ...]
    chains: tuple[tuple[int, int], ...]
    shared: tuple[int, ...]
    points: np.ndarray
    left: np.ndarray


def _group(joints: tuple[str, ...], **kwargs) -> LimbGroup:
    names = [f"{side}_{joint}" for side in ("left", "right") for joint in joints]
    return LimbGroup(
        points=np.array([_NAMES.index(name) for name in names]),
        left=np.array([name.startswith("left") for name in names]),
        **kwargs,
    )


LEGS = _group(
    ("hip", "knee", "ankle", "big_toe", "small_toe", "heel"),
    pairs=((1, 2), (4, 5), (7, 8), (10, 11)),
    chains=((1, 2), (4, 5), (7, 8), (10, 11)),
    shared=(0,),
)
"""Legs: hips, knees, ankles, feet exchanged; the global orientation above them."""


def swap_log_likelihood_ratio(
    residuals: tuple[np.ndarray, np.ndarray],
    jacobians: tuple[np.ndarray, np.ndarray],
    use: np.ndarray,
) -> np.ndarray:
    """(N,) log-likelihood ratio, hypothesis 1 over hypothesis 0 (module docstring).

    Args:
        residuals: per hypothesis (N, K, 2) projected minus detected keypoints (crop units).
        jacobians: per hypothesis (N, K, 2, C) the keypoints' derivatives by C rotation
            components (crop units per rad).
        use: (N, K) bool, the confident keypoints (their residuals finite).

    Returns:
        NaN where fewer than 3 keypoints are used.
    """
    n, k = use.shape
    shift = np.tile(np.eye(2), (k, 1))  # (2K, 2)
    variance = np.where(np.repeat(use, 2, axis=1), DETECTOR_NOISE**2, _UNSEEN)
    terms = []
    for residual, jacobian in zip(residuals, jacobians, strict=True):
        r = torch.as_tensor(np.nan_to_num(residual).reshape(n, 2 * k, 1), dtype=torch.float64)
        j = torch.as_tensor(np.nan_to_num(jacobian).reshape(n, 2 * k, -1), dtype=torch.float64)
        cov = EXPERT_ROTATION_NOISE**2 * j @ j.transpose(1, 2)
        cov = cov + PLACEMENT_NOISE**2 * torch.as_tensor(shift @ shift.T)
        cov = cov + torch.diag_embed(torch.as_tensor(variance, dtype=torch.float64))
        factor = torch.linalg.cholesky(cov)
        mahalanobis = (r * torch.cholesky_solve(r, factor)).sum((1, 2))
        log_det = 2.0 * torch.log(torch.diagonal(factor, dim1=1, dim2=2)).sum(1)
        terms.append((mahalanobis + log_det).numpy())
    return np.where(use.sum(1) >= _MIN_POINTS, 0.5 * (terms[0] - terms[1]), np.nan)


def _hypothesis(
    step3: Step3Inputs,
    params: Mapping[str, np.ndarray],
    rows: np.ndarray,
    group: LimbGroup,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, K, 2) projected keypoints of ``params`` (crop units) and (N, K, 2, C) derivatives."""

    def project(changed: Mapping[str, np.ndarray]) -> np.ndarray:
        return step3.project_norm({**params, **changed}, rows)[:, group.points]

    body, orient = np.asarray(params["body_pose"]), np.asarray(params["global_orient"])
    columns = []

    base = project({})

    def derivative(joints: tuple[int, ...], axis: int) -> np.ndarray:
        pose, root = body.copy(), orient.copy()
        for joint in joints:
            if joint == 0:
                root[:, axis] += _STEP
            else:
                pose[:, joint - 1, axis] += _STEP
        return (project({"body_pose": pose, "global_orient": root}) - base) / _STEP

    side = group.left[None, :, None]
    for left, right in group.chains:  # one projection moves both sides' own keypoints
        for axis in range(3):
            both = derivative((left, right), axis)
            columns += [np.where(side, both, 0.0), np.where(side, 0.0, both)]
    for joint in group.shared:
        for axis in range(3):
            columns.append(derivative((joint,), axis))
    return base, np.stack(columns, -1)


def legs_swap_llr(
    step3: Step3Inputs,
    labelled: Mapping[str, np.ndarray],
    swapped: Mapping[str, np.ndarray],
    rows: np.ndarray,
) -> np.ndarray:
    """(N,) float32 ``legs_swap_llr`` (module docstring) on ``rows`` (NaN elsewhere).

    Args:
        step3: step 3's inputs (the projection, detections and confidence thresholds).
        labelled, swapped: the candidate's SMPL-X parameters (smplx names, no transl), and
            the same with the legs exchanged (:data:`LEGS` ``.pairs``, mirrored).
        rows: (N,) bool, the rows to score.
    """
    rows = np.asarray(rows, bool)
    detected_px = np.asarray(step3.keypoints2d, np.float64)
    detected = step3.frame.image_to_norm(detected_px[..., :2])[:, LEGS.points]
    use = confident_mask(detected_px, step3.config)[:, LEGS.points] & rows[:, None]
    use &= np.isfinite(detected).all(-1)
    residuals, jacobians = [], []
    for hypothesis in (labelled, swapped):
        points, jacobian = _hypothesis(step3, hypothesis, rows, LEGS)
        residuals.append(points - detected)
        jacobians.append(jacobian)
        use &= np.isfinite(points).all(-1)
    score = swap_log_likelihood_ratio(tuple(residuals), tuple(jacobians), use)
    return np.where(rows, score, np.nan).astype(np.float32)
