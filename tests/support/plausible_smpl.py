"""Plausible random SMPL bodies for the transfer tests and benchmark.

Poses are small Gaussians around the rest pose plus natural ranges for the limbs that move
most (hip flexion, knee and elbow bending, arms lowered from the T-pose), in the ``smplx``
frame (y up, facing +z; the subject's left is +x); the body turns freely about the vertical.
Betas ~ N(0, 1). Axis-angle radians, metres.
"""

from __future__ import annotations

import math

import torch

from furpe_label.experts.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

_BASE_STD = 0.1
# SMPL joint (1..23 of body_pose) -> per-axis (x, y, z) std overrides, radians
_STD = {
    3: (0.15, 0.1, 0.1),
    6: (0.15, 0.1, 0.1),
    9: (0.15, 0.1, 0.1),  # spine
    7: (0.2, 0.1, 0.1),
    8: (0.2, 0.1, 0.1),  # ankles
    12: (0.2, 0.2, 0.15),
    15: (0.2, 0.2, 0.15),  # neck, head
    16: (0.2, 0.4, 0.1),
    17: (0.2, 0.4, 0.1),  # shoulders (z drawn below)
    20: (0.25, 0.25, 0.25),
    21: (0.25, 0.25, 0.25),  # wrists
    22: (0.15, 0.15, 0.15),
    23: (0.15, 0.15, 0.15),  # SMPL hands
}
# (joint, axis) -> uniform range (low, high), radians
_RANGES = {
    (1, 0): (-1.2, 0.3),
    (2, 0): (-1.2, 0.3),  # hip flexion is negative x
    (4, 0): (0.0, 1.8),
    (5, 0): (0.0, 1.8),  # knees bend backwards (+x)
    (16, 2): (-1.3, 0.3),
    (17, 2): (-0.3, 1.3),  # arms lowered from the T-pose
    (18, 1): (-2.0, 0.0),
    (19, 1): (0.0, 2.0),  # elbows bend forwards
}


def sample_smpl_bodies(
    n: int, seed: int = 0, num_betas: int = 10, hand_joints: bool = True
) -> dict[str, torch.Tensor]:
    """N plausible SMPL bodies (float32).

    Args:
        n: number of bodies; seed: generator seed; num_betas: SMPL betas drawn ~ N(0, 1).
        hand_joints: False keeps SMPL's hand joints (22, 23) at rest.

    Returns:
        ``global_orient`` (N, 3), ``body_pose`` (N, 23, 3), ``betas`` (N, num_betas),
        ``transl`` (N, 3) metres (about 3 m in front of a camera at the origin).
    """
    g = torch.Generator().manual_seed(seed)
    std = torch.full((23, 3), _BASE_STD)
    for joint, values in _STD.items():
        std[joint - 1] = torch.tensor(values)
    pose = torch.randn(n, 23, 3, generator=g, dtype=torch.float64) * std.double()
    for (joint, axis), (low, high) in _RANGES.items():
        pose[:, joint - 1, axis] = low + (high - low) * torch.rand(n, generator=g).double()
    if not hand_joints:
        pose[:, 21:] = 0.0
    yaw = (2 * torch.rand(n, generator=g).double() - 1) * math.pi
    turn = axis_angle_to_matrix(torch.stack([torch.zeros(n), yaw, torch.zeros(n)], 1).double())
    tilt = axis_angle_to_matrix(0.1 * torch.randn(n, 3, generator=g).double())
    orient = matrix_to_axis_angle(turn @ tilt)
    transl = torch.stack(
        [
            0.3 * torch.randn(n, generator=g),
            0.2 * torch.randn(n, generator=g),
            3.0 + 0.5 * torch.randn(n, generator=g),
        ],
        1,
    )
    return {
        "global_orient": orient.float(),
        "body_pose": pose.float(),
        "betas": torch.randn(n, num_betas, generator=g),
        "transl": transl,
    }
