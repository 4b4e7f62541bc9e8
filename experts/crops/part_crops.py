"""Every part crop of one image: boxes, quality, warped network inputs, named refusals.

For P persons with OpenPose-137 keypoints this makes, per part, the crop boxes by the expert's
own rule (SPIN body, DECA face, FrankMocap hands; :mod:`.boxes`), a :class:`CropQuality` per
person (:mod:`.quality`), and the 224 x 224 RGB network inputs of the persons whose crop is
usable (:mod:`.warps`). A person whose crop is not made keeps a named reason, so nothing is
dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from furpe_label.experts.crops.boxes import (
    PartBoxes,
    part_boxes_from_openpose,
    part_keypoints,
    spin_body_center_scale,
)
from furpe_label.experts.crops.quality import REASON_OK, CropQuality, assess_crops
from furpe_label.experts.crops.warps import (
    NETWORK_INPUT_SIZE,
    deca_inputs,
    frankmocap_inputs,
    spin_input,
)

PARTS = ("body", "face", "left_hand", "right_hand")
"""Crop parts, in the order of the label store's ``part_valid`` columns."""

REASON_CROP_FAILED = "crop_failed"
_CROP_DTYPE = {"body": np.uint8, "face": np.float32, "left_hand": np.uint8, "right_hand": np.uint8}


@dataclass(frozen=True)
class PartCrops:
    """One part's crops for the P persons of one image.

    Attributes:
        part: one of :data:`PARTS`.
        boxes: (P, 4) float64 crop boxes, pixel ``xywh`` of the original image (NaN: no box).
        affines: (P, 2, 3) float64 image -> crop pixel transforms (NaN rows: no crop made).
        quality: P :class:`CropQuality` records.
        reasons: P strings: ``"ok"`` for persons with a crop, else why there is none (the
            crop-quality reason or ``"crop_failed: <message>"``).
        person_index: (M,) int64 persons (indices into P) that have a crop, ascending.
        crops: (M, 224, 224, 3) RGB network inputs of those persons: uint8, except the face's
            float32 in [0, 1] (DECA's float warp).
    """

    part: str
    boxes: np.ndarray
    affines: np.ndarray
    quality: tuple[CropQuality, ...]
    reasons: tuple[str, ...]
    person_index: np.ndarray
    crops: np.ndarray

    @property
    def usable(self) -> np.ndarray:
        """(P,) bool: the person has a crop."""
        return np.array([reason == REASON_OK for reason in self.reasons], dtype=bool)


def _warp(
    part: str, image: np.ndarray, keypoints: np.ndarray, boxes: PartBoxes, person: int
) -> tuple[np.ndarray, np.ndarray]:
    """One (224, 224, 3) crop and its (2, 3) affine for ``person`` by the part's rule.

    ``keypoints``: (P, 137, 3); the body crop takes SPIN's own center/scale from them rather
    than re-deriving the scale from the box side (SPIN truncates ``200 * scale`` to pixels).
    """
    if part == "body":
        center, scale, _ = spin_body_center_scale(keypoints[person : person + 1])
        return spin_input(image, center[0], float(scale[0]))
    if part == "face":
        crops, tforms = deca_inputs(
            image, boxes.center[person : person + 1], boxes.side[person : person + 1]
        )
        return crops[0], tforms[0, :2]
    crops, affines, _ = frankmocap_inputs(image, boxes.xywh[person : person + 1])
    return crops[0], affines[0]


def crops_for_part(
    part: str, image: np.ndarray, keypoints: np.ndarray, boxes: PartBoxes, conf_thresh: float
) -> PartCrops:
    """Quality-check and warp one part's boxes (see :class:`PartCrops`)."""
    n_persons = keypoints.shape[0]
    quality = tuple(
        assess_crops(boxes.xywh, part_keypoints(keypoints, part), image.shape[:2], conf_thresh)
    )
    reasons = [q.reason for q in quality]
    affines = np.full((n_persons, 2, 3), np.nan)
    crops = []
    for person in range(n_persons):
        if reasons[person] != REASON_OK:
            continue
        try:
            crop, affines[person] = _warp(part, image, keypoints, boxes, person)
        except ValueError as error:
            reasons[person] = f"{REASON_CROP_FAILED}: {error}"
            continue
        crops.append(crop)
    person_index = np.array([p for p in range(n_persons) if reasons[p] == REASON_OK], np.int64)
    size = NETWORK_INPUT_SIZE
    return PartCrops(
        part=part,
        boxes=boxes.xywh,
        affines=affines,
        quality=quality,
        reasons=tuple(reasons),
        person_index=person_index,
        crops=np.stack(crops) if crops else np.zeros((0, size, size, 3), _CROP_DTYPE[part]),
    )


def make_part_crops(
    image: np.ndarray, keypoints: np.ndarray, conf_thresh: float = 0.2
) -> dict[str, PartCrops]:
    """All parts' crops of one image.

    Args:
        image: (H, W, 3) uint8 RGB.
        keypoints: (P, 137, 3) OpenPose-137 ``(x, y, conf)``, pixels of ``image``.
        conf_thresh: confidence above which face/hand keypoints count (body: SPIN's 0.2).

    Returns:
        ``{part: PartCrops}`` for every part of :data:`PARTS`.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64).reshape(-1, 137, 3)
    if keypoints.shape[0] == 0:
        empty = np.zeros((0, 4))
        boxes = {
            p: PartBoxes(p, "none", empty, np.zeros((0, 2)), np.zeros(0, np.int64)) for p in PARTS
        }
    else:
        boxes = part_boxes_from_openpose(keypoints, image.shape[:2], conf_thresh)
    return {
        part: crops_for_part(part, image, keypoints, boxes[part], conf_thresh) for part in PARTS
    }
