"""Synthetic truth for choosing step 3's threshold: good labels vs gross errors.

Image formation: plausible SMPL-X people (``tests.support.selection_data``) seen by a pinhole camera
(focal 1000-1600 px, 1000 x 1000 image, 3-9 m away). Detector: the true OpenPose-137
projections plus Gaussian noise of 2% (body, face) / 6% (hands) of the part's box size, 3%
outliers moved 10-30% of the box, missing points (confidence 0) and confidences in the
detector's usual ranges; a quarter of the hands and the faces of people turned away are not
detected. Body crop: SPIN-style around the detected body. Part experts: truth plus the errors
of good regressors (body joints 0.1 rad per axis-angle component, global orientation 0.08,
betas 0.5, fingers 0.15 rad, expression 0.3) and a weak-perspective camera fitted to the true
body keypoints, perturbed by 3% in scale and 2 cm in translation. Gross errors, one per
affected sample: facing backwards (180 degrees about the vertical), a random body pose, a
camera off by 30-60% in scale or by 15-30 cm, a mirrored pose (left and right swapped).

The image formation (:func:`observe`, :func:`detect`) and the body expert's camera
(:func:`spin_camera`) are shared with the label-quality simulation
(``tests/support/quality_sim.py``).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from furpe_label.experts.geometry.cameras import WeakPerspectiveCamera, fit_weak_perspective
from furpe_label.experts.vocabulary import Part
from furpe_label.selection import BodyCropFrame, SelectionConfig, score_reprojection
from furpe_label.selection.step2_validity import hand_visibility_indices
from tests.support.selection_data import body_crop_affines, plausible_smplx_params

GROSS_KINDS = ("backwards", "random_pose", "camera", "mirrored")
_PARTS = {
    "body": (slice(0, 25), 0.02),
    "left_hand": (slice(25, 46), 0.06),
    "right_hand": (slice(46, 67), 0.06),
    "face": (slice(67, 137), 0.02),
}
# SMPL-X body joints 1..21 (body_pose rows 0..20) and their mirror partners
_MIRROR = [1, 0, 2, 4, 3, 5, 7, 6, 8, 10, 9, 11, 13, 12, 14, 16, 15, 18, 17, 20, 19]


def model_keypoints(layer, params: dict[str, np.ndarray]) -> torch.Tensor:
    """(n, 137, 3) float32 OpenPose-137 keypoints (metres) of SMPL-X ``params`` (smplx names)."""
    with torch.no_grad():
        return layer(**{k: torch.as_tensor(v, dtype=torch.float32) for k, v in params.items()})[0]


def detect(truth_px: np.ndarray, yaw: np.ndarray, rng, noise_level: float = 1.0) -> np.ndarray:
    """(n, 137, 3) noisy detections ``(x, y, conf)`` of the true pixel positions (n, 137, 2).

    ``yaw`` (n,) radians hides the faces of people turned away by more than 75 degrees;
    ``noise_level`` scales the position noise and the rates of outliers, missing points and
    undetected hands (0: exact positions, every point present; the draws are the same).
    """
    n = len(truth_px)
    detected = np.zeros((n, 137, 3))
    for name, (part, sigma) in _PARTS.items():
        points = truth_px[:, part]
        size = np.ptp(points, axis=1).max(axis=1)[:, None, None]  # part box size, px
        noise = rng.normal(0.0, noise_level * sigma, points.shape) * size
        outlier = rng.random(points.shape[:2]) < 0.03 * noise_level
        direction = rng.normal(size=points.shape)
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
        jump = direction * size * rng.uniform(0.1, 0.3, outlier.shape)[..., None]
        detected[:, part, :2] = points + np.where(outlier[..., None], jump, noise)
        low = {"body": 0.3, "face": 0.45}.get(name, 0.25)
        conf = rng.uniform(low, 1.0, points.shape[:2])
        conf *= rng.random(points.shape[:2]) >= 0.1 * noise_level  # missing points
        if name.endswith("hand"):
            conf *= (rng.random(n) >= 0.25 * noise_level)[:, None]
        if name == "face":
            conf *= (np.abs(yaw) < np.deg2rad(75))[:, None]
        detected[:, part, 2] = conf
    return detected


def _expert(truth: dict[str, np.ndarray], rng, level: float) -> dict[str, np.ndarray]:
    noise = {
        "body_pose": 0.1,
        "betas": 0.5,
        "left_hand_pose": 0.15,
        "right_hand_pose": 0.15,
        "expression": 0.3,
        "jaw_pose": 0.05,
    }
    out = {k: v + rng.normal(0.0, level * noise.get(k, 0.0), v.shape) for k, v in truth.items()}
    tilt = Rotation.from_rotvec(rng.normal(0.0, level * 0.08, (len(truth["betas"]), 3)))
    out["global_orient"] = (Rotation.from_rotvec(truth["global_orient"]) * tilt).as_rotvec()
    return {k: v.astype(np.float32) for k, v in out.items()}


def _gross(params: dict[str, np.ndarray], kinds: np.ndarray, rng) -> None:
    """Replace the labels of the samples of each gross kind (in place); camera: in _camera."""
    back = kinds == "backwards"
    turned = Rotation.from_rotvec(params["global_orient"][back]) * Rotation.from_euler("y", np.pi)
    params["global_orient"][back] = turned.as_rotvec()
    wrong = kinds == "random_pose"
    params["body_pose"][wrong] = rng.normal(0.0, 0.6, params["body_pose"][wrong].shape)
    mirror = kinds == "mirrored"
    mirrored = params["body_pose"][mirror][:, _MIRROR] * np.array([1.0, -1.0, -1.0])
    params["body_pose"][mirror] = mirrored


def observe(
    layer, truth: dict[str, np.ndarray], rng, noise_level: float = 1.0
) -> tuple[np.ndarray, np.ndarray, BodyCropFrame]:
    """Photograph SMPL-X people (``truth``, SPIN's camera frame) with random pinhole cameras.

    Returns:
        true OpenPose-137 pixels (n, 137, 2), detections (n, 137, 3) (:func:`detect` with
        ``noise_level``) and the SPIN-style body crops around the detected body.
    """
    n = len(truth["global_orient"])
    yaw = Rotation.from_rotvec(truth["global_orient"]).as_euler("yxz")[:, 0]
    focal = rng.uniform(1000, 1600, (n, 1))
    shift = np.c_[rng.uniform(-0.5, 0.5, n), rng.uniform(-0.3, 0.3, n), rng.uniform(3, 9, n)]
    points = model_keypoints(layer, truth).double().numpy() + shift[:, None]
    truth_px = focal[:, None] * points[..., :2] / points[..., 2:] + 500.0
    detected = detect(truth_px, yaw, rng, noise_level)
    visible = detected[..., 2] >= SelectionConfig().body_threshold
    return truth_px, detected, BodyCropFrame(body_crop_affines(detected[..., :2], visible))


def spin_camera(
    model_points: torch.Tensor, truth_px: np.ndarray, frame: BodyCropFrame, rng, level: float
) -> torch.Tensor:
    """(n, 3) a body expert's weak-perspective camera: fitted to its own body keypoints
    ``model_points`` (n, 137, 3) against the true body pixels, then off by ``level`` x 3% in
    scale and 2 cm in translation."""
    n = len(model_points)
    true_norm = torch.as_tensor(frame.image_to_norm(truth_px), dtype=torch.float32)
    weights = torch.zeros(n, 137)
    weights[:, :25] = 1.0
    cam = fit_weak_perspective(model_points, true_norm, weights)
    cam[:, 0] *= torch.as_tensor(1 + rng.normal(0, level * 0.03, n)).float()
    cam[:, 1:] += torch.as_tensor(rng.normal(0, level * 0.02, (n, 2))).float()
    return cam


def simulate(
    layer, n: int, seed: int, gross_fraction: float = 0.3, expert_error: float = 1.0
) -> dict[str, np.ndarray]:
    """Score ``n`` synthetic samples with step 3; returns per-sample errors and labels.

    ``expert_error`` scales every expert error of a good label (0: perfect experts, only the
    detector's noise and the weak-perspective approximation remain).

    Returns:
        ``kind`` (n,) "good" or a :data:`GROSS_KINDS` name, ``mse_norm`` / ``mse_px``
        (n,) float32 overall step 3 values, ``n_kp`` (n,) compared keypoints.
    """
    rng = np.random.default_rng(seed)
    truth = plausible_smplx_params(n, seed)
    truth_px, detected, frame = observe(layer, truth, rng)
    config = SelectionConfig()

    kinds = np.where(rng.random(n) < gross_fraction, rng.choice(GROSS_KINDS, n), "good")
    expert = _expert(truth, rng, expert_error)
    _gross(expert, kinds, rng)
    cam = spin_camera(model_keypoints(layer, expert), truth_px, frame, rng, expert_error)
    off = torch.as_tensor(kinds == "camera")
    scale = torch.as_tensor(rng.uniform(1.3, 1.6, n) ** rng.choice([-1, 1], n)).float()
    cam[off, 0] *= scale[off]
    cam[off, 1:] += torch.as_tensor(rng.uniform(0.15, 0.3, (n, 2))).float()[off]

    part_valid = np.ones((n, 4), dtype=bool)
    for hand in (Part.LEFT_HAND, Part.RIGHT_HAND):  # step 2's visibility rule
        count = (detected[:, hand_visibility_indices(hand), 2] >= config.hand_threshold).sum(1)
        part_valid[:, hand.column] = count > config.hand_min_keypoints
    metrics, _ = score_reprojection(
        layer, expert, WeakPerspectiveCamera(cam), frame, detected, part_valid, config
    )
    return {
        "kind": kinds,
        "mse_norm": metrics["reproj_mse_norm"],
        "mse_px": metrics["reproj_mse_px"],
        "n_kp": metrics["reproj_n_kp"],
    }
