"""Face fields and the optional head-from-face rule (PyMAF-X), checked against smplx's FLAME."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from furpe_label.experts.fusion.config import FusionConfig
from furpe_label.experts.fusion.fuse import fuse_parts
from furpe_label.experts.fusion.head import DECA_TO_BODY_CAMERA
from furpe_label.experts.fusion.kinematics import HEAD
from furpe_label.experts.geometry.kinematics import global_rotations
from furpe_label.experts.vocabulary import Part
from tests.support.doubles.simulated_part_outputs import SimulatedParts, simulated_part_outputs
from tests.support.fusion_support import TOL_M, load_fusion_models, smplx_joints

N = 12
LANDMARKS = slice(76, 127)  # smplx joints: the 51 static face landmarks (FLAME: joints 5..55)


@pytest.fixture(scope="module")
def models(synthetic_models_dir, tmp_path_factory):
    return load_fusion_models(synthetic_models_dir, tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def inputs(models):
    return simulated_part_outputs(models.rig, N, seed=7)


def _flame_landmarks(models, parts: SimulatedParts) -> torch.Tensor:
    """(N, 51, 3) FLAME landmarks posed by DECA's code (neck at rest), DECA camera frame."""
    n = len(parts)
    pose = torch.from_numpy(parts.face_pose)
    zeros = torch.zeros(n, 3)
    with torch.no_grad():
        out = models.flame(
            global_orient=pose[:, :3],
            jaw_pose=pose[:, 3:],
            neck_pose=zeros,
            leye_pose=zeros,
            reye_pose=zeros,
            transl=zeros,
            betas=torch.zeros(n, 10),
            expression=torch.from_numpy(parts.face_expression[:, :10]),
        )
    return out.joints[:, 5:].double()


def _centred(points: torch.Tensor) -> np.ndarray:
    return (points - points.mean(dim=1, keepdim=True)).numpy()


def test_face_fields_come_from_deca(models, inputs):
    parts, betas = inputs
    fused = fuse_parts(parts.outputs, betas, models.rig)
    np.testing.assert_array_equal(fused.jaw_pose, parts.face_pose[:, 3:])
    np.testing.assert_array_equal(fused.expression, parts.face_expression[:, :10])
    np.testing.assert_array_equal(fused.flame_expression, parts.face_expression)
    np.testing.assert_array_equal(fused.face_head_pose, parts.face_pose[:, :3])
    assert not np.any(fused.leye_pose) and not np.any(fused.reye_pose)
    # By default the body keeps SPIN's head.
    head = Rotation.from_rotvec(fused.body_pose[:, HEAD - 1].astype(np.float64)).as_matrix()
    np.testing.assert_allclose(head, parts.body_rotmats[:, HEAD], atol=1e-5)


def test_head_from_face_turns_the_smplx_head_like_decas_flame(models, inputs):
    """The fused SMPL-X face equals DECA's FLAME face seen in the body camera frame (y down):
    same landmarks up to a translation. Without the option the faces differ."""
    parts, betas = inputs
    betas = np.zeros_like(betas)  # FLAME's own shape space: compare at the mean shape
    flame = _flame_landmarks(models, parts) @ DECA_TO_BODY_CAMERA.T
    for head_from_face, agrees in ((True, True), (False, False)):
        config = FusionConfig(head_from_face=head_from_face)
        fused = fuse_parts(parts.outputs, betas, models.rig, config)
        face = smplx_joints(models.smplx_flat, fused)[:, LANDMARKS]
        error = np.abs(_centred(face) - _centred(flame)).max()
        assert (error < TOL_M) == agrees, error


def test_head_from_face_changes_only_the_head_joint(models, inputs):
    parts, betas = inputs
    plain = fuse_parts(parts.outputs, betas, models.rig)
    headed = fuse_parts(parts.outputs, betas, models.rig, FusionConfig(head_from_face=True))
    others = [j for j in range(21) if j != HEAD - 1]
    np.testing.assert_array_equal(headed.body_pose[:, others], plain.body_pose[:, others])
    assert np.abs(headed.body_pose[:, HEAD - 1] - plain.body_pose[:, HEAD - 1]).max() > 0.05
    np.testing.assert_array_equal(headed.head_disagreement_rad, plain.head_disagreement_rad)


def test_head_disagreement_measures_the_face_body_angle(models, inputs):
    parts, betas = inputs
    body = torch.from_numpy(parts.body_rotmats[:, :22].astype(np.float64))
    head_global = global_rotations(body, models.rig.parents)[:, HEAD].numpy()
    offsets = np.linspace(0.0, 1.5, N)
    extra = Rotation.from_rotvec(offsets[:, None] * np.array([0.0, 0.6, 0.8])).as_matrix()
    deca = DECA_TO_BODY_CAMERA.numpy().T @ head_global @ extra
    face_pose = parts.face_pose.copy()
    face_pose[:, :3] = Rotation.from_matrix(deca).as_rotvec()
    shifted = replace(parts, face_pose=face_pose)
    fused = fuse_parts(shifted.outputs, betas, models.rig)
    np.testing.assert_allclose(fused.head_disagreement_rad, offsets, atol=2e-4)


def test_unusable_face_keeps_the_body_head_and_neutral_face(models, inputs):
    parts, betas = inputs
    valid = np.ones((N, 4), bool)
    valid[::2, Part.FACE.column] = False
    face_pose = parts.face_pose.copy()
    face_pose[::2] = np.inf  # ignored where unusable
    masked = replace(parts, part_valid=valid, face_pose=face_pose)
    fused = fuse_parts(masked.outputs, betas, models.rig, FusionConfig(head_from_face=True))
    plain = fuse_parts(parts.outputs, betas, models.rig)
    off = ~valid[:, Part.FACE.column]
    assert not fused.jaw_pose[off].any() and not fused.expression[off].any()
    assert not fused.flame_expression[off].any()
    assert np.isnan(fused.face_head_pose[off]).all()
    assert np.isnan(fused.head_disagreement_rad[off]).all()
    np.testing.assert_array_equal(fused.body_pose[off], plain.body_pose[off])
    assert not fused.part_valid[off, Part.FACE.column].any()
    assert fused.part_valid[~off].all()
