"""Label error against 3D ground truth: root-aligned MPJPE and Procrustes-aligned PA-MPJPE."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES, convert, mapping
from furpe_label.pipeline.ground_truth import gt_errors_mm, procrustes_align


def _truth(rng: np.random.Generator, n: int) -> np.ndarray:
    joints = rng.normal(0, 0.3, (n, len(KEYPOINT_NAMES["spin24"]), 3))
    return np.concatenate([joints, np.ones((*joints.shape[:2], 1))], axis=2)


def test_identical_and_similarity_moved_labels():
    rng = np.random.default_rng(0)
    truth = _truth(rng, 3)
    label, shared = convert(truth[..., :3], "spin24", "openpose137", has_confidence=False)
    label[:, ~shared] = np.nan
    mpjpe, pa = gt_errors_mm(label, truth, "spin24")
    np.testing.assert_allclose(mpjpe, 0, atol=1e-3)
    np.testing.assert_allclose(pa, 0, atol=1e-3)
    rotation = Rotation.from_rotvec([0.3, -0.2, 0.5]).as_matrix()
    moved = 1.3 * label @ rotation.T + np.array([0.1, 2.0, 5.0])
    mpjpe, pa = gt_errors_mm(moved, truth, "spin24")
    assert (mpjpe > 50).all()  # rotation and scale are real errors before alignment
    np.testing.assert_allclose(pa, 0, atol=1e-3)  # and vanish after Procrustes


def test_known_offset_invalid_joints_and_missing_rows():
    rng = np.random.default_rng(1)
    truth = _truth(rng, 3)
    label, shared = convert(truth[..., :3], "spin24", "openpose137", has_confidence=False)
    label[:, ~shared] = np.nan
    wrist = KEYPOINT_NAMES["openpose137"].index("right_wrist")
    label[0, wrist] += [0.0, 0.0, 0.1]  # 100 mm on one joint
    truth[1, :, 3] = 0  # no valid ground truth
    label[2] = np.nan  # no label
    mpjpe, pa = gt_errors_mm(label, truth, "spin24")
    src, _ = mapping("openpose137", "spin24")
    pairs = np.isfinite(label[0][src]).all(1)
    moved = (src[pairs] == wrist).sum()  # the wrist is not a hip: the root stays
    assert moved >= 1 and abs(mpjpe[0] - 100.0 * moved / pairs.sum()) < 1e-3
    assert np.isnan(mpjpe[1]) and np.isnan(pa[1]) and np.isnan(mpjpe[2])


def test_procrustes_recovers_a_similarity():
    rng = np.random.default_rng(2)
    target = rng.normal(size=(10, 3))
    rotation = Rotation.from_rotvec([0.1, 1.0, -0.4]).as_matrix()
    source = 0.5 * (target - 1.0) @ rotation
    np.testing.assert_allclose(procrustes_align(source, target), target, atol=1e-9)
