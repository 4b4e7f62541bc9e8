"""Kinematics of the SMPL family: Rodrigues, the kinematic chain, joint-regressor folding.

The project's one place for these three, modelled on ``smplx.lbs``:

* :func:`rodrigues` (``batch_rodrigues``): axis-angle -> rotation matrix. Every rotation the
  project builds from axis-angle goes through :func:`rodrigues_entries`, here and in the
  component-first variant (:mod:`~furpe_label.experts.geometry.kinematics_component_first`);
  ``rotations.axis_angle_to_matrix`` is :func:`rodrigues`.
* :func:`forward_kinematics` (``batch_rigid_transform``): local rotations and rest joints ->
  global rotations and posed joints, walked one tree depth at a time (:func:`depth_order`,
  the project's one depth loop: all joints of a level in one batched product);
  :func:`global_rotations` for rotations only.
* :func:`fold_joint_regressor` (``vertices2joints`` after ``blend_shapes``): rest joints are
  linear in the blend coefficients, ``J = R (T + S c) = R T + (R S) c``, so the regressor is
  folded into the template and blend directions once. :func:`vertex_blend_matrix` selects
  the blend data of a few vertices the same way (template, blend and pose-corrective
  directions as one matrix, so a vertex's rest position is one product with
  ``[coefficients, pose feature, 1]``).

Layout here is batch-first (``(..., 3)``, ``(B, J, 3, 3)``), as ``smplx``. Rotation matrices
act on column vectors; axis-angle is unit axis * angle, radians; positions are metres.
Every function is differentiable (the fitting experts optimise through them) and keeps its
input's dtype and device.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch

__all__ = [
    "DepthOrder",
    "apply3",
    "depth_order",
    "fold_joint_regressor",
    "forward_kinematics",
    "global_rotations",
    "mul3",
    "rodrigues",
    "rodrigues_entries",
    "vertex_blend_matrix",
]

_SMALL_SQ = 1e-8  # below this squared angle (rad^2) Rodrigues' coefficients use Taylor series


def rodrigues_entries(
    x: torch.Tensor, y: torch.Tensor, z: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    """Rodrigues' formula, entry by entry: the project's only one.

    ``R = I + a K + b K^2`` with ``K`` the cross-product matrix of ``v = (x, y, z)`` (axis *
    angle ``t``), ``a = sin t / t``, ``b = (1 - cos t) / t^2 = 2 sin^2(t/2) / t^2`` (no
    cancellation for small ``t``) and ``K^2 = v v^T - t^2 I``. Below ``t^2 = 1e-8`` the
    coefficients are their Taylor series (``1 - t^2/6``, ``1/2 - t^2/24``: exact to float64
    round-off), so values and gradients are finite at angle 0 (and everywhere else).

    Args:
        x, y, z: the axis-angle components, radians, any (equal) shape ``S``, any float dtype.

    Returns:
        The 9 entries of ``R`` in row-major order (``r00, r01, r02, r10, ...``), each of shape
        ``S``, written as scalar products (no tiny matrix products: cheap backward on the CPU).
    """
    xx, yy, zz = x * x, y * y, z * z
    sq = xx + yy + zz
    small = sq < _SMALL_SQ
    angle = torch.sqrt(torch.where(small, torch.ones_like(sq), sq))
    a = torch.where(small, 1.0 - sq / 6.0, torch.sin(angle) / angle)
    half_sinc = torch.sin(0.5 * angle) / angle
    b = torch.where(small, 0.5 - sq / 24.0, 2.0 * half_sinc * half_sinc)
    bxy, bxz, byz = b * x * y, b * x * z, b * y * z
    ax, ay, az = a * x, a * y, a * z
    row0 = (1.0 - b * (yy + zz), bxy - az, bxz + ay)
    row1 = (bxy + az, 1.0 - b * (xx + zz), byz - ax)
    row2 = (bxz - ay, byz + ax, 1.0 - b * (xx + yy))
    return row0 + row1 + row2


def rodrigues(axis_angle: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle, radians -> (..., 3, 3) rotation matrices (:func:`rodrigues_entries`).

    Keeps the input's dtype and device; differentiable, finite gradients at angle 0. Agrees
    with ``roma.rotvec_to_rotmat`` and ``smplx.lbs.batch_rodrigues`` (which nudges the
    vector by 1e-8 before taking the angle) to ~1e-8.
    """
    entries = rodrigues_entries(*axis_angle.unbind(-1))
    return torch.stack(entries, dim=-1).reshape(*axis_angle.shape[:-1], 3, 3)


def mul3(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) @ (..., 3, 3) (broadcast) as three outer products: cheaper than batched
    matmul on the CPU for a few tiny matrices with broadcasting (the fitters' rotations)."""
    return (
        a[..., :, 0:1] * b[..., 0:1, :]
        + a[..., :, 1:2] * b[..., 1:2, :]
        + a[..., :, 2:3] * b[..., 2:3, :]
    )


def apply3(a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) matrices applied to (..., 3) vectors (broadcast): column sums, no reduction."""
    return a[..., 0] * v[..., 0:1] + a[..., 1] * v[..., 1:2] + a[..., 2] * v[..., 2:3]


class DepthOrder(NamedTuple):
    """Joints sorted by tree depth (stable), as every chain walk here uses them.

    Attributes:
        order: (J,) int64 depth-sorted position -> joint (``order[0]`` is the root).
        sorted_parents: (J,) int64 the parent of each sorted position, as a sorted position
            (the root points at itself).
        levels: the ``[start, stop)`` sorted positions of each depth 1, 2, ... (root: depth 0).
    """

    order: np.ndarray
    sorted_parents: np.ndarray
    levels: list[tuple[int, int]]

    @property
    def rank(self) -> np.ndarray:
        """(J,) int64 joint -> depth-sorted position (the inverse of ``order``)."""
        return np.argsort(self.order)

    @property
    def joint_levels(self) -> list[np.ndarray]:
        """The joints of each depth 1, 2, ... (ascending joint ids), shallowest first."""
        return [self.order[start:stop] for start, stop in self.levels]

    @property
    def chain_levels(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(joints, their parents) of each depth 1, 2, ..., as int64 joint-id tensors: the
        ``levels`` of :func:`forward_kinematics`."""
        parents = self.order[self.sorted_parents]  # the parent joint of each sorted position
        return [
            (torch.as_tensor(self.order[start:stop]), torch.as_tensor(parents[start:stop]))
            for start, stop in self.levels
        ]


def depth_order(parents: np.ndarray) -> DepthOrder:
    """The depth order of a kinematic tree (the project's one depth loop).

    Args:
        parents: (J,) int parent of each joint (-1, or anything, for the root at index 0);
            every parent precedes its children, as in all ``smplx`` models.
    """
    parents = np.asarray(parents, dtype=np.int64)
    depth = np.zeros(len(parents), dtype=np.int64)
    for joint in range(1, len(parents)):
        depth[joint] = depth[parents[joint]] + 1
    order = np.argsort(depth, kind="stable")
    sorted_parents = np.argsort(order)[np.maximum(parents[order], 0)]
    sorted_depth = depth[order]
    levels = [
        (int(np.searchsorted(sorted_depth, d)), int(np.searchsorted(sorted_depth, d, "right")))
        for d in range(1, int(depth.max(initial=0)) + 1)
    ]
    return DepthOrder(order, sorted_parents, levels)


def forward_kinematics(
    local: torch.Tensor,
    rest_joints: torch.Tensor | None,
    levels: list[tuple[torch.Tensor, torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Forward kinematics, batch first, joints in model order.

    ``G_j = G_parent(j) R_j`` and ``P_j = P_parent(j) + G_parent(j) (J_j - J_parent(j))``
    (``G_0 = R_0``, ``P_0 = J_0``): ``smplx.lbs.batch_rigid_transform`` without the 4 x 4
    matrices, one tree depth at a time (all joints of a level in one batched product). The
    component-first variant is ``kinematics_component_first.forward_kinematics``. Levels are
    written into fresh outputs with ``index_copy_`` and composed with ``matmul`` (faster on the
    CPU than concatenating per level or composing joint by joint); autograd works through it.

    Args:
        local: (B, J, 3, 3) local rotations (root = global orientation first).
        rest_joints: (B, J, 3) rest joint positions, metres, or None for rotations only.
        levels: :attr:`DepthOrder.chain_levels`, the (joints, their parents) of each depth.

    Returns:
        (B, J, 3, 3) global rotations and (B, J, 3) posed joints, metres (None without
        ``rest_joints``).
    """
    device = local.device
    rot_g = torch.empty_like(local)
    rot_g[:, 0] = local[:, 0]
    pos_g = None
    if rest_joints is not None:
        pos_g = torch.empty_like(rest_joints)
        pos_g[:, 0] = rest_joints[:, 0]
    for joints, parents in levels:
        joints, parents = joints.to(device), parents.to(device)
        rot_p = rot_g.index_select(1, parents)
        rot_g.index_copy_(1, joints, rot_p @ local.index_select(1, joints))
        if pos_g is not None:
            bone = rest_joints.index_select(1, joints) - rest_joints.index_select(1, parents)
            moved = (rot_p @ bone[..., None])[..., 0] + pos_g.index_select(1, parents)
            pos_g.index_copy_(1, joints, moved)
    return rot_g, pos_g


@lru_cache(maxsize=32)
def _chain_levels(parents: tuple[int, ...]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """:attr:`DepthOrder.chain_levels` of a parents tuple, built once per tree."""
    return depth_order(np.asarray(parents)).chain_levels


def global_rotations(local: torch.Tensor, parents: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Global joint rotations along the chain (:func:`forward_kinematics`, rotations only).

    Args:
        local: (N, J, 3, 3) local rotations of joints 0..J-1 (0 = global orient).
        parents: (>= J,) parent indices (-1 for the root); parents come before children.

    Returns:
        (N, J, 3, 3) global rotations ``G_j = G_parent(j) @ R_j``.
    """
    count = local.shape[1]
    key = tuple(int(p) for p in np.asarray(torch.as_tensor(parents).cpu())[:count])
    return forward_kinematics(local, None, _chain_levels(key))[0]


def fold_joint_regressor(
    j_regressor: torch.Tensor, v_template: torch.Tensor, blend_dirs: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rest joints as an affine function of the blend coefficients, in float64.

    ``J(c) = R (T + S c) = R T + (R S) c`` (``smplx``: ``vertices2joints(R, v_template +
    blend_shapes(c, S))``).

    Args:
        j_regressor: (J, V) joint regressor; v_template: (V, 3) rest vertices, metres;
        blend_dirs: (V, 3, C) blend directions (shape, then expression if any), metres per
            unit coefficient.

    Returns:
        joint_template (J, 3) metres and joint_dirs (J, 3, C) metres per unit coefficient,
        float64, detached, on the inputs' device.
    """
    regressor = j_regressor.detach().double()
    template = regressor @ v_template.detach().double()
    dirs = torch.einsum("jv,vcn->jcn", regressor, blend_dirs.detach().double())
    return template, dirs


def vertex_blend_matrix(
    v_template: torch.Tensor,
    blend_dirs: torch.Tensor,
    posedirs: torch.Tensor,
    ids: torch.Tensor,
    pose_rows: torch.Tensor | None = None,
) -> torch.Tensor:
    """Everything that places the rest vertices ``ids``, as one matrix.

    ``blend @ [c; pose_feature; 1]`` is the (U * 3,) shaped and pose-corrected rest positions
    (rows (vertex, xyz)), as ``smplx.lbs`` computes them: ``v_template + S c + P^T f``.

    Args:
        v_template: (V, 3) metres; blend_dirs: (V, 3, C) metres per unit coefficient;
        posedirs: (P, V * 3) pose-corrective directions in ``smplx`` layout;
        ids: (U,) long vertex ids (repeats allowed);
        pose_rows: optional (P,) long order of the pose-feature rows (default ``smplx``'s).

    Returns:
        (U * 3, C + P + 1) in ``blend_dirs``' dtype: columns [blend directions, pose
        correctives, template].
    """
    dirs = blend_dirs[ids].reshape(-1, blend_dirs.shape[-1])
    pose = posedirs.reshape(posedirs.shape[0], -1, 3)[:, ids].reshape(posedirs.shape[0], -1)
    if pose_rows is not None:
        pose = pose[pose_rows]
    template = v_template[ids].reshape(-1, 1)
    return torch.cat([dirs, pose.T.to(dirs.dtype), template.to(dirs.dtype)], dim=1)
