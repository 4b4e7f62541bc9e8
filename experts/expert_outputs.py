"""The expert stage's output: every part expert's result row-aligned with N person instances.

This is the one type the later stages read: selection step 2 scores its records, the shape
transfer reads the body record, fusion merges the usable rows, and the label store keeps its
boxes and features. Columns of every (N, 4) array follow :class:`Part` order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from furpe_label.experts.records import ExpertRecord
from furpe_label.experts.vocabulary import Part, Reason

__all__ = ["ExpertOutputs"]

N_PARTS = len(Part)

_ROW_ARRAYS = (
    "reason",
    "detail",
    "boxes",
    "affines",
    "crop_side_px",
    "crop_outside_fraction",
    "crop_keypoints",
    "crop_keypoints_inside",
)


@dataclass
class ExpertOutputs:
    """The part experts' outputs for N instances.

    Attributes:
        reason: (N, 4) object array of :class:`Reason`; ``Reason.OK`` where the part has output.
        detail: (N, 4) object array of str, free text beside a reason ("" if none).
        boxes: (N, 4, 4) float64 realised crop regions, pixel xywh (NaN: no crop).
        affines: (N, 4, 2, 3) float64 image -> crop pixels (NaN: no crop).
        crop_side_px, crop_outside_fraction: (N, 4) float64 crop quality (NaN: no box).
        crop_keypoints, crop_keypoints_inside: (N, 4) int32 confident part keypoints, and those
            inside the box.
        records: part -> the expert's :class:`ExpertRecord` scattered to N rows (NaN where no
            output); absent for parts without an expert (see :meth:`record`).
        experts: part -> (expert name, SHA-256 of its file).
    """

    reason: np.ndarray
    detail: np.ndarray
    boxes: np.ndarray
    affines: np.ndarray
    crop_side_px: np.ndarray
    crop_outside_fraction: np.ndarray
    crop_keypoints: np.ndarray
    crop_keypoints_inside: np.ndarray
    records: dict[Part, ExpertRecord] = field(default_factory=dict)
    experts: dict[Part, tuple[str, str]] = field(default_factory=dict)

    def __len__(self) -> int:
        """Number of instances N."""
        return len(self.reason)

    @classmethod
    def empty(cls, count: int, failure: Sequence[Reason]) -> ExpertOutputs:
        """N rows, every part marked with the instance's failure (or ``EXPERT_DISABLED``)."""
        reason = np.empty((count, N_PARTS), dtype=object)
        for row, why in enumerate(failure):
            reason[row] = Reason.EXPERT_DISABLED if why is Reason.OK else why
        nan = np.full((count, N_PARTS), np.nan)
        return cls(
            reason=reason,
            detail=np.full((count, N_PARTS), "", dtype=object),
            boxes=np.full((count, N_PARTS, 4), np.nan),
            affines=np.full((count, N_PARTS, 2, 3), np.nan),
            crop_side_px=nan.copy(),
            crop_outside_fraction=nan.copy(),
            crop_keypoints=np.zeros((count, N_PARTS), np.int32),
            crop_keypoints_inside=np.zeros((count, N_PARTS), np.int32),
        )

    @property
    def valid(self) -> np.ndarray:
        """(N, 4) bool: the part has an expert output."""
        return self.reason == Reason.OK

    def record(self, part: Part) -> ExpertRecord:
        """The part's N-row record; an all-NaN record (no features) when no expert ran for it.

        A hand record's rows hold that side's hands (``params.is_left`` says so per row).
        """
        record = self.records.get(part)
        if record is not None:
            return record
        name, sha = self.experts.get(part, ("", ""))
        return ExpertRecord.nan(part, name, sha, len(self), features=False)

    @classmethod
    def concat(cls, pieces: Sequence[ExpertOutputs]) -> ExpertOutputs:
        """The outputs of consecutive row blocks as one (records NaN-filled where a block has
        none for a part)."""
        arrays = {
            name: np.concatenate([getattr(piece, name) for piece in pieces]) for name in _ROW_ARRAYS
        }
        experts = {part: who for piece in pieces for part, who in piece.experts.items()}
        records: dict[Part, ExpertRecord] = {}
        for part, (name, sha) in experts.items():
            present = [piece.records[part] for piece in pieces if part in piece.records]
            if not present:
                continue
            features = any(record.feature is not None for record in present)
            records[part] = ExpertRecord.concat(
                [
                    piece.records.get(part)
                    or ExpertRecord.nan(part, name, sha, len(piece), features)
                    for piece in pieces
                ]
            )
        return cls(**arrays, records=records, experts=experts)
