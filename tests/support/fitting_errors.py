"""Errors of a fit against synthetic truth (tests and benchmark): keypoints px, 3D mm."""

from __future__ import annotations

import numpy as np

from furpe_label.experts.fitting.body import SmplBodyFitter
from furpe_label.experts.fitting.hand import ManoHandFitter
from tests.support.fitting_truth import CROP_PX_PER_UNIT, Truth

_MID_HIP, _WRIST = 8, 0


def keypoint_error_px(fitter, result, truth: Truth, rows: np.ndarray) -> np.ndarray:
    """(len(rows),) mean distance in crop pixels between the fitted model's projected
    keypoints and the noise-free true projections of instances ``rows``."""
    projected, _ = fitter.evaluate(result.params, result.camera)
    distance = np.linalg.norm(projected - truth.clean[rows], axis=-1)
    return distance.mean(-1) * CROP_PX_PER_UNIT


def truth_error_mm(fitter, result, truth: Truth, rows: np.ndarray) -> np.ndarray:
    """(len(rows),) mean 3D keypoint error in mm after aligning a root point: the mid-hip
    (pelvis joint) for bodies, the wrist for hands, the landmarks' centroid for faces."""
    _, points = fitter.evaluate(result.params, result.camera)
    true = truth.points[rows].numpy()
    if isinstance(fitter, SmplBodyFitter):
        points, true = (
            points - points[:, _MID_HIP : _MID_HIP + 1],
            true - true[:, _MID_HIP : _MID_HIP + 1],
        )
    elif isinstance(fitter, ManoHandFitter):
        points, true = points - points[:, _WRIST : _WRIST + 1], true - true[:, _WRIST : _WRIST + 1]
    else:
        points, true = points - points.mean(1, keepdims=True), true - true.mean(1, keepdims=True)
    return np.linalg.norm(points - true, axis=-1).mean(-1) * 1000.0
