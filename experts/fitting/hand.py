"""MANO fitting to OpenPose hand keypoints, in FrankMocap's hand-crop frame and layout.

Model keypoints (OpenPose hand order, FrankMocap's ``smplx_hand_to_panoptic``): MANO's 16
joints and 5 fingertip vertices. The tips are FrankMocap's / manopth's vertex ids
(:data:`FRANKMOCAP_TIPS`, the extreme points of the fingers): they are the MANO vertices on
which SMPL-X's own fingertip keypoints (``smplx.vertex_ids['smplx']``) lie, so a fitted
hand agrees with the SMPL-X keypoints used after fusion. (``smplx.vertex_ids['mano']`` names
vertices one ring below the tips.)

Frame and layout: FrankMocap's. Its camera projects hand points shifted by the index
finger's first joint (``hand_joints - joints[:, hand_start_idx]``, SMPL-X joint 40 = MANO
joint 1) as ``s * (X[:2] + [tx, ty])``; pose = global rotation (3) + 15 finger rotations
relative to the mean hand (MANO's ``hands_mean``, ``flat_hand_mean=False``). Every hand is
fitted with the right-hand model: left hands are mirrored (x -> -x) before and the result
un-mirrored after (pose y, z and camera tx negated), as FrankMocap does with its crops.

Shape: the output ``shape`` holds MANO betas (FrankMocap's 10 values are SMPL-X body betas
driving its SMPL-X hand; fusion does not use either).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.fitting.fitter import KeypointFitter, Solver
from furpe_label.experts.fitting.limits import finger_frames, finger_limits
from furpe_label.experts.fitting.losses import clean_keypoints, hinge_residual, keypoint_residual
from furpe_label.experts.fitting.outputs import (
    FitResult,
    camera_array,
    empty_result,
    too_few_keypoints,
)
from furpe_label.experts.fitting.problem import FitData, ParamLayout, standard_stages
from furpe_label.experts.fitting.solver import lbfgs_batched
from furpe_label.experts.fitting.sparse_skinning import SparseSkinning
from furpe_label.experts.geometry.kinematics import rodrigues
from furpe_label.experts.geometry.rotations import matrix_to_axis_angle
from furpe_label.experts.keypoints.conventions import OPENPOSE137_PARTS
from furpe_label.experts.records import ExpertRecord, HandParams

__all__ = ["FRANKMOCAP_TIPS", "OPENPOSE21_FROM_MANO", "ManoHandFitter"]

FRANKMOCAP_TIPS = (745, 317, 444, 556, 673)
"""MANO fingertip vertex ids: thumb, index, middle, ring, pinky (FrankMocap, manopth)."""
OPENPOSE21_FROM_MANO = (0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20)
"""Per OpenPose hand slot, the index into [16 MANO joints, 5 tips (thumb .. pinky)]."""
_FRAME_ORIGIN = 5  # OpenPose hand slot of MANO joint 1 (index finger, first joint)
_MIRROR_POSE = torch.tensor([1.0, -1.0, -1.0]).repeat(16)  # un/mirror a (48,) MANO pose
_MIRROR_CAMERA = torch.tensor([1.0, -1.0, 1.0])


def _about(axis: int, angle: float) -> torch.Tensor:
    vector = torch.zeros(3)
    vector[axis] = angle
    return rodrigues(vector)


class ManoHandFitter(KeypointFitter):
    """Batched MANO fitting to hand keypoints in the FrankMocap hand-crop frame.

    Args:
        models_dir: body-model folder (needs ``mano/MANO_RIGHT.pkl``).
        device: where to optimise.
        iterations: the most L-BFGS iterations of each stage (:func:`~.problem.
            standard_stages`).
        sigma: Geman-McClure scale of the final stage, normalised crop units (earlier
            stages: 3x and 2x).
        pose_weight, shape_weight, limit_weight: prior weights (per radian of finger
            rotation away from the reference / per beta / per radian outside the limits).
        tips: fingertip vertex ids (thumb .. pinky).
        min_keypoints: instances with fewer usable keypoints are not fitted (loss NaN).
    """

    def __init__(
        self,
        models_dir: Path | str | None,
        device: torch.device | str = "cpu",
        iterations: int = 50,
        sigma: float = 0.1,
        pose_weight: float = 0.02,
        shape_weight: float = 0.05,
        limit_weight: float = 3.0,
        tips: tuple[int, ...] = FRANKMOCAP_TIPS,
        min_keypoints: int = 4,
    ) -> None:
        self.device = torch.device(device)
        model = load_body_model(models_dir, "mano", "right", flat_hand_mean=False)
        layer = model.layer
        self.model_sha256 = model.sha256
        tip_ids = torch.tensor(tips)
        self.skinning = SparseSkinning(
            layer.v_template,
            layer.shapedirs,
            layer.posedirs,
            layer.J_regressor,
            layer.parents.cpu().numpy(),
            layer.lbs_weights,
            tip_ids[:, None].expand(-1, 3),
            torch.tensor([1.0, 0.0, 0.0]).expand(len(tips), 3),
        ).to(self.device)
        self.hand_mean = layer.hand_mean.reshape(15, 3).float().to(self.device)
        rest_joints = (layer.J_regressor @ layer.v_template).cpu().numpy()
        frames = finger_frames(
            rest_joints,
            layer.parents.cpu().numpy(),
            layer.v_template[tip_ids].cpu().numpy(),
            self.hand_mean.cpu().numpy(),
        )
        self.frames = torch.tensor(frames, dtype=torch.float32, device=self.device)
        low, high = finger_limits()
        self.limit_low, self.limit_high = low.to(self.device), high.to(self.device)
        self.layout = ParamLayout(**{"global": 3, "fingers": 45, "betas": 10, "camera": 3})
        every = ("global", "fingers", "betas", "camera")
        self.stages = standard_stages(every, iterations, sigma)
        self.index = torch.tensor(OPENPOSE21_FROM_MANO, device=self.device)
        self.weights = {"pose": pose_weight, "shape": shape_weight, "limit": limit_weight}
        self.min_keypoints = min_keypoints
        self.scales = self.coefficient_scales(("betas",))

    # ------------------------------------------------------------------ model
    def start_rotations(self) -> torch.Tensor:
        """Four in-plane turns (about the viewing axis), each palm-toward and palm-away."""
        turns = [_about(2, k * math.pi / 2) for k in range(4)]
        flips = [torch.eye(3), _about(1, math.pi)]
        return torch.stack([turn @ flip for flip in flips for turn in turns]).to(self.device)

    def rotmats(self, x: torch.Tensor, data: FitData) -> torch.Tensor:
        """(B, 16, 3, 3) MANO joint rotations (the mean hand added to the fingers)."""
        fingers = self.layout(x, "fingers").reshape(-1, 15, 3) + self.hand_mean
        return torch.cat([self.global_rotation(x, data)[:, None], rodrigues(fingers)], dim=1)

    def posed(self, x: torch.Tensor, data: FitData) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 21, 3) OpenPose hand keypoints and (B, 3) wrist, metres, camera-aligned."""
        joints, tips = self.skinning(self.layout(x, "betas"), self.rotmats(x, data))
        return torch.cat([joints, tips], dim=1)[:, self.index], joints[:, 0]

    def frame(self, points: torch.Tensor) -> torch.Tensor:
        """FrankMocap's frame: points relative to the index finger's first joint."""
        return points - points[:, _FRAME_ORIGIN : _FRAME_ORIGIN + 1]

    def data_terms(
        self, points: torch.Tensor, x: torch.Tensor, data: FitData, sigma: float
    ) -> list[torch.Tensor]:
        """Robust 2D residuals (B, 42)."""
        return [keypoint_residual(self.projection(points, x), data.target, data.conf, sigma)]

    def prior_terms(self, x: torch.Tensor, data: FitData) -> list[torch.Tensor]:
        """Pull toward the reference, anatomical finger limits, shape regulariser."""
        fingers, betas = self.layout(x, "fingers"), self.layout(x, "betas")
        absolute = fingers.reshape(-1, 15, 3) + self.hand_mean
        anatomical = (self.frames * absolute[:, :, None, :]).sum(-1)  # (B, 15, 3)
        outside = hinge_residual(anatomical, self.limit_low, self.limit_high)
        return [
            self.weights["pose"] * (fingers - self.layout(data.reference, "fingers")),
            self.weights["limit"] * outside.reshape(-1, 45),
            self.weights["shape"] * (betas - self.layout(data.reference, "betas")),
        ]

    # ------------------------------------------------------------------ API
    def _keypoints(self, keypoints: np.ndarray | torch.Tensor, is_left: torch.Tensor):
        points = torch.tensor(np.asarray(keypoints), dtype=torch.float32)
        batch = is_left.shape[0]
        shape = tuple(points.shape)
        if len(shape) != 3 or shape[0] != batch or shape[1:] not in ((21, 3), (137, 3)):
            raise ValueError(
                f"hand keypoints must be ({batch}, 21, 3) or ({batch}, 137, 3) x, y, "
                f"confidence; got shape {tuple(points.shape)}"
            )
        if points.shape[1] == 137:
            left = points[:, OPENPOSE137_PARTS["left_hand"]]
            right = points[:, OPENPOSE137_PARTS["right_hand"]]
            points = torch.where(is_left[:, None, None].cpu(), left, right)
        return points.to(self.device)

    def encode(self, params: HandParams, camera: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Parameters (M, 61) and base rotations (M, 3, 3) in right-hand (mirrored) space of
        given hand params and FrankMocap camera (M, 3); raises ValueError on a non-positive
        scale or non-finite values."""
        pose = torch.as_tensor(params.pose, dtype=torch.float32, device=self.device)
        camera_t = torch.as_tensor(camera, dtype=torch.float32, device=self.device)
        if not bool((camera_t[:, 0] > 0).all()) or not bool(torch.isfinite(pose).all()):
            raise ValueError("hand record has a non-positive camera scale or non-finite pose")
        left = torch.as_tensor(params.is_left, device=self.device)[:, None]
        pose = torch.where(left, pose * _MIRROR_POSE.to(self.device), pose)
        camera_t = torch.where(left, camera_t * _MIRROR_CAMERA.to(self.device), camera_t)
        blocks = {
            "global": torch.zeros(pose.shape[0], 3, device=self.device),
            "fingers": pose[:, 3:],
            "betas": torch.as_tensor(params.shape, dtype=torch.float32, device=self.device),
            "camera": torch.cat([camera_t[:, :1].log(), camera_t[:, 1:]], dim=-1),
        }
        return self.layout.join(blocks), rodrigues(pose[:, :3])

    def evaluate(self, params: HandParams, camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model keypoints of fitted (or network) parameters, left hands un-mirrored.

        Returns:
            (M, 21, 2) OpenPose hand projections in the normalised hand-crop frame and
            (M, 21, 3) the 3D keypoints, metres, relative to the index finger's first joint.
        """
        x, base = self.encode(params, camera)
        with torch.no_grad():
            points = self.model_points(x, self.bare(x, base))
            projected = self.projection(points, x)
        left = torch.as_tensor(params.is_left, device=self.device)[:, None, None]
        points = torch.where(
            left, points * torch.tensor([-1.0, 1.0, 1.0], device=self.device), points
        )
        projected = torch.where(
            left, projected * torch.tensor([-1.0, 1.0], device=self.device), projected
        )
        return projected.cpu().numpy(), points.cpu().numpy()

    def _start(self, is_left: torch.Tensor, init: ExpertRecord | None):
        """Start (B, 61) and base rotations (B, 3, 3) in right-hand (mirrored) space."""
        batch = is_left.shape[0]
        if init is None:
            x = torch.zeros(batch, self.layout.size, device=self.device)
            return x, torch.eye(3, device=self.device).expand(batch, 3, 3).clone()
        params = init.params
        if not isinstance(params, HandParams) or len(init) != batch:
            raise ValueError(f"init must be a hand record of {batch} instances")
        if not np.array_equal(params.is_left, is_left.cpu().numpy()):
            raise ValueError("init record's is_left differs from is_left")
        return self.encode(params, init.camera)

    def fit(
        self,
        keypoints: np.ndarray | torch.Tensor,
        is_left: np.ndarray | torch.Tensor,
        init: ExpertRecord | None = None,
        solver: Solver = lbfgs_batched,
    ) -> FitResult:
        """Fit MANO to M hands (left and right mixed), all optimised together.

        Args:
            keypoints: (M, 21, 3) OpenPose hand keypoints, or (M, 137, 3) OpenPose-137 (the
                side's slice is taken), ``x, y, confidence`` in the normalised hand-crop
                frame; confidence 0 or NaN coordinates = missing.
            is_left: (M,) bool, True for left hands.
            init: optional hand record to refine (FrankMocap's output, same is_left).
            solver: :func:`~.solver.lbfgs_batched` (default), or the one-sample-at-a-time
                baseline :func:`~.solver.lbfgs_per_sample` (benchmarks).

        Returns:
            :class:`~.outputs.FitResult` with :class:`HandParams` (pose (M, 48): global +
            fingers relative to the mean hand, MANO betas, is_left), FrankMocap's camera
            and the final loss; left hands un-mirrored.
        """
        is_left = torch.tensor(np.asarray(is_left), dtype=torch.bool, device=self.device)
        if is_left.ndim != 1:
            raise ValueError(f"is_left must be (M,), got shape {tuple(is_left.shape)}")
        target, conf = clean_keypoints(self._keypoints(keypoints, is_left))
        if len(is_left) == 0:
            return empty_result("hand")
        target = torch.where(
            is_left[:, None, None], target * torch.tensor([-1.0, 1.0], device=self.device), target
        )
        x0, base = self._start(is_left, init)
        empty = torch.zeros(len(is_left), 0, 3, device=self.device)
        data = FitData(target, conf, base, x0.clone(), empty, empty[..., 0])
        x, data, loss = self.run_stages(x0, data, fresh_camera=init is None, solver=solver)
        skipped = too_few_keypoints(conf, self.min_keypoints)
        x = torch.where(skipped[:, None], x0, x)
        rotation = torch.where(skipped[:, None, None], base, data.base)
        with torch.no_grad():
            pose = torch.cat([matrix_to_axis_angle(rotation), self.layout(x, "fingers")], -1)
            pose = torch.where(is_left[:, None], pose * _MIRROR_POSE.to(self.device), pose)
        camera = camera_array(self.layout(x, "camera"))
        camera[is_left.cpu().numpy()] *= _MIRROR_CAMERA.numpy()
        params = HandParams(
            pose=pose.cpu().numpy().astype(np.float32),
            shape=self.layout(x, "betas").detach().cpu().numpy().astype(np.float32),
            is_left=is_left.cpu().numpy(),
        )
        loss = torch.where(skipped, torch.nan, loss)
        return FitResult(params, camera, loss.cpu().numpy().astype(np.float32))
