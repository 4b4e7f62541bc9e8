"""Thresholds of the three-step selection, with FuRPE's values as defaults.

Two kinds of numbers live here:

* **scoring parameters** — the per-part confidence thresholds that decide which detected
  keypoint is *confident*. Steps 1, 2 (hand visibility) and 3 (which keypoints enter the
  reprojection error) score with them, so changing them needs a re-score (from the stored
  ``keypoints2d``, no model run) before any what-if;
* **keep rules** — every other field: compared against stored scores only, so
  :func:`furpe_label.selection.decisions.what_if` re-decides them without re-scoring.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from furpe_label.experts.vocabulary import Part

__all__ = ["DEFAULT_MAX_MSE", "MseFrame", "SelectionConfig"]

MseFrame = Literal["norm", "px"]

DEFAULT_MAX_MSE = 0.08
"""Step 3 default: mean squared reprojection distance in the body crop's normalised frame
(see :mod:`furpe_label.selection.step3_reprojection` for how it was chosen)."""


@dataclass(frozen=True)
class SelectionConfig:
    """Selection thresholds.

    Attributes:
        body_threshold: a body keypoint (OpenPose-137 0..24) is confident when its confidence
            is >= this (FuRPE 0.1). Scoring parameter.
        hand_threshold: same for each hand's 21 keypoints (FuRPE 0.2). Scoring parameter.
        face_threshold: same for the 70 face keypoints, pupils included (FuRPE 0.4).
            Scoring parameter.
        min_count: step 1 keeps a person with at least this many confident keypoints over
            all 137 (FuRPE 12).
        hand_max_abs: step 2 suppresses a hand when any of its 45 absolute finger axis-angle
            components (expert output + the mean hand) has ``|x| >= hand_max_abs`` radians
            (FuRPE's loader: 3.15).
        betas_max_abs: step 2 drops the sample when any body shape coefficient has
            ``|beta| > betas_max_abs`` (3 standard deviations).
        rotation_tolerance: step 2 drops the sample when a body rotation matrix is not one:
            ``max |R R^T - I|`` or ``|det R - 1|`` above this.
        hand_min_keypoints: step 2 suppresses a hand as invisible unless MORE than this many
            of its keypoints are confident (FuRPE's loader ``min_hand_keypoints = 8`` with
            ``>``: a hand with <= 8 is invisible).
        max_mse: step 3 drops the sample when its mean squared reprojection distance
            (``mse_frame`` units squared) is greater than this.
        mse_frame: "norm" (body crop normalised to [-1, 1], unit^2) or "px" (image pixels^2).
    """

    body_threshold: float = 0.1
    hand_threshold: float = 0.2
    face_threshold: float = 0.4
    min_count: int = 12
    hand_max_abs: float = 3.15
    betas_max_abs: float = 3.0
    rotation_tolerance: float = 1e-3
    hand_min_keypoints: int = 8
    max_mse: float = DEFAULT_MAX_MSE
    mse_frame: MseFrame = "norm"

    def __post_init__(self) -> None:
        for name in ("body_threshold", "hand_threshold", "face_threshold"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0.0 < value <= 1.0):
                raise ValueError(f"{name} must be a confidence in (0, 1], got {value!r}")
        for name in ("min_count", "hand_min_keypoints"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        for name in ("hand_max_abs", "betas_max_abs", "rotation_tolerance", "max_mse"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite positive number, got {value!r}")
        if self.mse_frame not in ("norm", "px"):
            raise ValueError(f"mse_frame must be 'norm' or 'px', got {self.mse_frame!r}")

    def part_thresholds(self) -> np.ndarray:
        """(4,) float64 confidence thresholds in :class:`Part` order (body, face, hands)."""
        by_part = {
            Part.BODY: self.body_threshold,
            Part.FACE: self.face_threshold,
            Part.LEFT_HAND: self.hand_threshold,
            Part.RIGHT_HAND: self.hand_threshold,
        }
        return np.array([by_part[part] for part in Part], dtype=np.float64)

    def scoring_parameters(self) -> dict[str, float]:
        """The fields scores depend on (a what-if needs them unchanged)."""
        return {
            "body_threshold": float(self.body_threshold),
            "hand_threshold": float(self.hand_threshold),
            "face_threshold": float(self.face_threshold),
        }

    def to_dict(self) -> dict[str, float | int | str]:
        """All fields (for the run directory's recorded config)."""
        return asdict(self)
