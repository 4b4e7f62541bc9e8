"""The agreement signal: the disagreement of two outputs of one part (mm), and the fit run beside
a network expert's output (initialised from it) on the instance's keypoints."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.fitting.agreement import (
    AgreementFitters,
    agreement_columns,
    disagreement_mm,
)
from furpe_label.experts.fitting.body import SmplBodyFitter
from furpe_label.experts.fitting.outputs import camera_array
from furpe_label.experts.geometry.crop_transform import normalized_to_crop
from furpe_label.experts.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from furpe_label.experts.records import BodyParams, ExpertRecord
from furpe_label.experts.vocabulary import Part, Reason
from tests.support.fitting_truth import body_truth

_IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
_LEFT_ELBOW = 18  # SMPL joint


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _points(count: int = 3, joints: int = 21, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.1, (count, joints, 3))


def test_identical_outputs_disagree_by_zero():
    points = _points()
    for root in (0, 8, None):
        mpjpe, pa = disagreement_mm(points, points.copy(), root)
        np.testing.assert_allclose(mpjpe, 0.0, atol=1e-9)
        np.testing.assert_allclose(pa, 0.0, atol=1e-6)


def test_disagreement_grows_with_a_known_offset():
    points = _points(joints=21)
    last_pa = np.zeros(len(points))
    for offset_m in (0.01, 0.05, 0.2):
        moved = points.copy()
        moved[:, 7, 0] += offset_m  # one non-root point of 21
        mpjpe, pa = disagreement_mm(points, moved, 0)
        np.testing.assert_allclose(mpjpe, offset_m * 1000.0 / 21, rtol=1e-9)
        assert (pa > last_pa).all()
        last_pa = pa
    shifted = points + np.array([0.3, -0.2, 1.0])  # the whole part moved: root aligned away
    np.testing.assert_allclose(disagreement_mm(points, shifted, 0)[0], 0.0, atol=1e-9)
    np.testing.assert_allclose(disagreement_mm(points, shifted, None)[0], 0.0, atol=1e-9)
    turn = axis_angle_to_matrix(torch.tensor([0.0, 0.0, 0.5], dtype=torch.float64)).numpy()
    turned = 2.0 * (points - points[:, :1]) @ turn.T  # rotated and scaled about the root
    mpjpe, pa = disagreement_mm(points, turned, 0)
    assert (mpjpe > 10).all()
    np.testing.assert_allclose(pa, 0.0, atol=1e-6)  # a similarity: Procrustes removes it


def test_non_finite_rows_and_bad_shapes():
    points = _points()
    other = points.copy()
    other[1, 3, 2] = np.nan
    mpjpe, pa = disagreement_mm(points, other, 0)
    assert np.isnan(mpjpe[1]) and np.isnan(pa[1]) and np.isfinite(mpjpe[[0, 2]]).all()
    with pytest.raises(ValueError, match=r"\(M, K, 3\)"):
        disagreement_mm(points, points[:, :5], 0)


@pytest.fixture(scope="module")
def fitters(synthetic_models_dir):
    return AgreementFitters.build(synthetic_models_dir, (Part.BODY,), "cpu", iterations=15)


def _record(rotmats: np.ndarray, betas: np.ndarray, camera: np.ndarray) -> ExpertRecord:
    params = BodyParams(np.asarray(rotmats, np.float32), np.asarray(betas, np.float32))
    return ExpertRecord(Part.BODY, "spin", params, camera.astype(np.float32), None, "")


def _bent(record: ExpertRecord, radians: float) -> ExpertRecord:
    """The record with the left elbow bent further by ``radians``."""
    pose = matrix_to_axis_angle(torch.as_tensor(record.params.rotmats, dtype=torch.float64))
    pose[:, _LEFT_ELBOW, 1] -= radians
    rotmats = axis_angle_to_matrix(pose).numpy().astype(np.float32)
    return replace(record, params=BodyParams(rotmats, record.params.betas))


def _image_keypoints(normalised: np.ndarray) -> np.ndarray:
    """(M, 25, 3) normalised body-crop keypoints -> (M, 137, 3) pixels of an image that is the
    crop itself (identity affine)."""
    out = np.zeros((len(normalised), 137, 3), np.float32)
    out[:, :25, :2] = normalized_to_crop(normalised[..., :2].astype(np.float64), 224, "edges")
    out[:, :25, 2] = normalised[..., 2]
    return out


@pytest.fixture(scope="module")
def body_case(fitters):
    fitter: SmplBodyFitter = fitters.fitters[Part.BODY]
    truth = body_truth(fitter, 4, seed=3, noise_px=0.0, missing=0.0)
    with torch.no_grad():  # the true parameters, as a network that is exactly right gives them
        rotmats = fitter.rotmats(truth.x, truth.data).numpy()
    betas = fitter.layout(truth.x, "betas").numpy()
    network = _record(rotmats, betas, camera_array(fitter.layout(truth.x, "camera")))
    affines = np.repeat(_IDENTITY[None], 4, axis=0)
    return network, _image_keypoints(truth.keypoints), affines


def test_a_network_output_the_keypoints_confirm_agrees_and_an_offset_one_does_not(
    fitters, body_case
):
    network, keypoints, affines = body_case
    agree, _ = fitters.score_part(Part.BODY, network, keypoints, affines)
    assert np.isfinite(agree).all() and (agree < 1.0).all(), agree
    bent_little, _ = fitters.score_part(Part.BODY, _bent(network, 0.4), keypoints, affines)
    bent_much, _ = fitters.score_part(Part.BODY, _bent(network, 1.0), keypoints, affines)
    assert (bent_little > agree).all() and (bent_much > bent_little).all(), (
        agree,
        bent_little,
        bent_much,
    )
    assert (bent_much > 25.0).all(), bent_much


def test_score_fills_only_the_chosen_cells_of_parts_with_a_network_output(fitters, body_case):
    network, keypoints, affines = body_case
    n = len(network)
    outputs = ExpertOutputs.empty(n, [Reason.OK] * n)
    outputs.records[Part.BODY] = network
    outputs.affines[:, Part.BODY.column] = affines
    outputs.reason[:, Part.BODY.column] = Reason.OK
    rows = np.zeros((n, 4), bool)
    rows[[0, 2], Part.BODY.column] = True
    rows[:, Part.LEFT_HAND.column] = True  # no hand record: stays NaN
    columns = fitters.score(outputs, keypoints, None, rows)
    assert set(columns) == {name for part in Part for name in agreement_columns(part)}
    body, body_pa = (columns[name] for name in agreement_columns(Part.BODY))
    assert body.dtype == np.float32 and np.isfinite(body[[0, 2]]).all()
    assert np.isnan(body[[1, 3]]).all() and np.isnan(body_pa[[1, 3]]).all()
    for part in (Part.FACE, Part.LEFT_HAND, Part.RIGHT_HAND):
        assert all(np.isnan(columns[name]).all() for name in agreement_columns(part))
    negative = replace(network, camera=network.camera * np.array([-1, 1, 1], np.float32))
    outputs.records[Part.BODY] = negative  # no fit can start from a negative camera scale
    rows[:, Part.BODY.column] = True
    assert np.isnan(fitters.score(outputs, keypoints, None, rows)["agreement_body_mm"]).all()


class _FailingFitter:
    """Test double: a fitter whose fit raises."""

    def fit(self, *args, **kwargs):
        raise RuntimeError("solver blew up")


def test_a_failing_fit_costs_its_scores_not_the_shard(body_case, caplog):
    network, keypoints, affines = body_case
    n = len(network)
    outputs = ExpertOutputs.empty(n, [Reason.OK] * n)
    outputs.records[Part.BODY] = network
    outputs.affines[:, Part.BODY.column] = affines
    rows = np.ones((n, 4), bool)
    columns = AgreementFitters({Part.BODY: _FailingFitter()}).score(outputs, keypoints, None, rows)
    assert all(np.isnan(values).all() for values in columns.values())
    assert "solver blew up" in caplog.text
