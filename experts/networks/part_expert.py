"""The network part experts: a SPIN / DECA / FrankMocap runner seen through the protocol.

:class:`NetworkPartExpert` wraps one loaded runner (``runners``) with the official crop rule of
its part (``experts.crops.rules``); :class:`HandNetworkPartExpert` serves one hand side of the
FrankMocap runner. ``build_spin`` / ``build_deca`` / ``build_frankmocap`` load a runner from
:class:`~furpe_label.experts.part_experts.ExpertOptions` and are registered in
:data:`furpe_label.experts.part_experts.EXPERT_BUILDERS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from furpe_label.experts.crops.rules import (
    CropRule,
    DecaFaceCrop,
    FrankMocapHandCrop,
    SpinBodyCrop,
)
from furpe_label.experts.networks.loading import load_deca, load_frankmocap, load_spin
from furpe_label.experts.networks.runners import DecaExpert, FrankMocapExpert, SpinExpert
from furpe_label.experts.records import ExpertRecord
from furpe_label.experts.vocabulary import Part

if TYPE_CHECKING:  # the protocol module registers the builders below: no runtime import back
    from furpe_label.experts.part_experts import ExpertBatch, ExpertOptions

__all__ = [
    "HandNetworkPartExpert",
    "NetworkPartExpert",
    "build_deca",
    "build_frankmocap",
    "build_spin",
]


@dataclass(frozen=True)
class NetworkPartExpert:
    """A network runner (SPIN / DECA / FrankMocap) seen through the protocol.

    Args:
        runner: the loaded runner; one FrankMocap runner may serve both hands.
        part: the part this instance labels.
        crop_rule: the runner's official crop rule for that part.
    """

    runner: SpinExpert | DecaExpert | FrankMocapExpert
    part: Part
    crop_rule: CropRule
    needs_crops: bool = True

    @property
    def name(self) -> str:
        return self.runner.name

    @property
    def sha256(self) -> str:
        return self.runner.checkpoint_sha256

    def __call__(self, batch: ExpertBatch) -> ExpertRecord:
        if batch.crops is None:
            raise ValueError(f"{self.name} needs crops")
        return self.runner(batch.crops)


@dataclass(frozen=True)
class HandNetworkPartExpert(NetworkPartExpert):
    """A FrankMocap runner for one side: its crops are mirrored once inside the runner."""

    runner: FrankMocapExpert

    def __call__(self, batch: ExpertBatch) -> ExpertRecord:
        if batch.crops is None:
            raise ValueError(f"{self.name} needs crops")
        return self.runner(batch.crops, np.full(len(batch), self.part is Part.LEFT_HAND))


def build_spin(options: ExpertOptions) -> list[NetworkPartExpert]:
    """SPIN's body expert from ``options.experts_dir``."""
    runner = load_spin(options.experts_dir, options.device, options.fp16, options.batch_size)
    return [NetworkPartExpert(runner, Part.BODY, SpinBodyCrop(conf_thresh=options.conf_thresh))]


def build_deca(options: ExpertOptions) -> list[NetworkPartExpert]:
    """DECA's face expert from ``options.experts_dir``."""
    runner = load_deca(options.experts_dir, options.device, options.fp16, options.batch_size)
    return [NetworkPartExpert(runner, Part.FACE, DecaFaceCrop(conf_thresh=options.conf_thresh))]


def build_frankmocap(options: ExpertOptions) -> list[HandNetworkPartExpert]:
    """FrankMocap's two hand experts (one runner) from ``options.experts_dir``."""
    runner = load_frankmocap(options.experts_dir, options.device, options.fp16, options.batch_size)
    return [
        HandNetworkPartExpert(
            runner, side, FrankMocapHandCrop(side, conf_thresh=options.conf_thresh)
        )
        for side in (Part.LEFT_HAND, Part.RIGHT_HAND)
    ]
