"""Box geometry for the detectors: crop windows, keypoint boxes, person-to-box matching.

All boxes are pixel ``xywh`` (top-left x, y, width, height) of the original image unless a name
says ``xyxy`` (x0, y0, x1, y1 with x1, y1 exclusive).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from furpe_label.experts.vocabulary import Part


def crop_window(
    box: np.ndarray, margin: float, image_hw: tuple[int, int], square: bool = False
) -> tuple[int, int, int, int] | None:
    """Integer crop window around a box, clipped to the image.

    Args:
        box: (4,) pixel xywh.
        margin: added on every side as a fraction of the box's larger side (0.25 = 25 %).
        image_hw: (H, W) of the image in pixels.
        square: grow the shorter side to the longer one (around the centre) before clipping.

    Returns:
        (x0, y0, x1, y1) integer pixels with x1, y1 exclusive, or ``None`` when the clipped
        window is smaller than 2 x 2 pixels (box outside the image or degenerate).
    """
    x, y, w, h = (float(v) for v in box)
    if square:
        side = max(w, h)
        x, y, w, h = x + (w - side) / 2, y + (h - side) / 2, side, side
    pad = margin * max(w, h)
    height, width = image_hw
    x0 = max(0, int(np.floor(x - pad)))
    y0 = max(0, int(np.floor(y - pad)))
    x1 = min(width, int(np.ceil(x + w + pad)))
    y1 = min(height, int(np.ceil(y + h + pad)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return x0, y0, x1, y1


def points_box(points: np.ndarray) -> np.ndarray:
    """Tight pixel xywh box of (N, 2) points (N >= 1)."""
    lo = points.min(axis=0)
    hi = points.max(axis=0)
    return np.array([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]], np.float64)


def keypoint_box(keypoints: np.ndarray, min_conf: float = 0.1) -> np.ndarray | None:
    """Pixel xywh box of the keypoints whose confidence exceeds ``min_conf``.

    Args:
        keypoints: (K, 3) pixels + confidence.
        min_conf: confidence threshold.

    Returns:
        (4,) xywh, or ``None`` with fewer than two confident keypoints.
    """
    pts = keypoints[keypoints[:, 2] > min_conf, :2]
    if len(pts) < 2:
        return None
    return points_box(pts)


def box_keypoints(keypoints: np.ndarray, min_conf: float) -> np.ndarray:
    """The keypoints that place one person's box, by the first rule that yields two or more.

    1. body keypoints with confidence > ``min_conf``;
    2. every keypoint with confidence > ``min_conf``;
    3. every keypoint with confidence > 0, so a person whose keypoints are all faint (e.g. 12
       body keypoints at 0.1, which FuRPE's step 1 counts) still gets a box and reaches step 1.

    Args:
        keypoints: (137, 3) OpenPose-137 pixels + confidence.
        min_conf: confidence threshold of rules 1 and 2.

    Returns:
        (M, 3) the chosen keypoints (M < 2 when even rule 3 finds fewer than two).
    """
    body = keypoints[Part.BODY.keypoint_slice]
    chosen = body[body[:, 2] > min_conf]
    if len(chosen) < 2:
        chosen = keypoints[keypoints[:, 2] > min_conf]
    if len(chosen) < 2:
        chosen = keypoints[keypoints[:, 2] > 0]
    return chosen


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two pixel xywh boxes (0 when either is empty)."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


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


def match_people_to_boxes(
    people: list[np.ndarray],
    boxes: np.ndarray,
    min_conf: float = 0.1,
    min_iou: float = 0.3,
    min_containment: float = 0.6,
) -> list[int | None]:
    """Assign detected people to dataset person boxes, one-to-one.

    A (person, box) pair is admissible when the IoU of the person's keypoint box with the box
    is at least ``min_iou`` or at least ``min_containment`` of the person's confident
    keypoints lie inside the box; among admissible pairs the assignment maximising the summed
    score IoU + containment is chosen (Hungarian algorithm).

    Args:
        people: P_det arrays (137, 3) of keypoints (pixels, confidence); the points of each
            are chosen by :func:`box_keypoints`.
        boxes: (P, 4) pixel xywh dataset boxes.
        min_conf: confidence above which a keypoint counts.
        min_iou: IoU admitting a pair.
        min_containment: containment fraction admitting a pair.

    Returns:
        For each box, the index into ``people`` of its person, or ``None`` when none matched.
    """
    n_people, n_boxes = len(people), len(boxes)
    if n_people == 0 or n_boxes == 0:
        return [None] * n_boxes
    score = np.full((n_people, n_boxes), -1.0)
    for i, kps in enumerate(people):
        pts = box_keypoints(kps, min_conf)[:, :2]
        if len(pts) < 2:
            continue
        kbox = points_box(pts)
        for j, box in enumerate(boxes):
            overlap, inside = iou(kbox, box), containment(pts, box)
            if overlap >= min_iou or inside >= min_containment:
                score[i, j] = overlap + inside
    rows, cols = linear_sum_assignment(-score)
    result: list[int | None] = [None] * n_boxes
    for i, j in zip(rows, cols, strict=True):
        if score[i, j] >= 0:
            result[j] = int(i)
    return result
