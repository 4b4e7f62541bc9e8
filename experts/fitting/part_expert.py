"""The keypoint-fitting experts seen through the part-expert protocol (no network weights).

Each fitter (``experts.fitting``: SMPL body, FLAME face, MANO hands) becomes a
:class:`FittingPartExpert` with the same crop rule as the network expert of its part, so its
camera lives in the same crop frame (SPIN's body crop, DECA's face crop, FrankMocap's hand
crop) and the fused labels are built exactly as from the networks. The expert reads no pixels:
its call maps the batch's keypoints into the crop's normalised frame (SPIN's "edges" convention
for the body, "origin" for the face and hands, as the networks) and fits. Its ``sha256`` is the
body-model file it fits; it gives no features (``feature``/``head_feature`` None).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from furpe_label.experts.crops.rules import (
    CropRule,
    DecaFaceCrop,
    FrankMocapHandCrop,
    SpinBodyCrop,
)
from furpe_label.experts.fitting.body import SmplBodyFitter
from furpe_label.experts.fitting.face import FlameFaceFitter
from furpe_label.experts.fitting.hand import ManoHandFitter
from furpe_label.experts.records import ExpertRecord
from furpe_label.experts.vocabulary import Part

__all__ = ["FittingPartExpert", "build_fitting_experts"]


@dataclass(frozen=True)
class FittingPartExpert:
    """One fitter for one part (see the module docstring).

    Args:
        fitter: ``SmplBodyFitter``, ``FlameFaceFitter`` or ``ManoHandFitter``.
        part: the labelled part.
        crop_rule: the network expert's crop rule for that part.
        name: expert name recorded with the labels.
        sha256: SHA-256 of the body-model file the fitter uses.
    """

    fitter: Any
    part: Part
    crop_rule: CropRule
    name: str
    sha256: str
    needs_crops: bool = False

    def __call__(self, batch: Any) -> ExpertRecord:
        from furpe_label.experts.fitting.outputs import crop_keypoints

        convention = "edges" if self.part is Part.BODY else "origin"
        keypoints = crop_keypoints(batch.keypoints, batch.crop_from_image, convention)
        if self.part is Part.BODY:
            result = self.fitter.fit(keypoints, world_landmarks=batch.world_landmarks)
        elif self.part is Part.FACE:
            result = self.fitter.fit(keypoints)
        else:
            is_left = np.full(len(batch), self.part is Part.LEFT_HAND)
            result = self.fitter.fit(keypoints, is_left)
        return ExpertRecord(
            part=self.part,
            expert=self.name,
            params=result.params,
            camera=np.asarray(result.camera, np.float32),
            feature=None,
            checkpoint_sha256=self.sha256,
        )


def build_fitting_experts(
    parts: tuple[Part, ...], models_dir: Path, device: Any, iterations: int, conf_thresh: float
) -> list[FittingPartExpert]:
    """The fitting experts of ``parts`` on the body models in ``models_dir``."""
    device = device or "cpu"
    experts: list[FittingPartExpert] = []
    if Part.BODY in parts:
        fitter = SmplBodyFitter(models_dir, device=device, iterations=iterations)
        rule = SpinBodyCrop(conf_thresh=conf_thresh)
        experts.append(FittingPartExpert(fitter, Part.BODY, rule, "fit-smpl", fitter.model_sha256))
    if Part.FACE in parts:
        fitter = FlameFaceFitter(models_dir, device=device, iterations=iterations)
        rule = DecaFaceCrop(conf_thresh=conf_thresh)
        experts.append(FittingPartExpert(fitter, Part.FACE, rule, "fit-flame", fitter.model_sha256))
    hands = [part for part in (Part.LEFT_HAND, Part.RIGHT_HAND) if part in parts]
    if hands:
        fitter = ManoHandFitter(models_dir, device=device, iterations=iterations)
        sha = fitter.model_sha256
        for part in hands:
            rule = FrankMocapHandCrop(part, conf_thresh=conf_thresh)
            experts.append(FittingPartExpert(fitter, part, rule, "fit-mano", sha))
    return experts
