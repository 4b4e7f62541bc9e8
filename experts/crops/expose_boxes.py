"""ExPose's body-driven part boxes: the alternative to the experts' own rules (:mod:`.boxes`).

vchoutas/expose ``expose/data/utils/bbox.py`` ``points_to_bbox`` used by
``expose/models/common/bbox_sampler.py`` ``ToCrops``: centre = centre of the part keypoints'
bbox, side = ``max(w, h) * scale_factor``. Part keypoints follow
``expose/data/targets/keypoints.py`` ``get_part_idxs`` (hand = wrist + fingers; head = nose,
eyes, ears + face landmarks). Scale factors: hand 3.0 and head 2.0 as in open-mmlab/mmhuman3d
``configs/expose/expose.py`` (the config that runs the released ExPose weights); ExPose's code
defaults are 2.0 / 2.0 (``expose/config/defaults.py``, ``predictor.py``). Keypoints are
``(N, 137, 3)`` OpenPose-137 ``(x, y, confidence)`` in pixels of the original image.

:func:`part_boxes_from_openpose` gives all four part boxes under either rule set.
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.crops.boxes import (
    DEFAULT_PART_THRESH,
    PartBoxes,
    deca_face_boxes,
    frankmocap_hand_boxes,
    spin_body_boxes,
)
from furpe_label.experts.crops.part_keypoints import as_keypoint_batch, part_keypoints
from furpe_label.experts.geometry.boxes import masked_minmax, square_boxes
from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES
from furpe_label.experts.vocabulary import Part

__all__ = [
    "EXPOSE_HAND_SCALE",
    "EXPOSE_HEAD_SCALE",
    "HEAD_BODY_IDXS",
    "expose_boxes",
    "expose_hand_boxes",
    "expose_head_boxes",
    "expose_head_keypoints",
    "part_boxes_from_openpose",
]

EXPOSE_HAND_SCALE = 3.0
EXPOSE_HEAD_SCALE = 2.0
# ExPose's head set: nose, eyes and ears of the body, plus the 70 face points.
_HEAD_BODY_NAMES = ("nose", "right_eye", "left_eye", "right_ear", "left_ear")
HEAD_BODY_IDXS = tuple(KEYPOINT_NAMES["openpose137"].index(name) for name in _HEAD_BODY_NAMES)


def expose_head_keypoints(keypoints: np.ndarray) -> np.ndarray:
    """(N, 137, 3) -> (N, 75, 3) ExPose's head set: nose, eyes, ears (body) + 70 face points."""
    kp = as_keypoint_batch(keypoints)
    return np.concatenate([kp[:, list(HEAD_BODY_IDXS)], kp[:, Part.FACE.keypoint_slice]], axis=1)


def expose_boxes(
    points: np.ndarray, valid: np.ndarray, scale_factor: float
) -> tuple[np.ndarray, np.ndarray]:
    """ExPose ``points_to_bbox`` on the valid points.

    Args:
        points: (N, K, 2) pixels; valid: (N, K) bool; scale_factor: box enlargement.

    Returns:
        center (N, 2) pixels, size (N,) square side pixels (NaN if no valid point).
    """
    lo, hi = masked_minmax(np.asarray(points, np.float64), np.asarray(valid, bool))
    return (lo + hi) * 0.5, np.max(hi - lo, axis=1) * scale_factor


def expose_hand_boxes(
    keypoints: np.ndarray,
    side: str,
    conf_thresh: float = DEFAULT_PART_THRESH,
    scale_factor: float = EXPOSE_HAND_SCALE,
) -> PartBoxes:
    """ExPose body-driven hand boxes from the 21 OpenPose hand keypoints (wrist included)."""
    kp = part_keypoints(keypoints, Part(f"{side}_hand"))
    valid = kp[..., 2] > conf_thresh
    center, size = expose_boxes(kp[..., :2], valid, scale_factor)
    count = valid.sum(1).astype(np.int64)
    return PartBoxes(Part(f"{side}_hand"), "expose", square_boxes(center, size), center, count)


def expose_head_boxes(
    keypoints: np.ndarray,
    conf_thresh: float = DEFAULT_PART_THRESH,
    scale_factor: float = EXPOSE_HEAD_SCALE,
) -> PartBoxes:
    """ExPose body-driven head boxes: nose, eyes, ears (body25) + 70 face keypoints."""
    head = expose_head_keypoints(keypoints)
    valid = head[..., 2] > conf_thresh
    center, size = expose_boxes(head[..., :2], valid, scale_factor)
    return PartBoxes(
        Part.FACE, "expose", square_boxes(center, size), center, valid.sum(1).astype(np.int64)
    )


def part_boxes_from_openpose(
    keypoints: np.ndarray,
    image_hw: tuple[int, int],
    conf_thresh: float = DEFAULT_PART_THRESH,
    rule: str = "experts",
) -> dict[str, PartBoxes]:
    """All part boxes for N people.

    Args:
        keypoints: (N, 137, 3) OpenPose-137 keypoints, pixels.
        image_hw: original image ``(H, W)``.
        conf_thresh: threshold for face and hand keypoints (body uses SPIN's 0.2).
        rule: ``"experts"`` (SPIN body, DECA face, FrankMocap hands) or ``"expose"`` (SPIN body,
            ExPose head and hands).

    Returns:
        ``{Part: PartBoxes}`` for the four parts (ExPose's head box is the face's box).
    """
    out = {Part.BODY: spin_body_boxes(keypoints)}
    if rule == "experts":
        out[Part.FACE] = deca_face_boxes(keypoints, conf_thresh)
        for side in ("left", "right"):
            out[Part(f"{side}_hand")] = frankmocap_hand_boxes(
                keypoints, side, image_hw, conf_thresh
            )
    elif rule == "expose":
        out[Part.FACE] = expose_head_boxes(keypoints, conf_thresh)
        for side in ("left", "right"):
            out[Part(f"{side}_hand")] = expose_hand_boxes(keypoints, side, conf_thresh)
    else:
        raise ValueError(f"unknown rule {rule!r}; use 'experts' or 'expose'")
    return out
