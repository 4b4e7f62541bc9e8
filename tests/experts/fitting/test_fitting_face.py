"""FLAME landmark fitting: recovery in DECA's frame (checked with the smplx FLAME layer),
contour choice, init refinement (tex/light kept), input handling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.fitting.face import FlameFaceFitter
from furpe_label.experts.geometry.rotations import axis_angle_to_matrix
from furpe_label.experts.records import ExpertRecord, FaceParams
from furpe_label.experts.vocabulary import Part
from tests.support.fitting_errors import keypoint_error_px
from tests.support.fitting_truth import CROP_PX_PER_UNIT, face_truth


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def fitter(synthetic_models_dir):
    return FlameFaceFitter(synthetic_models_dir, iterations=20)


def _deca_landmarks(layer, params: FaceParams, camera: np.ndarray) -> np.ndarray:
    """(M, 68, 2) DECA-style projection of the smplx FLAME layer's 68 landmarks."""
    count = len(camera)
    zeros = torch.zeros(count, 3)
    with torch.no_grad():
        out = layer(
            global_orient=torch.as_tensor(params.pose[:, :3]),
            jaw_pose=torch.as_tensor(params.pose[:, 3:]),
            neck_pose=zeros,
            leye_pose=zeros,
            reye_pose=zeros,
            betas=torch.as_tensor(params.shape),
            expression=torch.as_tensor(params.expression),
        )
    landmarks = out.joints[:, 5:].numpy()  # 51 static, then 17 contour
    landmarks = np.concatenate([landmarks[:, 51:], landmarks[:, :51]], 1)  # OpenPose order
    projected = camera[:, None, :1] * (landmarks[..., :2] + camera[:, None, 1:])
    return projected * np.array([1.0, -1.0])  # DECA negates y


def test_fit_reproduces_landmarks_with_smplx_flame(fitter, synthetic_models_dir):
    truth = face_truth(fitter, 6, seed=0, noise_px=1.0, missing=0.0)
    result = fitter.fit(truth.keypoints)
    p = result.params
    assert p.shape.shape == (6, 100) and p.expression.shape == (6, 50) and p.pose.shape == (6, 6)
    assert not p.tex.any() and not p.light.any()  # not observable: mean albedo, no light
    layer = load_body_model(
        synthetic_models_dir,
        "flame",
        num_betas=100,
        num_expression_coeffs=50,
        use_face_contour=True,
    ).layer
    refit = _deca_landmarks(layer, p, result.camera)
    error = np.linalg.norm(refit - truth.clean, axis=-1).mean() * CROP_PX_PER_UNIT
    assert error < 3.0  # 1 px noise; ~2 px remain after 20 iterations per stage
    projected, _ = fitter.evaluate(p, result.camera)
    assert np.allclose(projected, refit, atol=1e-4)
    head = axis_angle_to_matrix(torch.as_tensor(p.pose[:, :3]))
    cosine = ((head.transpose(1, 2) @ truth.data.base).diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2
    # Within 15 degrees: from 2D landmarks alone, some pitch trades off against shape.
    assert torch.arccos(cosine.clamp(-1, 1)).max() < 0.26


def test_turned_heads_use_the_matching_contour(fitter):
    truth = face_truth(fitter, 8, seed=1, noise_px=1.0, missing=0.0)
    rows = truth.data.contour_row
    assert (rows > 0).any()  # the sample covers turned heads (table rows != frontal)
    result = fitter.fit(truth.keypoints)
    contour = keypoint_error_px(fitter, result, truth, np.arange(8))
    assert contour.mean() < 3.0


def test_missing_landmarks_and_outliers(fitter):
    truth = face_truth(fitter, 6, seed=2, noise_px=1.0, missing=0.2, outliers=0.1)
    result = fitter.fit(truth.keypoints)
    assert keypoint_error_px(fitter, result, truth, np.arange(6)).mean() < 4.0


def test_refining_keeps_albedo_and_light_and_moves_toward_landmarks(fitter):
    truth = face_truth(fitter, 4, seed=3, noise_px=1.0, missing=0.0)
    exact = fitter.fit(truth.keypoints)
    g = np.random.default_rng(0)
    p = exact.params
    init_params = FaceParams(
        shape=p.shape + g.standard_normal(p.shape.shape).astype(np.float32),
        expression=p.expression + g.standard_normal(p.expression.shape).astype(np.float32),
        pose=p.pose + 0.1 * g.standard_normal(p.pose.shape).astype(np.float32),
        tex=g.standard_normal((4, 50)).astype(np.float32),
        light=g.standard_normal((4, 9, 3)).astype(np.float32),
    )
    init = ExpertRecord(
        Part.FACE, "test", init_params, exact.camera, np.zeros((4, 2048), np.float16), ""
    )
    refined = fitter.fit(truth.keypoints, init=init)
    assert np.array_equal(refined.params.tex, init_params.tex)
    assert np.array_equal(refined.params.light, init_params.light)
    before = keypoint_error_px(fitter, init, truth, np.arange(4))
    after = keypoint_error_px(fitter, refined, truth, np.arange(4))
    assert (after < 0.5 * before).all()


def test_face_input_checks(fitter):
    assert fitter.fit(np.zeros((0, 70, 3))).params.light.shape == (0, 9, 3)
    with pytest.raises(ValueError, match=r"\(M, 70, 3\)"):
        fitter.fit(np.zeros((2, 68, 3)))
    truth = face_truth(fitter, 2, seed=4, missing=0.0)
    keypoints = np.zeros((2, 137, 3), np.float32)
    keypoints[:, 67:] = truth.keypoints
    keypoints[1, 67:, 2] = 0.0  # a face with no landmark at all
    result = fitter.fit(keypoints)
    assert np.isfinite(result.loss[0]) and np.isnan(result.loss[1])
    assert np.isfinite(result.params.shape).all() and np.isfinite(result.camera).all()
