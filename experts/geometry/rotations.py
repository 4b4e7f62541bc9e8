"""Batched rotation conversions in torch (any leading batch shape ``...``).

Conventions
-----------
- Axis-angle: ``(..., 3)`` vector = unit axis * angle, radians (the ``smplx`` convention).
- Rotation matrices: ``(..., 3, 3)``, acting on column vectors (``y = R @ x``).
- Quaternions: ``(..., 4)`` in **(w, x, y, z)** order (scalar first, as SPIN's
  ``quat_to_rotmat``). scipy's ``Rotation.as_quat`` uses (x, y, z, w): reorder when comparing.
  Returned quaternions are unit length with ``w >= 0``.
- 6D (``rot6d``): the HMR/SPIN layout of nkolot/SPIN ``utils/geometry.py::rot6d_to_rotmat``,
  which views the 6 numbers as a (3, 2) array, so they are the first two **columns** of the
  matrix interleaved row by row: ``[r00, r01, r10, r11, r20, r21]``. (pytorch3d's
  ``matrix_to_rotation_6d`` uses the first two *rows* instead: a different layout.)

Every function works for float32 and float64, keeps the input's dtype and device, and is
differentiable with finite gradients at angle 0 (Taylor branches with safe denominators) and
stable near angle pi (matrix -> quaternion picks the best-conditioned of four formulas).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

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

# Below this squared angle (rad^2) the Taylor expansions are used; their truncation error
# (~angle^4) is far below float64 resolution there.
_SMALL_SQ = 1e-8


def _skew(v: torch.Tensor) -> torch.Tensor:
    """(..., 3) vectors -> (..., 3, 3) cross-product matrices ``[v]_x``."""
    x, y, z = v.unbind(-1)
    zero = torch.zeros_like(x)
    rows = (zero, -z, y, z, zero, -x, -y, x, zero)
    return torch.stack(rows, dim=-1).reshape(*v.shape[:-1], 3, 3)


def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula.

    Args:
        axis_angle: (..., 3) axis * angle, radians.

    Returns:
        (..., 3, 3) rotation matrices ``I + a K + b K^2`` with ``K = [axis_angle]_x``,
        ``a = sin t / t``, ``b = (1 - cos t) / t^2 = 2 sin^2(t/2) / t^2``.
    """
    sq = (axis_angle * axis_angle).sum(-1)
    small = sq < _SMALL_SQ
    angle = torch.sqrt(torch.where(small, torch.ones_like(sq), sq))
    a = torch.where(small, 1.0 - sq / 6.0, torch.sin(angle) / angle)
    half_sinc = torch.sin(0.5 * angle) / angle
    b = torch.where(small, 0.5 - sq / 24.0, 2.0 * half_sinc * half_sinc)
    K = _skew(axis_angle)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return eye + a[..., None, None] * K + b[..., None, None] * (K @ K)


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
    sq = (axis_angle * axis_angle).sum(-1, keepdim=True)
    small = sq < _SMALL_SQ
    angle = torch.sqrt(torch.where(small, torch.ones_like(sq), sq))
    w = torch.where(small, 1.0 - sq / 8.0, torch.cos(0.5 * angle))
    k = torch.where(small, 0.5 - sq / 48.0, torch.sin(0.5 * angle) / angle)
    return torch.cat([w, axis_angle * k], dim=-1)


def quaternion_to_axis_angle(quaternion: torch.Tensor) -> torch.Tensor:
    """Quaternion (..., 4) as (w, x, y, z), any non-zero norm -> axis-angle (..., 3), radians.

    ``q`` and ``-q`` give the same result; the returned angle is in ``[0, pi]``.
    """
    q = torch.where(quaternion[..., :1] < 0, -quaternion, quaternion)
    w, v = q[..., :1], q[..., 1:]
    sq = (v * v).sum(-1, keepdim=True)
    norm_sq = sq + w * w
    small = sq < _SMALL_SQ * norm_sq
    n = torch.sqrt(torch.where(small, torch.ones_like(sq), sq))
    w_safe = torch.where(small, w, torch.ones_like(w))
    # 2 atan2(n, w) / n, and its Taylor expansion 2/w - (2/3) n^2 / w^3 for n << w.
    k = torch.where(small, 2.0 / w_safe - (2.0 / 3.0) * sq / w_safe**3, 2.0 * torch.atan2(n, w) / n)
    return v * k


def quaternion_to_matrix(quaternion: torch.Tensor) -> torch.Tensor:
    """Quaternion (..., 4) as (w, x, y, z), normalised here -> (..., 3, 3) rotation matrices."""
    w, x, y, z = F.normalize(quaternion, dim=-1).unbind(-1)
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz = x * y, x * z, y * z
    wx, wy, wz = w * x, w * y, w * z
    entries = (
        1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy),
        2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx),
        2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy),
    )  # fmt: skip
    return torch.stack(entries, dim=-1).reshape(*quaternion.shape[:-1], 3, 3)


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4) as (w, x, y, z), ``w >= 0``.

    Shepperd's method: the four candidate formulas divide by ``4|w|``, ``4|x|``, ``4|y|``,
    ``4|z|``; the one with the largest divisor (>= 1) is selected, so it is stable at any
    angle, including pi. Gradients flow only through the selected candidate.
    """
    m = matrix
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    # 4 w^2, 4 x^2, 4 y^2, 4 z^2
    four_sq = torch.stack(
        [1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22],
        dim=-1,
    )
    # candidates[..., i, :] = 4 q_i * (w, x, y, z)
    candidates = torch.stack(
        [
            torch.stack([four_sq[..., 0], m21 - m12, m02 - m20, m10 - m01], dim=-1),
            torch.stack([m21 - m12, four_sq[..., 1], m10 + m01, m02 + m20], dim=-1),
            torch.stack([m02 - m20, m10 + m01, four_sq[..., 2], m12 + m21], dim=-1),
            torch.stack([m10 - m01, m20 + m02, m21 + m12, four_sq[..., 3]], dim=-1),
        ],
        dim=-2,
    )
    # |4 q_i| = 2 sqrt(4 q_i^2); clamped so unselected candidates never divide by ~0.
    denom = 2.0 * torch.sqrt(four_sq.clamp(min=0.1))
    candidates = candidates / denom[..., None]
    best = four_sq.argmax(dim=-1)
    one_hot = F.one_hot(best, num_classes=4).to(m.dtype)
    q = (candidates * one_hot[..., None]).sum(-2)
    q = F.normalize(q, dim=-1)
    return torch.where(q[..., :1] < 0, -q, q)


def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) -> axis-angle (..., 3), radians, angle in ``[0, pi]``.

    At exactly pi the sign of the axis is arbitrary (both represent the same rotation).
    """
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix))


def rot6d_to_matrix(rot6d: torch.Tensor) -> torch.Tensor:
    """HMR/SPIN 6D representation -> rotation matrices (Zhou et al., CVPR 2019).

    Args:
        rot6d: (..., 6) as ``[r00, r01, r10, r11, r20, r21]``: the (3, 2) array whose columns
            ``a1 = rot6d[..., 0::2]``, ``a2 = rot6d[..., 1::2]`` are Gram-Schmidt
            orthonormalised into the first two matrix columns.

    Returns:
        (..., 3, 3) rotation matrices with columns ``b1, b2, b1 x b2``.
    """
    x = rot6d.reshape(*rot6d.shape[:-1], 3, 2)
    a1, a2 = x[..., 0], x[..., 1]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


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
