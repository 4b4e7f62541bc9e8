"""Joints and a few surface points of an ``smplx`` body model, batched, without the full mesh.

A keypoint fitter needs the posed joints and a handful of surface points (SMPL's nose, ears,
toes; MANO's fingertips; FLAME's landmarks), not all vertices. :class:`SparseSkinning` keeps
only what those need and computes them exactly as ``smplx.lbs.lbs`` does:

* rest joints are linear in the blend coefficients, so the joint regressor is folded into the
  blend shapes once (``J = J_template + coeffs @ J_dirs``);
* the kinematic chain is walked one tree depth at a time (all joints of a level in one batched
  product), without in-place writes, so ``torch.func`` transforms (``jvp``, ``vmap``) work;
* only the vertices the points use are shaped, pose-corrected and skinned, then combined
  with barycentric weights (a vertex keypoint is a point with weights ``(1, 0, 0)``).

The result equals the layer's own forward pass on those points to float32 round-off
(tests/test_fitting_kinematics.py).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["SparseSkinning", "mul3", "rodrigues", "tree_levels"]

_SMALL_SQ = 1e-8  # below this squared angle (rad^2) Rodrigues' coefficients use Taylor series


def tree_levels(parents: np.ndarray) -> list[np.ndarray]:
    """Joint indices grouped by depth (root excluded), shallowest first.

    Args:
        parents: (J,) parent index per joint, -1 (or anything) for the root at index 0; every
            parent precedes its children, as in all ``smplx`` models.
    """
    depth = np.zeros(len(parents), dtype=np.int64)
    for joint in range(1, len(parents)):
        depth[joint] = depth[parents[joint]] + 1
    return [np.flatnonzero(depth == d) for d in range(1, int(depth.max()) + 1)]


def rodrigues(axis_angle: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle (radians) -> (..., 3, 3) rotation matrices.

    Same values as :func:`furpe_label.experts.geometry.rotations.axis_angle_to_matrix`
    (``I + a K + b K^2`` with ``K^2 = v v^T - |v|^2 I``), written without tiny matrix
    products so that its backward pass is cheap on the CPU; finite gradients at angle 0.
    """
    sq = (axis_angle * axis_angle).sum(-1)
    small = sq < _SMALL_SQ
    angle = torch.sqrt(torch.where(small, torch.ones_like(sq), sq))
    a = torch.where(small, 1.0 - sq / 6.0, torch.sin(angle) / angle)
    half_sinc = torch.sin(0.5 * angle) / angle
    b = torch.where(small, 0.5 - sq / 24.0, 2.0 * half_sinc * half_sinc)
    x, y, z = axis_angle.unbind(-1)
    ax, ay, az = a * x, a * y, a * z
    c = 1.0 - b * sq
    rows = (
        c + b * x * x, b * x * y - az, b * x * z + ay,
        b * x * y + az, c + b * y * y, b * y * z - ax,
        b * x * z - ay, b * y * z + ax, c + b * z * z,
    )  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(*axis_angle.shape[:-1], 3, 3)


def mul3(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) @ (..., 3, 3) as three broadcast outer products: much faster than batched
    matmul of many tiny matrices (or a reduction over a size-3 dimension) on the CPU,
    forward and backward."""
    return (
        a[..., :, 0:1] * b[..., 0:1, :]
        + a[..., :, 1:2] * b[..., 1:2, :]
        + a[..., :, 2:3] * b[..., 2:3, :]
    )


def _apply3(a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) matrices applied to (..., 3) vectors (column sums, no reduction)."""
    return a[..., 0] * v[..., 0:1] + a[..., 1] * v[..., 1:2] + a[..., 2] * v[..., 2:3]


class SparseSkinning(nn.Module):
    """Posed joints and chosen surface points of one linear-blend-skinned model.

    Args:
        v_template: (V, 3) rest vertices, metres.
        blend_dirs: (V, 3, C) linear blend directions (shape, then expression if any), metres
            per unit coefficient.
        posedirs: (P, V * 3) pose-corrective directions in ``smplx`` layout,
            ``P = 9 * (J - 1)``.
        j_regressor: (J, V) joint regressor.
        parents: (J,) int parent of each joint (root first).
        lbs_weights: (V, J) skinning weights.
        point_vertices: (Q, 3) int vertex ids of each point's triangle (or one id repeated).
        point_weights: (Q, 3) barycentric weights of each point (rows sum to 1).
    """

    def __init__(
        self,
        v_template: torch.Tensor,
        blend_dirs: torch.Tensor,
        posedirs: torch.Tensor,
        j_regressor: torch.Tensor,
        parents: np.ndarray,
        lbs_weights: torch.Tensor,
        point_vertices: torch.Tensor,
        point_weights: torch.Tensor,
    ) -> None:
        super().__init__()
        dtype = torch.float32
        n_joints = j_regressor.shape[0]
        self.num_joints = int(n_joints)
        parents = np.asarray(parents, dtype=np.int64)
        levels = tree_levels(parents)
        # Joints in level order (root first); each level's parents as positions in that order.
        order = np.concatenate([[0], *levels])
        position = np.empty(n_joints, dtype=np.int64)
        position[order] = np.arange(n_joints)
        self._levels = [torch.as_tensor(level) for level in levels]
        self._level_parents = [torch.as_tensor(position[parents[level]]) for level in levels]
        self._to_joint_order = torch.as_tensor(position)
        self.register_buffer("parents", torch.as_tensor(parents), persistent=False)

        j_reg = j_regressor.double()
        dirs = blend_dirs.double()
        self.register_buffer("j_template", (j_reg @ v_template.double()).to(dtype), False)
        j_dirs = torch.einsum("jv,vcn->jcn", j_reg, dirs).reshape(3 * n_joints, -1)
        self.register_buffer("j_dirs", j_dirs.T.contiguous().to(dtype), False)

        ids, inverse = torch.unique(point_vertices.reshape(-1).long(), return_inverse=True)
        self.register_buffer("point_index", inverse.view(-1, 3), False)
        self.register_buffer("point_weights", point_weights.to(dtype), False)
        posedirs_u = posedirs.view(posedirs.shape[0], -1, 3)[:, ids]  # (P, U, 3)
        blend = torch.cat(
            [
                dirs[ids].reshape(-1, dirs.shape[-1]).T.to(dtype),
                posedirs_u.reshape(posedirs_u.shape[0], -1).to(dtype),
                v_template[ids].reshape(1, -1).to(dtype),
            ]
        )
        self.register_buffer("blend", blend.contiguous(), False)  # (C + P + 1, U * 3)
        self.register_buffer("weights", lbs_weights[ids].to(dtype).contiguous(), False)

    def _chain(self, rot: torch.Tensor, rest: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Global rotations (B, J, 3, 3) and posed joints (B, J, 3) m from local rotations
        (B, J, 3, 3) and rest joints (B, J, 3) m, both in joint order."""
        rel = torch.cat([rest[:, :1], rest[:, 1:] - rest[:, self.parents[1:]]], dim=1)
        rot_g, pos_g = rot[:, :1], rest[:, :1]
        for level, parent in zip(self._levels, self._level_parents, strict=True):
            rot_p = rot_g[:, parent]
            rot_g = torch.cat([rot_g, mul3(rot_p, rot[:, level])], dim=1)
            step = _apply3(rot_p, rel[:, level])
            pos_g = torch.cat([pos_g, step + pos_g[:, parent]], dim=1)
        return rot_g[:, self._to_joint_order], pos_g[:, self._to_joint_order]

    def forward(
        self, coeffs: torch.Tensor, rotmats: torch.Tensor, select: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, ...]:
        """Posed joints and points.

        Args:
            coeffs: (B, C) blend coefficients (betas, then expression), unitless.
            rotmats: (B, J, 3, 3) local joint rotations (the model's mean pose included).
            select: optional (B, Q') long indices of the points wanted per sample (e.g.
                FLAME's contour row); default all Q points.

        Returns:
            joints (B, J, 3) and points (B, Q or Q', 3), metres, in the model frame (no
            translation).
        """
        batch = coeffs.shape[0]
        rest = self.j_template + (coeffs @ self.j_dirs).view(batch, self.num_joints, 3)
        rot_g, posed = self._chain(rotmats, rest)
        shift = posed - _apply3(rot_g, rest)
        transforms = torch.cat([rot_g.reshape(batch, -1, 9), shift], dim=-1)  # (B, J, 12)
        eye = torch.eye(3, dtype=rotmats.dtype, device=rotmats.device)
        pose_feature = (rotmats[:, 1:] - eye).reshape(batch, -1)
        feats = torch.cat([coeffs, pose_feature, coeffs.new_ones(batch, 1)], dim=-1)
        v_rest = (feats @ self.blend).view(batch, -1, 3)  # (B, U, 3)
        # One (U, J) x (J, B * 12) product instead of B small ones: (B, U, 12).
        flat = transforms.permute(1, 0, 2).reshape(self.num_joints, -1)
        blended = (self.weights @ flat).view(-1, batch, 12).transpose(0, 1)
        rot_v = blended[..., :9].reshape(batch, -1, 3, 3)
        verts = _apply3(rot_v, v_rest) + blended[..., 9:]
        if select is None:
            corners = verts[:, self.point_index]  # (B, Q, 3, 3)
            weights = self.point_weights
        else:
            index = self.point_index[select].reshape(batch, -1, 1).expand(-1, -1, 3)
            corners = torch.gather(verts, 1, index).view(batch, -1, 3, 3)  # (B, Q', 3, 3)
            weights = self.point_weights[select]
        points = (corners * weights[..., None]).sum(-2)
        return posed, points
