"""SMPL keypoint fitting: recovery, robustness, init refinement, batch independence.

Tolerances: synthetic detections carry 1-2 crop px of noise, so a fit that explains them
leaves about that much error against the noise-free projections; 2D-only fitting cannot
recover depth (weak perspective: a limb bent toward or away from the camera projects the
same), so 3D accuracy is only asserted with world landmarks, where the depth is observed.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.fitting.body import OPENPOSE25_FROM_SMPL, SmplBodyFitter
from furpe_label.experts.fitting.problem import FitData
from furpe_label.experts.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from furpe_label.experts.keypoints.conventions import mapping
from furpe_label.experts.records import BodyParams, ExpertRecord
from furpe_label.experts.vocabulary import Part
from tests.support.fitting_errors import keypoint_error_px, truth_error_mm
from tests.support.fitting_truth import CROP_PX_PER_UNIT, body_truth


@pytest.fixture(scope="module")
def fitter(synthetic_models_dir):
    return SmplBodyFitter(synthetic_models_dir, iterations=20)


@pytest.fixture(autouse=True)
def _one_thread():
    """Small-batch fits are dominated by per-operation overhead; OpenMP threads only add
    spinning on shared CPUs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _record(params: BodyParams, camera: np.ndarray) -> ExpertRecord:
    count = len(camera)
    feature = np.zeros((count, 2048), np.float16)
    return ExpertRecord(Part.BODY, "test", params, camera.astype(np.float32), feature, "")


def test_fit_recovers_keypoints_and_agrees_with_smplx(fitter, synthetic_models_dir):
    truth = body_truth(fitter, 6, seed=0, noise_px=1.0, missing=0.0)
    result = fitter.fit(truth.keypoints)
    assert result.params.rotmats.shape == (6, 24, 3, 3) and result.params.betas.shape == (6, 10)
    assert result.camera.shape == (6, 3) and result.camera.dtype == np.float32
    assert np.isfinite(result.loss).all()
    assert keypoint_error_px(fitter, result, truth, np.arange(6)).mean() < 2.5
    # Independent check: the unmodified smplx layer driven by the output, SPIN's camera.
    layer = load_body_model(synthetic_models_dir, "smpl").layer
    pose = matrix_to_axis_angle(torch.as_tensor(result.params.rotmats))
    with torch.no_grad():
        joints = layer(
            global_orient=pose[:, 0],
            body_pose=pose[:, 1:].reshape(6, 69),
            betas=torch.as_tensor(result.params.betas),
        ).joints
    points = joints[:, list(OPENPOSE25_FROM_SMPL)].numpy()
    s, t = result.camera[:, :1, None], result.camera[:, None, 1:]
    projected = s * (points[..., :2] + t)
    used = fitter.keypoint_weights.numpy() > 0
    error = np.linalg.norm(projected - truth.keypoints[..., :2], axis=-1)[:, used]
    assert error.mean() * CROP_PX_PER_UNIT < 3.0


def test_world_landmarks_resolve_depth(fitter):
    truth = body_truth(fitter, 6, seed=1, noise_px=1.0, missing=0.0)
    src, dst = (np.array(index) for index in mapping("mediapipe_pose33", "openpose25"))
    world = np.full((6, 33, 3), np.nan, np.float32)
    noise = 0.01 * np.random.default_rng(0).standard_normal((6, len(src), 3))
    world[:, src] = truth.points[:, dst].numpy().copy() + noise + 0.5  # own origin: must not matter
    rows = np.arange(6)
    with_world = truth_error_mm(fitter, fitter.fit(truth.keypoints, world), truth, rows)
    assert with_world.mean() < 60.0


def test_missing_and_outlying_keypoints_are_ignored(fitter):
    truth = body_truth(fitter, 8, seed=2, noise_px=1.0, missing=0.15, outliers=0.1)
    shift = np.linalg.norm(truth.keypoints[..., :2] - truth.clean, axis=-1) * CROP_PX_PER_UNIT
    inlier = (truth.keypoints[..., 2] > 0) & (shift < 10) & (fitter.keypoint_weights.numpy() > 0)

    def inlier_error(fitted_by) -> float:
        result = fitted_by.fit(truth.keypoints)
        projected, _ = fitted_by.evaluate(result.params, result.camera)
        error = np.linalg.norm(projected - truth.clean, axis=-1) * CROP_PX_PER_UNIT
        return float(error[inlier].mean())

    robust = inlier_error(fitter)
    # The same fit with a Geman-McClure scale far above every error is least squares.
    plain = SmplBodyFitter.__new__(SmplBodyFitter)
    plain.__dict__.update(fitter.__dict__)
    plain.stages = tuple(replace(stage, sigma=100.0) for stage in fitter.stages)
    least_squares = inlier_error(plain)
    assert robust < 4.0
    assert robust < 0.75 * least_squares


def test_zero_confidence_points_do_not_matter(fitter):
    truth = body_truth(fitter, 3, seed=3, noise_px=1.0, missing=0.0)
    keypoints = truth.keypoints.copy()
    keypoints[:, [3, 10, 20], 2] = 0.0
    other = keypoints.copy()
    other[:, [3, 10, 20], :2] = np.array([[9.0, -7.0]])
    other[:, 10, :2] = np.nan
    a, b = fitter.fit(keypoints), fitter.fit(other)
    assert np.allclose(a.params.rotmats, b.params.rotmats, atol=1e-5)
    assert np.allclose(a.loss, b.loss, rtol=1e-5)


def test_openpose137_input_equals_body25_input(fitter):
    truth = body_truth(fitter, 2, seed=4, missing=0.0)
    full = np.zeros((2, 137, 3), np.float32)
    full[:, :25] = truth.keypoints
    full[:, 25:, :2] = 5.0  # other parts: must be ignored
    full[:, 25:, 2] = 1.0
    a, b = fitter.fit(truth.keypoints), fitter.fit(full)
    assert np.allclose(a.params.rotmats, b.params.rotmats, atol=1e-6)


def test_each_instance_is_independent_of_its_batch(fitter):
    truth = body_truth(fitter, 4, seed=5, missing=0.1, outliers=0.05)
    # The loss of an instance is its own: exactly the same alone and within a batch.
    data = FitData(
        torch.as_tensor(truth.clean),
        torch.rand(4, 25),
        truth.data.base,
        truth.x,
        torch.zeros(4, 0, 3),
        torch.zeros(4, 0),
    )
    moved = truth.x + 0.05
    together = fitter.loss(moved, data, 0.1)
    alone = fitter.loss(moved[2:3], data.take(torch.tensor([2])), 0.1)
    assert torch.allclose(alone[0], together[2], rtol=1e-6)
    # End to end, through every stage and the multi-start choice. (Short stages: float
    # round-off differs between batch sizes, and over many iterations it can flip a
    # discrete choice between nearly equal optima: a different fit, not a leak.)
    short = SmplBodyFitter.__new__(SmplBodyFitter)
    short.__dict__.update(fitter.__dict__)
    short.stages = tuple(replace(stage, iterations=5) for stage in fitter.stages)
    together_fit = short.fit(truth.keypoints)
    alone_fit = short.fit(truth.keypoints[2:3])
    assert np.allclose(alone_fit.params.rotmats[0], together_fit.params.rotmats[2], atol=1e-4)
    assert np.allclose(alone_fit.camera[0], together_fit.camera[2], atol=1e-4)
    assert np.isclose(alone_fit.loss[0], together_fit.loss[2], rtol=1e-4)


def test_refining_an_init_record_moves_toward_the_keypoints(fitter):
    truth = body_truth(fitter, 4, seed=6, noise_px=1.0, missing=0.05)
    rows = np.arange(4)
    exact = fitter.fit(truth.keypoints)
    g = torch.Generator().manual_seed(0)
    rotmats = torch.as_tensor(exact.params.rotmats)
    wobble = matrix_to_axis_angle(rotmats) + 0.25 * torch.randn(4, 24, 3, generator=g)
    init_params = BodyParams(axis_angle_to_matrix(wobble).numpy(), exact.params.betas + 0.5)
    init = _record(init_params, exact.camera * np.array([1.1, 1.0, 1.0], np.float32))
    refined = fitter.fit(truth.keypoints, init=init)
    before = keypoint_error_px(fitter, init, truth, rows)
    after = keypoint_error_px(fitter, refined, truth, rows)
    assert (after < 0.5 * before).all()
    assert np.isfinite(refined.loss).all()


def test_too_few_keypoints_gives_nan_loss_and_the_start(fitter):
    truth = body_truth(fitter, 2, seed=7, missing=0.0)
    keypoints = truth.keypoints.copy()
    keypoints[1, 3:, 2] = 0.0  # 3 points left (neck weight 0): too few
    result = fitter.fit(keypoints)
    assert np.isfinite(result.loss[0]) and np.isnan(result.loss[1])
    assert np.isfinite(result.params.rotmats).all()


def test_bad_input_is_refused(fitter):
    empty = fitter.fit(np.zeros((0, 25, 3)))
    assert empty.params.rotmats.shape == (0, 24, 3, 3) and empty.loss.shape == (0,)
    with pytest.raises(ValueError, match=r"\(M, 25, 3\)"):
        fitter.fit(np.zeros((2, 24, 3)))
    with pytest.raises(ValueError, match="world_landmarks"):
        fitter.fit(np.zeros((2, 25, 3)), world_landmarks=np.zeros((2, 32, 3)))
    bad = _record(
        BodyParams(np.tile(np.eye(3), (2, 24, 1, 1)), np.zeros((2, 10))),
        np.array([[0.0, 0, 0], [1, 0, 0]]),
    )
    with pytest.raises(ValueError, match="camera scale"):
        fitter.fit(np.zeros((2, 25, 3)), init=bad)
