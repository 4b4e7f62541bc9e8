"""Fusion of the part experts' outputs into one SMPL-X body (wrist and head integration) and
the SMPL->SMPL-X shape transfer."""

from __future__ import annotations

from furpe_label.experts.fusion.config import FusionConfig
from furpe_label.experts.fusion.fuse import FusedSmplx, fuse_parts
from furpe_label.experts.fusion.kinematics import SmplxRig, load_smplx_rig
from furpe_label.experts.fusion.shape_transfer import ShapeTransfer, TransferResult

__all__ = [
    "FusedSmplx",
    "FusionConfig",
    "ShapeTransfer",
    "SmplxRig",
    "TransferResult",
    "fuse_parts",
    "load_smplx_rig",
]
