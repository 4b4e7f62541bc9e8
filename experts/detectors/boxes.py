"""Boxes for the keypoint detectors: crop windows, keypoint boxes, person-to-box matching.

All boxes are pixel ``xywh`` (top-left x, y, width, height) of the original image unless a name
says ``xyxy`` (x0, y0, x1, y1 with x1, y1 exclusive). The shared geometry (IoU, containment,
point boxes) is :mod:`furpe_label.experts.geometry.boxes`.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from furpe_label.experts.geometry.boxes import containment, iou, points_box
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
