"""The agreement signal's audit columns: per part, how far the keypoint fit run beside the
network expert (initialised from its output) moved the part's 3D joints.

Scored by :class:`furpe_label.experts.fitting.agreement.AgreementFitters` (in a run with network
experts, unless the run turns the extra fit off); judged by the ``max_*_agreement_mm`` rules of
:data:`~furpe_label.selection.signal_rules.SIGNAL_RULES`. Null where no fit ran (no network
expert, no output, the part not reaching the signals, too few keypoints).
"""

from __future__ import annotations

from furpe_label.experts.fitting.agreement import agreement_columns
from furpe_label.experts.vocabulary import Part
from furpe_label.selection.fields import Field

__all__ = ["AGREEMENT_COLUMNS"]

_ROOTS = {Part.BODY: "pelvis", Part.FACE: "landmark centroid"}
"""What the MPJPE aligns (the hands: the wrist); the indices are
:data:`furpe_label.experts.fitting.agreement.AGREEMENT_ROOTS`."""


def _columns() -> list[Field]:
    cols = []
    for part in Part:
        mpjpe, pa = agreement_columns(part)
        what = (
            f"the {part.value.replace('_', ' ')}'s 3D keypoints, network expert vs the keypoint "
            "fit initialised from its output"
        )
        root = _ROOTS.get(part, "wrist")
        cols += [
            Field(
                mpjpe,
                "float32",
                (),
                "mm",
                f"signals: MPJPE of {what}, {root} aligned",
                "signals",
                nullable=True,
            ),
            Field(
                pa, "float32", (), "mm", f"signals: PA-MPJPE of {what}", "signals", nullable=True
            ),
        ]
    return cols


AGREEMENT_COLUMNS: dict[str, Field] = {column.name: column for column in _columns()}
"""The agreement scores (name -> :class:`Field`), mm; NaN where no fit ran."""
