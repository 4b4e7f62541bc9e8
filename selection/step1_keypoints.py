"""Selection step 1: enough confident whole-body keypoints (FuRPE's filter scripts).

FuRPE (indigo-99/FuRPE, git history: ``myutils/filter_kpjson.py`` and ``filter_mpi.py``,
deleted in commit 46a554c) does, per OpenPose JSON file, on ``people[0]``::

    body_conf[body_conf < 0.1] = 0.0;  left/right_hand_conf[... < 0.2] = 0.0
    face_conf[face_conf < 0.4] = 0.0
    keypoints2d = concat(body 25, face 70, left hand 21, right hand 21)   # all 137
    keep = len(keypoints[conf > 0]) >= 12

So a keypoint counts exactly when ``conf >= threshold`` (a confidence equal to the threshold
is kept by the zeroing, then counted because it is > 0) **and** ``conf > 0``; the two agree
for the positive thresholds used. A NaN confidence never counts (both comparisons are False),
and the coordinates are not looked at. Face thresholds apply to all 70 face points, pupils
included; missing parts (empty arrays in the JSON) are all-zero and count nothing.
Comparisons are done in float64 with the thresholds as Python floats (as FuRPE's float64 JSON
arrays); float32 confidences convert exactly, and float32(0.1), float32(0.2), float32(0.4) all
round up, so a float32-stored threshold value still counts.

Here the rule runs vectorised over N person instances (``keypoints2d`` (N, 137, 3), one row
per person, detection already matched to the person), part slices from the convention table.
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.vocabulary import Part
from furpe_label.selection.config import SelectionConfig

__all__ = ["check_keypoints2d", "confident_mask", "keep_keypoints", "score_keypoints"]

NUM_KEYPOINTS = 137


def check_keypoints2d(keypoints2d: np.ndarray) -> np.ndarray:
    """Return ``keypoints2d`` as an array after checking it is (N, 137, 3) ``(x, y, conf)``.

    Raises:
        ValueError: on any other shape or a non-numeric dtype.
    """
    array = np.asarray(keypoints2d)
    if array.ndim != 3 or array.shape[1:] != (NUM_KEYPOINTS, 3):
        raise ValueError(
            f"keypoints2d must be (N, 137, 3) OpenPose-137 (x, y, conf), got {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"keypoints2d must be real numbers, got dtype {array.dtype}")
    return array


def confident_mask(keypoints2d: np.ndarray, config: SelectionConfig) -> np.ndarray:
    """(N, 137) bool: FuRPE's confident keypoints, ``conf >= part threshold and conf > 0``.

    Args:
        keypoints2d: (N, 137, 3) OpenPose-137 ``(x, y, conf)``, pixels and confidence.
        config: the part thresholds (``body_threshold``, ``hand_threshold``,
            ``face_threshold``).
    """
    conf = check_keypoints2d(keypoints2d)[..., 2].astype(np.float64)
    thresholds = np.empty(NUM_KEYPOINTS, dtype=np.float64)
    for part, threshold in zip(Part, config.part_thresholds(), strict=True):
        thresholds[part.keypoint_slice] = threshold
    return (conf >= thresholds) & (conf > 0)


def score_keypoints(keypoints2d: np.ndarray, config: SelectionConfig) -> dict[str, np.ndarray]:
    """Step 1 scores: confident-keypoint counts, overall and per part.

    Args:
        keypoints2d: (N, 137, 3) OpenPose-137 ``(x, y, conf)``.
        config: the part thresholds.

    Returns:
        ``n_confident_kp`` and ``n_confident_{part}`` for each :class:`Part`, each (N,) int16.
    """
    confident = confident_mask(keypoints2d, config)
    out = {"n_confident_kp": confident.sum(1).astype(np.int16)}
    for part in Part:
        out[f"n_confident_{part.value}"] = confident[:, part.keypoint_slice].sum(1).astype(np.int16)
    return out


def keep_keypoints(n_confident_kp: np.ndarray, config: SelectionConfig) -> np.ndarray:
    """Step 1 keep rule: (N,) bool, ``n_confident_kp >= config.min_count`` (FuRPE: 12)."""
    return np.asarray(n_confident_kp) >= config.min_count
