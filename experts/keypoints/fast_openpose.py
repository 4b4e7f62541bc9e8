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

Every intermediate array is component-first, batch last (the kernels of
``geometry.kinematics_component_first``): on one CPU thread 4x (2x with the contour) faster
than the earlier batch-first version, ~160x (~60x) faster than ``smplx.SMPLX.forward`` (batch
1024, synthetic SMPL-X). Rotations use the project's Rodrigues
(:func:`furpe_label.experts.geometry.kinematics.rodrigues_entries`), which agrees with
``smplx.lbs.batch_rodrigues`` (1e-8 nudge before the angle) to ~1e-8. Only the row of the
dynamic contour table is computed with ``batch_rodrigues`` itself, as ``smplx`` does, since it
rounds an angle to whole degrees and must pick smplx's row at every boundary.

The result equals ``smplx_joints_to_openpose137(model(...).joints)`` to float32 round-off.
"""

from __future__ import annotations

import numpy as np
import torch
from smplx import SMPLX
from smplx.lbs import batch_rodrigues
from smplx.utils import rot_mat_to_euler
from torch import nn

from furpe_label.experts.geometry.kinematics import depth_order, fold_joint_regressor
from furpe_label.experts.geometry.kinematics_component_first import (
    forward_kinematics,
    rodrigues,
    skin,
    vertex_blend_data,
)
from furpe_label.experts.keypoints.smplx_openpose import smplx_to_openpose137

NUM_JOINTS = 55
NUM_POSE_FEATURES = 9 * (NUM_JOINTS - 1)
_LUT_ROWS_MAX_YAW = 39  # smplx's dynamic landmark table: one row per degree, |yaw| <= 39


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
        order, sorted_parents, self._levels = depth_order(parents)
        rank = np.argsort(order)  # smplx joint -> depth-sorted position
        buffer = self._buffer
        buffer("order", torch.as_tensor(order))
        buffer("sorted_parents", torch.as_tensor(sorted_parents))
        dtype = model.v_template.dtype
        buffer("pose_mean", model.pose_mean.reshape(-1, 3).clone())

        # Joints are linear in [betas, expression]: fold the regressor in, in float64.
        dirs = torch.cat([model.shapedirs, model.expr_dirs], dim=-1)
        j_template, j_dirs = fold_joint_regressor(model.J_regressor, model.v_template, dirs)
        j_template = j_template[order].T  # (3, 55)
        j_dirs = j_dirs.permute(1, 0, 2)[:, order]  # (3, 55, nc)
        buffer("j_template", j_template.reshape(-1, 1).to(dtype))
        buffer("j_dirs", j_dirs.reshape(3 * NUM_JOINTS, -1).to(dtype))

        # Static surface points: the 21 vertex keypoints, then the 51 static landmarks, each a
        # weighted sum of 3 vertices (a vertex keypoint: weights 1, 0, 0).
        faces = model.faces_tensor
        extra = model.vertex_joint_selector.extra_joints_idxs.long()
        lmk_vertices = faces[model.lmk_faces_idx].reshape(-1)
        static_ids, inverse = torch.unique(torch.cat([extra, lmk_vertices]), return_inverse=True)
        n_extra = len(extra)
        point_vertices = torch.cat(
            [inverse[:n_extra, None].expand(-1, 3), inverse[n_extra:].view(-1, 3)]
        )
        point_weights = torch.cat(
            [torch.eye(3, dtype=dtype)[:1].expand(n_extra, -1), model.lmk_bary_coords]
        )
        landmarks = torch.zeros(len(point_vertices), len(static_ids), dtype=dtype)
        buffer("static_landmarks", landmarks.scatter_add_(1, point_vertices, point_weights))
        blend, weights = vertex_blend_data(model, static_ids, order)
        active = weights.ne(0).any(0)
        if self.use_face_contour:  # per look-up-table row: 17 landmarks x 3 vertices
            n_rows = model.dynamic_lmk_faces_idx.shape[0]
            dyn_blend, dyn_weights = vertex_blend_data(
                model, faces[model.dynamic_lmk_faces_idx].reshape(-1), order
            )
            active |= dyn_weights.ne(0).any(0)
        # Skinning sums only over joints that move some selected vertex (exactly: others are 0).
        buffer("active_joints", torch.nonzero(active)[:, 0])
        buffer("static_blend", blend)
        buffer("static_weights", weights[:, active].contiguous())
        if self.use_face_contour:
            buffer("dyn_blend", dyn_blend.view(n_rows, -1, dyn_blend.shape[1]))  # (79, 153, K)
            buffer("dyn_weights", dyn_weights[:, active].reshape(n_rows, -1, int(active.sum())))
            buffer("dyn_bary", model.dynamic_lmk_bary_coords.clone())  # (79, 17, 3)
            buffer("neck_kin_chain", model.neck_kin_chain.clone())

        # Rows of the stacked points [55 depth-sorted joints, 72 static points, 17 contour]
        # giving smplx's joints output order and the OpenPose-137 order.
        n_static = len(point_vertices)
        smplx_rows = np.concatenate([rank, np.arange(NUM_JOINTS, NUM_JOINTS + n_static)])
        if self.use_face_contour:
            contour = NUM_JOINTS + n_static + np.arange(model.dynamic_lmk_bary_coords.shape[1])
            smplx_rows = np.concatenate([smplx_rows, contour])
        index, mask = smplx_to_openpose137(self.use_face_contour)
        buffer("smplx_rows", torch.as_tensor(smplx_rows))
        buffer("op_rows", torch.as_tensor(smplx_rows[index]))
        buffer("op_mask", torch.tensor(mask))

    def _buffer(self, name: str, value: torch.Tensor) -> None:
        self.register_buffer(name, value, persistent=False)

    # ------------------------------------------------------------------ pieces
    def _lut_rows(self, full_pose: torch.Tensor) -> torch.Tensor:
        """(B,) long row of the dynamic-landmark table, computed as smplx does from the
        (B,165) full pose (axis-angle, hand mean included)."""
        batch = full_pose.shape[0]
        aa = torch.index_select(full_pose.view(batch, -1, 3), 1, self.neck_kin_chain)
        rots = batch_rodrigues(aa.view(-1, 3)).view(batch, -1, 3, 3)
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
        """(17,3,B) m contour landmarks; the samples of each table row are skinned together
        (``rows`` (B,) long, ``feats`` (K,B), ``transforms`` (J,12,B))."""
        order = torch.argsort(rows, stable=True)
        counts = torch.bincount(rows, minlength=self.dyn_blend.shape[0]).tolist()
        parts, start = [], 0
        for row, count in enumerate(counts):
            if count == 0:
                continue
            cols = order[start : start + count]
            verts = skin(
                self.dyn_blend[row],
                self.dyn_weights[row],
                feats.index_select(1, cols),
                transforms.index_select(2, cols),
            )
            bary = self.dyn_bary[row][:, :, None, None]  # (17, 3 corners, 1, 1)
            parts.append((verts.view(-1, 3, 3, count) * bary).sum(1))
            start += count
        return torch.cat(parts, dim=2).index_select(2, torch.argsort(order))

    def _points(
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
        """All smplx points, stacked (55 + 72 [+ 17], 3, B) metres, joints in depth order;
        arguments as :meth:`joints`."""
        batch = global_orient.shape[0]
        zeros3 = global_orient.new_zeros(batch, 3)
        full_pose = torch.cat(
            [
                global_orient.reshape(-1, 1, 3),
                body_pose.reshape(-1, 21, 3),
                (zeros3 if jaw_pose is None else jaw_pose).reshape(-1, 1, 3),
                (zeros3 if leye_pose is None else leye_pose).reshape(-1, 1, 3),
                (zeros3 if reye_pose is None else reye_pose).reshape(-1, 1, 3),
                left_hand_pose.reshape(-1, 15, 3),
                right_hand_pose.reshape(-1, 15, 3),
            ],
            dim=1,
        )
        full_pose = full_pose + self.pose_mean  # (B, 55, 3)
        if expression is None:
            expression = global_orient.new_zeros(batch, self.num_expression_coeffs)
        coeffs = torch.cat([betas.expand(batch, -1), expression], dim=-1).T  # (nc, B)

        aa = full_pose.index_select(1, self.order).permute(2, 1, 0).contiguous()  # (3, 55, B)
        rot = rodrigues(aa)  # (3, 3, 55, B)
        rest_joints = torch.addmm(self.j_template, self.j_dirs, coeffs).view(3, NUM_JOINTS, -1)
        rot_g, posed = forward_kinematics(rot, rest_joints, self.sorted_parents, self._levels)
        shift = posed - (rot_g * rest_joints[None]).sum(1)
        transforms = torch.cat([rot_g.reshape(9, NUM_JOINTS, batch), shift])
        transforms = transforms.index_select(1, self.active_joints).transpose(0, 1).contiguous()
        eye = torch.eye(3, dtype=rot.dtype, device=rot.device)[:, :, None, None]
        pose_feature = (rot[:, :, 1:] - eye).reshape(NUM_POSE_FEATURES, batch)
        feats = torch.cat([coeffs, pose_feature, coeffs.new_ones(1, batch)])  # (K, B)

        verts = skin(self.static_blend, self.static_weights, feats, transforms)
        static = (self.static_landmarks @ verts.view(verts.shape[0], -1)).view(-1, 3, batch)
        parts = [posed.transpose(0, 1), static]
        if self.use_face_contour:
            rows = self._lut_rows(full_pose.reshape(batch, -1))
            parts.append(self._contour(rows, feats, transforms))
        points = torch.cat(parts)
        return points if transl is None else points + transl.T[None]

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
        params = {name: value for name, value in locals().items() if name != "self"}
        return self._points(**params).index_select(0, self.smplx_rows).permute(2, 0, 1)

    def forward(self, **params: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """OpenPose-137 keypoints (B,137,3) metres, 0 where unmapped, and the (137,) bool
        mask (pupils, and the contour without ``use_face_contour``, are unmapped).

        Takes the keyword arguments of ``joints`` (smplx parameter names).
        """
        points = self._points(**params).index_select(0, self.op_rows).permute(2, 0, 1)
        return torch.where(self.op_mask[:, None], points, torch.zeros_like(points)), self.op_mask
