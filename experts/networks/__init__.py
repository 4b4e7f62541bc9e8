"""The network part experts (SPIN, DECA, FrankMocap): official checkpoints, runners, records."""

from __future__ import annotations

from furpe_label.experts.networks.loading import load_deca, load_frankmocap, load_spin
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
    "HandParams",
    "NetworkExpert",
    "SpinExpert",
    "load_deca",
    "load_frankmocap",
    "load_spin",
]
