"""What a part expert returns for a batch of B crops (one record per call): the per-part
parameter layouts, each written once here.

Network experts (SPIN, DECA, FrankMocap) and keypoint fitters both produce these records.
Parameters keep the official layout of each expert; no conversion to SMPL-X happens here
(fusion does that). All arrays are numpy, on the CPU, float32 unless stated otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from furpe_label.experts.vocabulary import Part

__all__ = [
    "FEATURE_DIM",
    "HEAD_FEATURE_DIM",
    "PARAMS_FOR_PART",
    "BodyParams",
    "ExpertRecord",
    "FaceParams",
    "HandParams",
]

FEATURE_DIM = 2048
"""Length of :attr:`ExpertRecord.feature` (the pooled ResNet-50 feature)."""
HEAD_FEATURE_DIM = 1024
"""Length of :attr:`ExpertRecord.head_feature` (the stored distillation feature)."""


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
        expression: (B, 50) FLAME expression coefficients (DECA's ``exp``).
        pose: (B, 6) axis-angle radians: [0:3] head (neck) rotation, [3:6] jaw.
        tex: (B, 50) albedo coefficients.
        light: (B, 9, 3) spherical-harmonics lighting (9 bands x RGB).
    """

    shape: np.ndarray
    expression: np.ndarray
    pose: np.ndarray
    tex: np.ndarray
    light: np.ndarray

    SHAPES = {  # noqa: RUF012 (class constant)
        "shape": (100,),
        "expression": (50,),
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


PARAMS_FOR_PART: dict[Part, type] = {
    Part.BODY: BodyParams,
    Part.FACE: FaceParams,
    Part.LEFT_HAND: HandParams,
    Part.RIGHT_HAND: HandParams,
}


def _check_feature(value: np.ndarray | None, name: str, batch: int, dim: int) -> None:
    if value is None:
        return
    if value.shape != (batch, dim) or value.dtype != np.float16:
        found = f"{value.dtype} {value.shape}"
        raise ValueError(f"{name} must be float16 ({batch}, {dim}), got {found}")


@dataclass(frozen=True)
class ExpertRecord:
    """One expert's output for B crops.

    Attributes:
        part: the labelled part. A hand record may hold both hands (the FrankMocap runner
            batches left and right crops together); then ``part`` is the side of the first row
            and ``params.is_left`` gives each row's side.
        expert: expert name ("spin", "deca", "frankmocap", or a keypoint fitter's name).
        params: parameters in the expert's official layout.
        camera: (B, 3) float32 weak-perspective [s, tx, ty] in the expert's normalised
            224 x 224 crop frame ([-1, 1]): all three experts project a model point X to
            s * (X[:2] + [tx, ty]) (DECA then negates y); for left hands, un-mirrored (tx
            negated). For DECA this is the code's ``cam``.
        feature: (B, 2048) float16 pooled ResNet-50 feature, or None (keypoint fitters).
        checkpoint_sha256: hex SHA-256 of the file that produced the record (checkpoint, or
            the body-model file of a keypoint fitter).
        head_feature: (B, 1024) float16 activation of the expert's regressor head, the feature
            FuRPE's trainer distils (``save_feature_*``, 1024 values per part), or None. Which
            layer (a stated choice; FuRPE's extraction script is not public): SPIN ``fc1`` at
            the final iteration; DECA ``E_flame.layers[0]`` (before its ReLU); FrankMocap
            ``main_encoder`` (2048 -> 1024 ``fc1`` after its ReLU).
    """

    part: Part
    expert: str
    params: BodyParams | FaceParams | HandParams
    camera: np.ndarray
    feature: np.ndarray | None
    checkpoint_sha256: str
    head_feature: np.ndarray | None = None

    def __post_init__(self) -> None:
        expected = PARAMS_FOR_PART[self.part]
        if not isinstance(self.params, expected):
            raise TypeError(f"{self.part.value} record needs {expected.__name__}")
        batch = len(self)
        if self.camera.shape != (batch, 3) or self.camera.dtype != np.float32:
            raise ValueError(f"camera must be float32 ({batch}, 3), got {self.camera.shape}")
        _check_feature(self.feature, "feature", batch, FEATURE_DIM)
        _check_feature(self.head_feature, "head_feature", batch, HEAD_FEATURE_DIM)

    def __len__(self) -> int:
        """Number of crops B."""
        first = fields(self.params)[0].name
        return int(getattr(self.params, first).shape[0])

    def take(self, rows: np.ndarray | slice) -> ExpertRecord:
        """A record of the selected crops only (``rows``: indices, bool mask or slice)."""
        params = type(self.params)(
            **{f.name: getattr(self.params, f.name)[rows] for f in fields(self.params)}
        )
        return replace(
            self,
            params=params,
            camera=self.camera[rows],
            feature=None if self.feature is None else self.feature[rows],
            head_feature=None if self.head_feature is None else self.head_feature[rows],
        )

    def scatter(self, rows: np.ndarray, total: int) -> ExpertRecord:
        """A record of ``total`` rows with this record's B rows placed at ``rows`` (B,) int.

        Rows without an output are NaN (float arrays, float16 features included); a hand
        record's ``is_left`` is the record part's side there.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if rows.shape != (len(self),):
            raise ValueError(f"scatter needs {len(self)} row indices, got {rows.shape}")

        def spread(value: np.ndarray | None, fill: float | bool = np.nan) -> np.ndarray | None:
            if value is None:
                return None
            out = np.full((total, *value.shape[1:]), fill, dtype=value.dtype)
            out[rows] = value
            return out

        values = {f.name: getattr(self.params, f.name) for f in fields(self.params)}
        if isinstance(self.params, HandParams):
            params = HandParams(
                pose=spread(values["pose"]),
                shape=spread(values["shape"]),
                is_left=spread(values["is_left"], self.part is Part.LEFT_HAND),
            )
        else:
            params = type(self.params)(**{name: spread(v) for name, v in values.items()})
        return replace(
            self,
            params=params,
            camera=spread(self.camera),
            feature=spread(self.feature),
            head_feature=spread(self.head_feature),
        )

    @staticmethod
    def concat(records: list[ExpertRecord]) -> ExpertRecord:
        """One record of the rows of ``records`` (same part, expert and file), in order."""
        first = records[0]
        if any(
            (r.part, r.expert, r.checkpoint_sha256)
            != (first.part, first.expert, first.checkpoint_sha256)
            for r in records
        ):
            raise ValueError("concat needs records of one expert and part")

        def join(name: str, owner: str = "record") -> np.ndarray | None:
            parts = [getattr(r if owner == "record" else r.params, name) for r in records]
            return None if parts[0] is None else np.concatenate(parts)

        params = type(first.params)(
            **{f.name: join(f.name, "params") for f in fields(first.params)}
        )
        return replace(
            first,
            params=params,
            camera=join("camera"),
            feature=join("feature"),
            head_feature=join("head_feature"),
        )

    @classmethod
    def nan(
        cls, part: Part, expert: str, checkpoint_sha256: str, count: int, features: bool
    ) -> ExpertRecord:
        """A record of ``count`` rows without output (NaN; ``features``: NaN feature arrays,
        else None)."""
        params_type = PARAMS_FOR_PART[part]
        values = {
            name: np.full((count, *shape), np.nan, np.float32)
            for name, shape in params_type.SHAPES.items()
            if name != "is_left"
        }
        if params_type is HandParams:
            values["is_left"] = np.full(count, part is Part.LEFT_HAND)
        nan16 = (
            (lambda dim: np.full((count, dim), np.nan, np.float16))
            if features
            else (lambda dim: None)
        )
        return cls(
            part=part,
            expert=expert,
            params=params_type(**values),
            camera=np.full((count, 3), np.nan, np.float32),
            feature=nan16(FEATURE_DIM),
            checkpoint_sha256=checkpoint_sha256,
            head_feature=nan16(HEAD_FEATURE_DIM),
        )
