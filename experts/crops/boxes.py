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
* **ExPose body-driven alternative** - vchoutas/expose ``expose/data/utils/bbox.py``
  ``points_to_bbox`` used by ``expose/models/common/bbox_sampler.py`` ``ToCrops``: centre = centre
  of the part keypoints' bbox, side = ``max(w, h) * scale_factor``. Part keypoints follow
  ``expose/data/targets/keypoints.py`` ``get_part_idxs`` (hand = wrist + fingers; head = nose,
  eyes, ears + face landmarks). Scale factors: hand 3.0 and head 2.0 as in open-mmlab/mmhuman3d
  ``configs/expose/expose.py`` (the config that runs the released ExPose weights); ExPose's code
  defaults are 2.0 / 2.0 (``expose/config/defaults.py``, ``predictor.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from furpe_label.experts.geometry.crop_transform import REFERENCE_BOX_SIZE
from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES
from furpe_label.experts.vocabulary import Part

BODY = Part.BODY.keypoint_slice
FACE = Part.FACE.keypoint_slice
# DECA's rule reads the 68 dlib-order landmarks: the face's 70 points without the two pupils.
FACE_LANDMARKS68 = slice(FACE.start, FACE.stop - 2)
_OPENPOSE137 = KEYPOINT_NAMES["openpose137"]
if _OPENPOSE137[FACE_LANDMARKS68.stop :] != ("right_pupil", "left_pupil"):  # pragma: no cover
    raise RuntimeError("OpenPose-137 face must end with the two pupils")
# ExPose's head set: nose, eyes and ears of the body, plus the 70 face points.
HEAD_BODY_IDXS = tuple(
    _OPENPOSE137.index(name) for name in ("nose", "right_eye", "left_eye", "right_ear", "left_ear")
)

SPIN_DETECTION_THRESH = 0.2
SPIN_RESCALE = 1.2
DECA_KPT68_ENLARGE = 1.1
DECA_SCALE = 1.25
FRANKMOCAP_MARGIN_RATIO = 0.2
EXPOSE_HAND_SCALE = 3.0
EXPOSE_HEAD_SCALE = 2.0
DEFAULT_PART_THRESH = 0.2


@dataclass(frozen=True)
class PartBoxes:
    """Boxes of one part for N people.

    Attributes:
        part: the labelled part (the ExPose head box labels the face).
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


def _as_batch(keypoints: np.ndarray, last: int = 3) -> np.ndarray:
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim == 2:
        kp = kp[None]
    if kp.ndim != 3 or kp.shape[-1] != last:
        raise ValueError(f"expected (N, K, {last}) keypoints, got {np.shape(keypoints)}")
    return kp


def _masked_minmax(xy: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, K, 2), (N, K) -> per-person min and max (N, 2); NaN where nothing is valid."""
    lo = np.where(valid[..., None], xy, np.inf).min(axis=1)
    hi = np.where(valid[..., None], xy, -np.inf).max(axis=1)
    none = ~valid.any(axis=1)
    lo[none] = np.nan
    hi[none] = np.nan
    return lo, hi


def _square(center: np.ndarray, side: np.ndarray) -> np.ndarray:
    return np.concatenate([center - side[:, None] / 2.0, np.stack([side, side], axis=1)], axis=1)


def part_keypoints(keypoints: np.ndarray, part: Part | str) -> np.ndarray:
    """(N, 137, 3) -> (N, K, 3) keypoints of ``part`` (all 70 face points for the face)."""
    return _as_batch(keypoints)[:, Part(part).keypoint_slice]


def face_landmarks68(keypoints: np.ndarray) -> np.ndarray:
    """(N, 137, 3) -> (N, 68, 3) the dlib-order face landmarks (no pupils): DECA's input."""
    return _as_batch(keypoints)[:, FACE_LANDMARKS68]


def expose_head_keypoints(keypoints: np.ndarray) -> np.ndarray:
    """(N, 137, 3) -> (N, 75, 3) ExPose's head set: nose, eyes, ears (body) + 70 face points."""
    kp = _as_batch(keypoints)
    return np.concatenate([kp[:, list(HEAD_BODY_IDXS)], kp[:, FACE]], axis=1)


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
    kp = _as_batch(keypoints)[:, BODY]
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
    xywh = _square(center, REFERENCE_BOX_SIZE * scale)
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
    lm = _as_batch(landmarks, last=2)
    ok = np.ones(lm.shape[:2], bool) if valid is None else np.asarray(valid, bool)
    lo, hi = _masked_minmax(lm, ok.reshape(lm.shape[:2]))
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
        Part.FACE, "deca", _square(center, size), center, valid.sum(1).astype(np.int64)
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
    lo, hi = _masked_minmax(kp[..., :2], valid)
    margin = np.trunc(np.max(hi - lo, axis=1, keepdims=True) * margin_ratio)
    x0y0 = np.maximum(lo - margin, 0.0)
    x1y1 = np.minimum(hi + margin, np.array([image_hw[1], image_hw[0]], dtype=np.float64))
    xywh = np.concatenate([x0y0, x1y1 - x0y0], axis=1)
    center = (x0y0 + x1y1) / 2.0
    return PartBoxes(
        Part(f"{side}_hand"), "frankmocap", xywh, center, valid.sum(1).astype(np.int64)
    )


def expose_boxes(
    points: np.ndarray, valid: np.ndarray, scale_factor: float
) -> tuple[np.ndarray, np.ndarray]:
    """ExPose ``points_to_bbox`` on the valid points.

    Args:
        points: (N, K, 2) pixels; valid: (N, K) bool; scale_factor: box enlargement.

    Returns:
        center (N, 2) pixels, size (N,) square side pixels (NaN if no valid point).
    """
    lo, hi = _masked_minmax(np.asarray(points, np.float64), np.asarray(valid, bool))
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
    return PartBoxes(
        Part(f"{side}_hand"), "expose", _square(center, size), center, valid.sum(1).astype(np.int64)
    )


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
        Part.FACE, "expose", _square(center, size), center, valid.sum(1).astype(np.int64)
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
