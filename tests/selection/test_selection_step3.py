"""Selection step 3 on the synthetic SMPL-X: exact projections, known errors, cameras, rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.geometry.cameras import D2SCamera, PerspectiveCamera, WeakPerspectiveCamera
from furpe_label.experts.keypoints.fast_openpose import OpenPoseFromSMPLX
from furpe_label.experts.keypoints.smplx_openpose import smplx_joints_to_openpose137
from furpe_label.experts.vocabulary import Part, Reason
from furpe_label.selection import BodyCropFrame, SelectionConfig, score_reprojection
from furpe_label.selection.step3_reprojection import project_keypoints, reprojection_status
from tests.support.selection_data import keypoint_layer, plausible_smplx_params

N = 6
ALL_VALID = np.ones((N, 4), dtype=bool)


@pytest.fixture(scope="module")
def layer(synthetic_models_dir):
    return keypoint_layer(synthetic_models_dir)


@pytest.fixture(scope="module")
def scene(layer):
    """N people, a weak-perspective camera each, body crops, and exact detections."""
    params = plausible_smplx_params(N, seed=1)
    rng = np.random.default_rng(2)
    cam = np.stack([rng.uniform(0.8, 1.1, N), rng.normal(0, 0.1, N), rng.normal(0, 0.1, N)], 1)
    center, side = rng.uniform(300, 700, (N, 2)), rng.uniform(250, 600, N)
    affine = np.zeros((N, 2, 3))
    affine[:, 0, 0] = affine[:, 1, 1] = 224 / side
    affine[:, :, 2] = 111.5 - center * (224 / side)[:, None]
    frame = BodyCropFrame(affine)
    camera = WeakPerspectiveCamera(torch.as_tensor(cam, dtype=torch.float32))
    with torch.no_grad():
        points, mask = layer(**{k: torch.as_tensor(v) for k, v in params.items()})
    norm = camera.project(points).double().numpy()
    detected = np.zeros((N, 137, 3))
    detected[..., :2] = frame.norm_to_image(norm)
    detected[..., 2] = np.where(mask.numpy(), 0.9, 0.0)
    return params, camera, frame, detected, points


def _score(layer, scene, detected=None, part_valid=ALL_VALID, config=None, **kwargs):
    params, camera, frame, exact, _ = scene
    detected = exact if detected is None else detected
    return score_reprojection(
        layer, params, camera, frame, detected, part_valid, config or SelectionConfig(), **kwargs
    )


def test_exact_detections_reproject_with_zero_error(layer, scene):
    metrics, projected = _score(layer, scene)
    exact = scene[3]
    mapped = layer.op_mask.numpy()
    assert np.abs(projected[:, mapped] - exact[:, mapped, :2]).max() < 1e-3  # px
    assert np.isnan(projected[:, ~mapped]).all()
    assert metrics["reproj_mse_px"].max() < 1e-6 and metrics["reproj_mse_norm"].max() < 1e-10
    # contour off: body 25 + hands 2 x 21 + the 51 static face landmarks are compared
    assert metrics["reproj_n_kp"].tolist() == [25 + 42 + 51] * N
    assert metrics["reproj_n_kp_face"].tolist() == [51] * N


def test_known_pixel_offsets_give_known_errors_in_both_frames(layer, scene):
    detected = scene[3].copy()
    detected[:, 0:25, :2] += [3.0, 4.0]  # 5 px on every body keypoint
    detected[:, 67:137, :2] += [0.0, 2.0]  # 2 px on the face (unmapped points do not count)
    metrics, _ = _score(layer, scene, detected)
    np.testing.assert_allclose(metrics["reproj_mean_px_body"], 5.0, rtol=1e-4)
    np.testing.assert_allclose(metrics["reproj_mse_px_body"], 25.0, rtol=1e-4)
    np.testing.assert_allclose(metrics["reproj_mse_px_face"], 4.0, rtol=1e-3)
    assert metrics["reproj_mse_px_left_hand"].max() < 1e-6
    norm_per_px = scene[2].affine[:, 0, 0] * 2 / 224  # crop px per image px, crop to [-1, 1]
    np.testing.assert_allclose(metrics["reproj_mean_norm_body"], 5 * norm_per_px, rtol=1e-4)
    np.testing.assert_allclose(metrics["reproj_mse_norm_body"], (5 * norm_per_px) ** 2, rtol=1e-4)
    overall = (25 * 25 + 51 * 4) / (25 + 42 + 51)
    np.testing.assert_allclose(metrics["reproj_mse_px"], overall, rtol=1e-3)
    np.testing.assert_allclose(metrics["reproj_rms_px"], np.sqrt(overall), rtol=1e-3)


def test_unconfident_and_suppressed_parts_do_not_count(layer, scene):
    detected = scene[3].copy()
    detected[:, 0:10, :2] += 40.0
    detected[:, 0:10, 2] = 0.099  # below the body threshold: not compared
    detected[:, 25:46, :2] += 50.0  # a wrong left hand ...
    part_valid = ALL_VALID.copy()
    part_valid[:, Part.LEFT_HAND.column] = False  # ... whose label step 2 suppressed
    metrics, _ = _score(layer, scene, detected, part_valid)
    assert metrics["reproj_n_kp_body"].tolist() == [15] * N
    np.testing.assert_allclose(metrics["reproj_mean_px_left_hand"], 50 * np.sqrt(2), rtol=1e-4)
    assert metrics["reproj_n_kp"].tolist() == [15 + 21 + 51] * N
    assert metrics["reproj_mse_px"].max() < 1e-6


def test_perspective_and_d2s_cameras(layer, scene):
    params, weak, frame, _, points = scene
    rng = np.random.default_rng(3)
    translation = torch.as_tensor(np.c_[rng.normal(0, 0.3, (N, 2)), rng.uniform(4, 8, N)])
    camera = PerspectiveCamera(
        translation.float(), torch.full((N, 2), 1145.0), torch.tensor([[512.0, 515.0]]).expand(N, 2)
    )
    detected = np.zeros((N, 137, 3))
    detected[..., :2] = camera.project(points).double().numpy()
    detected[..., 2] = 0.9
    metrics, _ = score_reprojection(
        layer, params, camera, frame, detected, ALL_VALID, SelectionConfig()
    )
    assert metrics["reproj_mse_px"].max() < 1e-6 and metrics["reproj_mse_norm"].max() < 1e-10
    # D2S with a far centre is the weak perspective [s, t_u / s]
    s, t = weak.cam[:, 0], weak.cam[:, 1:]
    d2s = D2SCamera(s, s[:, None] * t, torch.full((N,), 1e7))
    metrics, _ = score_reprojection(
        layer, params, d2s, frame, scene[3], ALL_VALID, SelectionConfig()
    )
    assert metrics["reproj_mse_px"].max() < 1e-4


def test_projection_equals_smplx_full_forward(synthetic_models_dir, layer, scene):
    params, camera, frame, _, _ = scene
    model = load_body_model(synthetic_models_dir, "smplx", flat_hand_mean=True).layer
    flat = {k: torch.as_tensor(v).reshape(N, -1) for k, v in params.items()}
    with torch.no_grad():
        points, mask = smplx_joints_to_openpose137(model(**flat).joints, False)
    reference = frame.norm_to_image(camera.project(points).double().numpy())
    _, projected = _score(layer, scene)
    assert np.abs(projected[:, mask] - reference[:, mask]).max() < 1e-3


def test_rows_chunks_and_refusals(synthetic_models_dir, layer, scene):
    rows = np.array([True, False, True, True, False, True])
    metrics, projected = _score(layer, scene, rows=rows, chunk_size=2)
    _, full_projected = _score(layer, scene)
    assert metrics["step3_scored"].tolist() == rows.tolist()
    assert np.isnan(metrics["reproj_mse_px"][~rows]).all()
    assert metrics["reproj_n_kp"][~rows].tolist() == [0, 0]
    np.testing.assert_allclose(projected[rows], full_projected[rows], atol=1e-3)  # BLAS blocks
    assert np.isnan(projected[~rows]).all()
    relative = OpenPoseFromSMPLX(load_body_model(synthetic_models_dir, "smplx").layer)
    params, camera, frame, detected, _ = scene
    with pytest.raises(ValueError, match="flat_hand_mean=True"):
        score_reprojection(relative, params, camera, frame, detected, ALL_VALID, SelectionConfig())
    with pytest.raises(ValueError, match="part_valid"):
        _score(layer, scene, part_valid=ALL_VALID[:, :3])
    with pytest.raises(ValueError, match="betas"):
        score_reprojection(
            layer,
            {**params, "betas": params["betas"][:2]},
            camera,
            frame,
            detected,
            ALL_VALID,
            SelectionConfig(),
        )


def test_keep_rule_boundaries():
    value = 0.0123
    mse = np.array([value, np.nextafter(value, 1.0), np.nan, np.inf, 0.0])
    config = SelectionConfig(max_mse=value)
    assert reprojection_status(mse, config).tolist() == [
        Reason.OK,
        Reason.REPROJECTION_ERROR,
        Reason.REPROJECTION_UNVERIFIABLE,
        Reason.REPROJECTION_ERROR,
        Reason.OK,
    ]


def test_project_keypoints_is_step_3_projection_in_the_crop(layer, scene):
    params, camera, frame, _, _ = scene
    rows = np.array([True, False, True, True, True, True])
    _, projected = _score(layer, scene, rows=rows)
    norm = project_keypoints(layer, params, camera, frame, rows)
    mapped = layer.op_mask.numpy()
    expected = frame.image_to_norm(projected.astype(np.float64))
    np.testing.assert_allclose(norm[rows][:, mapped], expected[rows][:, mapped], atol=1e-5)
    assert np.isnan(norm[1]).all() and np.isnan(norm[:, ~mapped]).all()
