"""COCO-WholeBody-133 detections (mmpose RTMW/DWPose, openpifpaf wholebody) -> OpenPose-137.

COCO-WholeBody order: body 17 (COCO), feet 6, face 68, left hand 21, right hand 21. The
index tables and the derived OpenPose keypoints (neck, mid-hip) come from
:mod:`furpe_label.experts.keypoints.conventions`; this module only handles the scores:

* scores are clipped to [0, 1] (SimCC-based RTMW/DWPose scores are not probabilities and can
  exceed 1 slightly);
* keypoints whose score is <= ``min_score``, non-finite, or that have no source in
  COCO-WholeBody (the two pupils) are written as (0, 0, 0), the OpenPose "not detected" value.
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.keypoints.conventions import convert


def wholebody133_to_openpose137(
    keypoints: np.ndarray, scores: np.ndarray, min_score: float = 0.0
) -> np.ndarray:
    """Convert COCO-WholeBody-133 keypoints with scores to OpenPose-137.

    Args:
        keypoints: (..., 133, 2) pixels of the original image.
        scores: (..., 133) per-keypoint scores (any scale; clipped to [0, 1]).
        min_score: scores at or below this (after clipping) mark a keypoint as undetected.

    Returns:
        (..., 137, 3) float32: x, y in pixels and a confidence in [0, 1].
    """
    keypoints = np.asarray(keypoints, np.float64)
    scores = np.asarray(scores, np.float64)
    if keypoints.shape[-2:] != (133, 2) or scores.shape != keypoints.shape[:-1]:
        raise ValueError(
            f"expected (..., 133, 2) keypoints and (..., 133) scores, got "
            f"{keypoints.shape} and {scores.shape}"
        )
    scores = np.clip(np.nan_to_num(scores, nan=0.0), 0.0, 1.0)
    finite = np.all(np.isfinite(keypoints), axis=-1)
    scores = np.where(finite & (scores > min_score), scores, 0.0)
    points = np.concatenate([np.where(finite[..., None], keypoints, 0.0), scores[..., None]], -1)
    converted, mask = convert(points, "coco_wholebody133", "openpose137")
    converted = np.where(mask[:, None], converted, 0.0)
    converted = np.where(converted[..., 2:3] > 0, converted, 0.0)
    return converted.astype(np.float32)
