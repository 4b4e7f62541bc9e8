"""One truth for hand poses: the stored parameters, the stored flat_hand_mean flag and the
stored keypoints agree when the unmodified smplx package re-creates them.

FuRPE's released labels store hand poses relative to the mean hand next to vertices built as if
they were absolute; here the fused labels are absolute (``flat_hand_mean=True``) and every
consumer path gives the same keypoints.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.fusion.fuse import FusedSmplx, fuse_parts
from furpe_label.experts.keypoints.fast_openpose import OpenPoseFromSMPLX
from furpe_label.experts.keypoints.smplx_openpose import smplx_joints_to_openpose137
from tests.support.doubles.simulated_part_outputs import simulated_part_outputs
from tests.support.fusion_support import TOL_M, as_tensors, load_fusion_models, smplx_joints

N = 16
HANDS = slice(25, 67)  # OpenPose-137 left + right hand keypoints


@pytest.fixture(scope="module")
def models(synthetic_models_dir, tmp_path_factory):
    return load_fusion_models(synthetic_models_dir, tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def fused(models) -> FusedSmplx:
    parts, betas = simulated_part_outputs(models.rig, N, seed=11)
    return fuse_parts(parts.outputs, betas, models.rig)


def _fast_keypoints(layer, fused: FusedSmplx) -> tuple[np.ndarray, np.ndarray]:
    """The project's own forward (OpenPose-137, metres) from the stored parameters."""
    with torch.no_grad():
        keypoints, mask = OpenPoseFromSMPLX(layer)(**as_tensors(fused.smplx_params()))
    return keypoints.double().numpy(), mask.numpy()


@pytest.mark.parametrize("use_face_contour", [False, True])
def test_smplx_with_the_stored_flag_reproduces_the_stored_keypoints(
    models, fused, synthetic_models_dir, use_face_contour
):
    assert fused.flat_hand_mean is True
    layer = load_body_model(
        synthetic_models_dir,
        "smplx",
        flat_hand_mean=fused.flat_hand_mean,
        use_face_contour=use_face_contour,
        num_betas=10,
        num_expression_coeffs=10,
    ).layer
    stored, mask = _fast_keypoints(layer, fused)
    joints = smplx_joints(layer, fused)
    reference = smplx_joints_to_openpose137(joints, use_face_contour)[0].numpy()
    np.testing.assert_allclose(reference[:, mask], stored[:, mask], atol=TOL_M)


def test_absolute_poses_mean_what_frankmocaps_relative_poses_mean(models, fused):
    """smplx with flat_hand_mean=False and the relative poses (left mean != right mean) gives
    the same body as flat_hand_mean=True with the stored absolute ones."""
    relative = {
        "left_hand_pose": fused.left_hand_pose - models.rig.left_hand_mean.numpy(),
        "right_hand_pose": fused.right_hand_pose - models.rig.right_hand_mean.numpy(),
    }
    via_relative = smplx_joints(models.smplx_relative, fused, **relative)
    np.testing.assert_allclose(via_relative, smplx_joints(models.smplx_flat, fused), atol=TOL_M)


def test_furpes_mixed_convention_would_move_the_hands(models, fused):
    """Driving the absolute model with mean-relative poses (FuRPE's stored vertices) moves the
    hand keypoints by far more than the tolerance, so the checks above can fail."""
    relative = {
        "left_hand_pose": fused.left_hand_pose - models.rig.left_hand_mean.numpy(),
        "right_hand_pose": fused.right_hand_pose - models.rig.right_hand_mean.numpy(),
    }
    stored, _ = _fast_keypoints(models.smplx_flat, fused)
    wrong = smplx_joints_to_openpose137(smplx_joints(models.smplx_flat, fused, **relative), False)[
        0
    ].numpy()
    assert np.abs(wrong[:, HANDS] - stored[:, HANDS]).max() > 100 * TOL_M
