"""Batched rotation conversions in torch (any leading batch shape ``...``), on top of ``roma``.

The conversions are ``roma``'s (naver/roma: Markley's variant of Shepperd's method for
matrix -> quaternion, Taylor-guarded ``sinc`` / ``inv_sinc``, Gram-Schmidt), except axis-angle
-> matrix, which is the project's one Rodrigues (:func:`~furpe_label.experts.geometry.
kinematics.rodrigues`, re-exported here as :func:`axis_angle_to_matrix` beside its inverse);
this module fixes the project's conventions around them, so that the rest of the project has
one Rodrigues and one quaternion order.

Conventions
-----------
- Axis-angle: ``(..., 3)`` vector = unit axis * angle, radians (the ``smplx`` convention).
- Rotation matrices: ``(..., 3, 3)``, acting on column vectors (``y = R @ x``).
- Quaternions: ``(..., 4)`` in **(w, x, y, z)** order (scalar first, as SPIN's
  ``quat_to_rotmat``). ``roma`` and scipy's ``Rotation.as_quat`` use (x, y, z, w); the
  reordering happens here. Returned quaternions are unit length with ``w >= 0``.
- 6D (``rot6d``): the HMR/SPIN layout of nkolot/SPIN ``utils/geometry.py::rot6d_to_rotmat``,
  which views the 6 numbers as a (3, 2) array, so they are the first two **columns** of the
  matrix interleaved row by row: ``[r00, r01, r10, r11, r20, r21]``. (pytorch3d's
  ``matrix_to_rotation_6d`` uses the first two *rows* instead: a different layout.)

Every function works for float32 and float64, keeps the input's dtype and device, and is
differentiable with finite gradients at angle 0 and near angle pi.
"""

from __future__ import annotations

import roma
import torch
import torch.nn.functional as F

from furpe_label.experts.geometry.kinematics import rodrigues

__all__ = [
    "axis_angle_to_matrix",
    "axis_angle_to_quaternion",
    "matrix_to_axis_angle",
    "matrix_to_quaternion",
    "matrix_to_rot6d",
    "quaternion_to_axis_angle",
    "quaternion_to_matrix",
    "rot6d_to_matrix",
    "rotation_about_axis",
    "twist_swing_decompose",
]


def _xyzw(wxyz: torch.Tensor) -> torch.Tensor:
    return torch.cat([wxyz[..., 1:], wxyz[..., :1]], dim=-1)


def _wxyz(xyzw: torch.Tensor) -> torch.Tensor:
    return torch.cat([xyzw[..., 3:], xyzw[..., :3]], dim=-1)


axis_angle_to_matrix = rodrigues
"""(..., 3) axis-angle, radians -> (..., 3, 3) rotation matrices: the project's Rodrigues,
:func:`furpe_label.experts.geometry.kinematics.rodrigues` (``I + sin t K + (1 - cos t) K^2``
with ``K`` the cross-product matrix of the unit axis; Taylor coefficients below 1e-4 rad)."""


def rotation_about_axis(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotation by ``angle`` about ``axis`` (right-hand rule).

    Args:
        axis: (..., 3) direction, any non-zero length (normalised here).
        angle: (...,) radians.

    Returns:
        (..., 3, 3) rotation matrices.
    """
    unit = F.normalize(axis, dim=-1)
    return axis_angle_to_matrix(unit * angle[..., None])


def axis_angle_to_quaternion(axis_angle: torch.Tensor) -> torch.Tensor:
    """Axis-angle (..., 3), radians -> unit quaternion (..., 4) as (w, x, y, z).

    ``w = cos(t/2) >= 0`` for angles ``t <= pi``; larger angles give ``w < 0`` (the same rotation).
    """
    return _wxyz(roma.rotvec_to_unitquat(axis_angle))


def quaternion_to_axis_angle(quaternion: torch.Tensor) -> torch.Tensor:
    """Quaternion (..., 4) as (w, x, y, z), any non-zero norm -> axis-angle (..., 3), radians.

    ``q`` and ``-q`` give the same result; the returned angle is in ``[0, pi]``.
    """
    return roma.unitquat_to_rotvec(_xyzw(F.normalize(quaternion, dim=-1)), shortest_arc=True)


def quaternion_to_matrix(quaternion: torch.Tensor) -> torch.Tensor:
    """Quaternion (..., 4) as (w, x, y, z), normalised here -> (..., 3, 3) rotation matrices."""
    return roma.unitquat_to_rotmat(_xyzw(F.normalize(quaternion, dim=-1)))


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4) as (w, x, y, z), ``w >= 0``.

    ``roma.rotmat_to_unitquat``: Markley's variant of Shepperd's method (the best-conditioned
    of four formulas, so stable at any angle including pi), then the sign flipped so ``w >= 0``.
    """
    q = _wxyz(roma.rotmat_to_unitquat(matrix))
    return torch.where(q[..., :1] < 0, -q, q)


def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) -> axis-angle (..., 3), radians, angle in ``[0, pi]``.

    At exactly pi the sign of the axis is arbitrary (both represent the same rotation).
    """
    return roma.rotmat_to_rotvec(matrix)


def rot6d_to_matrix(rot6d: torch.Tensor) -> torch.Tensor:
    """HMR/SPIN 6D representation -> rotation matrices (Zhou et al., CVPR 2019).

    Args:
        rot6d: (..., 6) as ``[r00, r01, r10, r11, r20, r21]``: the (3, 2) array whose columns
            ``a1 = rot6d[..., 0::2]``, ``a2 = rot6d[..., 1::2]`` are Gram-Schmidt
            orthonormalised into the first two matrix columns.

    Returns:
        (..., 3, 3) rotation matrices with columns ``b1, b2, b1 x b2``.
    """
    # epsilon = F.normalize's default, as SPIN's rot6d_to_rotmat (same numbers for any input)
    return roma.special_gramschmidt(rot6d.reshape(*rot6d.shape[:-1], 3, 2), epsilon=1e-12)


def matrix_to_rot6d(matrix: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) -> HMR/SPIN 6D (..., 6) ``[r00, r01, r10, r11, r20, r21]``.

    Exact inverse of :func:`rot6d_to_matrix` on rotation matrices.
    """
    return matrix[..., :, :2].reshape(*matrix.shape[:-2], 6)


def twist_swing_decompose(
    matrix: torch.Tensor, axis: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split rotations into a swing and a twist about ``axis``: ``R = swing @ twist``.

    ``twist = rotation_about_axis(axis, twist_angle)`` is applied first (right factor), so
    ``axis`` is expressed in the frame the rotation acts on (a joint's local, child-side
    coordinates); ``swing`` is a rotation about an axis perpendicular to ``axis``.
    The twist angle is the same for the left factorisation ``R = twist @ swing_left``
    (``swing_left = twist.T @ R``), which is the one PyMAF-X's adaptive wrist integration
    uses (``compute_twist_rotation``; wrist ``<- twist_excess.T @ wrist``,
    elbow ``<- elbow @ twist_excess``).

    Method: quaternion swing-twist split; the twist quaternion is ``(w, (v . a) a)``
    normalised, for ``q = (w, v)`` with ``w >= 0``.

    Args:
        matrix: (..., 3, 3) rotation matrices.
        axis: (..., 3) twist axis, any non-zero length (normalised here); broadcasts.

    Returns:
        twist_angle: (...,) radians in ``[-pi, pi]``, signed by the right-hand rule about
            ``axis``. Undefined (returned as 0) when the swing is exactly a half turn.
        swing: (..., 3, 3) rotation matrices, ``R @ twist.T``.
    """
    unit = F.normalize(axis, dim=-1)
    q = matrix_to_quaternion(matrix)
    w = q[..., 0]
    p = (q[..., 1:] * unit).sum(-1)
    degenerate = (w * w + p * p) < 1e-20
    # atan2(p, w) with w >= 0 lies in [-pi/2, pi/2]; guarded so gradients stay finite.
    half = torch.atan2(
        torch.where(degenerate, torch.zeros_like(p), p),
        torch.where(degenerate, torch.ones_like(w), w),
    )
    twist_angle = 2.0 * half
    unit_b = unit.expand(*twist_angle.shape, 3)
    twist = rotation_about_axis(unit_b, twist_angle)
    swing = matrix @ twist.transpose(-1, -2)
    return twist_angle, swing
