"""What a network part expert returns for a batch of B crops (one record per call).

Parameters keep the official layout of each expert; no conversion to SMPL-X happens here
(fusion does that). All arrays are numpy, on the CPU, float32 unless stated otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum

import numpy as np

__all__ = ["BodyParams", "ExpertRecord", "FaceParams", "HandParams", "Part"]


class Part(StrEnum):
    """Which body part an expert labels."""

    BODY = "body"
    FACE = "face"
    HAND = "hand"


def _check(owner: object, batch: int | None = None) -> int:
    """Check every array field of a params dataclass against its declared trailing shape."""
    shapes: dict[str, tuple[int, ...]] = owner.SHAPES  # type: ignore[attr-defined]
    for field in fields(owner):  # type: ignore[arg-type]
        value = getattr(owner, field.name)
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{type(owner).__name__}.{field.name} must be a numpy array")
        if batch is None:
            batch = value.shape[0] if value.ndim else -1
        if value.shape != (batch, *shapes[field.name]):
            raise ValueError(
                f"{type(owner).__name__}.{field.name} has shape {value.shape}, "
                f"expected {(batch, *shapes[field.name])}"
            )
    return int(batch if batch is not None else 0)


@dataclass(frozen=True)
class BodyParams:
    """SPIN body parameters.

    Attributes:
        rotmats: (B, 24, 3, 3) SMPL joint rotation matrices (0 = global orient, 1..23 body).
        betas: (B, 10) SMPL shape coefficients.
    """

    rotmats: np.ndarray
    betas: np.ndarray

    SHAPES = {"rotmats": (24, 3, 3), "betas": (10,)}  # noqa: RUF012 (class constant)

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class FaceParams:
    """DECA coarse code without its camera (the camera is :attr:`ExpertRecord.camera`).

    Attributes:
        shape: (B, 100) FLAME identity coefficients.
        exp: (B, 50) FLAME expression coefficients.
        pose: (B, 6) axis-angle radians: [0:3] head (neck) rotation, [3:6] jaw.
        tex: (B, 50) albedo coefficients.
        light: (B, 9, 3) spherical-harmonics lighting (9 bands x RGB).
    """

    shape: np.ndarray
    exp: np.ndarray
    pose: np.ndarray
    tex: np.ndarray
    light: np.ndarray

    SHAPES = {  # noqa: RUF012 (class constant)
        "shape": (100,),
        "exp": (50,),
        "pose": (6,),
        "tex": (50,),
        "light": (9, 3),
    }

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class HandParams:
    """FrankMocap hand parameters, already un-mirrored for left hands.

    Attributes:
        pose: (B, 48) axis-angle radians: [0:3] hand global rotation in the crop's camera
            frame, [3:48] 15 finger joints, relative to the mean hand (``flat_hand_mean=False``).
        shape: (B, 10) hand shape coefficients.
        is_left: (B,) bool, True for left hands.
    """

    pose: np.ndarray
    shape: np.ndarray
    is_left: np.ndarray

    SHAPES = {"pose": (48,), "shape": (10,), "is_left": ()}  # noqa: RUF012 (class constant)

    def __post_init__(self) -> None:
        _check(self)
        if self.is_left.dtype != np.bool_:
            raise TypeError("HandParams.is_left must be a bool array")


@dataclass(frozen=True)
class ExpertRecord:
    """One expert's output for B crops.

    Attributes:
        part: the labelled part.
        expert: expert name ("spin", "deca", "frankmocap").
        params: parameters in the expert's official layout.
        camera: (B, 3) float32 weak-perspective [s, tx, ty] in the expert's normalised
            224 x 224 crop frame ([-1, 1]): all three experts project a model point X to
            s * (X[:2] + [tx, ty]) (DECA then negates y); for left hands, un-mirrored (tx
            negated). For DECA this is the code's ``cam``.
        feature: (B, 2048) float16 pooled ResNet-50 feature (for feature distillation).
        checkpoint_sha256: hex SHA-256 of the checkpoint file that produced the record.
    """

    part: Part
    expert: str
    params: BodyParams | FaceParams | HandParams
    camera: np.ndarray
    feature: np.ndarray
    checkpoint_sha256: str

    def __post_init__(self) -> None:
        expected = {Part.BODY: BodyParams, Part.FACE: FaceParams, Part.HAND: HandParams}
        if not isinstance(self.params, expected[self.part]):
            raise TypeError(f"{self.part.value} record needs {expected[self.part].__name__}")
        batch = len(self)
        if self.camera.shape != (batch, 3) or self.camera.dtype != np.float32:
            raise ValueError(f"camera must be float32 ({batch}, 3), got {self.camera.shape}")
        if self.feature.shape != (batch, 2048) or self.feature.dtype != np.float16:
            raise ValueError(f"feature must be float16 ({batch}, 2048), got {self.feature.shape}")

    def __len__(self) -> int:
        """Number of crops B."""
        first = fields(self.params)[0].name
        return int(getattr(self.params, first).shape[0])

    def take(self, rows: np.ndarray | slice) -> ExpertRecord:
        """A record of the selected crops only (``rows``: indices, bool mask or slice)."""
        params = type(self.params)(
            **{f.name: getattr(self.params, f.name)[rows] for f in fields(self.params)}
        )
        return replace(self, params=params, camera=self.camera[rows], feature=self.feature[rows])
