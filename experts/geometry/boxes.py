"""Box geometry shared by the detectors, the person-box finder and the crop rules.

Boxes are pixel ``xywh`` (top-left x, y, width, height) of the original image; the image
occupies ``[0, W] x [0, H]``. Single-box functions take (4,) arrays, batched ones (P, 4).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "clip_boxes",
    "containment",
    "intersection_area",
    "iou",
    "iou_matrix",
    "masked_minmax",
    "points_box",
    "square_boxes",
]


def points_box(points: np.ndarray) -> np.ndarray:
    """Tight (4,) float64 pixel xywh box of (N, 2) pixel points (N >= 1)."""
    lo = points.min(axis=0)
    hi = points.max(axis=0)
    return np.array([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]], np.float64)


def masked_minmax(xy: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-person corners of the valid points.

    Args:
        xy: (N, K, 2) pixel points.
        valid: (N, K) bool, the points to use.

    Returns:
        min and max, each (N, 2) pixels; NaN rows where no point is valid.
    """
    lo = np.where(valid[..., None], xy, np.inf).min(axis=1)
    hi = np.where(valid[..., None], xy, -np.inf).max(axis=1)
    none = ~valid.any(axis=1)
    lo[none] = np.nan
    hi[none] = np.nan
    return lo, hi


def square_boxes(center: np.ndarray, side: np.ndarray) -> np.ndarray:
    """(N, 4) xywh squares of side ``side`` (N,) pixels centred on ``center`` (N, 2) pixels."""
    return np.concatenate([center - side[:, None] / 2.0, np.stack([side, side], axis=1)], axis=1)


def clip_boxes(boxes: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """Clip (P, 4) pixel xywh boxes to the (H, W) image."""
    height, width = image_hw
    x0 = np.clip(boxes[:, 0], 0, width)
    y0 = np.clip(boxes[:, 1], 0, height)
    x1 = np.clip(boxes[:, 0] + boxes[:, 2], 0, width)
    y1 = np.clip(boxes[:, 1] + boxes[:, 3], 0, height)
    return np.stack([x0, y0, x1 - x0, y1 - y0], axis=1).reshape(-1, 4)


def intersection_area(a: np.ndarray, b: np.ndarray) -> float:
    """Area, pixels², of the intersection of two xywh boxes (0 when they do not overlap)."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two pixel xywh boxes (0 when either is empty)."""
    inter = intersection_area(a, b)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, B) float64 intersection over union of pixel xywh boxes ``a`` (A, 4) and ``b`` (B, 4)
    (0 where a union is empty)."""
    a0, b0 = a[:, None, :2], b[None, :, :2]
    a1, b1 = a0 + a[:, None, 2:], b0 + b[None, :, 2:]
    overlap = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0.0, None).prod(axis=-1)
    union = a[:, None, 2:].prod(axis=-1) + b[None, :, 2:].prod(axis=-1) - overlap
    return np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)


def containment(points: np.ndarray, box: np.ndarray) -> float:
    """Fraction of (N, 2) pixel points inside the xywh box (0 for N == 0)."""
    if len(points) == 0:
        return 0.0
    inside = (
        (points[:, 0] >= box[0])
        & (points[:, 0] <= box[0] + box[2])
        & (points[:, 1] >= box[1])
        & (points[:, 1] <= box[1] + box[3])
    )
    return float(inside.mean())
