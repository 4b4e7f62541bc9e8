"""Part boxes (body, face, hands) from OpenPose-137 keypoints, following each expert's own rule.

Input keypoints are ``(N, 137, 3)`` arrays ``(x, y, confidence)`` in pixels of the original image,
layout from the convention table (``OPENPOSE137_PARTS``: body 25, left hand 21, right hand 21,
face 70 = 68 landmarks + 2 pupils). Undetected OpenPose points are ``(0, 0, 0)``; a keypoint is
*confident* when its confidence is strictly above the rule's threshold.

Rules and their origin:

* **body / SPIN** - nkolot/SPIN ``demo.py`` ``bbox_from_openpose``: body keypoints with
  confidence > 0.2; centre = *mean* of those keypoints (not the box centre); scale =
  ``rescale (1.2) * max(w, h) / 200`` of their bounding box. See :func:`spin_body_center_scale`.
* **face / DECA** - yfeng95/DECA ``decalib/datasets/datasets.py`` ``TestData.bbox2point``
  (``type='kpt68'``) and ``__getitem__``: left/right/top/bottom of the 68 landmarks,
  ``old_size = (right - left + bottom - top) / 2 * 1.1``, centre = box centre (no vertical
  shift for landmarks; the +0.12 shift applies only to detector boxes), side
  ``size = int(old_size * 1.25)`` (truncated to int as in DECA). See :func:`deca_face_boxes`.
* **hands / FrankMocap** - facebookresearch/frankmocap ``bodymocap/body_mocap_api.py``
  ``BodyMocap.get_hand_bboxes`` (hand box from the 21 hand joints): bbox of the joints,
  ``margin = int(max(w, h) * 0.2)`` on every side, clipped to ``[0, W] x [0, H]``; the crop
  step (``handmocap/hand_mocap_api.py`` ``__pad_and_resize`` with ``add_margin=True``, as
  ``demo/demo_frankmocap.py`` calls it) is in ``warps.frankmocap_input``. FrankMocap applies it
  to predicted joints; here only confident OpenPose hand keypoints are used.

The keypoint selections are :mod:`.part_keypoints`; ExPose's body-driven alternative is
:mod:`.expose_boxes`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from furpe_label.experts.crops.part_keypoints import (
    as_keypoint_batch,
    face_landmarks68,
    part_keypoints,
)
from furpe_label.experts.geometry.boxes import masked_minmax, square_boxes
from furpe_label.experts.geometry.crop_transform import REFERENCE_BOX_SIZE
from furpe_label.experts.vocabulary import Part

BODY = Part.BODY.keypoint_slice
SPIN_DETECTION_THRESH = 0.2
SPIN_RESCALE = 1.2
DECA_KPT68_ENLARGE = 1.1
DECA_SCALE = 1.25
FRANKMOCAP_MARGIN_RATIO = 0.2
DEFAULT_PART_THRESH = 0.2


@dataclass(frozen=True)
class PartBoxes:
    """Boxes of one part for N people.

    Attributes:
        part: the labelled part (the ExPose head box, :mod:`.expose_boxes`, labels the face).
        rule: ``"spin"``, ``"deca"``, ``"frankmocap"`` or ``"expose"``.
        xywh: (N, 4) float64 ``(x0, y0, w, h)`` pixels; NaN where the rule found no keypoint.
        center: (N, 2) float64 centre the rule crops around, pixels (SPIN: keypoint mean).
        num_keypoints: (N,) int64 confident keypoints the rule used.
    """

    part: Part
    rule: str
    xywh: np.ndarray
    center: np.ndarray
    num_keypoints: np.ndarray

    @property
    def side(self) -> np.ndarray:
        """(N,) longer box side, pixels (the square crop side for square rules)."""
        return np.max(self.xywh[:, 2:], axis=1)


def spin_body_center_scale(
    keypoints: np.ndarray,
    rescale: float = SPIN_RESCALE,
    detection_thresh: float = SPIN_DETECTION_THRESH,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SPIN ``bbox_from_openpose``: centre and scale from body keypoints.

    Args:
        keypoints: (N, 137, 3) or (N, 25, 3) OpenPose keypoints (only body25 is read).
        rescale: box enlargement (SPIN 1.2).
        detection_thresh: confidence threshold (SPIN 0.2, strict ``>``).

    Returns:
        center (N, 2) pixels (mean of the confident keypoints), scale (N,) = side / 200,
        count (N,) int64 confident keypoints. NaN centre/scale where none is confident.
    """
    kp = as_keypoint_batch(keypoints)[:, BODY]
    valid = kp[..., 2] > detection_thresh
    center = np.full((kp.shape[0], 2), np.nan)
    scale = np.full(kp.shape[0], np.nan)
    for i in np.flatnonzero(valid.any(axis=1)):  # per person, same float ops as SPIN
        pts = kp[i][valid[i]][:, :2]
        center[i] = pts.mean(axis=0)
        scale[i] = (pts.max(axis=0) - pts.min(axis=0)).max() / REFERENCE_BOX_SIZE * rescale
    count = valid.sum(axis=1)
    return center, scale, count.astype(np.int64)


def spin_body_boxes(
    keypoints: np.ndarray,
    rescale: float = SPIN_RESCALE,
    detection_thresh: float = SPIN_DETECTION_THRESH,
) -> PartBoxes:
    """Square SPIN body boxes (side ``200 * scale``) centred on the keypoint mean."""
    center, scale, count = spin_body_center_scale(keypoints, rescale, detection_thresh)
    xywh = square_boxes(center, REFERENCE_BOX_SIZE * scale)
    return PartBoxes(Part.BODY, "spin", xywh, center, count)


def deca_center_size(
    landmarks: np.ndarray, valid: np.ndarray | None = None, scale: float = DECA_SCALE
) -> tuple[np.ndarray, np.ndarray]:
    """DECA ``bbox2point(type='kpt68')`` + ``size = int(old_size * scale)`` (scale 1.25).

    Args:
        landmarks: (N, 68, 2) face landmarks, pixels.
        valid: (N, 68) bool, landmarks to use (default all).

    Returns:
        center (N, 2) pixels, size (N,) float64 integral side of the square crop (NaN if empty).
    """
    lm = as_keypoint_batch(landmarks, last=2)
    ok = np.ones(lm.shape[:2], bool) if valid is None else np.asarray(valid, bool)
    lo, hi = masked_minmax(lm, ok.reshape(lm.shape[:2]))
    left, top, right, bottom = lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1]
    old_size = (right - left + bottom - top) / 2.0 * DECA_KPT68_ENLARGE
    center = np.stack([right - (right - left) / 2.0, bottom - (bottom - top) / 2.0], axis=1)
    size = np.full(old_size.shape, np.nan)
    finite = np.isfinite(old_size)
    size[finite] = np.trunc(old_size[finite] * scale)  # python int() truncates
    return center, size


def deca_face_boxes(keypoints: np.ndarray, conf_thresh: float = DEFAULT_PART_THRESH) -> PartBoxes:
    """DECA face boxes from the 68 OpenPose face landmarks with confidence > ``conf_thresh``.

    Args:
        keypoints: (N, 137, 3) OpenPose-137 keypoints.
        conf_thresh: landmark confidence threshold (DECA's FAN landmarks are all used; OpenPose
            marks missing ones with confidence 0).
    """
    kp = face_landmarks68(keypoints)
    valid = kp[..., 2] > conf_thresh
    center, size = deca_center_size(kp[..., :2], valid)
    return PartBoxes(
        Part.FACE, "deca", square_boxes(center, size), center, valid.sum(1).astype(np.int64)
    )


def frankmocap_hand_boxes(
    keypoints: np.ndarray,
    side: str,
    image_hw: tuple[int, int],
    conf_thresh: float = DEFAULT_PART_THRESH,
    margin_ratio: float = FRANKMOCAP_MARGIN_RATIO,
) -> PartBoxes:
    """FrankMocap ``get_hand_bboxes`` on the confident OpenPose hand keypoints.

    Args:
        keypoints: (N, 137, 3) OpenPose-137 keypoints.
        side: ``"left"`` or ``"right"``.
        image_hw: original image ``(H, W)``.
        conf_thresh: hand keypoint confidence threshold.
        margin_ratio: FrankMocap's 0.2 (``margin = int(max(w, h) * 0.2)``).

    Returns:
        Rectangular (not square) boxes clipped to ``[0, W] x [0, H]``.
    """
    kp = part_keypoints(keypoints, Part(f"{side}_hand"))
    valid = kp[..., 2] > conf_thresh
    lo, hi = masked_minmax(kp[..., :2], valid)
    margin = np.trunc(np.max(hi - lo, axis=1, keepdims=True) * margin_ratio)
    x0y0 = np.maximum(lo - margin, 0.0)
    x1y1 = np.minimum(hi + margin, np.array([image_hw[1], image_hw[0]], dtype=np.float64))
    xywh = np.concatenate([x0y0, x1y1 - x0y0], axis=1)
    center = (x0y0 + x1y1) / 2.0
    return PartBoxes(
        Part(f"{side}_hand"), "frankmocap", xywh, center, valid.sum(1).astype(np.int64)
    )
