"""The run configuration: everything that decides the labels, hashed for resume checks.

:class:`RunConfig` holds what changes the labels (dataset, inputs, models, experts, detector,
thresholds, fusion rules, shard size); where and how fast it runs (cluster, device, batch size,
workers) lives in :class:`~furpe_label.pipeline.cluster.ClusterOptions` and
:class:`RunResources`, outside the hash, so a resumed run may move to another cluster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from furpe_label.pipeline.decode import DecodeLimits

__all__ = ["SYNTHETIC_MODELS", "RunConfig", "RunResources"]

SYNTHETIC_MODELS = "synthetic"
"""``--models synthetic``: use the synthetic body-model family on purpose."""

DEFAULT_SHARD_SIZE = 10_240


@dataclass(frozen=True)
class RunConfig:
    """What the labels depend on (see the module docstring).

    Attributes:
        dataset: adapter name (``samples``, ``image-folder``, ``video``, ``h36m``, ...).
        root: the dataset's root folder (absolute), or None for ``samples``.
        annotations: the annotation file, or None (the adapter finds the official name).
        openpose: a folder of OpenPose JSON files named after the images, or None.
        models: body-model folder (absolute) or ``"synthetic"``.
        experts: expert-checkpoint folder (absolute), or None for the keypoint fitters.
        detector: keypoint source: ``mediapipe``, ``openpose-json``, ``ground-truth``.
        shard_size: samples per shard (= Zarr shard length).
        wrist: wrist integration rule (``adaptive``, ``copy-paste``, ``furpe``).
        head_from_face: take the head rotation from the face expert (PyMAF-X option).
        fitting_iterations: optimiser steps of the keypoint-fitting experts.
        selection: selection thresholds (JSON-able mapping, defaults when empty).
        max_side, min_side: accepted image sides in pixels.
    """

    dataset: str
    root: str | None = None
    annotations: str | None = None
    openpose: str | None = None
    models: str = SYNTHETIC_MODELS
    experts: str | None = None
    detector: Literal["mediapipe", "openpose-json", "ground-truth"] = "mediapipe"
    shard_size: int = DEFAULT_SHARD_SIZE
    wrist: Literal["adaptive", "copy-paste", "furpe"] = "adaptive"
    head_from_face: bool = False
    fitting_iterations: int = 60
    selection: dict[str, Any] = field(default_factory=dict)
    max_side: int = DecodeLimits.max_side
    min_side: int = DecodeLimits.min_side

    def __post_init__(self) -> None:
        if self.shard_size < 1:
            raise ValueError(f"shard size must be >= 1, got {self.shard_size}")
        if self.wrist not in ("adaptive", "copy-paste", "furpe"):
            raise ValueError(f"unknown wrist rule {self.wrist!r}")
        if self.fitting_iterations < 1:
            raise ValueError("fitting iterations must be >= 1")

    @property
    def synthetic_models(self) -> bool:
        return self.models == SYNTHETIC_MODELS

    @property
    def decode_limits(self) -> DecodeLimits:
        return DecodeLimits(min_side=self.min_side, max_side=self.max_side)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict (the run.json ``config`` and the hash input)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        return cls(**data)

    @staticmethod
    def absolute(path: str | Path | None) -> str | None:
        return None if path is None else str(Path(path).expanduser().resolve())


@dataclass(frozen=True)
class RunResources:
    """How a worker runs the models (not part of the labels' identity).

    Attributes:
        device: ``cpu``, ``cuda``, ``cuda:1`` or None (CUDA when present).
        batch_size: crops per network forward.
        fp16: float16 autocast on CUDA.
    """

    device: str | None = None
    batch_size: int = 64
    fp16: bool = False
