"""The network part experts (SPIN, DECA, FrankMocap): official checkpoints, runners, records,
and the runners seen through the part-expert protocol (``part_expert``)."""

from __future__ import annotations

from furpe_label.experts.networks.loading import load_deca, load_frankmocap, load_spin
from furpe_label.experts.networks.part_expert import (
    HandNetworkPartExpert,
    NetworkPartExpert,
    build_deca,
    build_frankmocap,
    build_spin,
)
from furpe_label.experts.networks.records import BodyParams, ExpertRecord, FaceParams, HandParams
from furpe_label.experts.networks.runners import (
    DecaExpert,
    FrankMocapExpert,
    NetworkExpert,
    SpinExpert,
)

__all__ = [
    "BodyParams",
    "DecaExpert",
    "ExpertRecord",
    "FaceParams",
    "FrankMocapExpert",
    "HandNetworkPartExpert",
    "HandParams",
    "NetworkExpert",
    "NetworkPartExpert",
    "SpinExpert",
    "build_deca",
    "build_frankmocap",
    "build_spin",
    "load_deca",
    "load_frankmocap",
    "load_spin",
]
