"""The part-expert protocol: what every expert (network or keypoint fitter) offers the stage.

A :class:`PartExpert` has a ``name``, the :class:`Part` it labels, the SHA-256 of the file it
loaded, a :class:`~furpe_label.experts.crops.rules.CropRule` (keypoints -> realised crop regions
and image -> crop affines), whether it needs the crop pixels, and a call: an
:class:`ExpertBatch` of M instances -> an :class:`ExpertRecord` of M rows. The stage
(:mod:`.part_stage`) loops over a tuple of experts and never asks what kind each one is.

The experts live beside what they run: the network experts (SPIN, DECA, FrankMocap) in
:mod:`furpe_label.experts.networks.part_expert`, the keypoint-fitting experts in
:mod:`furpe_label.experts.fitting.part_expert`. Adding an expert: write its module (a runner or
fitter plus a class satisfying the protocol) and register its builder in
:data:`EXPERT_BUILDERS` (the one registration point).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from furpe_label.experts.crops.rules import CropRule
from furpe_label.experts.networks.runners import DEFAULT_BATCH_SIZE
from furpe_label.experts.records import ExpertRecord
from furpe_label.experts.vocabulary import Part

__all__ = [
    "DEFAULT_FITTING_ITERATIONS",
    "EXPERT_BUILDERS",
    "ExpertBatch",
    "ExpertOptions",
    "PartExpert",
    "build_experts",
]


@dataclass(frozen=True)
class ExpertBatch:
    """M instances of one part, as an expert's call receives them.

    Attributes:
        crops: (M, 224, 224, 3) RGB crops cut by the expert's rule (uint8; float32 in [0, 1]
            for DECA), or None for experts that do not read pixels.
        keypoints: (M, 137, 3) float32 OpenPose-137 ``(x, y, conf)``, pixels of the original
            image.
        crop_from_image: (M, 2, 3) float64 image pixels -> crop pixels (224 x 224; the
            normalised [-1, 1] frame is ``crop_px / 112 - 1``).
        world_landmarks: (M, 33, 3) float32 MediaPipe pose world landmarks, metres (NaN rows
            where the detector gave none), or None.
    """

    crops: np.ndarray | None
    keypoints: np.ndarray
    crop_from_image: np.ndarray
    world_landmarks: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])


class PartExpert(Protocol):
    """One expert for one part (see the module docstring)."""

    @property
    def name(self) -> str: ...

    @property
    def part(self) -> Part: ...

    @property
    def sha256(self) -> str: ...

    @property
    def crop_rule(self) -> CropRule: ...

    @property
    def needs_crops(self) -> bool: ...

    def __call__(self, batch: ExpertBatch) -> ExpertRecord: ...


DEFAULT_FITTING_ITERATIONS = 60
"""Optimiser steps per stage of the keypoint-fitting experts unless the run says otherwise."""


@dataclass(frozen=True)
class ExpertOptions:
    """Where the experts' files are and how they run."""

    experts_dir: Path | str | None = None
    models_dir: Path | str | None = None
    device: str | torch.device | None = None
    fp16: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    conf_thresh: float = 0.2
    fitting_iterations: int = DEFAULT_FITTING_ITERATIONS


# The builders import their expert's module when called: those modules (networks/part_expert.py,
# fitting/part_expert.py) build on this protocol, so importing them here at load time would be
# circular, and a run loads only the experts it names.


def _spin(options: ExpertOptions) -> Sequence[PartExpert]:
    from furpe_label.experts.networks.part_expert import build_spin

    return build_spin(options)


def _deca(options: ExpertOptions) -> Sequence[PartExpert]:
    from furpe_label.experts.networks.part_expert import build_deca

    return build_deca(options)


def _frankmocap(options: ExpertOptions) -> Sequence[PartExpert]:
    from furpe_label.experts.networks.part_expert import build_frankmocap

    return build_frankmocap(options)


def _fitting(parts: tuple[Part, ...]) -> Callable[[ExpertOptions], Sequence[PartExpert]]:
    def build(options: ExpertOptions) -> Sequence[PartExpert]:
        from furpe_label.experts.bodymodels.locate import resolve_models_dir
        from furpe_label.experts.fitting.part_expert import build_fitting_experts

        models = resolve_models_dir(options.models_dir)
        return build_fitting_experts(
            parts, models, options.device, options.fitting_iterations, options.conf_thresh
        )

    return build


EXPERT_BUILDERS: dict[str, Callable[[ExpertOptions], Sequence[PartExpert]]] = {
    "spin": _spin,
    "deca": _deca,
    "frankmocap": _frankmocap,
    "fit-smpl": _fitting((Part.BODY,)),
    "fit-flame": _fitting((Part.FACE,)),
    "fit-mano": _fitting((Part.LEFT_HAND, Part.RIGHT_HAND)),
}
"""Expert name -> builder of its part experts (the one registration point)."""


def build_experts(names: Sequence[str], options: ExpertOptions) -> tuple[PartExpert, ...]:
    """Build the named experts; at most one expert per part.

    Raises:
        ValueError: an unknown name, or two experts for the same part.
    """
    unknown = [name for name in names if name not in EXPERT_BUILDERS]
    if unknown:
        raise ValueError(f"unknown experts {unknown}; known: {sorted(EXPERT_BUILDERS)}")
    experts = [expert for name in names for expert in EXPERT_BUILDERS[name](options)]
    parts = [expert.part for expert in experts]
    doubled = sorted({p.value for p in parts if parts.count(p) > 1})
    if doubled:
        raise ValueError(f"more than one expert for {doubled}")
    return tuple(experts)
