"""The run configuration: everything that decides the labels, hashed for resume checks.

:class:`RunConfig` holds what changes the labels (dataset, inputs, models, experts, detector,
shard size) and, as typed members, the selection thresholds (:class:`SelectionConfig`), the
fusion rules (:class:`FusionConfig`), the accepted image sides (:class:`DecodeLimits`) and the
keypoint stage's duplicate-person rule (:class:`DuplicateConfig`).
Where and how fast it runs (cluster, device, batch size, workers) lives in
:class:`~furpe_label.pipeline.cluster.ClusterOptions` and :class:`RunResources`, outside the
hash, so a resumed run may move to another cluster.

Every default is written once, beside what it configures, and read here, by the command line
and by the library: the shard size (:data:`~furpe_label.storage.shards.DEFAULT_SHARD_SIZE`),
the fitting iterations (:data:`~furpe_label.experts.part_experts.DEFAULT_FITTING_ITERATIONS`),
the wrist rule (:data:`~furpe_label.experts.fusion.config.DEFAULT_WRIST_RULE`), the batch size
(:data:`~furpe_label.experts.networks.runners.DEFAULT_BATCH_SIZE`), the thresholds and sides
(the members' own defaults).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from furpe_label.experts.bodymodels.specs import SYNTHETIC_MANIFEST
from furpe_label.experts.fusion.config import FusionConfig
from furpe_label.experts.networks.runners import DEFAULT_BATCH_SIZE
from furpe_label.experts.part_experts import DEFAULT_FITTING_ITERATIONS
from furpe_label.pipeline.decode import DecodeLimits
from furpe_label.selection.config import SelectionConfig
from furpe_label.selection.duplicates import DuplicateConfig
from furpe_label.selection.whole_person import WholePersonConfig
from furpe_label.storage.shards import DEFAULT_SHARD_SIZE

__all__ = ["SYNTHETIC_MODELS", "RunConfig", "RunResources"]

KEYPOINT_SOURCES = ("mediapipe", "openpose-json", "ground-truth")
"""Where a run's whole-body keypoints come from (``--detector``): MediaPipe, the user's OpenPose
JSON files, or the dataset's own keypoints."""
DEFAULT_KEYPOINT_SOURCE = "mediapipe"
OPENPOSE_SOURCE = "openpose-json"
SYNTHETIC_MODELS = "synthetic"
"""``--models synthetic``: use the synthetic body-model family on purpose."""

_MEMBERS: dict[str, type] = {
    "selection": SelectionConfig,
    "fusion": FusionConfig,
    "decode_limits": DecodeLimits,
    "duplicates": DuplicateConfig,
    "whole_person": WholePersonConfig,
}
"""The typed members: field name -> their class (a dict of its fields in :meth:`as_dict`)."""

_LEGACY_KEYS: dict[str, tuple[str, str]] = {
    "wrist": ("fusion", "wrist"),
    "head_from_face": ("fusion", "head_from_face"),
    "min_side": ("decode_limits", "min_side"),
    "max_side": ("decode_limits", "max_side"),
}
"""Flat keys of run.json files written before the typed members -> (member, field)."""


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
        fitting_iterations: optimiser steps of the keypoint-fitting experts.
        selection: the three-step selection's thresholds.
        fusion: how parts are merged (wrist rule, head source).
        decode_limits: accepted image sides in pixels.
        duplicates: the keypoint stage's one-candidate-per-person rule (OKS threshold).
        whole_person: when a box cuts its person (grow it once, else ``person_cut_by_box``).
        allow_outside_root: ``--allow-outside-root``: label files the annotations name outside
            ``root`` instead of giving them the reason ``outside_root``.
        agreement_fit: with network experts (``experts`` set), also fit each part to its
            keypoints from the network's output, for the agreement scores
            (:mod:`furpe_label.experts.fitting.agreement`); False saves that cost and leaves
            the ``agreement_*`` columns null. No effect with the fitting experts.
    """

    dataset: str
    root: str | None = None
    annotations: str | None = None
    openpose: str | None = None
    models: str = SYNTHETIC_MODELS
    experts: str | None = None
    detector: str = DEFAULT_KEYPOINT_SOURCE
    shard_size: int = DEFAULT_SHARD_SIZE
    fitting_iterations: int = DEFAULT_FITTING_ITERATIONS
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    decode_limits: DecodeLimits = field(default_factory=DecodeLimits)
    duplicates: DuplicateConfig = field(default_factory=DuplicateConfig)
    whole_person: WholePersonConfig = field(default_factory=WholePersonConfig)
    allow_outside_root: bool = False
    agreement_fit: bool = True

    def __post_init__(self) -> None:
        if self.shard_size < 1:
            raise ValueError(f"shard size must be >= 1, got {self.shard_size}")
        if self.fitting_iterations < 1:
            raise ValueError("fitting iterations must be >= 1")
        if self.detector not in KEYPOINT_SOURCES:
            raise ValueError(
                f"unknown keypoint source {self.detector!r}: one of {KEYPOINT_SOURCES}"
            )
        for name, kind in _MEMBERS.items():
            if not isinstance(getattr(self, name), kind):
                raise TypeError(
                    f"RunConfig.{name} must be a {kind.__name__}, got "
                    f"{type(getattr(self, name)).__name__}"
                )

    @property
    def synthetic_models(self) -> bool:
        """``--models synthetic``: the run writes and uses the synthetic family itself."""
        return self.models == SYNTHETIC_MODELS

    @property
    def synthetic_labels(self) -> bool:
        """The labels come from synthetic body models: ``--models synthetic``, or a folder the
        synthetic family was written to (``synth-models DIR`` leaves its manifest there)."""
        return self.synthetic_models or (Path(self.models) / SYNTHETIC_MANIFEST).is_file()

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict (the run.json ``config`` and the hash input); each typed member is
        a dict of its fields (``{"shard_size": ..., "selection": {"max_mse": ...}, ...}``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Inverse of :meth:`as_dict` (also reads the flat keys of older run.json files).

        Raises:
            ValueError: naming every key that is no setting.
        """
        data = dict(data)
        members: dict[str, dict[str, Any]] = {
            name: dict(data.pop(name, None) or {}) for name in _MEMBERS
        }
        for key, (member, name) in _LEGACY_KEYS.items():
            if key in data:
                members[member].setdefault(name, data.pop(key))
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        for name, kind in _MEMBERS.items():
            known = {f.name for f in fields(kind)}
            unknown += [f"{name}.{key}" for key in sorted(set(members[name]) - known)]
        if unknown:
            raise ValueError(f"unknown run settings {unknown}")
        built = {name: kind(**members[name]) for name, kind in _MEMBERS.items()}
        return cls(**data, **built)

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
    batch_size: int = DEFAULT_BATCH_SIZE
    fp16: bool = False
