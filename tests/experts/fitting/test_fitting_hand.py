"""MANO keypoint fitting: recovery, handedness (left hands via the left model), init, input.

Handedness is checked against the unmodified ``smplx`` MANO layers: left hands are made with
the LEFT model, fitted (mirrored onto the right model inside), and the output pose, read
as the left model's parameters in FrankMocap's layout, must reproduce the detections.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.fitting.hand import FRANKMOCAP_TIPS, OPENPOSE21_FROM_MANO, ManoHandFitter
from furpe_label.experts.records import ExpertRecord, HandParams
from furpe_label.experts.vocabulary import Part
from tests.support.fitting_truth import CROP_PX_PER_UNIT, corrupt, hand_truth


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def fitter(synthetic_models_dir):
    return ManoHandFitter(synthetic_models_dir, iterations=40)


def _smplx_keypoints(layer, pose: torch.Tensor, betas: torch.Tensor, camera: torch.Tensor):
    """(M, 21, 2) FrankMocap-frame projections of an smplx MANO layer: 16 joints + tips in
    OpenPose order, relative to the index finger's first joint, ``s * (X[:2] + t)``."""
    with torch.no_grad():
        out = layer(global_orient=pose[:, :3], hand_pose=pose[:, 3:], betas=betas)
    points = torch.cat([out.joints, out.vertices[:, list(FRANKMOCAP_TIPS)]], 1)
    points = points[:, list(OPENPOSE21_FROM_MANO)]
    points = points - points[:, 5:6]
    return (camera[:, None, :1] * (points[..., :2] + camera[:, None, 1:])).numpy()


@pytest.mark.parametrize("side", ["right", "left"])
def test_fit_reproduces_detections_with_the_sides_own_model(fitter, synthetic_models_dir, side):
    layer = load_body_model(synthetic_models_dir, "mano", side, flat_hand_mean=False).layer
    g = torch.Generator().manual_seed(0)
    truth = hand_truth(fitter, 6, seed=1)  # plausible right-hand fingers relative to the mean
    fingers = truth.x[:, fitter.layout.slices["fingers"]]
    mirror = torch.tensor([1.0, -1.0, -1.0]).repeat(15)
    if side == "left":  # the same hands, mirrored: a left hand's own parameters
        fingers = fingers * mirror
    pose = torch.cat([torch.randn(6, 3, generator=g), fingers], -1)
    camera = torch.tensor([8.0, 0.0, 0.0]) + 0.02 * torch.randn(6, 3, generator=g)
    clean = _smplx_keypoints(layer, pose, torch.zeros(6, 10), camera)
    detections = corrupt(torch.as_tensor(clean), g, noise_px=1.0, missing=0.05, outliers=0.0)
    is_left = np.full(6, side == "left")
    result = fitter.fit(detections, is_left)
    assert result.params.pose.shape == (6, 48) and result.params.shape.shape == (6, 10)
    assert np.array_equal(result.params.is_left, is_left)
    refit = _smplx_keypoints(
        layer,
        torch.as_tensor(result.params.pose),
        torch.as_tensor(result.params.shape),
        torch.as_tensor(result.camera),
    )
    error = np.linalg.norm(refit - clean, axis=-1).mean() * CROP_PX_PER_UNIT
    assert error < 3.5  # 1 px noise; L-BFGS leaves ~2.5 px after 40 iterations per stage
    finger_error = np.abs(result.params.pose[:, 3:] - pose[:, 3:].numpy()).mean()
    assert finger_error < 0.2  # radians; depth-ambiguous twists stay loose
    projected, _ = fitter.evaluate(result.params, result.camera)
    assert np.allclose(projected, refit, atol=1e-4)


def test_openpose137_input_takes_each_sides_slice(fitter):
    truth = hand_truth(fitter, 2, seed=2, missing=0.0)
    is_left = np.array([True, False])
    full = np.zeros((2, 137, 3), np.float32)
    full[0, 25:46] = truth.keypoints[0]
    full[1, 46:67] = truth.keypoints[1]
    full[0, 46:67, :2], full[1, 25:46, :2] = 3.0, -3.0  # the other hand: must be ignored
    full[:, 25:67, 2] = np.where(full[:, 25:67, 2] == 0, 1.0, full[:, 25:67, 2])
    a, b = fitter.fit(truth.keypoints, is_left), fitter.fit(full, is_left)
    assert np.allclose(a.params.pose, b.params.pose, atol=1e-6)


def test_refining_an_init_record(fitter):
    truth = hand_truth(fitter, 4, seed=3, noise_px=1.0, missing=0.0)
    is_left = np.array([False, True, False, True])
    keypoints = truth.keypoints.copy()
    keypoints[is_left, :, 0] *= -1  # left hands: the mirrored detections
    exact = fitter.fit(keypoints, is_left)
    g = np.random.default_rng(0)
    pose = exact.params.pose + 0.2 * g.standard_normal((4, 48)).astype(np.float32)
    params = HandParams(pose, exact.params.shape, is_left)
    init = ExpertRecord(
        Part.RIGHT_HAND, "test", params, exact.camera, np.zeros((4, 2048), np.float16), ""
    )
    refined = fitter.fit(keypoints, is_left, init=init)
    before, _ = fitter.evaluate(params, exact.camera)
    after, _ = fitter.evaluate(refined.params, refined.camera)
    target = keypoints[..., :2]
    assert (
        np.linalg.norm(after - target, axis=-1).mean(-1)
        < 0.5 * np.linalg.norm(before - target, axis=-1).mean(-1)
    ).all()
    with pytest.raises(ValueError, match="is_left"):
        fitter.fit(keypoints, ~is_left, init=init)


def test_bad_hand_input_is_refused_or_marked(fitter):
    empty = fitter.fit(np.zeros((0, 21, 3)), np.zeros(0, bool))
    assert empty.params.pose.shape == (0, 48) and empty.camera.shape == (0, 3)
    with pytest.raises(ValueError, match=r"\(2, 21, 3\)"):
        fitter.fit(np.zeros((2, 20, 3)), np.zeros(2, bool))
    with pytest.raises(ValueError, match="is_left"):
        fitter.fit(np.zeros((2, 21, 3)), np.zeros((2, 1), bool))
    truth = hand_truth(fitter, 2, seed=4, missing=0.0)
    keypoints = truth.keypoints.copy()
    keypoints[1, 3:, 2] = 0.0  # 3 points: too few
    result = fitter.fit(keypoints, np.zeros(2, bool))
    assert np.isfinite(result.loss[0]) and np.isnan(result.loss[1])
    assert np.isfinite(result.params.pose).all()
