"""Object keypoint similarity (OKS) of whole-body people, as COCO's keypoint evaluation and
mmpose's ``oks_nms`` define it, on OpenPose-137 keypoints (the formula and what *confident* and
the object area mean: :mod:`furpe_label.selection.duplicates`).

The one OKS of the project: the duplicate rule compares the candidates of one image
(:func:`pairwise_oks`), the tracker a video's live tracks with a frame's people
(:func:`cross_oks`).
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES, convert

__all__ = ["OPENPOSE137_SIGMAS", "cross_oks", "pairwise_oks"]

# COCO-WholeBody's per-keypoint sigmas (jin-s13/COCO-WholeBody evaluation/myeval_wholebody.py,
# as xtcocotools and mmpose's coco_wholebody dataset info): body 17 (= COCO's), feet 6,
# face 68, left hand 21, right hand 21.
_WHOLEBODY_SIGMAS = (
    # body 17 (COCO)
    *(0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072),
    *(0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089),
    # feet 6
    *(0.068, 0.066, 0.066, 0.092, 0.094, 0.094),
    # face 68 (dlib order: contour 17, then brows, nose, eyes, mouth)
    *(0.042, 0.043, 0.044, 0.043, 0.040, 0.035, 0.031, 0.025, 0.020, 0.023, 0.029, 0.032),
    *(0.037, 0.038, 0.043, 0.041, 0.045, 0.013, 0.012, 0.011, 0.011, 0.012, 0.012, 0.011),
    *(0.011, 0.013, 0.015, 0.009, 0.007, 0.007, 0.007, 0.012, 0.009, 0.008, 0.016, 0.010),
    *(0.017, 0.011, 0.009, 0.011, 0.009, 0.007, 0.013, 0.008, 0.011, 0.012, 0.010, 0.034),
    *(0.008, 0.008, 0.009, 0.008, 0.008, 0.007, 0.010, 0.008, 0.009, 0.009, 0.009, 0.007),
    *(0.007, 0.008, 0.011, 0.008, 0.008, 0.008, 0.01, 0.008),
    # left hand 21, right hand 21 (the same values)
    *(0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018, 0.024),
    *(0.022, 0.026, 0.017, 0.021, 0.021, 0.032, 0.02, 0.019, 0.022, 0.031),
    *(0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018, 0.024),
    *(0.022, 0.026, 0.017, 0.021, 0.021, 0.032, 0.02, 0.019, 0.022, 0.031),
)

_NOT_IN_WHOLEBODY = {"right_pupil": "right_eye", "left_pupil": "left_eye"}
"""OpenPose-137 points COCO-WholeBody lacks -> the point whose sigma they take. (The neck and
the mid-hip, which it lacks too, are OpenPose's midpoints of the shoulders and of the hips, and
:func:`~furpe_label.experts.keypoints.conventions.convert` derives them as such: the mean of
the two sigmas, 0.079 and 0.107.)"""


def _openpose137_sigmas() -> np.ndarray:
    wholebody = np.asarray(_WHOLEBODY_SIGMAS, np.float64)[:, None]
    sigmas, mapped = convert(wholebody, "coco_wholebody133", "openpose137", has_confidence=False)
    sigmas = sigmas[:, 0]
    names = KEYPOINT_NAMES["openpose137"]
    coco = KEYPOINT_NAMES["coco_wholebody133"]
    for name, source in _NOT_IN_WHOLEBODY.items():
        index = names.index(name)
        if mapped[index]:  # pragma: no cover - guards edits of the convention table
            raise RuntimeError(f"{name} maps to COCO-WholeBody now: drop it from the table")
        sigmas[index] = _WHOLEBODY_SIGMAS[coco.index(source)]
        mapped[index] = True
    if not mapped.all():  # pragma: no cover - guards edits of the convention table
        missing = [names[i] for i in np.flatnonzero(~mapped)]
        raise RuntimeError(f"no OKS sigma for OpenPose-137 points {missing}")
    sigmas.setflags(write=False)
    return sigmas


OPENPOSE137_SIGMAS: np.ndarray = _openpose137_sigmas()
"""(137,) float64 per-keypoint OKS sigmas in OpenPose-137 order: COCO's for the body points
COCO-17 has, COCO-WholeBody's for the feet, the 68 face points and the hands (the hand root
is the wrist, COCO's 0.062 in the body slot and WholeBody's 0.029 in the hand slot); the neck
and mid-hip the mean of their two ends' (0.079, 0.107), each pupil its eye's (0.025)."""


def pairwise_oks(keypoints: np.ndarray, confident: np.ndarray) -> np.ndarray:
    """OKS of every pair of P candidates (see the module docstring).

    Args:
        keypoints: (P, 137, 3) OpenPose-137 ``(x, y, conf)``, pixels.
        confident: (P, 137) bool, step 1's confident keypoints.

    Returns:
        (P, P) float64 symmetric OKS in [0, 1]; the diagonal is 1 where a candidate has a
        confident keypoint, 0 where it has none.
    """
    return cross_oks(keypoints, confident, keypoints, confident)[0]


def cross_oks(
    points_a: np.ndarray, confident_a: np.ndarray, points_b: np.ndarray, confident_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """OKS of every person of one set with every person of another (see the module docstring).

    Args:
        points_a: (A, 137, >=2) OpenPose-137 keypoints ``(x, y, ...)``, pixels.
        confident_a: (A, 137) bool, the keypoints that count (non-finite ones never do).
        points_b: (B, 137, >=2) likewise.
        confident_b: (B, 137) bool.

    Returns:
        (A, B) float64 OKS in [0, 1] (0 for a pair with no keypoint confident in both; the
        object area is the box of both people's confident keypoints, at least 1 px²), and
        (A, B) int64 counts of the keypoints confident in both.
    """
    xy_a = np.asarray(points_a, np.float64)[..., :2]
    xy_b = np.asarray(points_b, np.float64)[..., :2]
    confident_a = np.asarray(confident_a, bool) & np.isfinite(xy_a).all(axis=-1)
    confident_b = np.asarray(confident_b, bool) & np.isfinite(xy_b).all(axis=-1)
    both = confident_a[:, None] & confident_b[None]
    shared = both.sum(axis=-1)

    def extent(xy: np.ndarray, confident: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        finite = np.nan_to_num(xy)
        low = np.where(confident[..., None], finite, np.inf).min(axis=1)
        high = np.where(confident[..., None], finite, -np.inf).max(axis=1)
        return low, high

    low_a, high_a = extent(xy_a, confident_a)
    low_b, high_b = extent(xy_b, confident_b)
    size = np.maximum(high_a[:, None], high_b[None]) - np.minimum(low_a[:, None], low_b[None])
    size = np.where(np.isfinite(size), size, 0.0)
    area = np.maximum(size[..., 0] * size[..., 1], 1.0)
    d2 = ((np.nan_to_num(xy_a[:, None]) - np.nan_to_num(xy_b[None])) ** 2).sum(-1)
    variances = (2.0 * OPENPOSE137_SIGMAS) ** 2
    terms = np.where(both, np.exp(-d2 / (2.0 * area[..., None] * variances)), 0.0)
    oks = np.divide(terms.sum(axis=-1), shared, out=np.zeros(shared.shape), where=shared > 0)
    return oks, shared
