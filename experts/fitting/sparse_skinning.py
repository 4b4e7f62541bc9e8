"""Joints and a few surface points of an ``smplx`` body model, batched, without the full mesh.

A keypoint fitter needs the posed joints and a handful of surface points (SMPL's nose, ears,
toes; MANO's fingertips; FLAME's landmarks), not all vertices. :class:`SparseSkinning` keeps
only what those need and computes them exactly as ``smplx.lbs.lbs`` does, with the project's
kinematics (:mod:`furpe_label.experts.geometry.kinematics`):

* rest joints are linear in the blend coefficients, so the joint regressor is folded into the
  blend shapes once (``fold_joint_regressor``: ``J = J_template + coeffs @ J_dirs``);
* the kinematic chain is walked one tree depth at a time (``forward_kinematics``);
* only the vertices the points use are shaped, pose-corrected and skinned
  (``vertex_blend_matrix``), then combined with barycentric weights (a vertex keypoint is a
  point with weights ``(1, 0, 0)``).

The result equals the layer's own forward pass on those points to float32 round-off
(tests/experts/fitting/test_fitting_kinematics.py).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from furpe_label.experts.geometry.kinematics import (
    apply3,
    depth_order,
    fold_joint_regressor,
    forward_kinematics,
    vertex_blend_matrix,
)

__all__ = ["SparseSkinning"]

_MIN_ROWS = 4
"""Batches are evaluated with at least this many rows. PyTorch's CPU matrix products take a
different kernel for fewer rows (measured: 1-3 rows of a (B, 218) x (218, 300) float32
product differ from the same rows inside a larger batch in the last bit; 4 and more agree
exactly), so without padding a sample fitted alone, or left alone in the solver's active set,
would follow a different round-off path than inside its batch, and L-BFGS amplifies that."""


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
        self._levels = depth_order(parents).chain_levels

        j_template, j_dirs = fold_joint_regressor(j_regressor, v_template, blend_dirs)
        self.register_buffer("j_template", j_template.to(dtype), False)
        j_dirs = j_dirs.reshape(3 * n_joints, -1)
        self.register_buffer("j_dirs", j_dirs.T.contiguous().to(dtype), False)

        ids, inverse = torch.unique(point_vertices.reshape(-1).long(), return_inverse=True)
        self.register_buffer("point_index", inverse.view(-1, 3), False)
        self.register_buffer("point_weights", point_weights.to(dtype), False)
        blend = vertex_blend_matrix(v_template, blend_dirs, posedirs, ids).T.to(dtype)
        self.register_buffer("blend", blend.contiguous(), False)  # (C + P + 1, U * 3)
        self.register_buffer("weights", lbs_weights[ids].to(dtype).contiguous(), False)

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
        if 0 < batch < _MIN_ROWS:
            return self._padded(coeffs, rotmats, select)
        rest = self.j_template + (coeffs @ self.j_dirs).view(batch, self.num_joints, 3)
        rot_g, posed = forward_kinematics(rotmats, rest, self._levels)
        shift = posed - apply3(rot_g, rest)
        transforms = torch.cat([rot_g.reshape(batch, -1, 9), shift], dim=-1)  # (B, J, 12)
        eye = torch.eye(3, dtype=rotmats.dtype, device=rotmats.device)
        pose_feature = (rotmats[:, 1:] - eye).reshape(batch, -1)
        feats = torch.cat([coeffs, pose_feature, coeffs.new_ones(batch, 1)], dim=-1)
        v_rest = (feats @ self.blend).view(batch, -1, 3)  # (B, U, 3)
        # One (U, J) x (J, B * 12) product instead of B small ones: (B, U, 12).
        flat = transforms.permute(1, 0, 2).reshape(self.num_joints, -1)
        blended = (self.weights @ flat).view(-1, batch, 12).transpose(0, 1)
        rot_v = blended[..., :9].reshape(batch, -1, 3, 3)
        verts = apply3(rot_v, v_rest) + blended[..., 9:]
        if select is None:
            corners = verts[:, self.point_index]  # (B, Q, 3, 3)
            weights = self.point_weights
        else:
            index = self.point_index[select].reshape(batch, -1, 1).expand(-1, -1, 3)
            corners = torch.gather(verts, 1, index).view(batch, -1, 3, 3)  # (B, Q', 3, 3)
            weights = self.point_weights[select]
        points = (corners * weights[..., None]).sum(-2)
        return posed, points

    def _padded(
        self, coeffs: torch.Tensor, rotmats: torch.Tensor, select: torch.Tensor | None
    ) -> tuple[torch.Tensor, ...]:
        """:meth:`forward` of a batch smaller than ``_MIN_ROWS``, run with its first row
        repeated up to ``_MIN_ROWS`` rows (see ``_MIN_ROWS``)."""
        rows = torch.cat(
            [
                torch.arange(coeffs.shape[0], device=coeffs.device),
                coeffs.new_zeros(_MIN_ROWS - coeffs.shape[0], dtype=torch.long),
            ]
        )
        picked = None if select is None else select[rows]
        return tuple(out[: coeffs.shape[0]] for out in self(coeffs[rows], rotmats[rows], picked))
