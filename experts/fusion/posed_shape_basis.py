"""Posed body-model vertices as an affine function of the shape coefficients, for known poses.

With the pose fixed, linear blend skinning (SMPL, SMPL-X) is affine in ``betas``: the shaped
template is linear in ``betas``, the rest joints ``J = J_regressor @ v_shaped`` are too, the
pose correctives do not depend on ``betas``, and each joint's skinning transform is
``[G_k | tau_k]`` with a world rotation ``G_k`` that depends on the pose only and a translation

    tau_k = tau_parent + (G_parent - G_k) J_k,    tau_root = (I - G_root) J_root,

linear in ``J``: ``tau_k = c_k + D_k betas``. So for every vertex ``v`` (metres)

    vertex_v(betas) = M_v x_v + C_v  +  M_v S_v betas + sum_k w_vk D_k betas
                      `-- offset --'    `----------- displacement ------------'

with ``M_v = sum_k w_vk G_k`` (blended rotation), ``C_v = sum_k w_vk c_k``, ``x_v`` the template
plus pose correctives and ``S_v`` the shape directions. Joints past ``posed_joints`` (SMPL-X's
jaw, eyes and fingers) stay at rest (identity rotations: flat hands in the
``flat_hand_mean=True`` sense), so their transforms equal their nearest posed ancestor's and
their skinning weights are folded into it (SMPL-X: 22 joints blended instead of 55).

Per-vertex arrays are **batch-last**, ``(M, ..., N)``: every blend is then one matrix product
and every per-vertex 3 x 3 product a few contiguous multiply-adds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from furpe_label.experts.geometry.kinematics import (
    depth_order,
    fold_joint_regressor,
    forward_kinematics,
    rodrigues,
)


@dataclass(frozen=True)
class PosedBodies:
    """Everything about N posed bodies that does not depend on ``betas``.

    The per-joint arrays are in the basis' chain precision (float64 unless the module was cast),
    the per-vertex arrays in its vertex dtype (the layer's, float32 by default).

    Attributes:
        rotations: (N, J, 3, 3) world rotations ``G_k`` of the posed joints.
        shifts: (N, J, 3) ``c_k``, metres; shift_dirs: (N, J, 3, B) ``D_k``,
            metres per unit beta (``tau_k = c_k + D_k betas``).
        mixed: (M, 3, 3, N) blended rotations ``M_v`` (the basis' dtype).
        offset: (M, 3, N) vertices at ``betas = 0``, no translation, metres.
    """

    rotations: torch.Tensor
    shifts: torch.Tensor
    shift_dirs: torch.Tensor
    mixed: torch.Tensor
    offset: torch.Tensor


class PosedShapeBasis(nn.Module):
    """Affine map betas -> posed vertices of a vertex subset, batched over poses.

    Built once from an ``smplx`` layer (SMPL or SMPL-X; buffers ``v_template``,
    ``shapedirs``, ``posedirs``, ``J_regressor``, ``lbs_weights``, ``parents``); B is the
    layer's ``num_betas``.

    Args:
        layer: an ``smplx.SMPL`` / ``smplx.SMPLX`` module.
        vertex_ids: (M,) vertex ids to produce (None: all).
        posed_joints: J, how many leading joints are posed (None: all); the others stay at
            rest and must come after their posed ancestors (true of every SMPL-family tree).
    """

    def __init__(
        self,
        layer: nn.Module,
        vertex_ids: torch.Tensor | None = None,
        posed_joints: int | None = None,
    ) -> None:
        super().__init__()
        template = layer.v_template.detach()
        ids = torch.arange(template.shape[0]) if vertex_ids is None else vertex_ids
        ids = torch.as_tensor(ids, dtype=torch.long)
        parents = [int(p) for p in layer.parents.tolist()]
        joints = len(parents) if posed_joints is None else int(posed_joints)
        shapedirs = layer.shapedirs.detach()  # (V, 3, B)
        posedirs = layer.posedirs.detach().reshape(-1, template.shape[0], 3)
        pose_rows = 9 * (joints - 1)  # pose features of the posed joints 1..J-1 come first
        self.register_buffer("template", template[ids].unsqueeze(-1).clone())  # (M, 3, 1)
        self.register_buffer("shapedirs", shapedirs[ids].clone())  # (M, 3, B)
        self.register_buffer("posedirs", posedirs[:pose_rows, ids].reshape(pose_rows, -1).T)
        joint_template, joint_shapedirs = fold_joint_regressor(
            layer.J_regressor[:joints], template, shapedirs
        )  # (J, 3) and (J, 3, B), float64
        columns = torch.cat([joint_template.unsqueeze(-1), joint_shapedirs], 2)  # (J, 3, 1 + B)
        self.register_buffer("joint_columns", columns)
        self.register_buffer("weights", _folded_weights(layer.lbs_weights[ids], parents, joints))
        self.parents = parents[:joints]
        self.register_buffer("parent_index", torch.tensor(self.parents[1:], dtype=torch.long))
        self._levels = depth_order(self.parents).chain_levels
        self.register_buffer("ancestors", _ancestor_matrix(self.parents))  # (J, J) float64

    @property
    def num_betas(self) -> int:
        """B, the number of shape coefficients."""
        return int(self.shapedirs.shape[-1])

    @property
    def num_vertices(self) -> int:
        """M, the number of vertices produced."""
        return int(self.template.shape[0])

    @property
    def chain_dtype(self) -> torch.dtype:
        """dtype of the per-joint (kinematic chain) arithmetic: float64 unless cast."""
        return self.joint_columns.dtype

    @property
    def num_joints(self) -> int:
        """J, the number of posed joints (root first)."""
        return len(self.parents)

    def pose(self, rotvecs: torch.Tensor) -> PosedBodies:
        """The beta-independent part of N posed bodies.

        Args:
            rotvecs: (N, J, 3) local axis-angle rotations of the posed joints (root =
                global orientation first), radians.
        """
        local = rodrigues(rotvecs.reshape(-1, self.num_joints, 3).to(self.chain_dtype))
        rotations, shifts, shift_dirs = self._chain(local)
        mixed, offset = self._skin(local, rotations, shifts, None)
        return PosedBodies(rotations, shifts, shift_dirs, mixed, offset)

    def displacement(self, posed: PosedBodies, betas: torch.Tensor) -> torch.Tensor:
        """(M, 3, N) ``vertices - offset`` for (N, B) ``betas``, metres (no translation)."""
        dtype = self.template.dtype
        shaped = self._shaped(betas.to(dtype))
        chain = betas.to(posed.shift_dirs.dtype)
        joints = torch.einsum("nkib,nb->kin", posed.shift_dirs, chain).to(dtype)
        return rotate(posed.mixed, shaped) + blend(self.weights, joints)

    def vertices(self, rotvecs: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
        """(M, 3, N) posed vertices without translation, metres (one skinning pass).

        Args:
            rotvecs: (N, J, 3) as in :meth:`pose`; betas: (N, B).
        """
        local = rodrigues(rotvecs.reshape(-1, self.num_joints, 3).to(self.chain_dtype))
        rotations, shifts, shift_dirs = self._chain(local)
        shifts = shifts + torch.einsum("nkib,nb->nki", shift_dirs, betas.to(self.chain_dtype))
        return self._skin(local, rotations, shifts, betas.to(self.template.dtype))[1]

    def _shaped(self, betas: torch.Tensor) -> torch.Tensor:
        """(M, 3, N) shape displacement of the template, ``S_v @ betas``."""
        flat = self.shapedirs.reshape(-1, self.num_betas) @ betas.T
        return flat.reshape(-1, 3, betas.shape[0])

    def _skin(
        self,
        local: torch.Tensor,
        rotations: torch.Tensor,
        shifts: torch.Tensor,
        betas: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(blended rotations (M, 3, 3, N), skinned vertices (M, 3, N)) of the template plus
        pose correctives (plus ``S betas`` when given), moved by ``[G_k | shifts_k]``."""
        n = local.shape[0]
        dtype = self.template.dtype
        eye = torch.eye(3, dtype=local.dtype, device=local.device)
        features = (local[:, 1:] - eye).reshape(n, -1).T.to(dtype)  # (9 (J - 1), N)
        rest = (self.posedirs @ features).reshape(-1, 3, n).add_(self.template)
        if betas is not None:
            rest += self._shaped(betas)
        per_joint = torch.cat([rotations.reshape(n, -1, 9), shifts], 2)  # (N, J, 12)
        blended = blend(self.weights, per_joint.permute(1, 2, 0).to(dtype))  # (M, 12, N)
        mixed = blended[:, :9].reshape(-1, 3, 3, n)
        return mixed, rotate(mixed, rest).add_(blended[:, 9:])

    def _chain(self, local: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """G (N, J, 3, 3), c (N, J, 3) and D (N, J, 3, B) along the kinematic chain."""
        rotations, _ = forward_kinematics(local, None, self._levels)  # (N, J, 3, 3)
        eye = torch.eye(3, dtype=local.dtype, device=local.device).expand_as(local[:, :1])
        parent_rotations = torch.cat([eye, rotations[:, self.parent_index]], 1)
        steps = parent_rotations - rotations  # (G_parent - G_k), (N, J, 3, 3)
        own = torch.einsum("nkij,kjb->nkib", steps, self.joint_columns)  # (N, J, 3, 1 + B)
        total = torch.einsum("kj,njib->nkib", self.ancestors, own)  # summed along the chain
        return rotations, total[..., 0], total[..., 1:]


def rotate(mixed: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """(M, 3, 3, N) matrices x (M, 3, N) vectors -> (M, 3, N), per vertex and sample."""
    out = mixed[:, :, 0] * vectors[:, None, 0]
    out.addcmul_(mixed[:, :, 1], vectors[:, None, 1])
    return out.addcmul_(mixed[:, :, 2], vectors[:, None, 2])


def rotate_transposed(mixed: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """(M, 3, 3, N) matrices, transposed, x (M, 3, N) vectors -> (M, 3, N)."""
    out = mixed[:, 0] * vectors[:, None, 0]
    out.addcmul_(mixed[:, 1], vectors[:, None, 1])
    return out.addcmul_(mixed[:, 2], vectors[:, None, 2])


def blend(weights: torch.Tensor, per_joint: torch.Tensor) -> torch.Tensor:
    """(M, J) weights x (J, ..., N) joint quantities -> (M, ..., N): one matrix product."""
    return (weights @ per_joint.reshape(per_joint.shape[0], -1)).reshape(-1, *per_joint.shape[1:])


def _folded_weights(weights: torch.Tensor, parents: list[int], joints: int) -> torch.Tensor:
    """(M, J) skinning weights with every joint past J added to its nearest posed ancestor
    (SMPL-X: jaw/eyes -> head, fingers -> wrists): exact while those joints are at rest."""
    folded = weights[:, :joints].detach().clone()
    for joint in range(joints, weights.shape[1]):
        ancestor = joint
        while ancestor >= joints:
            ancestor = parents[ancestor]
        folded[:, ancestor] += weights[:, joint].detach()
    return folded


def _ancestor_matrix(parents: list[int]) -> torch.Tensor:
    """(J, J) float64 with [k, j] = 1 when j is k or one of its ancestors."""
    out = torch.zeros(len(parents), len(parents), dtype=torch.float64)
    for k in range(len(parents)):
        j = k
        while j >= 0:
            out[k, j] = 1.0
            j = parents[j]
    return out
