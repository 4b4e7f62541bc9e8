"""The limb-swap scores beyond the whole-limb ratio: the arms' 2D bones, the hands' rotations
against the elbows, the legs' likelihood ratio. Each is positive on a label whose limbs are
exchanged left <-> right (mirrored) and negative on the correct label, and NaN where it lacks
its inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from furpe_label.experts.fusion.kinematics import load_smplx_rig
from furpe_label.experts.geometry.cameras import WeakPerspectiveCamera
from furpe_label.experts.geometry.kinematics import global_rotations
from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES
from furpe_label.selection import BodyCropFrame, SelectionConfig
from furpe_label.selection.limb_swap_likelihood import LEGS, legs_swap_llr
from furpe_label.selection.limb_swap_scores import (
    ARM_BONES,
    arms_swap_bone_gain,
    arms_swap_hand_gain,
    bone_distance,
)
from furpe_label.selection.signal_scores import ARM_PAIRS, swap_limbs
from furpe_label.selection.step3_inputs import Step3Inputs
from tests.support.doubles.expert_outputs import expert_outputs
from tests.support.selection_data import keypoint_layer, plausible_smplx_params

N = 4
NAMES = KEYPOINT_NAMES["openpose137"]


def _asymmetric(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The people with the left arm raised and bent and the left leg stepping forward and
    bent, the right ones hanging straight (so that a swap changes the pose)."""
    pose = np.array(params["body_pose"], np.float32) * 0.3
    pose[:, 0] = [-1.0, 0.0, 0.0]  # left hip flexed
    pose[:, 3] = [1.3, 0.0, 0.0]  # left knee bent
    pose[:, 15] = [0.0, 0.0, -0.2]  # left shoulder
    pose[:, 17] = [0.0, -1.6, 0.0]  # left elbow bent forwards
    pose[:, 16] = [0.0, 0.0, 1.1]  # right arm lowered
    return {**params, "body_pose": pose}


def test_bone_distance_sums_the_bones_whose_two_keypoints_count():
    detected = np.zeros((1, 3, 2))
    detected[0, 1] = [1.0, 0.0]
    detected[0, 2] = [2.0, 0.0]
    points = detected.copy()
    points[0, 2] = [2.0, 3.0]  # the second bone off by 3
    bones = np.array([[0, 1], [1, 2]])
    total, count = bone_distance(points, detected, np.ones((1, 3), bool), bones)
    assert total.tolist() == [3.0] and count.tolist() == [2]
    total, count = bone_distance(points, detected, np.array([[True, True, False]]), bones)
    assert total.tolist() == [0.0] and count.tolist() == [1]


def test_arms_bone_gain_is_positive_for_swapped_arms_and_nan_without_bones():
    rng = np.random.default_rng(0)
    truth = rng.normal(0.0, 0.5, (3, 137, 2))
    moved = truth.copy()
    moved[:, ARM_BONES[:, 1]] += rng.normal(0.0, 0.3, (3, len(ARM_BONES), 2))
    use = np.ones((3, 137), bool)
    use[2, ARM_BONES.ravel()] = False  # no confident arm keypoint
    gain = arms_swap_bone_gain(moved, truth, truth, use)  # label wrong, swap right
    assert gain[0] > 0.1 and gain[1] > 0.1 and np.isnan(gain[2])
    reverse = arms_swap_bone_gain(truth, moved, truth, use)  # label right
    np.testing.assert_allclose(reverse[:2], -gain[:2])


@pytest.fixture(scope="module")
def rig(synthetic_models_dir):
    return load_smplx_rig(synthetic_models_dir)


def test_arms_hand_gain_sees_swapped_arms_through_the_hand_rotations(rig):
    params = _asymmetric(plausible_smplx_params(N, seed=3))
    local = np.concatenate([params["global_orient"][:, None], params["body_pose"]], 1)
    matrices = Rotation.from_rotvec(local.reshape(-1, 3)).as_matrix().reshape(N, 22, 3, 3)
    wrists = global_rotations(torch.as_tensor(matrices), rig.parents[:22])[:, [20, 21]]
    hands = [np.zeros((N, 48), np.float32) for _ in range(2)]
    for side in range(2):
        hands[side][:, :3] = Rotation.from_matrix(wrists[:, side].numpy()).as_rotvec()
    hands[1][3] = np.nan  # row 3: the left hand alone
    swapped = swap_limbs(params["body_pose"], ARM_PAIRS)
    gains = []
    for pose in (params["body_pose"], swapped):
        body = np.tile(np.eye(3, dtype=np.float32), (N, 24, 1, 1))
        body[:, :22] = (
            Rotation.from_rotvec(
                np.concatenate([params["global_orient"][:, None], pose], 1).reshape(-1, 3)
            )
            .as_matrix()
            .reshape(N, 22, 3, 3)
        )
        experts = expert_outputs(
            N, body_rotmats=body, left_hand_pose=hands[0], right_hand_pose=hands[1]
        )
        gains.append(arms_swap_hand_gain(experts, rig))
    correct, wrong = gains
    assert (correct < -0.3).all() and (wrong > 0.3).all()
    body[0] = np.nan  # no body output
    hands[0][1] = hands[1][1] = np.nan  # no hand output
    experts = expert_outputs(
        N, body_rotmats=body, left_hand_pose=hands[0], right_hand_pose=hands[1]
    )
    missing = arms_swap_hand_gain(experts, rig)
    assert np.isnan(missing[:2]).all() and np.isfinite(missing[2:]).all()


@pytest.fixture(scope="module")
def legs_scene(synthetic_models_dir):
    """N people with asymmetric legs, seen exactly through a weak-perspective crop camera."""
    layer = keypoint_layer(synthetic_models_dir)
    params = _asymmetric(plausible_smplx_params(N, seed=5, yaw_range=1.0))
    camera = WeakPerspectiveCamera(torch.tensor([[0.9, 0.0, 0.1]] * N))
    affine = np.tile(np.array([[0.4, 0.0, -88.0], [0.0, 0.4, -88.0]]), (N, 1, 1))
    frame = BodyCropFrame(affine)
    with torch.no_grad():
        points, mask = layer(**{k: torch.as_tensor(v) for k, v in params.items()})
    detected = np.zeros((N, 137, 3))
    detected[..., :2] = frame.norm_to_image(camera.project(points).double().numpy())
    detected[..., 2] = np.where(mask.numpy(), 0.9, 0.0)
    detected[3, LEGS.points, 2] = 0.0  # row 3: no leg keypoint detected
    rows = np.ones(N, bool)
    step3 = Step3Inputs(layer, camera, frame, detected, np.zeros((N, 3)), SelectionConfig(), rows)
    return step3, params


def test_legs_llr_prefers_the_legs_that_explain_the_keypoints(legs_scene):
    step3, params = legs_scene
    swapped = {**params, "body_pose": swap_limbs(params["body_pose"], LEGS.pairs)}
    rows = np.array([True, True, True, True])
    correct = legs_swap_llr(step3, params, swapped, rows)  # the label is right
    wrong = legs_swap_llr(step3, swapped, params, rows)  # the label's legs are swapped
    assert (correct[:3] < -5.0).all() and (wrong[:3] > 5.0).all()
    assert np.isnan(correct[3]) and np.isnan(wrong[3])  # too few confident leg keypoints
    skipped = legs_swap_llr(step3, swapped, params, np.array([True, False, True, True]))
    assert np.isnan(skipped[1]) and skipped[0] == wrong[0]
