"""Scores of the body expert's pose itself: how far its joints pass their anatomical limits
(:func:`pose_limit_excess`) and how far each hand expert's rotation twists about the forearm
relative to the body's wrist (:func:`wrist_twist`). The rules that judge them:
:data:`furpe_label.selection.signal_rules.SIGNAL_RULES`; the definitions:
:mod:`furpe_label.selection.signal_scores`."""

from __future__ import annotations

import numpy as np
import torch

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.fitting.limits import smpl_body_limits
from furpe_label.experts.fusion.kinematics import LEFT_WRIST, RIGHT_WRIST
from furpe_label.experts.geometry.kinematics import global_rotations
from furpe_label.experts.geometry.rotations import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    twist_swing_decompose,
)
from furpe_label.experts.vocabulary import Part

__all__ = ["pose_limit_excess", "wrist_twist"]

_HANDS = (Part.LEFT_HAND, Part.RIGHT_HAND)
_BODY_JOINTS = 21


def pose_limit_excess(rotmats: np.ndarray) -> np.ndarray:
    """(N,) float32 largest excess (rad) of the body's joints 1..21 beyond their limits.

    Args:
        rotmats: (N, 24, 3, 3) the body expert's SMPL rotation matrices (NaN rows give NaN).
    """
    rot = torch.as_tensor(np.asarray(rotmats, np.float64)[:, 1 : _BODY_JOINTS + 1])
    finite = torch.isfinite(rot).flatten(1).all(1)
    safe = torch.where(finite[:, None, None, None], rot, torch.eye(3, dtype=torch.float64))
    pose = matrix_to_axis_angle(safe).reshape(len(rot), -1).numpy()
    low, high = (bound.numpy()[: 3 * _BODY_JOINTS] for bound in smpl_body_limits())
    excess = np.maximum(np.maximum(low - pose, pose - high), 0.0).max(axis=1)
    return np.where(finite.numpy(), excess, np.nan).astype(np.float32)


def wrist_twist(experts: ExpertOutputs, betas: np.ndarray, rig) -> np.ndarray:
    """(N, 2) float32 |twist| (rad) of each hand expert's rotation relative to the body
    expert's wrist, about the shaped rest forearm (module docstring); NaN without both."""
    n = len(experts)
    rotmats = np.asarray(experts.record(Part.BODY).params.rotmats, np.float64)[:, :22]
    finite = np.isfinite(rotmats).all(axis=(1, 2, 3)) & np.isfinite(betas).all(axis=1)
    eye = np.eye(3)
    local = torch.as_tensor(np.where(finite[:, None, None, None], rotmats, eye))
    body_global = global_rotations(local, rig.parents[:22])
    rest = rig.rest_joints(torch.as_tensor(np.where(finite[:, None], betas, 0.0)))
    out = np.full((n, 2), np.nan, np.float32)
    for side, (hand, wrist) in enumerate(zip(_HANDS, (LEFT_WRIST, RIGHT_WRIST), strict=True)):
        pose = np.asarray(experts.record(hand).params.pose, np.float64)[:, :3]
        ok = finite & np.isfinite(pose).all(1)
        hand_global = axis_angle_to_matrix(torch.as_tensor(np.where(ok[:, None], pose, 0.0)))
        relative = body_global[:, wrist].transpose(-1, -2) @ hand_global
        forearm = local[:, wrist].transpose(-1, -2) @ rig.bone_direction(rest, wrist)[..., None]
        angle, _ = twist_swing_decompose(relative, forearm[..., 0])
        out[ok, side] = np.abs(angle.numpy())[ok]
    return out
