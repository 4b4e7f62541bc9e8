"""The part experts' outputs, row-aligned with N person instances, as fusion takes them.

Layouts are the experts' own (``experts/networks/records.py``): SPIN rotation matrices and
crop camera, DECA ``pose``/``exp``, FrankMocap 48-D hand poses (left hands already
un-mirrored). ``part_valid`` says which rows of each part are usable (column order of
:class:`~furpe_label.experts.vocabulary.Part`); values in unusable rows are ignored (they may
be NaN), values in usable rows must be finite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from furpe_label.experts.networks.records import (
    BodyParams,
    ExpertRecord,
    FaceParams,
    HandParams,
)
from furpe_label.experts.vocabulary import Part

__all__ = ["PartOutputs"]

_SHAPES = {
    "body_rotmats": (24, 3, 3),
    "body_camera": (3,),
    "face_pose": (6,),
    "face_expression": (50,),
    "left_hand_pose": (48,),
    "right_hand_pose": (48,),
}
_FIELD_PART = {
    "body_rotmats": Part.BODY,
    "body_camera": Part.BODY,
    "face_pose": Part.FACE,
    "face_expression": Part.FACE,
    "left_hand_pose": Part.LEFT_HAND,
    "right_hand_pose": Part.RIGHT_HAND,
}


@dataclass(frozen=True)
class PartOutputs:
    """Expert outputs of N person instances.

    Attributes:
        body_rotmats: (N, 24, 3, 3) SPIN SMPL rotation matrices, 0 = global orient (body
            camera frame: x right, y down), 1..23 local.
        body_camera: (N, 3) SPIN weak-perspective ``[s, tx, ty]`` in the body crop's
            normalised frame.
        face_pose: (N, 6) DECA axis-angle radians: [0:3] FLAME global (head) rotation in DECA's
            camera frame (y up), [3:6] jaw.
        face_expression: (N, 50) DECA FLAME expression coefficients.
        left_hand_pose, right_hand_pose: (N, 48) FrankMocap axis-angle radians: [0:3] hand global
            rotation in the hand crop's camera frame (x right, y down), [3:48] 15 finger joints
            relative to the MANO mean hand; left hands un-mirrored.
        part_valid: (N, 4) bool usable rows per part (body, face, left hand, right hand).
    """

    body_rotmats: np.ndarray
    body_camera: np.ndarray
    face_pose: np.ndarray
    face_expression: np.ndarray
    left_hand_pose: np.ndarray
    right_hand_pose: np.ndarray
    part_valid: np.ndarray

    def __post_init__(self) -> None:
        n = len(self)
        if self.part_valid.shape != (n, 4) or self.part_valid.dtype != np.bool_:
            raise ValueError(
                f"part_valid must be a ({n}, 4) bool array, got {self.part_valid.shape} "
                f"{self.part_valid.dtype}"
            )
        for name, trailing in _SHAPES.items():
            value = getattr(self, name)
            if not isinstance(value, np.ndarray) or value.shape != (n, *trailing):
                shape = getattr(value, "shape", type(value).__name__)
                raise ValueError(f"{name} must be a ({n}, {trailing}) array, got {shape}")
            usable = self.part_valid[:, _FIELD_PART[name].column]
            bad = np.flatnonzero(usable & ~np.isfinite(value.reshape(n, -1)).all(axis=1))
            if len(bad):
                raise ValueError(
                    f"{name}: rows {bad[:10].tolist()} (of {len(bad)}) are marked usable but hold "
                    "NaN or infinite values; selection step 2 must suppress them first"
                )

    def __len__(self) -> int:
        """Number of person instances N."""
        return int(self.body_rotmats.shape[0]) if self.body_rotmats.ndim else 0

    @classmethod
    def from_records(cls, records: Mapping[Part, ExpertRecord], usable: np.ndarray) -> PartOutputs:
        """From expert records row-aligned with the N instances.

        Args:
            records: ``{part: record}``, each record with N rows (the expert stage's records
                scattered to the instances, NaN where a part has no output); both hands may
                come from one FrankMocap record (``params.is_left`` must match the side on
                usable rows). A part without a record is unusable in every row.
            usable: (N, 4) bool usable rows per part, e.g. selection step 2's verdict.

        Returns:
            PartOutputs (NaN in the rows and parts without an output).
        """
        usable = np.asarray(usable, dtype=bool)
        n = usable.shape[0]
        arrays = {name: np.full((n, *shape), np.nan, np.float32)
                  for name, shape in _SHAPES.items()}  # fmt: skip
        valid = np.zeros((n, 4), dtype=bool)
        for part, record in records.items():
            if len(record) != n:
                raise ValueError(f"{part.value}: record has {len(record)} rows, expected {n}")
            params, rows = record.params, usable[:, part.column]
            if part is Part.BODY and isinstance(params, BodyParams):
                arrays["body_rotmats"][:] = params.rotmats
                arrays["body_camera"][:] = record.camera
            elif part is Part.FACE and isinstance(params, FaceParams):
                arrays["face_pose"][:] = params.pose
                arrays["face_expression"][:] = params.exp
            elif part.is_hand and isinstance(params, HandParams):
                if np.any(params.is_left[rows] != (part is Part.LEFT_HAND)):
                    raise ValueError(f"{part.value}: usable rows hold hands of the other side")
                arrays[f"{part.value}_pose"][:] = params.pose
            else:
                raise TypeError(f"{part.value}: unexpected {type(params).__name__} record")
            valid[:, part.column] = rows
        return cls(part_valid=valid, **arrays)
