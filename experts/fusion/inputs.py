"""What fusion reads of the expert stage's output, and the checks it makes before merging.

Fusion reads :class:`~furpe_label.experts.expert_outputs.ExpertOutputs` as the stage wrote it
(the experts' own layouts, :mod:`furpe_label.experts.records`): SPIN's rotation matrices and
crop camera, DECA's ``pose`` / ``expression``, FrankMocap's 48-D hand poses (left hands already
un-mirrored). A usable mask (N, 4) says which rows of each part to merge (column order of
:class:`~furpe_label.experts.vocabulary.Part`); values in other rows are ignored (they may be
NaN), values in usable rows must be finite.
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.records import PARAMS_FOR_PART
from furpe_label.experts.vocabulary import Part

__all__ = ["fused_array", "usable_parts"]

_FUSED = {
    Part.BODY: ("rotmats", "camera"),
    Part.FACE: ("pose", "expression"),
    Part.LEFT_HAND: ("pose",),
    Part.RIGHT_HAND: ("pose",),
}
"""The record values fusion merges per part (``camera``: the record's crop camera)."""


def fused_array(experts: ExpertOutputs, part: Part, name: str) -> np.ndarray:
    """(N, ...) float32 value ``name`` of :data:`_FUSED` of the part's record (NaN: none)."""
    record = experts.record(part)
    value = record.camera if name == "camera" else getattr(record.params, name)
    return np.asarray(value, dtype=np.float32)


def usable_parts(experts: ExpertOutputs, usable: np.ndarray | None = None) -> np.ndarray:
    """The (N, 4) bool rows fusion merges, after checking them.

    Args:
        experts: the expert stage's output for N instances. A hand record may hold both hands
            (``params.is_left`` must match the side on usable rows).
        usable: (N, 4) bool rows to merge per part, e.g. selection step 2's verdict; default
            every part with an expert output (``experts.valid``).

    Returns:
        ``usable`` restricted to the parts that have a record (a part without one is unusable
        in every row).

    Raises:
        ValueError: a mask of the wrong shape or dtype, a record of the wrong length, a hand
            of the other side or a non-finite value in a usable row.
        TypeError: a record whose parameters are not its part's layout.
    """
    n = len(experts)
    usable = experts.valid if usable is None else usable
    if not isinstance(usable, np.ndarray) or usable.shape != (n, 4) or usable.dtype != np.bool_:
        shape, dtype = getattr(usable, "shape", None), getattr(usable, "dtype", type(usable))
        raise ValueError(f"usable must be a ({n}, 4) bool array, got {shape} {dtype}")
    valid = np.zeros((n, 4), dtype=bool)
    for part, record in experts.records.items():
        if len(record) != n:
            raise ValueError(f"{part.value}: record has {len(record)} rows, expected {n}")
        if not isinstance(record.params, PARAMS_FOR_PART[part]):
            raise TypeError(f"{part.value}: unexpected {type(record.params).__name__} record")
        rows = usable[:, part.column]
        if part.is_hand and np.any(record.params.is_left[rows] != (part is Part.LEFT_HAND)):
            raise ValueError(f"{part.value}: usable rows hold hands of the other side")
        for name in _FUSED[part]:
            value = fused_array(experts, part, name)
            bad = np.flatnonzero(rows & ~np.isfinite(value.reshape(n, -1)).all(axis=1))
            if len(bad):
                raise ValueError(
                    f"{part.value}_{name}: rows {bad[:10].tolist()} (of {len(bad)}) are marked "
                    "usable but hold NaN or infinite values; selection step 2 must suppress "
                    "them first"
                )
        valid[:, part.column] = rows
    return valid
