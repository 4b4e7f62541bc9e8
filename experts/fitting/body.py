"""SMPLify-style SMPL fitting to OpenPose body keypoints (and MediaPipe world landmarks).

Model keypoints (OpenPose-25 order) are SPIN's (``constants.JOINT_MAP``): SMPL joints for
neck, shoulders, elbows, wrists, mid-hip (pelvis), hips, knees and ankles, and the surface
vertices ``smplx`` selects for the nose, eyes, ears, toes and heels
(``smplx.vertex_ids['smplh']``, read from the layer's ``vertex_joint_selector``). SPIN's
``J_regressor_extra`` only feeds its 24 ground-truth joints, not OpenPose's, so nothing is
missing with the synthetic family. As SPIN's SMPLify, the OpenPose neck and hips get weight
0 by default: SMPL's neck and hip joints sit elsewhere than OpenPose's points.

Frame: SPIN's. The global rotation includes the 180-degree turn about x that takes SMPL's
y-up model to the camera's y-down image frame, so model points project as
``s * (X[:2] + [tx, ty])`` with no flip; a sample starts facing the camera.

Loss per sample (sum of squares of): the confidence-weighted Geman-McClure 2D residuals;
optionally centred 3D residuals to the metric world landmarks; ``pose_weight * (theta -
theta_ref)``; ``limit_weight *`` the distance outside :func:`~.limits.smpl_body_limits`;
``shape_weight * (betas - betas_ref)``. The reference is the mean (zeros) or the init record.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.fitting.fitter import KeypointFitter, Solver
from furpe_label.experts.fitting.limits import smpl_body_limits
from furpe_label.experts.fitting.losses import (
    centred_world_residual,
    clean_keypoints,
    hinge_residual,
    keypoint_residual,
)
from furpe_label.experts.fitting.outputs import (
    FitResult,
    camera_array,
    empty_result,
    part_keypoints,
    too_few_keypoints,
)
from furpe_label.experts.fitting.problem import FitData, ParamLayout, standard_stages
from furpe_label.experts.fitting.solver import lbfgs_batched
from furpe_label.experts.fitting.sparse_skinning import SparseSkinning
from furpe_label.experts.geometry.kinematics import rodrigues
from furpe_label.experts.geometry.rotations import matrix_to_axis_angle
from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES, mapping
from furpe_label.experts.records import BodyParams, ExpertRecord

__all__ = ["OPENPOSE25_FROM_SMPL", "SmplBodyFitter"]

OPENPOSE25_FROM_SMPL = (24, 12, 17, 19, 21, 16, 18, 20, 0, 2, 5, 8, 1, 4, 7, *range(25, 35))
"""Per OpenPose-25 slot, the index into [24 SMPL joints, nose, right eye, left eye, right ear,
left ear, left big toe, left small toe, left heel, right big toe, right small toe, right heel]
(SPIN's JOINT_MAP)."""

_NUM_VERTEX_POINTS = 11
_SPIN_IGNORED = ("neck", "right_hip", "left_hip")


def _yaw(angle: float) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


class SmplBodyFitter(KeypointFitter):
    """Batched SMPL fitting to body keypoints in the SPIN body-crop frame.

    Args:
        models_dir: body-model folder (see :func:`~furpe_label.experts.bodymodels.loading.
            load_body_model`).
        gender: SMPL variant.
        device: where to optimise.
        iterations: the most L-BFGS iterations of each stage (:func:`~.problem.
            standard_stages`).
        keypoint_weights: (25,) per OpenPose keypoint, multiplied into the confidences;
            default 1, and 0 for neck and hips (SPIN).
        sigma: Geman-McClure scale of the final stage, normalised crop units (0.1 = 11 crop
            px); earlier stages use 3x and 2x this.
        pose_weight, shape_weight, limit_weight: prior weights (residual per radian / per
            beta / per radian outside the limits).
        world_weight: weight of the world-landmark residual per metre; world_sigma: its
            Geman-McClure scale, metres.
        min_keypoints: instances with fewer usable keypoints are not fitted (loss NaN).
    """

    def __init__(
        self,
        models_dir: Path | str | None,
        gender: str = "neutral",
        device: torch.device | str = "cpu",
        iterations: int = 30,
        keypoint_weights: np.ndarray | None = None,
        sigma: float = 0.1,
        pose_weight: float = 0.03,
        shape_weight: float = 0.03,
        limit_weight: float = 3.0,
        world_weight: float = 1.0,
        world_sigma: float = 0.15,
        min_keypoints: int = 4,
    ) -> None:
        self.device = torch.device(device)
        model = load_body_model(models_dir, "smpl", gender)
        layer = model.layer
        self.model_sha256 = model.sha256
        vertex_ids = layer.vertex_joint_selector.extra_joints_idxs[:_NUM_VERTEX_POINTS].long()
        self.skinning = SparseSkinning(
            layer.v_template,
            layer.shapedirs,
            layer.posedirs,
            layer.J_regressor,
            layer.parents.cpu().numpy(),
            layer.lbs_weights,
            vertex_ids[:, None].expand(-1, 3),
            torch.tensor([1.0, 0.0, 0.0]).expand(_NUM_VERTEX_POINTS, 3),
        ).to(self.device)
        self.layout = ParamLayout(**{"global": 3, "body": 69, "betas": 10, "camera": 3})
        self.stages = standard_stages(("global", "body", "betas", "camera"), iterations, sigma)
        names = KEYPOINT_NAMES["openpose25"]
        if keypoint_weights is None:
            keypoint_weights = np.array([0.0 if n in _SPIN_IGNORED else 1.0 for n in names])
        self.keypoint_weights = torch.as_tensor(
            np.asarray(keypoint_weights, dtype=np.float32).reshape(25), device=self.device
        )
        self.index = torch.tensor(OPENPOSE25_FROM_SMPL, device=self.device)
        world_src, world_dst = mapping("mediapipe_pose33", "openpose25")
        self.world_src = torch.tensor(world_src, device=self.device)
        self.world_dst = torch.tensor(world_dst, device=self.device)
        low, high = smpl_body_limits()
        self.limit_low, self.limit_high = low.to(self.device), high.to(self.device)
        self.weights = {"pose": pose_weight, "shape": shape_weight, "limit": limit_weight}
        self.world_weight, self.world_sigma = world_weight, world_sigma
        self.min_keypoints = min_keypoints
        self.facing_camera = torch.diag(torch.tensor([1.0, -1.0, -1.0])).to(self.device)
        self.scales = self.coefficient_scales(("betas",))

    # ------------------------------------------------------------------ model
    def start_rotations(self) -> torch.Tensor:
        """Facing the camera, its right, away from it, its left (yaw in the camera frame)."""
        return torch.stack([_yaw(k * math.pi / 2) for k in range(4)]).to(self.device)

    def rotmats(self, x: torch.Tensor, data: FitData) -> torch.Tensor:
        """(B, 24, 3, 3) SMPL joint rotations."""
        body = rodrigues(self.layout(x, "body").reshape(-1, 23, 3))
        return torch.cat([self.global_rotation(x, data)[:, None], body], dim=1)

    def posed(self, x: torch.Tensor, data: FitData) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 25, 3) OpenPose-25 model keypoints and (B, 3) pelvis, metres, camera-aligned."""
        joints, points = self.skinning(self.layout(x, "betas"), self.rotmats(x, data))
        return torch.cat([joints, points], dim=1)[:, self.index], joints[:, 0]

    def data_terms(
        self, points: torch.Tensor, x: torch.Tensor, data: FitData, sigma: float
    ) -> list[torch.Tensor]:
        """Robust 2D residuals (B, 50) and, with world landmarks, centred 3D residuals."""
        projected = self.projection(points, x)
        terms = [keypoint_residual(projected, data.target, data.conf, sigma)]
        if data.world.shape[1]:
            model = points[:, self.world_dst]
            world = centred_world_residual(model, data.world, data.world_conf, self.world_sigma)
            terms.append(self.world_weight * world)
        return terms

    def prior_terms(self, x: torch.Tensor, data: FitData) -> list[torch.Tensor]:
        """Pull toward the reference, joint limits, shape regulariser."""
        body, betas = self.layout(x, "body"), self.layout(x, "betas")
        return [
            self.weights["pose"] * (body - self.layout(data.reference, "body")),
            self.weights["limit"] * hinge_residual(body, self.limit_low, self.limit_high),
            self.weights["shape"] * (betas - self.layout(data.reference, "betas")),
        ]

    # ------------------------------------------------------------------ API
    def encode(self, params: BodyParams, camera: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Parameters (M, 85) and base rotations (M, 3, 3) of given body params and SPIN
        camera (M, 3); raises ValueError on a non-positive scale or non-finite values."""
        rotmats = torch.as_tensor(params.rotmats, dtype=torch.float32, device=self.device)
        camera_t = torch.as_tensor(camera, dtype=torch.float32, device=self.device)
        if not bool((camera_t[:, 0] > 0).all()) or not bool(torch.isfinite(rotmats).all()):
            raise ValueError("body record has a non-positive camera scale or non-finite rotations")
        batch = rotmats.shape[0]
        blocks = {
            "global": torch.zeros(batch, 3, device=self.device),
            "body": matrix_to_axis_angle(rotmats[:, 1:]).reshape(batch, 69),
            "betas": torch.as_tensor(params.betas, dtype=torch.float32, device=self.device),
            "camera": torch.cat([camera_t[:, :1].log(), camera_t[:, 1:]], dim=-1),
        }
        return self.layout.join(blocks), rotmats[:, 0].clone()

    def evaluate(self, params: BodyParams, camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model keypoints of fitted (or network) parameters.

        Returns:
            (M, 25, 2) OpenPose-25 projections in the normalised body-crop frame and
            (M, 25, 3) the 3D keypoints, metres, camera-aligned (SPIN's frame).
        """
        x, base = self.encode(params, camera)
        data = self.bare(x, base)
        with torch.no_grad():
            points = self.model_points(x, data)
            projected = self.projection(points, x)
        return projected.cpu().numpy(), points.cpu().numpy()

    def _start(self, batch: int, init: ExpertRecord | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Start parameters (B, 85) and base rotations (B, 3, 3): the mean body facing the
        camera, or the init record."""
        if init is None:
            x = torch.zeros(batch, self.layout.size, device=self.device)
            return x, self.facing_camera.expand(batch, 3, 3).clone()
        if not isinstance(init.params, BodyParams) or len(init) != batch:
            raise ValueError(f"init must be a body record of {batch} instances")
        return self.encode(init.params, init.camera)

    def _world(self, world_landmarks: np.ndarray | None, batch: int) -> tuple[torch.Tensor, ...]:
        if world_landmarks is None:
            empty = torch.zeros(batch, 0, 3, device=self.device)
            return empty, empty[..., 0]
        world = torch.tensor(np.asarray(world_landmarks), dtype=torch.float32)
        if world.shape != (batch, 33, 3):
            raise ValueError(f"world_landmarks must be ({batch}, 33, 3), got {tuple(world.shape)}")
        world = world.to(self.device)[:, self.world_src]
        present = torch.isfinite(world).all(-1)
        return torch.where(present[..., None], world, 0.0), present.float()

    def fit(
        self,
        keypoints: np.ndarray | torch.Tensor,
        world_landmarks: np.ndarray | None = None,
        init: ExpertRecord | None = None,
        solver: Solver = lbfgs_batched,
    ) -> FitResult:
        """Fit SMPL to M instances, all optimised together.

        Args:
            keypoints: (M, 25, 3) OpenPose-25 or (M, 137, 3) OpenPose-137 ``x, y,
                confidence`` in the normalised body-crop frame ([-1, 1]); confidence 0 or
                NaN coordinates = missing.
            world_landmarks: optional (M, 33, 3) MediaPipe pose world landmarks, metres,
                NaN where absent.
            init: optional body record to refine (SPIN's output): start and prior centre.
            solver: :func:`~.solver.lbfgs_batched` (default), or the one-sample-at-a-time
                baseline :func:`~.solver.lbfgs_per_sample` (benchmarks).

        Returns:
            :class:`~.outputs.FitResult` with :class:`BodyParams` (rotmats (M, 24, 3, 3),
            betas (M, 10)), SPIN's camera and the final loss.
        """
        points = part_keypoints(keypoints, "body", 25).to(self.device)
        batch = points.shape[0]
        if batch == 0:
            return empty_result("body")
        target, conf = clean_keypoints(points)
        conf = conf * self.keypoint_weights
        x0, base = self._start(batch, init)
        world, world_conf = self._world(world_landmarks, batch)
        data = FitData(target, conf, base, x0.clone(), world, world_conf)
        x, data, loss = self.run_stages(x0, data, fresh_camera=init is None, solver=solver)
        skipped = too_few_keypoints(conf, self.min_keypoints)
        x = torch.where(skipped[:, None], x0, x)
        data = FitData(
            target,
            conf,
            torch.where(skipped[:, None, None], base, data.base),
            data.reference,
            world,
            world_conf,
        )
        with torch.no_grad():
            params = BodyParams(
                rotmats=self.rotmats(x, data).cpu().numpy().astype(np.float32),
                betas=self.layout(x, "betas").cpu().numpy().astype(np.float32),
            )
        loss = torch.where(skipped, torch.nan, loss)
        return FitResult(
            params, camera_array(self.layout(x, "camera")), loss.cpu().numpy().astype(np.float32)
        )
