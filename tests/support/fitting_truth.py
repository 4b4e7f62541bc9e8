"""Synthetic ground truth for the keypoint fitters (tests and benchmark).

Samples model parameters and a weak-perspective camera, projects the model keypoints into the
part's normalised crop frame, and corrupts them like a detector would: Gaussian noise,
missing points (confidence 0, NaN coordinates) and outliers (displaced, still confident).
The projection is the fitters' own (checked against ``smplx`` in test_fitting_kinematics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from furpe_label.experts.fitting.fitter import FitData
from furpe_label.experts.geometry.rotations import axis_angle_to_matrix

CROP_PX_PER_UNIT = 112.0  # normalised crop frame: 224 px span [-1, 1]


@dataclass(frozen=True)
class Truth:
    """x: (M, P) true parameters of the fitter's layout; data: FitData holding the true base
    rotation; keypoints: (M, K, 3) corrupted detections; clean: (M, K, 2) exact projections
    (the input frame: DECA's y flip applied for faces); points: (M, K, 3) true model
    keypoints, metres, in the frame the camera projects."""

    x: torch.Tensor
    data: FitData
    keypoints: np.ndarray
    clean: np.ndarray
    points: torch.Tensor


def _rotation(axis_angle: torch.Tensor) -> torch.Tensor:
    return axis_angle_to_matrix(axis_angle)


def corrupt(
    clean: torch.Tensor,
    generator: torch.Generator,
    noise_px: float,
    missing: float,
    outliers: float,
    outlier_px: tuple[float, float] = (40.0, 80.0),
) -> np.ndarray:
    """(M, K, 2) exact keypoints -> (M, K, 3) detections with noise, missing points and
    outliers (shares of all points); confidences in [0.6, 1]."""
    count, k = clean.shape[:2]
    noise = torch.randn(count, k, 2, generator=generator) * noise_px / CROP_PX_PER_UNIT
    conf = 0.6 + 0.4 * torch.rand(count, k, generator=generator)
    xy = clean + noise
    u = torch.rand(count, k, generator=generator)
    gone = u < missing
    bad = (u >= missing) & (u < missing + outliers)
    angle = 2 * math.pi * torch.rand(count, k, generator=generator)
    span = outlier_px[1] - outlier_px[0]
    radius = (outlier_px[0] + span * torch.rand(count, k, generator=generator)) / CROP_PX_PER_UNIT
    shift = torch.stack([angle.cos(), angle.sin()], -1) * radius[..., None]
    xy = torch.where(bad[..., None], xy + shift, xy)
    xy = torch.where(gone[..., None], torch.nan, xy)
    conf = torch.where(gone, 0.0, conf)
    return torch.cat([xy, conf[..., None]], -1).numpy().astype(np.float32)


def _camera(points: torch.Tensor, generator: torch.Generator, scale: tuple[float, float]):
    """Camera block [log s, tx, ty] that centres the points (B, K, 3) in the crop with a
    random scale in ``scale`` and a small random offset."""
    count = points.shape[0]
    s = scale[0] + (scale[1] - scale[0]) * torch.rand(count, generator=generator)
    centre = 0.5 * (points[..., :2].amax(1) + points[..., :2].amin(1))
    offset = 0.05 * (2 * torch.rand(count, 2, generator=generator) - 1)
    return torch.cat([s.log()[:, None], -centre + offset / s[:, None]], -1)


def body_truth(fitter, count: int, seed: int, noise_px=2.0, missing=0.1, outliers=0.0) -> Truth:
    """Plausible SMPL bodies (limbs bent within the limits, shape |beta| <= 2.5, yaw within
    +-60 degrees of facing the camera), projected to OpenPose-25 in the body crop."""
    g = torch.Generator().manual_seed(seed)
    pose = 0.15 * torch.randn(count, 23, 3, generator=g)

    def uniform(low, high):
        return low + (high - low) * torch.rand(count, generator=g)

    pose[:, 3, 0], pose[:, 4, 0] = uniform(0.0, 1.4), uniform(0.0, 1.4)  # knees
    pose[:, 0, 0], pose[:, 1, 0] = uniform(-1.0, 0.3), uniform(-1.0, 0.3)  # hips
    pose[:, 17, 1], pose[:, 18, 1] = uniform(-1.8, 0.0), uniform(0.0, 1.8)  # elbows
    pose[:, 15, 2], pose[:, 16, 2] = uniform(-1.3, 0.4), uniform(-0.4, 1.3)  # shoulders
    low, high = fitter.limit_low.view(23, 3), fitter.limit_high.view(23, 3)
    pose = torch.minimum(torch.maximum(pose, 0.9 * low), 0.9 * high)
    betas = (torch.randn(count, 10, generator=g)).clamp(-2.5, 2.5)
    tilt = torch.stack([uniform(-0.2, 0.2), uniform(-1.05, 1.05), uniform(-0.2, 0.2)], -1)
    base = _rotation(tilt) @ fitter.facing_camera
    x = torch.zeros(count, fitter.layout.size)
    x[:, fitter.layout.slices["body"]] = pose.reshape(count, -1)
    x[:, fitter.layout.slices["betas"]] = betas
    empty = torch.zeros(count, 0, 3)
    data = FitData(
        torch.zeros(count, 25, 2), torch.ones(count, 25), base, x.clone(), empty, empty[..., 0]
    )
    with torch.no_grad():
        points = fitter.model_points(x, data)
        x[:, fitter.layout.slices["camera"]] = _camera(points, g, (0.9, 1.2))
        clean = fitter.project(x, data)
    keypoints = corrupt(clean, g, noise_px, missing, outliers)
    return Truth(x, data, keypoints, clean.numpy(), points)


def hand_truth(fitter, count: int, seed: int, noise_px=2.0, missing=0.1, outliers=0.0) -> Truth:
    """Right-hand-space MANO hands: fingers curled between flat and a fist (within the
    limits), any global orientation, |beta| <= 2; projected to OpenPose hand 21."""
    g = torch.Generator().manual_seed(seed)
    flex = torch.rand(count, 15, 1, generator=g) * torch.tensor([1.2, 1.4, 1.0]).repeat(5)[:, None]
    frames = fitter.frames  # (15, 3, 3): rows flexion, abduction, twist axes
    side = 0.15 * torch.randn(count, 15, 2, generator=g)
    anatomical = torch.cat([flex, side], -1)  # (B, 15, 3) flexion, abduction, twist
    low, high = fitter.limit_low, fitter.limit_high
    anatomical = torch.minimum(torch.maximum(anatomical, 0.9 * low), 0.9 * high)
    absolute = (frames.transpose(-1, -2) * anatomical[:, :, None, :]).sum(-1)
    fingers = (absolute - fitter.hand_mean).reshape(count, 45)
    base = _rotation(torch.randn(count, 3, generator=g) * 1.2)
    x = torch.zeros(count, fitter.layout.size)
    x[:, fitter.layout.slices["fingers"]] = fingers
    x[:, fitter.layout.slices["betas"]] = torch.randn(count, 10, generator=g).clamp(-2, 2)
    empty = torch.zeros(count, 0, 3)
    data = FitData(
        torch.zeros(count, 21, 2), torch.ones(count, 21), base, x.clone(), empty, empty[..., 0]
    )
    with torch.no_grad():
        points = fitter.model_points(x, data)
        x[:, fitter.layout.slices["camera"]] = _camera(points, g, (7.0, 9.0))
        clean = fitter.project(x, data)
    keypoints = corrupt(clean, g, noise_px, missing, outliers)
    return Truth(x, data, keypoints, clean.numpy(), points)


def face_truth(fitter, count: int, seed: int, noise_px=2.0, missing=0.05, outliers=0.0) -> Truth:
    """FLAME faces: shape and expression coefficients ~ N(0, 1) (clipped at 2.5), jaw open
    up to 0.4 rad, head yaw within +-40 and pitch/roll within +-15 degrees; projected to the
    68 OpenPose face landmarks (DECA's y flip applied, pupils missing)."""
    from furpe_label.experts.fitting.face import FaceFitData

    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(count, fitter.layout.size)
    x[:, fitter.layout.slices["shape"]] = torch.randn(count, 100, generator=g).clamp(-2.5, 2.5)
    x[:, fitter.layout.slices["exp"]] = torch.randn(count, 50, generator=g).clamp(-2.5, 2.5)
    jaw = torch.zeros(count, 3)
    jaw[:, 0] = 0.4 * torch.rand(count, generator=g)
    x[:, fitter.layout.slices["jaw"]] = jaw
    angles = (torch.rand(count, 3, generator=g) * 2 - 1) * torch.tensor([0.26, 0.7, 0.26])
    base = _rotation(angles)
    empty = torch.zeros(count, 0, 3)
    rows = torch.zeros(count, dtype=torch.long)
    data = FaceFitData(
        torch.zeros(count, 68, 2),
        torch.ones(count, 68),
        base,
        x.clone(),
        empty,
        empty[..., 0],
        rows,
    )
    data = fitter.prepare_stage(x, data)
    with torch.no_grad():
        points = fitter.model_points(x, data)
        x[:, fitter.layout.slices["camera"]] = _camera(points, g, (7.0, 9.0))
        clean = fitter.project(x, data) * torch.tensor([1.0, -1.0])  # DECA's y flip
    keypoints = corrupt(clean, g, noise_px, missing, outliers)
    pupils = np.zeros((count, 2, 3), np.float32)
    return Truth(x, data, np.concatenate([keypoints, pupils], 1), clean.numpy(), points)
