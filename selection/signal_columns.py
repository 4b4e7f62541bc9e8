"""The signal scores' audit columns: one float32 score per rule beyond FuRPE's three steps
(the rules that judge them: :data:`furpe_label.selection.signal_rules.SIGNAL_RULES`; how each
is computed: :mod:`furpe_label.selection.signal_scores`,
:mod:`furpe_label.selection.limb_swap_scores`, :mod:`furpe_label.experts.fitting.agreement`).
"""

from __future__ import annotations

from furpe_label.experts.vocabulary import Part
from furpe_label.selection.agreement_columns import AGREEMENT_COLUMNS
from furpe_label.selection.fields import Field

__all__ = ["SIGNAL_COLUMNS"]

_HANDS = (Part.LEFT_HAND, Part.RIGHT_HAND)


def _score(name: str, unit: str, meaning: str) -> Field:
    return Field(name, "float32", (), unit, f"signals: {meaning}", "signals", nullable=True)


def _signal_columns() -> list[Field]:
    cols = []
    for hand in _HANDS:
        cols.append(
            _score(
                f"wrist_disagreement_rad_{hand.value}",
                "rad",
                f"angle between the body expert's {hand.value.replace('_', ' ')} wrist global "
                "rotation and the hand expert's hand rotation (fusion of every finite part)",
            )
        )
        cols.append(
            _score(
                f"wrist_twist_rad_{hand.value}",
                "rad",
                f"|twist| about the forearm of the {hand.value.replace('_', ' ')} expert's "
                "rotation relative to the body expert's wrist",
            )
        )
    cols += [
        _score(
            "hands_swap_ratio",
            "1",
            "hand keypoints' mean squared reprojection distance with the left and right hand "
            "outputs exchanged, over the distance as fused (both hands finite)",
        ),
        _score(
            "limbs_swap_ratio",
            "1",
            "body keypoints' mean squared reprojection distance with the arms (or the legs, "
            "whichever is lower) exchanged left <-> right and mirrored, over the distance as fused",
        ),
        _score(
            "limbs_swap_gain",
            "unit^2",
            "the same swap's improvement of the aligned squared distance per keypoint, "
            "normalised body crop (the larger of arms and legs)",
        ),
        _score(
            "arms_swap_bone_gain",
            "1",
            "2D arm bones' (shoulder-elbow, elbow-wrist) mean distance to the detected bones "
            "as labelled minus with the arms exchanged left <-> right and mirrored, "
            "normalised body crop units",
        ),
        _score(
            "arms_swap_hand_gain_rad",
            "rad",
            "mean over the hands of the angle between the body's global elbow rotation and the "
            "hand expert's rotation, as labelled minus with the arms exchanged and mirrored",
        ),
        _score(
            "legs_swap_llr",
            "1",
            "log-likelihood ratio of the leg keypoints with the legs exchanged left <-> right "
            "and mirrored over as labelled, the body expert's rotation errors allowed for",
        ),
        _score(
            "pose_limit_excess_rad",
            "rad",
            "largest excess of a body joint's axis-angle component (body expert, joints "
            "1..21) beyond its anatomical limit (experts.fitting.limits); 0 inside",
        ),
        _score("betas_norm", "1", "Euclidean norm of the body expert's shape coefficients"),
        _score(
            "head_disagreement_rad",
            "rad",
            "angle between the body's and the face expert's global head rotation",
        ),
    ]
    for part in Part:
        cols.append(
            _score(
                f"crop_outside_fraction_{part.value}",
                "1",
                f"fraction of the {part.value} crop box's area outside the image",
            )
        )
        cols.append(
            _score(
                f"crop_inside_fraction_{part.value}",
                "1",
                f"fraction of the {part.value}'s confident keypoints inside its crop box",
            )
        )
    return cols + list(AGREEMENT_COLUMNS.values())


SIGNAL_COLUMNS: dict[str, Field] = {column.name: column for column in _signal_columns()}
"""The signal scores (name -> :class:`Field`); NaN where not computed."""
