"""The network part experts (SPIN, DECA, FrankMocap): official checkpoints and runners.

Their outputs are :mod:`furpe_label.experts.records` (shared with the keypoint fitters).
"""

from __future__ import annotations

from furpe_label.experts.networks.loading import load_deca, load_frankmocap, load_spin
from furpe_label.experts.networks.part_expert import (
    HandNetworkPartExpert,
    NetworkPartExpert,
    build_deca,
    build_frankmocap,
    build_spin,
)
from furpe_label.experts.networks.runners import (
    DecaExpert,
    FrankMocapExpert,
    NetworkExpert,
    SpinExpert,
)

__all__ = [
    "DecaExpert",
    "FrankMocapExpert",
    "HandNetworkPartExpert",
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
