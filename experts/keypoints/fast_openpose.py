"""OpenPose-137 keypoints from SMPL-X parameters without building the mesh.

``smplx.SMPLX.forward`` shapes, poses and skins all 10 475 vertices to read ~100 keypoints.
Only three things feed the keypoints (see ``smplx_openpose``):

* the 55 posed joints: linear in (betas, expression) before posing, so the joint regressor is
  folded into the blend shapes once (``J = J_template + J_dirs @ [betas, expression]``) and the
  kinematic chain is walked level by level (all joints of one tree depth in one batched op);
* 21 vertex keypoints and the 51 static face landmarks: ~174 vertices, shaped, pose-corrected
  and skinned exactly as ``smplx.lbs`` does, then barycentric-interpolated;
* with ``use_face_contour``, 17 contour landmarks whose faces depend on the neck's yaw
  (``smplx.lbs.find_dynamic_lmk_idx_and_bcoords``): samples are grouped by look-up-table row
  and each group skins only that row's 51 vertices.

The result equals ``smplx_joints_to_openpose137(model(...).joints)`` to float32 round-off.
Joint rotations use the project's one Rodrigues (``geometry.rotations.axis_angle_to_matrix``,
roma's) rather than ``smplx.lbs.batch_rodrigues``, which nudges every component by 1e-8 before
taking the angle; the two agree to ~1e-8, far below the keypoints' float32 resolution.
"""

from __future__ import annotations

import numpy as np
import torch
from smplx import SMPLX
from smplx.utils import rot_mat_to_euler
from torch import nn

from furpe_label.experts.geometry.rotations import axis_angle_to_matrix
from furpe_label.experts.keypoints.smplx_openpose import smplx_to_openpose137

_NUM_JOINTS = 55
_LUT_ROWS_MAX_YAW = 39  # smplx's dynamic landmark table: one row per degree, |yaw| <= 39


def _tree_levels(parents: np.ndarray) -> list[np.ndarray]:
    """Joint indices grouped by depth in the tree (root excluded), shallowest first."""
    depth = np.zeros(len(parents), dtype=np.int64)
    for joint in range(1, len(parents)):
        depth[joint] = depth[parents[joint]] + 1  # smplx trees list parents before children
    return [np.flatnonzero(depth == d) for d in range(1, int(depth.max()) + 1)]


def _vertex_data(model: SMPLX, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Model data of the vertices ``ids`` (U,), as two matrices.

    Returns:
        blend (nc + 486 + 1, U*3) metres: rows are the shape+expression directions, the pose
            correctives, then the template, so ``[coeffs, pose_feature, 1] @ blend`` is the
            rest-pose (shaped, expression- and pose-corrected) position of every vertex;
        weights (U, 55) skinning weights.
    """
    dirs = torch.cat([model.shapedirs, model.expr_dirs], dim=-1)[ids]  # (U, 3, nc)
    posedirs = model.posedirs.view(model.posedirs.shape[0], -1, 3)[:, ids]  # (486, U, 3)
    blend = torch.cat([dirs.reshape(-1, dirs.shape[-1]).T,
                       posedirs.reshape(posedirs.shape[0], -1),
                       model.v_template[ids].reshape(1, -1)])  # fmt: skip
    return blend.contiguous(), model.lbs_weights[ids].clone()


class OpenPoseFromSMPLX(nn.Module):
    """OpenPose-137 keypoints (metres) of a loaded ``smplx.SMPLX`` model, computed sparsely.

    Built once from a model (any gender, ``num_betas``, ``num_expression_coeffs``,
    ``flat_hand_mean``, ``use_face_contour``); keeps only the buffers the keypoints need, so it
    moves with ``.to(device)`` independently of the model. Hand poses are always full
    axis-angle (15 x 3 per hand), relative to the model's hand mean as in ``smplx``.
    """

    def __init__(self, model: SMPLX) -> None:
        super().__init__()
        if not hasattr(model, "expr_dirs") or not hasattr(model, "lmk_faces_idx"):
            raise TypeError("OpenPoseFromSMPLX needs an smplx.SMPLX model")
        self.use_face_contour = bool(model.use_face_contour)
        self.num_betas = int(model.num_betas)
        self.num_expression_coeffs = int(model.num_expression_coeffs)
        parents = model.parents.cpu().numpy().astype(np.int64)
        self.register_buffer("parents", torch.as_tensor(parents), persistent=False)
        self._levels = _tree_levels(parents)
        for i, level in enumerate(self._levels):
            self.register_buffer(f"level{i}", torch.as_tensor(level), persistent=False)
            self.register_buffer(f"level{i}_parent", torch.as_tensor(parents[level]), False)
        dtype = model.v_template.dtype
        self.register_buffer("pose_mean", model.pose_mean.reshape(-1, 3).clone(), False)

        # Joints are linear in [betas, expression]: fold the regressor in, in float64.
        j_reg = model.J_regressor.double()
        dirs = torch.cat([model.shapedirs, model.expr_dirs], dim=-1).double()
        self.register_buffer("j_template", (j_reg @ model.v_template.double()).to(dtype), False)
        j_dirs = torch.einsum("jv,vcn->jcn", j_reg, dirs).reshape(3 * _NUM_JOINTS, -1)
        self.register_buffer("j_dirs", j_dirs.T.contiguous().to(dtype), False)

        # Static surface points: the 21 vertex keypoints, then the 51 static landmarks.
        faces = model.faces_tensor
        extra = model.vertex_joint_selector.extra_joints_idxs.long()
        lmk_vertices = faces[model.lmk_faces_idx]  # (51, 3)
        static_ids, inverse = torch.unique(torch.cat([extra, lmk_vertices.reshape(-1)]), True,
                                           return_inverse=True)  # fmt: skip
        # Each point is a weighted sum of 3 of those vertices (a keypoint vertex: weights 1,0,0).
        n_extra = len(extra)
        point_vertices = torch.cat([inverse[:n_extra, None].expand(-1, 3),
                                    inverse[n_extra:].view(-1, 3)])  # fmt: skip
        point_weights = torch.cat([torch.eye(3, dtype=dtype)[:1].expand(n_extra, -1),
                                   model.lmk_bary_coords])  # fmt: skip
        self.register_buffer("static_point_vertices", point_vertices.contiguous(), False)
        self.register_buffer("static_point_weights", point_weights.contiguous(), False)
        blend, weights = _vertex_data(model, static_ids)
        self.register_buffer("static_blend", blend, False)
        self.register_buffer("static_weights", weights, False)

        if self.use_face_contour:  # per look-up-table row: 17 landmarks x 3 vertices
            n_rows = model.dynamic_lmk_faces_idx.shape[0]
            blend, weights = _vertex_data(model, faces[model.dynamic_lmk_faces_idx].reshape(-1))
            blend = blend.view(blend.shape[0], n_rows, -1).transpose(0, 1).contiguous()
            self.register_buffer("dyn_blend", blend, False)  # (79, nc + 487, 153)
            self.register_buffer("dyn_weights", weights.view(n_rows, -1, _NUM_JOINTS), False)
            self.register_buffer("dyn_bary", model.dynamic_lmk_bary_coords.clone(), False)
            self.register_buffer("neck_kin_chain", model.neck_kin_chain.clone(), False)

        index, mask = smplx_to_openpose137(self.use_face_contour)
        self.register_buffer("op_index", torch.tensor(index), False)
        self.register_buffer("op_mask", torch.tensor(mask), False)

    # ------------------------------------------------------------------ pieces
    def _kinematic_chain(
        self, rot: torch.Tensor, joints: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Global rotations (B,55,3,3) and posed joints (B,55,3) m from local rotations
        (B,55,3,3) and rest joints (B,55,3) m."""
        rel = joints.clone()
        rel[:, 1:] = joints[:, 1:] - joints[:, self.parents[1:]]
        rot_g = torch.empty_like(rot)
        pos_g = torch.empty_like(joints)
        rot_g[:, 0] = rot[:, 0]
        pos_g[:, 0] = joints[:, 0]
        for i in range(len(self._levels)):
            idx, par = getattr(self, f"level{i}"), getattr(self, f"level{i}_parent")
            rot_p = rot_g[:, par]
            # 3x3 products as broadcast multiply-adds: faster than many tiny bmm calls.
            rot_g[:, idx] = (rot_p[..., :, :, None] * rot[:, idx, None, :, :]).sum(-2)
            pos_g[:, idx] = (rot_p * rel[:, idx, None, :]).sum(-1) + pos_g[:, par]
        return rot_g, pos_g

    @staticmethod
    def _skin(
        blend: torch.Tensor, weights: torch.Tensor, feats: torch.Tensor, transforms: torch.Tensor
    ) -> torch.Tensor:
        """Posed vertices (b,U,3) m: rest positions ``feats (b,K) @ blend (K,U*3)`` skinned by
        ``weights`` (U,55) with the per-joint transforms (b,55,12) = [rotation 9 | shift 3]."""
        b = feats.shape[0]
        v_rest = (feats @ blend).view(b, -1, 1, 3)  # (b, U, 1, 3): broadcasts over rows
        # One (U,55) x (55, b*12) product instead of b small ones.
        blended = weights @ transforms.transpose(0, 1).reshape(weights.shape[1], -1)
        blended = blended.view(-1, b, 12).transpose(0, 1)  # (b, U, 12)
        rot = blended[..., :9].reshape(b, -1, 3, 3)
        out = blended[..., 9:] + rot[..., 0] * v_rest[..., 0]
        return out + rot[..., 1] * v_rest[..., 1] + rot[..., 2] * v_rest[..., 2]

    def _lut_rows(self, full_pose: torch.Tensor) -> torch.Tensor:
        """(B,) long row of the dynamic-landmark table, computed as smplx does from the
        (B,165) full pose (axis-angle, hand mean included)."""
        batch = full_pose.shape[0]
        aa = torch.index_select(full_pose.view(batch, -1, 3), 1, self.neck_kin_chain)
        rots = axis_angle_to_matrix(aa)
        rel = torch.eye(3, device=full_pose.device, dtype=full_pose.dtype).repeat(batch, 1, 1)
        for i in range(rots.shape[1]):
            rel = torch.bmm(rots[:, i], rel)
        yaw = torch.clamp(-rot_mat_to_euler(rel) * 180.0 / np.pi, max=_LUT_ROWS_MAX_YAW)
        yaw = torch.round(yaw).to(torch.long)
        # Non-negative yaw: row = yaw; negative: rows 40..78 (39 - yaw), 78 beyond -39 degrees.
        lim = _LUT_ROWS_MAX_YAW
        negative = torch.where(yaw < -lim, 2 * lim, lim - yaw)
        return torch.where(yaw < 0, negative, yaw)

    def _contour(self, rows: torch.Tensor, feats: torch.Tensor, transforms: torch.Tensor):
        """(B,17,3) m contour landmarks; the samples of each table row are skinned together
        (``rows`` (B,) long, ``feats`` (B,K), ``transforms`` (B,55,12))."""
        order = torch.argsort(rows, stable=True)
        counts = torch.bincount(rows, minlength=self.dyn_blend.shape[0]).tolist()
        feats, transforms = feats[order], transforms[order]
        parts, start = [], 0
        for row, count in enumerate(counts):
            if count == 0:
                continue
            stop = start + count
            verts = self._skin(self.dyn_blend[row], self.dyn_weights[row], feats[start:stop],
                               transforms[start:stop])  # fmt: skip
            bary = self.dyn_bary[row][None, :, :, None]  # (1, 17, 3, 1)
            parts.append((verts.view(count, -1, 3, 3) * bary).sum(2))
            start = stop
        out = parts[0].new_empty(rows.shape[0], *parts[0].shape[1:])
        out[order] = torch.cat(parts)
        return out

    # ------------------------------------------------------------------ API
    def joints(
        self,
        global_orient: torch.Tensor,
        body_pose: torch.Tensor,
        betas: torch.Tensor,
        left_hand_pose: torch.Tensor,
        right_hand_pose: torch.Tensor,
        jaw_pose: torch.Tensor | None = None,
        leye_pose: torch.Tensor | None = None,
        reye_pose: torch.Tensor | None = None,
        expression: torch.Tensor | None = None,
        transl: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """smplx's ``joints`` output, (B, 127 or 144, 3) metres, without the mesh.

        Args (axis-angle in radians): global_orient (B,3); body_pose (B,21,3) or (B,63);
        left/right_hand_pose (B,15,3) or (B,45); jaw/leye/reye_pose (B,3), default 0;
        betas (B or 1, num_betas); expression (B, num_expression_coeffs), default 0;
        transl (B,3) metres, default 0.
        """
        batch = global_orient.shape[0]
        zeros3 = global_orient.new_zeros(batch, 3)
        full_pose = torch.cat([global_orient.reshape(-1, 1, 3), body_pose.reshape(-1, 21, 3),
                               (zeros3 if jaw_pose is None else jaw_pose).reshape(-1, 1, 3),
                               (zeros3 if leye_pose is None else leye_pose).reshape(-1, 1, 3),
                               (zeros3 if reye_pose is None else reye_pose).reshape(-1, 1, 3),
                               left_hand_pose.reshape(-1, 15, 3),
                               right_hand_pose.reshape(-1, 15, 3)], dim=1)  # fmt: skip
        full_pose = full_pose + self.pose_mean  # (B, 55, 3)
        if expression is None:
            expression = global_orient.new_zeros(batch, self.num_expression_coeffs)
        coeffs = torch.cat([betas.expand(batch, -1), expression], dim=-1)

        rot = axis_angle_to_matrix(full_pose)  # (B, 55, 3, 3)
        rest_joints = self.j_template + (coeffs @ self.j_dirs).view(batch, _NUM_JOINTS, 3)
        rot_g, posed = self._kinematic_chain(rot, rest_joints)
        trans = posed - (rot_g * rest_joints[:, :, None, :]).sum(-1)
        transforms = torch.cat([rot_g.reshape(batch, _NUM_JOINTS, 9), trans], dim=-1)
        eye = torch.eye(3, dtype=rot.dtype, device=rot.device)
        pose_feature = (rot[:, 1:] - eye).reshape(batch, -1)
        feats = torch.cat([coeffs, pose_feature, coeffs.new_ones(batch, 1)], dim=-1)

        verts = self._skin(self.static_blend, self.static_weights, feats, transforms)
        corners = verts[:, self.static_point_vertices]  # (B, 72, 3, 3)
        parts = [posed, (corners * self.static_point_weights[..., None]).sum(2)]
        if self.use_face_contour:
            rows = self._lut_rows(full_pose.reshape(batch, -1))
            parts.append(self._contour(rows, feats, transforms))
        joints = torch.cat(parts, dim=1)
        return joints if transl is None else joints + transl[:, None, :]

    def forward(self, **params: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """OpenPose-137 keypoints (B,137,3) metres, 0 where unmapped, and the (137,) bool
        mask (pupils, and the contour without ``use_face_contour``, are unmapped).

        Takes the keyword arguments of ``joints`` (smplx parameter names).
        """
        points = self.joints(**params)[:, self.op_index]
        return torch.where(self.op_mask[:, None], points, torch.zeros_like(points)), self.op_mask
