"""The keep / suppress rules beyond FuRPE's three steps: one registry, one decision function.

Each rule (:class:`SignalRule`) is a :class:`~furpe_label.selection.config.SelectionConfig`
field (its threshold; None = off), a stored score column (:data:`SIGNAL_COLUMNS`, ``{part}``
filled per part where the score is per part), a direction (``above``: flag when the score is
greater than the threshold; ``below``: flag when it is smaller), the parts it judges and its
effect: ``drop`` drops the sample, ``suppress`` suppresses the flagged part's label (for the
body that drops the sample, as in FuRPE's step 2). A NaN score (not computed: no such part
output, no crop) never flags. Scores are compared in float64 (the stored float32 values
widened exactly), so the report page's JavaScript decides the same rows.

The rules act after FuRPE's step 3, on what the three steps kept: a what-if that turns every
rule off (``SelectionConfig.furpe()``) gives FuRPE's decisions exactly. A sweep over the rules
(a calibration) can read everything it needs from :data:`SIGNAL_RULES`.

=============================  ==============================  =========  ==========  ===========
field                          score column                    direction  parts       effect
=============================  ==============================  =========  ==========  ===========
max_wrist_disagreement_rad     wrist_disagreement_rad_{part}   above      hands       suppress
max_wrist_twist_rad            wrist_twist_rad_{part}          above      hands       suppress
min_hands_swap_ratio           hands_swap_ratio                below      both hands  suppress
min_limbs_swap_ratio           limbs_swap_ratio                below      body        drop
max_limbs_swap_gain            limbs_swap_gain                 above      body        drop
max_arms_swap_bone_gain        arms_swap_bone_gain             above      body        drop
max_arms_swap_hand_gain_rad    arms_swap_hand_gain_rad         above      body        drop
max_legs_swap_llr              legs_swap_llr                   above      body        drop
max_pose_limit_excess_rad      pose_limit_excess_rad           above      body        drop
max_betas_norm                 betas_norm                      above      body        drop
max_head_disagreement_rad      head_disagreement_rad           above      body        drop
max_crop_outside_fraction      crop_outside_fraction_{part}    above      each part   suppress
min_crop_inside_fraction       crop_inside_fraction_{part}     below      each part   suppress
max_body_agreement_mm          agreement_body_mm               above      body        drop
max_face_agreement_mm          agreement_face_mm               above      face        suppress
max_hand_agreement_mm          agreement_{part}_mm             above      hands       suppress
=============================  ==============================  =========  ==========  ===========

How each score is computed: :mod:`furpe_label.selection.signal_scores` and
:mod:`furpe_label.selection.limb_swap_scores`; the agreement scores:
:mod:`furpe_label.experts.fitting.agreement` (columns: :mod:`.agreement_columns`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from furpe_label.experts.vocabulary import Part, Reason
from furpe_label.selection.fields import REASONS, Field
from furpe_label.selection.signal_columns import SIGNAL_COLUMNS

__all__ = [
    "SIGNAL_COLUMNS",
    "SIGNAL_DECISION_COLUMNS",
    "SIGNAL_RULES",
    "SignalRule",
    "rule_columns",
    "signal_status",
]

_HANDS = (Part.LEFT_HAND, Part.RIGHT_HAND)
_ALL = tuple(Part)


@dataclass(frozen=True)
class SignalRule:
    """One rule beyond FuRPE's steps (see the module docstring).

    Attributes:
        field: the :class:`SelectionConfig` field holding its threshold (None = off).
        column: the score column; ``{part}`` is filled with each judged part's name.
        direction: ``above`` (flag when score > threshold) or ``below`` (score < threshold).
        parts: the parts it judges (a column without ``{part}`` judges them all at once).
        effect: ``drop`` (the sample) or ``suppress`` (the flagged parts; body = drop).
        reason: the :class:`Reason` a flagged part or sample carries.
    """

    field: str
    column: str
    direction: Literal["above", "below"]
    parts: tuple[Part, ...]
    effect: Literal["drop", "suppress"]
    reason: Reason

    def columns(self) -> dict[Part, str]:
        """Judged part -> the column whose score decides it."""
        return {part: self.column.format(part=part.value) for part in self.parts}

    def flags(self, values: np.ndarray, threshold: float) -> np.ndarray:
        """(N,) bool: the rule fires on scores ``values`` (NaN never fires)."""
        scores = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            if self.direction == "above":
                return scores > float(threshold)
            return scores < float(threshold)

    def to_json(self) -> dict[str, Any]:
        """JSON-able description (the report page applies the rules from it)."""
        return {
            "field": self.field,
            "direction": self.direction,
            "effect": self.effect,
            "reason": self.reason.value,
            "columns": [self.columns().get(part) for part in Part],
        }


SIGNAL_RULES: tuple[SignalRule, ...] = (
    SignalRule(
        "max_wrist_disagreement_rad",
        "wrist_disagreement_rad_{part}",
        "above",
        _HANDS,
        "suppress",
        Reason.WRIST_DISAGREEMENT,
    ),
    SignalRule(
        "max_wrist_twist_rad",
        "wrist_twist_rad_{part}",
        "above",
        _HANDS,
        "suppress",
        Reason.WRIST_DISAGREEMENT,
    ),
    SignalRule(
        "min_hands_swap_ratio",
        "hands_swap_ratio",
        "below",
        _HANDS,
        "suppress",
        Reason.HANDS_SWAPPED,
    ),
    SignalRule(
        "min_limbs_swap_ratio",
        "limbs_swap_ratio",
        "below",
        (Part.BODY,),
        "drop",
        Reason.LIMBS_SWAPPED,
    ),
    SignalRule(
        "max_limbs_swap_gain",
        "limbs_swap_gain",
        "above",
        (Part.BODY,),
        "drop",
        Reason.LIMBS_SWAPPED,
    ),
    SignalRule(
        "max_arms_swap_bone_gain",
        "arms_swap_bone_gain",
        "above",
        (Part.BODY,),
        "drop",
        Reason.LIMBS_SWAPPED,
    ),
    SignalRule(
        "max_arms_swap_hand_gain_rad",
        "arms_swap_hand_gain_rad",
        "above",
        (Part.BODY,),
        "drop",
        Reason.LIMBS_SWAPPED,
    ),
    SignalRule(
        "max_legs_swap_llr",
        "legs_swap_llr",
        "above",
        (Part.BODY,),
        "drop",
        Reason.LIMBS_SWAPPED,
    ),
    SignalRule(
        "max_pose_limit_excess_rad",
        "pose_limit_excess_rad",
        "above",
        (Part.BODY,),
        "drop",
        Reason.IMPLAUSIBLE_POSE,
    ),
    SignalRule(
        "max_betas_norm", "betas_norm", "above", (Part.BODY,), "drop", Reason.IMPLAUSIBLE_SHAPE
    ),
    SignalRule(
        "max_head_disagreement_rad",
        "head_disagreement_rad",
        "above",
        (Part.BODY,),
        "drop",
        Reason.EXPERTS_DISAGREE,
    ),
    SignalRule(
        "max_crop_outside_fraction",
        "crop_outside_fraction_{part}",
        "above",
        _ALL,
        "suppress",
        Reason.CROP_TRUNCATED,
    ),
    SignalRule(
        "min_crop_inside_fraction",
        "crop_inside_fraction_{part}",
        "below",
        _ALL,
        "suppress",
        Reason.CROP_MISSES_KEYPOINTS,
    ),
    SignalRule(
        "max_body_agreement_mm",
        "agreement_body_mm",
        "above",
        (Part.BODY,),
        "drop",
        Reason.FIT_DISAGREEMENT,
    ),
    SignalRule(
        "max_face_agreement_mm",
        "agreement_face_mm",
        "above",
        (Part.FACE,),
        "suppress",
        Reason.FIT_DISAGREEMENT,
    ),
    SignalRule(
        "max_hand_agreement_mm",
        "agreement_{part}_mm",
        "above",
        _HANDS,
        "suppress",
        Reason.FIT_DISAGREEMENT,
    ),
)
"""Every rule beyond FuRPE, in the order they are tried (the first that fires names the
reason)."""


SIGNAL_DECISION_COLUMNS: dict[str, Field] = {
    f"signal_status_{part.value}": Field(
        f"signal_status_{part.value}",
        "category",
        (),
        "",
        f"signal rules: ok, or the first rule beyond FuRPE that suppresses the {part.value} "
        "(for the body: drops the sample)",
        "signals",
        nullable=True,
        categories=REASONS,
    )
    for part in Part
}

if {c for r in SIGNAL_RULES for c in r.columns().values()} - set(
    SIGNAL_COLUMNS
):  # pragma: no cover
    raise RuntimeError("every signal rule needs its score column")


def rule_columns() -> dict[str, dict[Part, str]]:
    """Config field -> (judged part -> score column), for sweeps over the rules."""
    return {rule.field: rule.columns() for rule in SIGNAL_RULES}


def signal_status(columns: Mapping[str, np.ndarray], config: Any, n: int) -> np.ndarray:
    """(N, 4) :class:`Reason` per :class:`Part`: ``ok``, or the first rule that fires.

    Args:
        columns: the signal score columns (a missing one reads as NaN: never fires).
        config: a :class:`SelectionConfig` (its signal fields; None = rule off).
        n: rows.

    The body column is the sample's verdict (a ``drop`` rule, or a ``suppress`` rule on the
    body); :func:`~furpe_label.selection.decisions.combine` applies it after step 3.
    """
    status = np.full((n, len(Part)), Reason.OK, dtype=object)
    nan = np.full(n, np.nan)
    for rule in reversed(SIGNAL_RULES):  # the first rule that fires wins
        threshold = getattr(config, rule.field)
        if threshold is None:
            continue
        for part, name in rule.columns().items():
            fired = rule.flags(columns.get(name, nan), threshold)
            if rule.effect == "drop":
                status[fired, Part.BODY.column] = rule.reason
            else:
                status[fired, part.column] = rule.reason
    return status
