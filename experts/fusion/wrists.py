"""Wrist integration: put the hand expert's global hand rotation on the body's arm.

Three rules (:data:`~.config.WRIST_RULES`), all batched over N rows and both sides:

* ``"furpe"`` — what FuRPE's public code does (indigo-99/FuRPE,
  ``data/postprocess_pseudo_frankhand.py``): the body expert's wrists are kept, the hand's
  global rotation (FrankMocap ``pred_hand_pose[:3]``) is dropped; only the fingers are pasted.
* ``"copy-paste"`` — FrankMocap (``integration/copy_and_paste.py``, ``transfer_rotation``
  'g2l'): wrist local rotation ``R_wrist = G_elbow.T @ H`` with ``H`` the hand's global
  rotation, so the SMPL-X wrist's global rotation becomes exactly ``H``.
* ``"adaptive"`` — PyMAF-X (``models/pymaf_net.py``, ``ADAPT_INTEGR``; ``utils/geometry.py``
  ``compute_twist_rotation``): start from copy-paste, split ``R_wrist`` into a twist about
  the elbow->wrist bone and a swing; where the twist angle exceeds ``+-twist_limit`` the excess
  ``e`` moves into the elbow: ``R_elbow <- R_elbow @ T(e)``, ``R_wrist <- T(e).T @ R_wrist``
  with ``T(e)`` the rotation by ``e`` about the bone. ``G_wrist`` stays ``H`` and, since
  ``T(e)`` fixes the bone, no joint moves; only skin that the elbow's twist deforms does.

Where a hand is not usable, its wrist and elbow keep the body expert's rotations.

The hand's global rotation is read in the hand crop's camera frame. All crops of this project
are axis-aligned (``experts/crops/warps.py``: SPIN's box, DECA's similarity and FrankMocap's
square crop are scale + translation, no in-plane rotation; left hands are un-mirrored by the
expert runner), and SPIN and FrankMocap both project ``s * (X[:2] + t)`` with x right, y down,
so a rotation in a hand crop's camera frame is the same rotation in the body camera frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from furpe_label.experts.fusion.config import WRIST_RULES, WristRule
from furpe_label.experts.fusion.kinematics import (
    LEFT_ELBOW,
    LEFT_WRIST,
    RIGHT_ELBOW,
    RIGHT_WRIST,
)
from furpe_label.experts.geometry.rotations import rotation_about_axis, twist_swing_decompose

__all__ = ["WristResult", "integrate_wrists", "limit_wrist_twist"]

ELBOWS = (LEFT_ELBOW, RIGHT_ELBOW)
WRISTS = (LEFT_WRIST, RIGHT_WRIST)


@dataclass(frozen=True)
class WristResult:
    """Body local rotations after wrist integration.

    Attributes:
        body_local: (N, 22, 3, 3) local rotations, joints 0..21 (elbows/wrists changed).
        twist_excess: (N, 2) radians (left, right) moved from the wrist into the elbow
            (``adaptive`` only; 0 elsewhere and for unusable hands).
    """

    body_local: torch.Tensor
    twist_excess: torch.Tensor


def limit_wrist_twist(
    elbow_local: torch.Tensor,
    wrist_local: torch.Tensor,
    bone_axis: torch.Tensor,
    twist_limit: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PyMAF-X's adaptive split: keep the wrist's twist within ``[-twist_limit, twist_limit]``.

    Args:
        elbow_local: (N, 3, 3) elbow local rotations.
        wrist_local: (N, 3, 3) wrist local rotations (in the elbow's frame).
        bone_axis: (N, 3) elbow->wrist rest-pose bone direction (the twist axis in the
            elbow's local frame).
        twist_limit: radians, >= 0.

    Returns:
        elbow_local (N, 3, 3) ``R_elbow @ T(e)``, wrist_local (N, 3, 3) ``T(e).T @ R_wrist``,
        and the excess ``e`` (N,) radians: ``angle - clamp(angle, -limit, limit)``.
    """
    angle, _ = twist_swing_decompose(wrist_local, bone_axis)
    excess = angle - angle.clamp(-twist_limit, twist_limit)
    twist = rotation_about_axis(bone_axis, excess)
    return elbow_local @ twist, twist.transpose(-1, -2) @ wrist_local, excess


def integrate_wrists(
    body_local: torch.Tensor,
    body_global: torch.Tensor,
    hand_global: torch.Tensor,
    hand_usable: torch.Tensor,
    bone_axes: torch.Tensor,
    rule: WristRule,
    twist_limit: float,
) -> WristResult:
    """Apply one wrist rule to both sides.

    Args:
        body_local: (N, 22, 3, 3) the body expert's local rotations (SMPL/SMPL-X joints 0..21).
        body_global: (N, 22, 3, 3) their global rotations (``kinematics.global_rotations``).
        hand_global: (N, 2, 3, 3) hand global rotations (left, right) in the body camera frame.
        hand_usable: (N, 2) bool; False keeps the body's elbow and wrist for that side.
        bone_axes: (N, 2, 3) unit elbow->wrist rest-pose directions (left, right).
        rule: one of :data:`WRIST_RULES`.
        twist_limit: radians, used by ``adaptive``.

    Returns:
        :class:`WristResult`.
    """
    if rule not in WRIST_RULES:
        raise ValueError(f"unknown wrist rule {rule!r}; choose one of {WRIST_RULES}")
    excess = body_local.new_zeros(body_local.shape[0], 2)
    if rule == "furpe":
        return WristResult(body_local, excess)
    out = body_local.clone()
    for side, (elbow, wrist) in enumerate(zip(ELBOWS, WRISTS, strict=True)):
        use = hand_usable[:, side]
        elbow_local = body_local[:, elbow]
        wrist_local = body_global[:, elbow].transpose(-1, -2) @ hand_global[:, side]
        if rule == "adaptive":
            elbow_local, wrist_local, side_excess = limit_wrist_twist(
                elbow_local, wrist_local, bone_axes[:, side], twist_limit
            )
            excess[:, side] = torch.where(use, side_excess, torch.zeros_like(side_excess))
        keep = use[:, None, None]
        out[:, elbow] = torch.where(keep, elbow_local, body_local[:, elbow])
        out[:, wrist] = torch.where(keep, wrist_local, body_local[:, wrist])
    return WristResult(out, excess)
