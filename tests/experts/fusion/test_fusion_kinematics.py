"""The SMPL-X rig of fusion against the smplx package: parents, shaped rest joints, chain."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from smplx.lbs import batch_rigid_transform

from furpe_label.experts.fusion.kinematics import (
    LEFT_ELBOW,
    LEFT_WRIST,
    NUM_BODY_JOINTS,
    SmplxRig,
    load_smplx_rig,
)
from furpe_label.experts.geometry.kinematics import global_rotations
from furpe_label.experts.geometry.rotations import axis_angle_to_matrix
from tests.support.fusion_support import as_tensors, load_fusion_models

MIRROR = np.tile([1.0, -1.0, -1.0], 15).reshape(15, 3)


@pytest.fixture(scope="module")
def models(synthetic_models_dir, tmp_path_factory):
    return load_fusion_models(synthetic_models_dir, tmp_path_factory.mktemp("cache"))


def test_rig_reads_parents_and_mean_hands_of_the_file(models, synthetic_models_dir):
    rig = models.rig
    assert rig.parents.tolist() == models.smplx_flat.parents.tolist()
    data = np.load(synthetic_models_dir / "smplx" / "SMPLX_NEUTRAL.npz")
    np.testing.assert_allclose(rig.left_hand_mean.numpy().ravel(), data["hands_meanl"], atol=1e-7)
    np.testing.assert_allclose(rig.right_hand_mean.numpy().ravel(), data["hands_meanr"], atol=1e-7)
    # Left and right means differ (mirror images), so using the wrong one would show.
    assert np.abs(data["hands_meanl"] - data["hands_meanr"]).max() > 0.1
    np.testing.assert_allclose(
        rig.left_hand_mean.numpy(), rig.right_hand_mean.numpy() * MIRROR, atol=1e-6
    )
    assert (rig.num_betas, rig.num_expression) == (10, 10)


def test_rest_joints_equal_smplx_at_zero_pose(models):
    g = torch.Generator().manual_seed(1)
    betas, expression = torch.randn(5, 10, generator=g), torch.randn(5, 10, generator=g)
    zeros = {
        k: torch.zeros(5, d)
        for k, d in (
            ("global_orient", 3),
            ("body_pose", 63),
            ("jaw_pose", 3),
            ("leye_pose", 3),
            ("reye_pose", 3),
            ("left_hand_pose", 45),
            ("right_hand_pose", 45),
            ("transl", 3),
        )
    }
    with torch.no_grad():  # flat_hand_mean=True: zero hand poses are the rest pose
        reference = models.smplx_flat(betas=betas, expression=expression, **zeros).joints[:, :55]
    ours = models.rig.rest_joints(betas, expression)
    np.testing.assert_allclose(ours.numpy(), reference.double().numpy(), atol=1e-6)
    bone = models.rig.bone_direction(ours, LEFT_WRIST)
    expected = ours[:, LEFT_WRIST] - ours[:, LEFT_ELBOW]
    np.testing.assert_allclose(bone.numpy(), (expected / expected.norm(dim=-1, keepdim=True)))


def test_global_rotations_equal_smplx_rigid_transforms(models):
    g = torch.Generator().manual_seed(2)
    pose = 0.5 * torch.randn(4, 55, 3, generator=g, dtype=torch.float64)
    local = axis_angle_to_matrix(pose)
    rest = models.rig.rest_joints(torch.zeros(4, 10, dtype=torch.float64))
    _, transforms = batch_rigid_transform(local, rest, models.rig.parents, dtype=torch.float64)
    ours = global_rotations(local[:, :NUM_BODY_JOINTS], models.rig.parents)
    np.testing.assert_allclose(
        ours.numpy(), transforms[:, :NUM_BODY_JOINTS, :3, :3].numpy(), atol=1e-12
    )


def test_rig_refuses_a_layer_without_mean_hands(models):
    with pytest.raises(ValueError, match="flat_hand_mean=False"):
        SmplxRig.from_layer(models.smplx_flat)
    with pytest.raises(TypeError, match="SMPLX"):
        SmplxRig.from_layer(models.flame)
    with pytest.raises(ValueError, match="betas have 3"):
        models.rig.rest_joints(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="12 expression coefficients, rig has 10"):
        models.rig.rest_joints(torch.zeros(2, 10), torch.zeros(2, 12))


def test_load_smplx_rig_from_a_models_folder(synthetic_models_dir, models, tmp_path):
    rig = load_smplx_rig(synthetic_models_dir, num_betas=16)
    assert rig.num_betas == 16
    np.testing.assert_allclose(rig.joint_template.numpy(), models.rig.joint_template.numpy())
    with pytest.raises(FileNotFoundError, match="smplx neutral model not found"):
        load_smplx_rig(tmp_path)


def test_as_tensors_flattens_rows():
    out = as_tensors({"body_pose": np.zeros((2, 21, 3))})
    assert out["body_pose"].shape == (2, 63) and out["body_pose"].dtype == torch.float32
