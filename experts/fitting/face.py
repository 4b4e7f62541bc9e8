"""FLAME fitting to the 68 OpenPose face landmarks, in DECA's face-crop frame and layout.

Model landmarks: ``smplx``'s FLAME landmark embedding: 51 static landmarks (OpenPose face
points 17..67) and the 17 contour points (0..16), whose triangles depend on the head's yaw
through the dynamic look-up table (``smplx.lbs.find_dynamic_lmk_idx_and_bcoords``). The
table row is chosen from the current head rotation before every stage and held fixed
within it (a discrete choice has no gradient). The pupils (68, 69) have no FLAME point and
are ignored.

Frame and layout: DECA's. A FLAME point X projects to ``s * (X[:2] + [tx, ty])`` and DECA
then negates y (FLAME's y points up): the fitter negates the detected y instead. Pose =
[head (global) rotation 3, jaw 3] axis-angle, neck and eyes at rest as in DECA; shape 100,
expression 50. ``tex`` and ``light`` are not observable from landmarks: zeros (mean albedo,
no lighting), or the init record's values when refining.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
from smplx.utils import rot_mat_to_euler

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.fitting.fitter import KeypointFitter, Solver
from furpe_label.experts.fitting.losses import clean_keypoints, hinge_residual, keypoint_residual
from furpe_label.experts.fitting.outputs import (
    FitResult,
    camera_array,
    empty_result,
    part_keypoints,
    too_few_keypoints,
)
from furpe_label.experts.fitting.problem import FitData, ParamLayout, bare_data, standard_stages
from furpe_label.experts.fitting.solver import lbfgs_batched
from furpe_label.experts.fitting.sparse_skinning import SparseSkinning
from furpe_label.experts.geometry.kinematics import mul3, rodrigues
from furpe_label.experts.geometry.rotations import matrix_to_axis_angle
from furpe_label.experts.records import ExpertRecord, FaceParams

__all__ = ["FlameFaceFitter"]

_NUM_STATIC, _NUM_CONTOUR = 51, 17
_MAX_YAW_ROW = 39  # the dynamic table has one row per degree of |yaw| <= 39, both sides
_JAW_LIMITS = ((-0.1, 0.7), (-0.15, 0.15), (-0.15, 0.15))  # radians; x > 0 opens the mouth
_FLIP_Y = torch.tensor([1.0, -1.0])


@dataclass(frozen=True)
class FaceFitData(FitData):
    """:class:`FitData` plus contour_row: (B,) long row of the dynamic landmark table."""

    contour_row: torch.Tensor


def _fields(data: FitData) -> dict[str, torch.Tensor]:
    return {f.name: getattr(data, f.name) for f in fields(data)}


class FlameFaceFitter(KeypointFitter):
    """Batched FLAME fitting to face landmarks in the DECA face-crop frame.

    Args:
        models_dir: body-model folder (needs ``flame/`` with a landmark embedding).
        device: where to optimise.
        iterations: the most L-BFGS iterations of each stage (:func:`~.problem.
            standard_stages`).
        sigma: Geman-McClure scale of the final stage, normalised crop units (earlier
            stages: 3x and 2x).
        shape_weight, expression_weight, jaw_weight, limit_weight: prior weights (per
            coefficient / per radian of jaw rotation / per radian outside the jaw limits).
        min_keypoints: instances with fewer usable landmarks are not fitted (loss NaN).
    """

    def __init__(
        self,
        models_dir: Path | str | None,
        device: torch.device | str = "cpu",
        iterations: int = 30,
        sigma: float = 0.1,
        shape_weight: float = 0.02,
        expression_weight: float = 0.02,
        jaw_weight: float = 0.05,
        limit_weight: float = 3.0,
        min_keypoints: int = 6,
    ) -> None:
        self.device = torch.device(device)
        model = load_body_model(
            models_dir, "flame", num_betas=100, num_expression_coeffs=50, use_face_contour=True
        )
        layer = model.layer
        self.model_sha256 = model.sha256
        faces = layer.faces_tensor.long()
        rows = layer.dynamic_lmk_faces_idx.shape[0]
        triangles = torch.cat(
            [faces[layer.lmk_faces_idx], faces[layer.dynamic_lmk_faces_idx].reshape(-1, 3)]
        )
        weights = torch.cat([layer.lmk_bary_coords, layer.dynamic_lmk_bary_coords.reshape(-1, 3)])
        self.skinning = SparseSkinning(
            layer.v_template,
            torch.cat([layer.shapedirs, layer.expr_dirs], dim=-1),
            layer.posedirs,
            layer.J_regressor,
            layer.parents.cpu().numpy(),
            layer.lbs_weights,
            triangles,
            weights,
        ).to(self.device)
        self.num_rows = int(rows)
        self.neck_chain = [int(i) for i in layer.neck_kin_chain]
        self.layout = ParamLayout(**{"global": 3, "jaw": 3, "shape": 100, "exp": 50, "camera": 3})
        every = ("global", "jaw", "shape", "exp", "camera")
        self.stages = standard_stages(every, iterations, sigma)
        limits = torch.tensor(_JAW_LIMITS, device=self.device)
        self.limit_low, self.limit_high = limits[:, 0], limits[:, 1]
        self.weights = {
            "shape": shape_weight,
            "exp": expression_weight,
            "jaw": jaw_weight,
            "limit": limit_weight,
        }
        self.min_keypoints = min_keypoints
        self.scales = self.coefficient_scales(("shape", "exp"))

    # ------------------------------------------------------------------ model
    def start_rotations(self) -> torch.Tensor:
        """Frontal, and turned 45 degrees to either side."""
        yaws = [rodrigues(torch.tensor([0.0, a, 0.0])) for a in (0.0, math.pi / 4, -math.pi / 4)]
        return torch.stack(yaws).to(self.device)

    def rotmats(self, x: torch.Tensor, data: FitData) -> torch.Tensor:
        """(B, 5, 3, 3) FLAME joint rotations: head, neck (rest), jaw, eyes (rest)."""
        batch = x.shape[0]
        eye = torch.eye(3, device=x.device).expand(batch, 1, 3, 3)
        jaw = rodrigues(self.layout(x, "jaw"))[:, None]
        return torch.cat([self.global_rotation(x, data)[:, None], eye, jaw, eye, eye], dim=1)

    def contour_rows(self, rotmats: torch.Tensor) -> torch.Tensor:
        """(B,) long dynamic-table row for joint rotations (B, 5, 3, 3), as ``smplx``."""
        relative = torch.eye(3, device=rotmats.device).expand(rotmats.shape[0], 3, 3)
        for joint in self.neck_chain:
            relative = mul3(rotmats[:, joint], relative)
        yaw = torch.round(
            torch.clamp(-rot_mat_to_euler(relative) * 180.0 / math.pi, max=_MAX_YAW_ROW)
        ).long()
        negative = torch.where(yaw < -_MAX_YAW_ROW, 2 * _MAX_YAW_ROW, _MAX_YAW_ROW - yaw)
        return torch.where(yaw < 0, negative, yaw).clamp(0, self.num_rows - 1)

    def bare(self, x: torch.Tensor, base: torch.Tensor) -> FitData:
        """Data without landmarks, contour rows chosen from the head rotation."""
        rows = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        return self.prepare_stage(x, FaceFitData(**_fields(bare_data(x, base)), contour_row=rows))

    def prepare_stage(self, x: torch.Tensor, data: FitData) -> FitData:
        """Choose each sample's contour row from its current head rotation."""
        with torch.no_grad():
            rows = self.contour_rows(self.rotmats(x, data))
        return replace(data, contour_row=rows)

    def posed(self, x: torch.Tensor, data: FitData) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 68, 3) landmarks (contour 17, then the 51 static) and (B, 3) root, metres."""
        coeffs = torch.cat([self.layout(x, "shape"), self.layout(x, "exp")], dim=-1)
        offsets = torch.arange(_NUM_CONTOUR, device=x.device)
        contour = _NUM_STATIC + data.contour_row[:, None] * _NUM_CONTOUR + offsets  # (B, 17)
        static = torch.arange(_NUM_STATIC, device=x.device).expand(x.shape[0], -1)
        select = torch.cat([contour, static], dim=1)  # OpenPose order: contour first
        joints, points = self.skinning(coeffs, self.rotmats(x, data), select)
        return points, joints[:, 0]

    def data_terms(
        self, points: torch.Tensor, x: torch.Tensor, data: FitData, sigma: float
    ) -> list[torch.Tensor]:
        """Robust 2D residuals (B, 136)."""
        return [keypoint_residual(self.projection(points, x), data.target, data.conf, sigma)]

    def prior_terms(self, x: torch.Tensor, data: FitData) -> list[torch.Tensor]:
        """Shape, expression and jaw pulled toward the reference; jaw limits."""
        ref = data.reference
        jaw = self.layout(x, "jaw")
        return [
            self.weights["shape"] * (self.layout(x, "shape") - self.layout(ref, "shape")),
            self.weights["exp"] * (self.layout(x, "exp") - self.layout(ref, "exp")),
            self.weights["jaw"] * (jaw - self.layout(ref, "jaw")),
            self.weights["limit"] * hinge_residual(jaw, self.limit_low, self.limit_high),
        ]

    # ------------------------------------------------------------------ API
    def encode(self, params: FaceParams, camera: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Parameters (M, 159) and base head rotations (M, 3, 3) of given face params and
        DECA camera (M, 3); raises ValueError on a non-positive scale or non-finite values."""
        pose = torch.as_tensor(params.pose, dtype=torch.float32, device=self.device)
        camera_t = torch.as_tensor(camera, dtype=torch.float32, device=self.device)
        if not bool((camera_t[:, 0] > 0).all()) or not bool(torch.isfinite(pose).all()):
            raise ValueError("face record has a non-positive camera scale or non-finite pose")
        blocks = {
            "global": torch.zeros(pose.shape[0], 3, device=self.device),
            "jaw": pose[:, 3:],
            "shape": torch.as_tensor(params.shape, dtype=torch.float32, device=self.device),
            "exp": torch.as_tensor(params.expression, dtype=torch.float32, device=self.device),
            "camera": torch.cat([camera_t[:, :1].log(), camera_t[:, 1:]], dim=-1),
        }
        return self.layout.join(blocks), rodrigues(pose[:, :3])

    def evaluate(self, params: FaceParams, camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model landmarks of fitted (or network) parameters.

        Returns:
            (M, 68, 2) OpenPose face projections in the normalised face-crop frame (DECA's y
            flip applied: image y down) and (M, 68, 3) the 3D landmarks, metres, FLAME frame.
        """
        x, base = self.encode(params, camera)
        data = self.bare(x, base)
        with torch.no_grad():
            points = self.model_points(x, data)
            projected = self.projection(points, x) * _FLIP_Y.to(self.device)
        return projected.cpu().numpy(), points.cpu().numpy()

    def _start(self, batch: int, init: ExpertRecord | None):
        """Start (B, 159) and base head rotations (B, 3, 3)."""
        if init is None:
            x = torch.zeros(batch, self.layout.size, device=self.device)
            return x, torch.eye(3, device=self.device).expand(batch, 3, 3).clone()
        if not isinstance(init.params, FaceParams) or len(init) != batch:
            raise ValueError(f"init must be a face record of {batch} instances")
        return self.encode(init.params, init.camera)

    def fit(
        self,
        keypoints: np.ndarray | torch.Tensor,
        init: ExpertRecord | None = None,
        solver: Solver = lbfgs_batched,
    ) -> FitResult:
        """Fit FLAME to M faces, all optimised together.

        Args:
            keypoints: (M, 70, 3) OpenPose face landmarks or (M, 137, 3) OpenPose-137, ``x,
                y, confidence`` in the normalised face-crop frame (image y down);
                confidence 0 or NaN coordinates = missing.
            init: optional face record to refine (DECA's output).
            solver: :func:`~.solver.lbfgs_batched` (default), or the one-sample-at-a-time
                baseline :func:`~.solver.lbfgs_per_sample` (benchmarks).

        Returns:
            :class:`~.outputs.FitResult` with :class:`FaceParams` (shape, expression, pose [head,
            jaw], tex, light), DECA's camera and the final loss.
        """
        points = part_keypoints(keypoints, "face", 70).to(self.device)[:, :68]
        batch = points.shape[0]
        if batch == 0:
            return empty_result("face")
        target, conf = clean_keypoints(points)
        target = target * _FLIP_Y.to(self.device)
        x0, base = self._start(batch, init)
        empty = torch.zeros(batch, 0, 3, device=self.device)
        rows = torch.zeros(batch, dtype=torch.long, device=self.device)
        data = FaceFitData(target, conf, base, x0.clone(), empty, empty[..., 0], rows)
        x, data, loss = self.run_stages(x0, data, fresh_camera=init is None, solver=solver)
        skipped = too_few_keypoints(conf, self.min_keypoints)
        x = torch.where(skipped[:, None], x0, x)
        head = matrix_to_axis_angle(torch.where(skipped[:, None, None], base, data.base))
        if init is None:
            tex = np.zeros((batch, 50), np.float32)
            light = np.zeros((batch, 9, 3), np.float32)
        else:
            tex, light = init.params.tex.astype(np.float32), init.params.light.astype(np.float32)
        with torch.no_grad():
            params = FaceParams(
                shape=self.layout(x, "shape").cpu().numpy().astype(np.float32),
                expression=self.layout(x, "exp").cpu().numpy().astype(np.float32),
                pose=torch.cat([head, self.layout(x, "jaw")], -1).cpu().numpy().astype(np.float32),
                tex=tex,
                light=light,
            )
        loss = torch.where(skipped, torch.nan, loss)
        return FitResult(
            params, camera_array(self.layout(x, "camera")), loss.cpu().numpy().astype(np.float32)
        )
