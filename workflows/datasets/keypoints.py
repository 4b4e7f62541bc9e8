"""Keypoint and pose helpers shared by the adapters: named points -> OpenPose-137, boxes, rotations.

Index tables come from :mod:`furpe_label.experts.keypoints.conventions` (one place); datasets
whose files name their keypoints (OCHuman ``keypoint_names``, PoseTrack ``categories``) are
placed by name.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial.transform import Rotation

from furpe_label.experts.detectors.wholebody import wholebody133_to_openpose137
from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES, OPENPOSE137_PARTS

_WHOLEBODY = KEYPOINT_NAMES["coco_wholebody133"]
_WHOLEBODY_INDEX = {name: i for i, name in enumerate(_WHOLEBODY)}


def named_to_openpose137(points: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Keypoints whose order is given by ``names`` -> OpenPose-137.

    Each name that COCO-WholeBody has (COCO body, feet, face, hands, same names) is placed
    there and converted with :func:`wholebody133_to_openpose137` (OpenPose neck and mid-hip
    derived from shoulders / hips); other names (e.g. PoseTrack's head_top) are not used.

    Args:
        points: (N, K, 3) x, y px and a confidence (0 = not annotated).
        names: K names.

    Returns:
        (N, 137, 3) float32, (0, 0, 0) where unknown.
    """
    points = np.asarray(points, np.float64)
    if points.ndim != 3 or points.shape[1] != len(names) or points.shape[2] != 3:
        raise ValueError(f"points {points.shape} do not match {len(names)} names")
    wholebody = np.zeros((len(points), len(_WHOLEBODY), 3))
    for k, name in enumerate(names):
        if name in _WHOLEBODY_INDEX:
            wholebody[:, _WHOLEBODY_INDEX[name]] = points[:, k]
    return wholebody133_to_openpose137(wholebody[..., :2], wholebody[..., 2])


def visibility_to_confidence(points: np.ndarray) -> np.ndarray:
    """COCO-style (…, 3) x, y, v (v = 0 not labelled, > 0 labelled) -> x, y, conf in {0, 1}.

    A point whose x or y is not finite (a NaN / Infinity literal, 1e300) counts as not
    labelled."""
    points = np.asarray(points, np.float64).copy()
    with np.errstate(invalid="ignore", over="ignore"):
        finite = np.isfinite(points[..., :2].astype(np.float32)).all(axis=-1)
        labelled = (points[..., 2] > 0) & finite
    points[..., 2] = labelled
    points[~labelled] = 0.0
    return points


def body25_to_openpose137(body: np.ndarray) -> np.ndarray:
    """(N, 25, 3) OpenPose BODY_25 -> (N, 137, 3) float32 with hands and face zero."""
    body = np.asarray(body, np.float32)
    out = np.zeros((len(body), 137, 3), np.float32)
    out[:, OPENPOSE137_PARTS["body"]] = body
    out[out[..., 2] <= 0] = 0.0
    return out


def keypoint_boxes(keypoints: np.ndarray, min_conf: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """Boxes around confident keypoints, enlarged about their centre.

    Args:
        keypoints: (N, K, 3) px + confidence.
        min_conf: a keypoint counts when its confidence exceeds this.
        scale: width and height factor (1.2 = 20 % larger).

    Returns:
        (N, 4) float64 pixel xywh; NaN rows where fewer than two keypoints count.
    """
    keypoints = np.asarray(keypoints, np.float64)
    confident = keypoints[..., 2] > min_conf
    x = np.where(confident, keypoints[..., 0], np.nan)
    y = np.where(confident, keypoints[..., 1], np.nan)
    enough = confident.sum(axis=1) >= 2
    boxes = np.full((len(keypoints), 4), np.nan)
    if not enough.any():
        return boxes
    lo_x, hi_x = np.nanmin(x[enough], axis=1), np.nanmax(x[enough], axis=1)
    lo_y, hi_y = np.nanmin(y[enough], axis=1), np.nanmax(y[enough], axis=1)
    cx, cy = (lo_x + hi_x) / 2, (lo_y + hi_y) / 2
    w, h = (hi_x - lo_x) * scale, (hi_y - lo_y) * scale
    boxes[enough] = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)
    return boxes


def rotmats_to_axis_angle(rotmats: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 3) axis-angle radians (scipy, float64)."""
    rotmats = np.asarray(rotmats, np.float64)
    flat = Rotation.from_matrix(rotmats.reshape(-1, 3, 3)).as_rotvec()
    return flat.reshape(*rotmats.shape[:-2], 3)
