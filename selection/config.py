"""Thresholds of the three-step selection, with FuRPE's values as defaults.

Two kinds of numbers live here:

* **scoring parameters** — the per-part confidence thresholds that decide which detected
  keypoint is *confident*. Steps 1, 2 (hand visibility) and 3 (which keypoints enter the
  reprojection error) score with them, so changing them needs a re-score (from the stored
  ``keypoints2d``, no model run) before any what-if;
* **keep rules** — every other field: compared against stored scores only, so
  :func:`furpe_label.selection.decisions.what_if` re-decides them without re-scoring.

Each field knows which it is: its metadata names the step whose keep rule reads it
(:func:`step_of`: FuRPE's ``step1``..``step3``, or ``signals`` for the rules beyond FuRPE of
:mod:`furpe_label.selection.signal_rules`, each None = off), or none for a scoring parameter.
The ``audit --what-if`` keys (:data:`WHAT_IF_KEYS`, ``step3.max_mse``) and
:meth:`SelectionConfig.scoring_parameters` are
derived from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import numpy as np

from furpe_label.experts.vocabulary import Part
from furpe_label.selection.columns import Step

__all__ = [
    "DEFAULT_MAX_MSE",
    "DEFAULT_MAX_TEMPORAL_ACCEL",
    "WHAT_IF_KEYS",
    "MseFrame",
    "SelectionConfig",
    "signal_fields",
    "step_of",
]

MseFrame = Literal["norm", "px"]

DEFAULT_MAX_MSE = 0.08
"""Step 3 default: mean squared reprojection distance in the body crop's normalised frame
(see :mod:`furpe_label.selection.step3_reprojection` for how it was chosen)."""


DEFAULT_MAX_TEMPORAL_ACCEL = 4.0
"""Temporal rule default, rad/frame²: drops a single frame flipped by 180° (it scores 2 pi) but
not its two neighbours (pi); see :mod:`furpe_label.selection.temporal`. On the synthetic-model
labels of the 12-frame ``vtest`` clip the tracks' largest value was 1.45."""

_STEP = "furpe_step"
"""The metadata key of a field's step (None for a scoring parameter)."""


_SCORING: dict[str, Any] = {_STEP: None}
"""Metadata of a scoring parameter: steps 1 to 3 score with it (no what-if)."""


def _keep_rule(step: Step) -> dict[str, Any]:
    """Metadata of a keep rule of ``step``: re-decided from stored scores by a what-if."""
    return {_STEP: step}


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
        max_temporal_accel: the temporal rule (video tracks, after step 3) drops a sample
            whose body rotations' angular acceleration along its track is greater than this,
            rad/frame² (:mod:`furpe_label.selection.temporal`); None turns the rule off.

    The signal rules beyond FuRPE (:data:`~furpe_label.selection.signal_rules.SIGNAL_RULES`
    names each one's score column, direction and parts); each is None (off) or a threshold,
    and :meth:`furpe` turns them all off. The defaults were chosen on the label-quality
    simulator (``tests/support/selection_choice.py``; the crop rules have no data there):

        max_wrist_disagreement_rad: suppress a hand whose expert rotation is more than this
            (rad) from the body expert's wrist rotation.
        max_wrist_twist_rad: suppress a hand whose expert rotation, relative to the body
            expert's wrist, twists more than this (rad) about the forearm.
        min_hands_swap_ratio: suppress both hands when the hand keypoints' reprojection error
            with the left and right hand outputs exchanged is below this fraction of the
            error as labelled.
        min_limbs_swap_ratio: drop the sample when the body keypoints' error with the arms (or
            the legs) exchanged left <-> right is below this fraction of the error as labelled.
        max_limbs_swap_gain: drop the sample when that swap improves the body keypoints'
            aligned squared distance by more than this per keypoint (normalised crop unit^2).
        max_arms_swap_bone_gain: drop the sample when exchanging the arms left <-> right
            brings the 2D arm bones (shoulder -> elbow -> wrist) closer to the detected ones
            by more than this (mean per bone, normalised crop units).
        max_arms_swap_hand_gain_rad: drop the sample when exchanging the arms brings the
            body's elbow rotations closer to the hand expert's hand rotations by more than
            this (mean over the hands, rad).
        max_legs_swap_llr: drop the sample when the legs exchanged left <-> right explain the
            leg keypoints better than the label by a log-likelihood ratio above this.
        max_pose_limit_excess_rad: drop the sample when a body joint's axis-angle component
            lies more than this (rad) beyond its anatomical limit.
        max_betas_norm: drop the sample when the body expert's shape vector is longer than this.
        max_head_disagreement_rad: drop the sample when the body's and the face's global head
            rotations are more than this (rad) apart.
        max_crop_outside_fraction: suppress a part (drop the sample for the body) when more
            than this fraction of its crop box lies outside the image.
        min_crop_inside_fraction: suppress a part (drop for the body) when fewer than this
            fraction of its confident keypoints lie inside its crop box.
        max_body_agreement_mm, max_face_agreement_mm, max_hand_agreement_mm: the agreement
            rules (runs with network experts): drop the sample (body) or suppress the face /
            hand when the keypoint fit run beside the network expert, initialised from its
            output, moved the part's 3D keypoints more than this (root-aligned MPJPE, mm;
            :mod:`furpe_label.experts.fitting.agreement`). Off by default: their scale depends
            on the real checkpoints, which the simulator does not model, and one wrong body
            limb barely moves the body's mean (README); set a start in a selection file, from
            which ``calibrate`` tunes them on a dataset with ground truth.
    """

    body_threshold: float = field(default=0.1, metadata=_SCORING)
    hand_threshold: float = field(default=0.2, metadata=_SCORING)
    face_threshold: float = field(default=0.4, metadata=_SCORING)
    min_count: int = field(default=12, metadata=_keep_rule("step1"))
    hand_max_abs: float = field(default=3.15, metadata=_keep_rule("step2"))
    betas_max_abs: float = field(default=3.0, metadata=_keep_rule("step2"))
    rotation_tolerance: float = field(default=1e-3, metadata=_keep_rule("step2"))
    hand_min_keypoints: int = field(default=8, metadata=_keep_rule("step2"))
    max_mse: float = field(default=DEFAULT_MAX_MSE, metadata=_keep_rule("step3"))
    mse_frame: MseFrame = field(default="norm", metadata=_keep_rule("step3"))
    max_temporal_accel: float | None = field(
        default=DEFAULT_MAX_TEMPORAL_ACCEL, metadata=_keep_rule("temporal")
    )
    max_wrist_disagreement_rad: float | None = field(default=1.5, metadata=_keep_rule("signals"))
    max_wrist_twist_rad: float | None = field(default=1.15, metadata=_keep_rule("signals"))
    min_hands_swap_ratio: float | None = field(default=1.0, metadata=_keep_rule("signals"))
    min_limbs_swap_ratio: float | None = field(default=0.1, metadata=_keep_rule("signals"))
    max_limbs_swap_gain: float | None = field(default=0.08, metadata=_keep_rule("signals"))
    max_arms_swap_bone_gain: float | None = field(default=0.12, metadata=_keep_rule("signals"))
    max_arms_swap_hand_gain_rad: float | None = field(default=0.65, metadata=_keep_rule("signals"))
    max_legs_swap_llr: float | None = field(default=3.0, metadata=_keep_rule("signals"))
    max_pose_limit_excess_rad: float | None = field(default=0.35, metadata=_keep_rule("signals"))
    max_betas_norm: float | None = field(default=4.9, metadata=_keep_rule("signals"))
    max_head_disagreement_rad: float | None = field(default=0.96, metadata=_keep_rule("signals"))
    max_crop_outside_fraction: float | None = field(default=None, metadata=_keep_rule("signals"))
    min_crop_inside_fraction: float | None = field(default=0.5, metadata=_keep_rule("signals"))
    max_body_agreement_mm: float | None = field(default=None, metadata=_keep_rule("signals"))
    max_face_agreement_mm: float | None = field(default=None, metadata=_keep_rule("signals"))
    max_hand_agreement_mm: float | None = field(default=None, metadata=_keep_rule("signals"))

    def __post_init__(self) -> None:
        for name in ("body_threshold", "hand_threshold", "face_threshold"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0.0 < value <= 1.0):
                raise ValueError(f"{name} must be a confidence in (0, 1], got {value!r}")
        for name in ("min_count", "hand_min_keypoints"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        limits = ("hand_max_abs", "betas_max_abs", "rotation_tolerance", "max_mse")
        for name in limits:
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite positive number, got {value!r}")
        if self.mse_frame not in ("norm", "px"):
            raise ValueError(f"mse_frame must be 'norm' or 'px', got {self.mse_frame!r}")
        for name in (*signal_fields(), "max_temporal_accel"):
            value = getattr(self, name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if value is not None and not (number and math.isfinite(value) and value >= 0):
                raise ValueError(
                    f"{name} must be a finite number >= 0, or null to turn the rule off, "
                    f"got {value!r}"
                )

    @classmethod
    def furpe(cls, **changes: Any) -> SelectionConfig:
        """FuRPE's three steps alone: every signal rule and the temporal rule off
        (``run --selection furpe``)."""
        off = dict.fromkeys((*signal_fields(), "max_temporal_accel"))
        return cls(**{**off, **changes})

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
        return {f.name: float(getattr(self, f.name)) for f in fields(self) if not step_of(f.name)}

    def to_dict(self) -> dict[str, float | int | str | None]:
        """All fields (for the run directory's recorded config)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SelectionConfig:
        """Inverse of :meth:`to_dict`; missing fields take their defaults.

        Raises:
            ValueError: naming every key that is no field.
        """
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown selection settings {unknown}")
        return cls(**data)


def step_of(name: str) -> Step | None:
    """The step whose keep rule reads field ``name`` (``signals`` for a rule beyond FuRPE);
    None for a scoring parameter."""
    by_name = {f.name: f for f in fields(SelectionConfig)}
    if name not in by_name:
        raise KeyError(f"{name!r} is not a SelectionConfig field")
    return by_name[name].metadata[_STEP]


def signal_fields() -> tuple[str, ...]:
    """The fields of the signal rules beyond FuRPE's steps, in declaration order."""
    return tuple(f.name for f in fields(SelectionConfig) if f.metadata[_STEP] == "signals")


WHAT_IF_KEYS: dict[str, str] = {
    f"{step_of(f.name)}.{f.name}": f.name for f in fields(SelectionConfig) if step_of(f.name)
}
"""``--what-if`` keys (``<step>.<field>``) -> :class:`SelectionConfig` fields: every keep rule
(the confidence thresholds change the scores themselves, so they need a re-run, not a
what-if)."""
