"""Synthetic people for the selection tests and benchmarks (no real data involved).

Plausible SMPL-X parameters in SPIN's camera frame (y down, the person facing the camera up to
a yaw), the project's fast keypoint layer on the synthetic body-model family, and SPIN-style
body crops around the visible body keypoints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.geometry.crop_transform import center_size_to_affine
from furpe_label.experts.keypoints.fast_openpose import OpenPoseFromSMPLX

BODY = slice(0, 25)


def plausible_smplx_params(n: int, seed: int, yaw_range: float = np.pi) -> dict[str, np.ndarray]:
    """(n, ...) float32 SMPL-X parameters by smplx name, hand poses absolute.

    Upright (rotated 180 degrees about x into the camera frame, y down), yaw uniform in
    ``[-yaw_range, yaw_range]`` with a few degrees of tilt; joint rotations of a few tens of
    degrees; shapes within 2.5 standard deviations; no translation.
    """
    rng = np.random.default_rng(seed)
    yaw = rng.uniform(-yaw_range, yaw_range, n)
    tilt = rng.normal(0.0, 0.08, (n, 2))
    orient = (
        Rotation.from_euler("x", np.pi)
        * Rotation.from_euler("y", yaw[:, None])
        * Rotation.from_euler("xz", tilt)
    )
    params = {
        "global_orient": orient.as_rotvec(),
        "body_pose": rng.normal(0.0, 0.2, (n, 21, 3)),
        "betas": rng.normal(0.0, 1.0, (n, 10)).clip(-2.5, 2.5),
        "left_hand_pose": rng.normal(0.0, 0.25, (n, 15, 3)),
        "right_hand_pose": rng.normal(0.0, 0.25, (n, 15, 3)),
        "jaw_pose": np.stack([rng.uniform(0.0, 0.3, n), np.zeros(n), np.zeros(n)], 1),
        "leye_pose": np.zeros((n, 3)),
        "reye_pose": np.zeros((n, 3)),
        "expression": rng.normal(0.0, 0.7, (n, 10)),
    }
    return {name: value.astype(np.float32) for name, value in params.items()}


def keypoint_layer(models_dir: Path, use_face_contour: bool = False) -> OpenPoseFromSMPLX:
    """The fast OpenPose-137 layer of the (synthetic) SMPL-X, hand poses absolute."""
    model = load_body_model(
        models_dir, "smplx", flat_hand_mean=True, use_face_contour=use_face_contour
    ).layer
    return OpenPoseFromSMPLX(model)


def body_crop_affines(points_px: np.ndarray, visible: np.ndarray, size: int = 224) -> np.ndarray:
    """(n, 2, 3) SPIN-style body crops: a square of 1.2x the larger side of the box around the
    visible body keypoints (``points_px`` (n, 137, 2), ``visible`` (n, 137) bool)."""
    body = np.where(visible[:, BODY, None], points_px[:, BODY], np.nan)
    low, high = np.nanmin(body, axis=1), np.nanmax(body, axis=1)
    center = (low + high) / 2
    side = 1.2 * (high - low).max(axis=1)
    return center_size_to_affine(center, side, size)
