"""Label error against 3D ground truth: root-aligned MPJPE and Procrustes-aligned PA-MPJPE, of
the stored label of kept rows and the candidate label of rows dropped after fusion."""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from furpe_label.experts.fusion.fuse import FusedSmplx
from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES, convert, mapping
from furpe_label.experts.vocabulary import Part
from furpe_label.pipeline.decode import DecodeLimits
from furpe_label.pipeline.ground_truth import gt_errors_mm, label_errors_mm, procrustes_align
from furpe_label.pipeline.shard_inputs import ShardInputs
from furpe_label.storage.manifest import build_manifest_table


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


class WristOffsetLayerDouble:
    """Test double of ``OpenPoseFromSMPLX``: every row's OpenPose-137 points are ``skeleton``
    (metres) with the right wrist moved ``jaw_pose[:, 0]`` metres along x, so a label's error
    is known from its parameters."""

    def __init__(self, skeleton: np.ndarray) -> None:
        self.skeleton = torch.as_tensor(skeleton, dtype=torch.float32)  # (137, 3)
        self.wrist = KEYPOINT_NAMES["openpose137"].index("right_wrist")

    def __call__(self, **params: torch.Tensor) -> tuple[torch.Tensor, None]:
        points = self.skeleton.repeat(len(params["jaw_pose"]), 1, 1)
        points[:, self.wrist, 0] += params["jaw_pose"][:, 0]
        return points, None


def _labels(wrist_offset_m: np.ndarray, body_valid: np.ndarray) -> FusedSmplx:
    """N fused labels whose only non-zero parameter is ``jaw_pose[:, 0]`` (the double's wrist
    offset), with the given body validity."""
    n = len(wrist_offset_m)
    zeros = lambda *shape: np.zeros((n, *shape), np.float32)  # noqa: E731
    jaw = zeros(3)
    jaw[:, 0] = wrist_offset_m
    part_valid = np.zeros((n, 4), bool)
    part_valid[:, Part.BODY.column] = body_valid
    return FusedSmplx(
        global_orient=zeros(3),
        body_pose=zeros(21, 3),
        betas=zeros(10),
        jaw_pose=jaw,
        leye_pose=zeros(3),
        reye_pose=zeros(3),
        left_hand_pose=zeros(15, 3),
        right_hand_pose=zeros(15, 3),
        expression=zeros(10),
        flame_expression=zeros(50),
        camera=zeros(3),
        part_valid=part_valid,
        hand_suppressed=np.ones((n, 2), bool),
        face_head_pose=zeros(3),
        head_disagreement_rad=zeros(),
        wrist_disagreement_rad=zeros(2),
        wrist_twist_excess_rad=zeros(2),
        wrist_rule="adaptive",
        head_from_face=False,
    )


def test_label_errors_of_kept_stored_and_dropped_candidate_labels():
    """Kept rows: the stored label's error; rows dropped after fusion: the candidate's; rows
    without a usable body or without ground truth: NaN."""
    truth = _truth(np.random.default_rng(3), 1)[0]  # (24, 4)
    skeleton, shared = convert(truth[:, :3], "spin24", "openpose137", has_confidence=False)
    skeleton[~shared] = np.nan
    n = 5
    joints = np.repeat(truth[None], n, axis=0)
    joints[4] = np.nan  # row 4: no ground truth
    table = build_manifest_table(
        {
            "dataset": ["h36m"] * n,
            "image_path": [f"/images/{row}.jpg" for row in range(n)],
            "joints3d": joints.astype(np.float32),
            "joints3d_convention": ["spin24"] * 4 + [None],
        }
    )
    inputs = ShardInputs(table, np.full((n, 4), np.nan), [""] * n, DecodeLimits())
    kept = np.array([True, False, False, True, False])
    body = np.array([True, True, False, True, True])  # row 2 never reached fusion
    stored = _labels(np.array([0.1, 0.0, 0.0, 0.0, 0.0]), kept)
    candidate = _labels(np.array([0.3, 0.2, 0.4, 0.0, 0.1]), body)
    layer = WristOffsetLayerDouble(skeleton)
    mpjpe, pa = label_errors_mm(layer, stored, candidate, kept, inputs)
    src, _ = mapping("openpose137", "spin24")
    wrist = KEYPOINT_NAMES["openpose137"].index("right_wrist")
    pairs = np.isfinite(skeleton[src]).all(1)
    per_metre = 1000.0 * (src[pairs] == wrist).sum() / pairs.sum()  # mm per metre of wrist
    expected = [0.1 * per_metre, 0.2 * per_metre, np.nan, 0.0, np.nan]
    np.testing.assert_allclose(mpjpe, expected, rtol=1e-4, atol=1e-3)
    assert np.isnan(pa[[2, 4]]).all() and (pa[[0, 1]] > 1.0).all() and pa[3] < 1e-3
    alone, _ = label_errors_mm(layer, stored, candidate, kept & False, inputs)
    assert abs(alone[0] - 0.3 * per_metre) < 1e-2  # not kept: the candidate is measured
