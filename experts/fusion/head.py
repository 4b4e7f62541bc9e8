"""The face expert's head rotation in the body's frame (PyMAF-X's optional head integration).

DECA (yfeng95/DECA) predicts FLAME's global rotation ``pose[0:3]`` with the neck at rest, so it
is the global rotation of the whole head. DECA's camera has y (and z) opposite to the body
expert's: ``decalib/deca.py`` projects ``s * (X[:2] + t)`` and then negates y and z, whereas
SPIN and FrankMocap project with y pointing down the image. Both frames differ by the half turn
``F = diag(1, -1, -1)`` about x, so the head's global rotation in the body camera frame is
``F @ R_deca``. FLAME's model frame is SMPL-X's (y up, facing +z), and the face crop is
axis-aligned (DECA's similarity warp has no rotation, ``experts/crops/warps.py``), so no other
change is needed.

PyMAF-X (``models/pymaf_net.py``, ``OPT_HEAD``) replaces the SMPL-X *head* joint (15):
``R_head = G_neck.T @ G_head_from_face`` with ``G_neck`` the global rotation of the neck (12).
"""

from __future__ import annotations

import torch

from furpe_label.experts.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

__all__ = ["DECA_TO_BODY_CAMERA", "head_global_from_deca", "head_local_from_face", "rotation_angle"]

DECA_TO_BODY_CAMERA = torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))
"""(3, 3) DECA camera frame (y up, z to the viewer) -> body camera frame (y down, z away)."""


def head_global_from_deca(deca_head_pose: torch.Tensor) -> torch.Tensor:
    """(N, 3) DECA ``pose[0:3]`` axis-angle radians -> (N, 3, 3) head global rotation in the
    body camera frame (``F @ R_deca``)."""
    flip = DECA_TO_BODY_CAMERA.to(deca_head_pose)
    return flip @ axis_angle_to_matrix(deca_head_pose)


def head_local_from_face(neck_global: torch.Tensor, deca_head_pose: torch.Tensor) -> torch.Tensor:
    """SMPL-X head (joint 15) local rotation that makes its global rotation the face's.

    Args:
        neck_global: (N, 3, 3) global rotation of the neck (joint 12).
        deca_head_pose: (N, 3) DECA ``pose[0:3]``, axis-angle radians, DECA camera frame.

    Returns:
        (N, 3, 3) ``G_neck.T @ F @ R_deca``.
    """
    return neck_global.transpose(-1, -2) @ head_global_from_deca(deca_head_pose)


def rotation_angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N,) radians in [0, pi] of the relative rotation ``a.T @ b`` of (N, 3, 3) rotations."""
    return matrix_to_axis_angle(a.transpose(-1, -2) @ b).norm(dim=-1)
