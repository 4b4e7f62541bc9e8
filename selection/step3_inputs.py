"""What step 3 scored a shard's candidate labels with, kept to score variants of them (a swapped
hand, swapped limbs) the same way: :class:`Step3Inputs`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from furpe_label.experts.vocabulary import Part
from furpe_label.selection.config import SelectionConfig
from furpe_label.selection.step3_reprojection import (
    BodyCropFrame,
    Camera,
    project_keypoints,
    score_reprojection,
)

__all__ = ["Step3Inputs"]


@dataclass(frozen=True)
class Step3Inputs:
    """What step 3 scored the candidate with (N rows), to score variants of it the same way.

    Attributes:
        layer: the OpenPose-137 keypoint layer (``flat_hand_mean=True``).
        camera, frame, keypoints2d: as :func:`score_reprojection` takes them.
        transl: (N, 3) metres, the shape transfer's translation (finite).
        config: the confidence thresholds.
        rows: (N,) bool, the rows step 3 scored.
    """

    layer: torch.nn.Module
    camera: Camera
    frame: BodyCropFrame
    keypoints2d: np.ndarray
    transl: np.ndarray
    config: SelectionConfig
    rows: np.ndarray

    def project(self, fused_params: Mapping[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
        """(N, 137, 2) float64 projected keypoints (image pixels) of the parameters
        ``fused_params`` (smplx names, no transl) on ``rows`` (NaN elsewhere)."""
        n = len(self.keypoints2d)
        _, projected = score_reprojection(
            self.layer,
            {**fused_params, "transl": self.transl},
            self.camera,
            self.frame,
            self.keypoints2d,
            np.ones((n, len(Part)), bool),
            self.config,
            rows=rows,
        )
        return projected.astype(np.float64)

    def project_norm(self, fused_params: Mapping[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
        """(N, 137, 2) float64 the same projection in the normalised body crop, without
        step 3's scores (cheaper, for many variants)."""
        params = {**fused_params, "transl": self.transl}
        return project_keypoints(self.layer, params, self.camera, self.frame, rows)
