"""A sample's fit does not depend on its batch or on the process's thread count: alone, in a
batch, or in a sub-batch, every stage of every part fitter gives the same result, bit for bit
(the pipeline's shard size and worker count then cannot flip a step-3 decision). Without the
skinning's row padding the same fits differed by up to 0.05 in the camera and 1e-3 in the
loss; without the one-thread fit, 1 and 2 threads differed by 0.02 and 9e-4."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from furpe_label.experts.fitting.body import SmplBodyFitter
from furpe_label.experts.fitting.face import FlameFaceFitter
from furpe_label.experts.fitting.hand import ManoHandFitter
from furpe_label.experts.fitting.sparse_skinning import SparseSkinning
from tests.support.fitting_truth import body_truth, face_truth, hand_truth

BATCH = 6
NOISE = {"missing": 0.1, "outliers": 0.05}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _fit(name: str, fitter, keypoints: np.ndarray):
    if name == "hand":
        return fitter.fit(keypoints, is_left=np.zeros(len(keypoints), bool))
    return fitter.fit(keypoints)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "fitter_class", "truth"),
    [
        ("body", SmplBodyFitter, body_truth),
        ("hand", ManoHandFitter, hand_truth),
        ("face", FlameFaceFitter, face_truth),
    ],
)
def test_a_sample_fits_the_same_alone_and_in_any_batch(
    synthetic_models_dir, name, fitter_class, truth
):
    fitter = fitter_class(synthetic_models_dir, iterations=15)
    sample = truth(fitter, BATCH, seed=5, **NOISE)
    together = _fit(name, fitter, sample.keypoints)
    for rows in (np.array([0]), np.array([4]), np.arange(3, BATCH)):
        part = _fit(name, fitter, sample.keypoints[rows])
        np.testing.assert_array_equal(part.loss, together.loss[rows])
        np.testing.assert_array_equal(part.camera, together.camera[rows])
        for field in dataclasses.fields(part.params):
            value = getattr(part.params, field.name)
            if value is not None:
                np.testing.assert_array_equal(value, getattr(together.params, field.name)[rows])


def test_skinning_rows_do_not_depend_on_the_batch_size(synthetic_models_dir):
    skinning = SmplBodyFitter(synthetic_models_dir).skinning
    assert isinstance(skinning, SparseSkinning)
    g = torch.Generator().manual_seed(0)
    coeffs = torch.randn(9, skinning.j_dirs.shape[0], generator=g)
    rotmats = torch.linalg.matrix_exp(
        torch.randn(9, skinning.num_joints, 3, 3, generator=g).triu(1).mT
        - torch.randn(9, skinning.num_joints, 3, 3, generator=g).triu(1)
    )
    joints, points = skinning(coeffs, rotmats)
    for rows in (slice(0, 1), slice(2, 4), slice(5, 8)):
        part_joints, part_points = skinning(coeffs[rows], rotmats[rows])
        torch.testing.assert_close(part_joints, joints[rows], rtol=0, atol=0)
        torch.testing.assert_close(part_points, points[rows], rtol=0, atol=0)


def test_a_fit_does_not_depend_on_the_process_thread_count(synthetic_models_dir):
    fitter = SmplBodyFitter(synthetic_models_dir, iterations=10)
    sample = body_truth(fitter, 16, seed=7, **NOISE)
    one = fitter.fit(sample.keypoints)
    torch.set_num_threads(2)  # the autouse fixture restores the count
    two = fitter.fit(sample.keypoints)
    assert torch.get_num_threads() == 2  # restored after the fit
    np.testing.assert_array_equal(one.loss, two.loss)
    np.testing.assert_array_equal(one.camera, two.camera)
    np.testing.assert_array_equal(one.params.rotmats, two.params.rotmats)
