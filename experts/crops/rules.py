"""Crop rules: keypoints -> the crop region each expert really cuts, and the cut itself.

A rule plans first, without pixels: for P persons of one image it returns a :class:`CropPlan`
holding the *realised* crop region (SPIN's integer box after its truncations, DECA's similarity
square, FrankMocap's squared box with its margin and clipping), the image -> crop affine of that
region, the crop quality and a :class:`Reason` per person. :meth:`CropRule.cut` then makes the
224 x 224 network input of one planned person with the official warp, whose affine equals the
planned one (tests check it), so the box a label stores is the box that was cropped.

Rules (origins in :mod:`.boxes` and :mod:`.warps`): :class:`SpinBodyCrop`,
:class:`DecaFaceCrop`, :class:`FrankMocapHandCrop` (one per side).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from furpe_label.experts.crops.boxes import (
    DEFAULT_PART_THRESH,
    PartBoxes,
    deca_face_boxes,
    frankmocap_hand_boxes,
    spin_body_center_scale,
)
from furpe_label.experts.crops.part_keypoints import face_landmarks68, part_keypoints
from furpe_label.experts.crops.quality import CropQuality, assess_crops
from furpe_label.experts.crops.warps import (
    NETWORK_INPUT_SIZE,
    deca_inputs,
    deca_transform,
    frankmocap_box,
    frankmocap_input,
    spin_input,
)
from furpe_label.experts.geometry.crop_transform import REFERENCE_BOX_SIZE, spin_crop_corners
from furpe_label.experts.vocabulary import Part, Reason

__all__ = ["CropPlan", "CropRule", "DecaFaceCrop", "FrankMocapHandCrop", "SpinBodyCrop"]


@dataclass(frozen=True)
class CropPlan:
    """Where one rule crops the P persons of one image.

    Attributes:
        part: the labelled part.
        rule: the rule's name ("spin", "deca", "frankmocap").
        boxes: (P, 4) float64 realised crop regions, pixel ``xywh`` of the original image
            (NaN where no crop is made).
        affines: (P, 2, 3) float64 image pixels -> 224 x 224 crop pixels (NaN rows: no crop).
        center: (P, 2) float64 the rule's crop centre, pixels (NaN: none).
        scale: (P,) float64 the rule's size parameter: SPIN ``scale`` (side / 200), DECA side
            in pixels, FrankMocap the longer side of its pre-crop box (NaN: none).
        rule_boxes: (P, 4) float64 the rule's box before realisation (xywh, pixels).
        quality: P :class:`CropQuality` records (of the rule box).
        reasons: P :class:`Reason` members, ``Reason.OK`` where a crop will be made.
        details: P strings, free text beside a reason ("" when there is none).
    """

    part: Part
    rule: str
    boxes: np.ndarray
    affines: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    rule_boxes: np.ndarray
    quality: tuple[CropQuality, ...]
    reasons: tuple[Reason, ...]
    details: tuple[str, ...]

    @property
    def usable(self) -> np.ndarray:
        """(P,) bool: the person gets a crop."""
        return np.array([r is Reason.OK for r in self.reasons], dtype=bool)


class CropRule(Protocol):
    """Plans and cuts one part's crops (see the module docstring)."""

    name: str
    part: Part

    def plan(self, keypoints: np.ndarray, image_hw: tuple[int, int]) -> CropPlan:
        """(P, 137, 3) OpenPose-137 pixels + (H, W) -> the plan of the P persons."""
        ...

    def cut(self, image: np.ndarray, plan: CropPlan, person: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB image -> (224, 224, 3) crop of a planned person: uint8, or
        float32 in [0, 1] for DECA (its official float warp)."""
        ...


def _square(center: np.ndarray, side: float) -> np.ndarray:
    return np.array([center[0] - side / 2.0, center[1] - side / 2.0, side, side])


def _scaled_affine(x0: float, y0: float, sx: float, sy: float) -> np.ndarray:
    """Affine of a resize of the pixel region starting at integer (x0, y0) by (sx, sy)."""
    return np.array([[sx, 0.0, (0.5 - x0) * sx - 0.5], [0.0, sy, (0.5 - y0) * sy - 0.5]])


def _plan(
    rule: str,
    boxes: PartBoxes,
    rule_keypoints: np.ndarray,
    image_hw: tuple[int, int],
    conf_thresh: float,
    scale: np.ndarray,
    realise: Callable[[int], tuple[np.ndarray, np.ndarray]],
) -> CropPlan:
    """Quality-check the rule boxes, then realise the usable ones (``realise(person)``)."""
    count = boxes.xywh.shape[0]
    quality = tuple(assess_crops(boxes.xywh, rule_keypoints, image_hw, conf_thresh))
    reasons = [q.reason for q in quality]
    details = [""] * count
    regions = np.full((count, 4), np.nan)
    affines = np.full((count, 2, 3), np.nan)
    for person in range(count):
        if reasons[person] is not Reason.OK:
            continue
        try:
            regions[person], affines[person] = realise(person)
        except ValueError as error:
            reasons[person], details[person] = Reason.CROP_FAILED, str(error)
    return CropPlan(
        part=boxes.part,
        rule=rule,
        boxes=regions,
        affines=affines,
        center=boxes.center,
        scale=scale,
        rule_boxes=boxes.xywh,
        quality=quality,
        reasons=tuple(reasons),
        details=tuple(details),
    )


@dataclass(frozen=True)
class SpinBodyCrop:
    """SPIN body crop: ``bbox_from_openpose`` centre/scale, integer box, resize to 224."""

    name: str = "spin"
    part: Part = Part.BODY
    conf_thresh: float = DEFAULT_PART_THRESH

    def plan(self, keypoints: np.ndarray, image_hw: tuple[int, int]) -> CropPlan:
        center, scale, count = spin_body_center_scale(keypoints)
        side = REFERENCE_BOX_SIZE * scale
        xywh = np.concatenate([center - side[:, None] / 2.0, np.stack([side, side], 1)], 1)
        boxes = PartBoxes(Part.BODY, self.name, xywh, center, count)
        res = NETWORK_INPUT_SIZE

        def realise(person: int) -> tuple[np.ndarray, np.ndarray]:
            ul, br = spin_crop_corners(center[person], float(scale[person]), (res, res))
            width, height = float(br[0] - ul[0]), float(br[1] - ul[1])
            if width < 1 or height < 1:
                raise ValueError(f"SPIN box is empty: ul={ul}, br={br}")
            region = np.array([ul[0], ul[1], width, height], np.float64)
            return region, _scaled_affine(ul[0], ul[1], res / width, res / height)

        rule_kps = part_keypoints(keypoints, Part.BODY)
        return _plan(self.name, boxes, rule_kps, image_hw, self.conf_thresh, scale, realise)

    def cut(self, image: np.ndarray, plan: CropPlan, person: int) -> np.ndarray:
        return spin_input(image, plan.center[person], float(plan.scale[person]))[0]


@dataclass(frozen=True)
class DecaFaceCrop:
    """DECA face crop: square of side ``int(1.25 * 1.1 * mean landmark extent)``, similarity
    warp to 224."""

    name: str = "deca"
    part: Part = Part.FACE
    conf_thresh: float = DEFAULT_PART_THRESH

    def plan(self, keypoints: np.ndarray, image_hw: tuple[int, int]) -> CropPlan:
        boxes = deca_face_boxes(keypoints, self.conf_thresh)
        side = boxes.side

        def realise(person: int) -> tuple[np.ndarray, np.ndarray]:
            if not side[person] > 0:
                raise ValueError(f"DECA face box has side {side[person]}")
            tform = deca_transform(boxes.center[person], float(side[person]))
            return _square(boxes.center[person], float(side[person])), tform[:2]

        rule_kps = face_landmarks68(keypoints)
        return _plan(self.name, boxes, rule_kps, image_hw, self.conf_thresh, side, realise)

    def cut(self, image: np.ndarray, plan: CropPlan, person: int) -> np.ndarray:
        rows = slice(person, person + 1)
        return deca_inputs(image, plan.center[rows], plan.scale[rows])[0][0]


@dataclass(frozen=True)
class FrankMocapHandCrop:
    """FrankMocap hand crop: ``get_hand_bboxes`` box, squared with a 0.3 margin, resized to 224
    (no mirroring here: the FrankMocap runner mirrors left hands once)."""

    part: Part = Part.RIGHT_HAND
    name: str = "frankmocap"
    conf_thresh: float = DEFAULT_PART_THRESH

    def plan(self, keypoints: np.ndarray, image_hw: tuple[int, int]) -> CropPlan:
        if not self.part.is_hand:
            raise ValueError(f"FrankMocapHandCrop needs a hand part, got {self.part}")
        side = "left" if self.part is Part.LEFT_HAND else "right"
        boxes = frankmocap_hand_boxes(keypoints, side, image_hw, self.conf_thresh)
        res = NETWORK_INPUT_SIZE

        def realise(person: int) -> tuple[np.ndarray, np.ndarray]:
            min_x, min_y, max_x, max_y = frankmocap_box(boxes.xywh[person], image_hw)
            new_size = max(max_x - min_x, max_y - min_y)
            if new_size < 1:
                raise ValueError(f"FrankMocap hand box is empty: {boxes.xywh[person]}")
            region = np.array([min_x, min_y, new_size, new_size], np.float64)
            ratio = res / new_size
            return region, _scaled_affine(min_x, min_y, ratio, ratio)

        rule_kps = part_keypoints(keypoints, self.part)
        return _plan(self.name, boxes, rule_kps, image_hw, self.conf_thresh, boxes.side, realise)

    def cut(self, image: np.ndarray, plan: CropPlan, person: int) -> np.ndarray:
        return frankmocap_input(image, plan.rule_boxes[person])[0]
