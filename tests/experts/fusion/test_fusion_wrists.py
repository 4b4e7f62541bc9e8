"""The three wrist rules, checked by driving the unmodified smplx SMPL-X / MANO layers."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from furpe_label.experts.fusion.config import FusionConfig
from furpe_label.experts.fusion.fuse import fuse_parts
from furpe_label.experts.fusion.kinematics import (
    LEFT_ELBOW,
    LEFT_WRIST,
    RIGHT_ELBOW,
    RIGHT_WRIST,
)
from furpe_label.experts.geometry.kinematics import global_rotations
from furpe_label.experts.keypoints.fast_openpose import OpenPoseFromSMPLX
from furpe_label.experts.keypoints.smplx_openpose import smplx_joints_to_openpose137
from furpe_label.experts.vocabulary import Part
from tests.support.doubles.simulated_part_outputs import simulated_part_outputs
from tests.support.fusion_support import TOL_M, load_fusion_models, smplx_joints

N = 24
SIDES = (("left", LEFT_ELBOW, LEFT_WRIST), ("right", RIGHT_ELBOW, RIGHT_WRIST))
HAND_JOINTS = {"left": [LEFT_WRIST, *range(25, 40)], "right": [RIGHT_WRIST, *range(40, 55)]}


@pytest.fixture(scope="module")
def models(synthetic_models_dir, tmp_path_factory):
    return load_fusion_models(synthetic_models_dir, tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def inputs(models):
    return simulated_part_outputs(models.rig, N, seed=5)


def _matrices(axis_angle: np.ndarray) -> np.ndarray:
    return Rotation.from_rotvec(axis_angle.reshape(-1, 3).astype(np.float64)).as_matrix()


def _twist_angle(matrix: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Swing-twist angle about ``axis`` via scipy quaternions (independent of the project)."""
    q = Rotation.from_matrix(matrix).as_quat()  # (x, y, z, w)
    q = np.where(q[:, 3:] < 0, -q, q)
    unit = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    return 2.0 * np.arctan2((q[:, :3] * unit).sum(-1), q[:, 3])


def _mano_joints(models, side: str, global_orient: np.ndarray, fingers: np.ndarray):
    """(N, 16, 3) MANO joints (wrist first) relative to the wrist, FrankMocap's meaning."""
    n = len(global_orient)
    with torch.no_grad():
        out = models.mano[side](
            global_orient=torch.from_numpy(np.asarray(global_orient, np.float32)),
            hand_pose=torch.from_numpy(np.asarray(fingers, np.float32)),
            betas=torch.zeros(n, 10),
            transl=torch.zeros(n, 3),
        ).joints.double()
    return out - out[:, :1]


def _hand_joints(joints: torch.Tensor, side: str) -> torch.Tensor:
    hand = joints[:, HAND_JOINTS[side]]
    return hand - hand[:, :1]


def test_config_defaults_follow_pymafx_code():
    config = FusionConfig()
    assert config.wrist == "adaptive" and not config.head_from_face
    assert config.twist_limit_rad == pytest.approx(0.4 * math.pi)
    with pytest.raises(ValueError, match="unknown wrist rule"):
        FusionConfig(wrist="paste")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="twist_limit_rad"):
        FusionConfig(twist_limit_rad=-0.1)


@pytest.mark.parametrize("rule", ["copy-paste", "adaptive"])
def test_hand_expert_hand_lands_exactly_on_the_body(models, inputs, rule):
    """The SMPL-X hand (wrist + 15 finger joints) equals MANO driven by FrankMocap's 48-D pose:
    global rotation = the hand's, fingers relative to each side's own mean hand."""
    parts, betas = inputs
    betas = np.zeros_like(betas)  # MANO's own shape space: compare at the mean shape
    fused = fuse_parts(parts.outputs, betas, models.rig, FusionConfig(wrist=rule))
    joints = smplx_joints(models.smplx_flat, fused)
    for side, _, _ in SIDES:
        pose = getattr(parts, f"{side}_hand_pose")
        expected = _mano_joints(models, side, pose[:, :3], pose[:, 3:])
        np.testing.assert_allclose(_hand_joints(joints, side), expected, atol=TOL_M)


def test_furpe_keeps_the_body_wrists_and_pastes_fingers(models, inputs):
    parts, betas = inputs
    fused = fuse_parts(parts.outputs, np.zeros_like(betas), models.rig, FusionConfig(wrist="furpe"))
    body = parts.body_rotmats.astype(np.float64)
    np.testing.assert_allclose(
        _matrices(fused.body_pose), body[:, 1:22].reshape(-1, 3, 3), atol=1e-5
    )
    np.testing.assert_allclose(_matrices(fused.global_orient), body[:, 0], atol=1e-5)
    # The hand's global rotation is dropped: the hand sits on SPIN's wrist.
    body_global = global_rotations(torch.from_numpy(body[:, :22]), models.rig.parents).numpy()
    joints = smplx_joints(models.smplx_flat, fused)
    for side, _, wrist in SIDES:
        pose = getattr(parts, f"{side}_hand_pose")
        wrist_aa = Rotation.from_matrix(body_global[:, wrist]).as_rotvec()
        expected = _mano_joints(models, side, wrist_aa, pose[:, 3:])
        np.testing.assert_allclose(_hand_joints(joints, side), expected, atol=TOL_M)
    assert np.all(fused.wrist_twist_excess_rad == 0)


def test_adaptive_keeps_the_wrist_twist_in_range_and_the_swing(models, inputs):
    parts, betas = inputs
    limit = 0.4 * math.pi
    copy = fuse_parts(parts.outputs, betas, models.rig, FusionConfig(wrist="copy-paste"))
    adaptive = fuse_parts(parts.outputs, betas, models.rig, FusionConfig(twist_limit_rad=limit))
    rest = models.rig.rest_joints(torch.from_numpy(betas.astype(np.float64))).numpy()
    for side, (_, elbow, wrist) in enumerate(SIDES):
        axis = rest[:, wrist] - rest[:, elbow]
        before = _matrices(copy.body_pose[:, wrist - 1])
        after = _matrices(adaptive.body_pose[:, wrist - 1])
        angle = _twist_angle(before, axis)
        outside = np.abs(angle) > limit
        assert 0 < outside.sum() < N  # the sample exercises both branches
        np.testing.assert_allclose(
            _twist_angle(after, axis), np.clip(angle, -limit, limit), atol=1e-5
        )
        excess = adaptive.wrist_twist_excess_rad[:, side]
        np.testing.assert_allclose(excess, angle - np.clip(angle, -limit, limit), atol=1e-5)
        # Within the range adaptive is copy-paste; outside, only the twist moved to the elbow.
        arm = [elbow - 1, wrist - 1]
        np.testing.assert_allclose(
            adaptive.body_pose[~outside][:, arm], copy.body_pose[~outside][:, arm], atol=1e-6
        )
        twist = Rotation.from_rotvec(
            axis / np.linalg.norm(axis, axis=1, keepdims=True) * excess[:, None].astype(np.float64)
        ).as_matrix()
        np.testing.assert_allclose(after, np.swapaxes(twist, 1, 2) @ before, atol=1e-5)
        elbow_before = _matrices(copy.body_pose[:, elbow - 1])
        elbow_after = _matrices(adaptive.body_pose[:, elbow - 1])
        np.testing.assert_allclose(elbow_after, elbow_before @ twist, atol=1e-5)


@pytest.mark.parametrize("limit", [0.0, 0.4 * math.pi])
def test_adaptive_elbow_twist_moves_no_keypoint(models, inputs, limit):
    """Every smplx joint and OpenPose-137 keypoint stays within 1e-5 m of copy-paste."""
    parts, betas = inputs
    copy = fuse_parts(parts.outputs, betas, models.rig, FusionConfig(wrist="copy-paste"))
    adaptive = fuse_parts(parts.outputs, betas, models.rig, FusionConfig(twist_limit_rad=limit))
    moved = np.abs(adaptive.wrist_twist_excess_rad).max(axis=1) > 0.3
    assert moved.sum() >= 3  # the elbows really turned in several rows
    joints_copy = smplx_joints(models.smplx_flat, copy)
    joints_adaptive = smplx_joints(models.smplx_flat, adaptive)
    np.testing.assert_allclose(joints_adaptive.numpy(), joints_copy.numpy(), atol=TOL_M)
    fast = OpenPoseFromSMPLX(models.smplx_flat).double()
    with torch.no_grad():
        params = {
            k: torch.from_numpy(v.astype(np.float64)) for k, v in adaptive.smplx_params().items()
        }
        keypoints, mask = fast(**params)
    expected = smplx_joints_to_openpose137(joints_copy, False)[0]
    np.testing.assert_allclose(keypoints[:, mask].numpy(), expected[:, mask].numpy(), atol=TOL_M)


@pytest.mark.parametrize("rule", ["furpe", "copy-paste", "adaptive"])
def test_unusable_hand_keeps_body_arm_and_mean_hand(models, inputs, rule):
    parts, betas = inputs
    valid = np.ones((N, 4), bool)
    valid[::3, Part.LEFT_HAND.column] = False
    valid[1::4, Part.RIGHT_HAND.column] = False
    left = parts.left_hand_pose.copy()
    left[~valid[:, Part.LEFT_HAND.column]] = np.nan  # ignored where unusable
    masked = replace(parts, part_valid=valid, left_hand_pose=left)
    fused = fuse_parts(masked.outputs, betas, models.rig, FusionConfig(wrist=rule))
    body = parts.body_rotmats.astype(np.float64)
    for side, (name, elbow, wrist) in enumerate(SIDES):
        off = ~valid[:, 2 + side]
        assert np.array_equal(fused.hand_suppressed[:, side], off)
        assert not fused.part_valid[off, 2 + side].any()
        for joint in (elbow, wrist):
            np.testing.assert_allclose(
                _matrices(fused.body_pose[off, joint - 1]), body[off, joint], atol=1e-5
            )
        mean = getattr(models.rig, f"{name}_hand_mean").numpy()
        hand = getattr(fused, f"{name}_hand_pose")
        np.testing.assert_allclose(hand[off], np.broadcast_to(mean, hand[off].shape), atol=1e-6)
        assert np.isnan(fused.wrist_disagreement_rad[off, side]).all()
        assert np.all(fused.wrist_twist_excess_rad[off, side] == 0)
    for name in ("global_orient", "body_pose", "left_hand_pose", "right_hand_pose"):
        assert np.isfinite(getattr(fused, name)).all()
