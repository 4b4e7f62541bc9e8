"""The fitters' sparse model evaluation equals the smplx layers (SMPL, MANO, FLAME)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.fitting.body import OPENPOSE25_FROM_SMPL, SmplBodyFitter
from furpe_label.experts.fitting.face import FaceFitData, FlameFaceFitter
from furpe_label.experts.fitting.hand import FRANKMOCAP_TIPS, OPENPOSE21_FROM_MANO, ManoHandFitter
from furpe_label.experts.fitting.problem import bare_data
from furpe_label.experts.geometry.kinematics import depth_order, rodrigues
from furpe_label.experts.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle


def test_rodrigues_matches_geometry_and_has_finite_gradient_at_zero():
    g = torch.Generator().manual_seed(0)
    v = 1.5 * torch.randn(200, 3, generator=g)
    v[:3] = 1e-6 * torch.randn(3, 3, generator=g)
    v[3] = 0.0
    assert torch.allclose(rodrigues(v), axis_angle_to_matrix(v), atol=1e-6)
    zero = torch.zeros(3, requires_grad=True)
    (rodrigues(zero) * torch.arange(9.0).view(3, 3)).sum().backward()
    assert torch.isfinite(zero.grad).all()


def test_tree_levels_groups_joints_by_depth():
    levels = depth_order(np.array([-1, 0, 0, 1, 3, 2])).joint_levels
    assert [level.tolist() for level in levels] == [[1, 2], [3, 5], [4]]


def test_smpl_points_equal_smplx_layer(synthetic_models_dir):
    fitter = SmplBodyFitter(synthetic_models_dir)
    layer = load_body_model(synthetic_models_dir, "smpl").layer
    g = torch.Generator().manual_seed(1)
    x = torch.zeros(6, fitter.layout.size)
    x[:, fitter.layout.slices["body"]] = 0.4 * torch.randn(6, 69, generator=g)
    x[:, fitter.layout.slices["betas"]] = torch.randn(6, 10, generator=g)
    base = axis_angle_to_matrix(torch.randn(6, 3, generator=g))
    with torch.no_grad():
        points = fitter.model_points(x, bare_data(x, base))
        out = layer(
            global_orient=matrix_to_axis_angle(base),
            body_pose=x[:, fitter.layout.slices["body"]],
            betas=x[:, fitter.layout.slices["betas"]],
        )
    expected = out.joints[:, list(OPENPOSE25_FROM_SMPL)]
    assert torch.allclose(points, expected, atol=2e-5)


def test_mano_points_equal_smplx_layer(synthetic_models_dir):
    fitter = ManoHandFitter(synthetic_models_dir)
    layer = load_body_model(synthetic_models_dir, "mano", "right", flat_hand_mean=False).layer
    g = torch.Generator().manual_seed(2)
    x = torch.zeros(5, fitter.layout.size)
    x[:, fitter.layout.slices["fingers"]] = 0.3 * torch.randn(5, 45, generator=g)
    x[:, fitter.layout.slices["betas"]] = torch.randn(5, 10, generator=g)
    base = axis_angle_to_matrix(torch.randn(5, 3, generator=g))
    with torch.no_grad():
        points = fitter.model_points(x, bare_data(x, base))
        out = layer(
            global_orient=matrix_to_axis_angle(base),
            hand_pose=x[:, fitter.layout.slices["fingers"]],
            betas=x[:, fitter.layout.slices["betas"]],
        )
    full = torch.cat([out.joints, out.vertices[:, list(FRANKMOCAP_TIPS)]], dim=1)
    expected = full[:, list(OPENPOSE21_FROM_MANO)]
    expected = expected - expected[:, 5:6]  # FrankMocap: relative to the index finger's MCP
    assert torch.allclose(points, expected, atol=2e-5)


@pytest.mark.parametrize("yaw", [0.0, 0.5, -0.5, 0.9])
def test_flame_landmarks_equal_smplx_layer(synthetic_models_dir, yaw):
    fitter = FlameFaceFitter(synthetic_models_dir)
    layer = load_body_model(
        synthetic_models_dir,
        "flame",
        num_betas=100,
        num_expression_coeffs=50,
        use_face_contour=True,
    ).layer
    g = torch.Generator().manual_seed(3)
    x = torch.zeros(4, fitter.layout.size)
    x[:, fitter.layout.slices["shape"]] = torch.randn(4, 100, generator=g)
    x[:, fitter.layout.slices["exp"]] = torch.randn(4, 50, generator=g)
    x[:, fitter.layout.slices["jaw"]] = torch.tensor([0.3, 0.02, -0.01])
    head = torch.tensor([0.1, yaw, -0.05]).expand(4, 3)
    rows = torch.zeros(4, dtype=torch.long)
    d = bare_data(x, axis_angle_to_matrix(head))
    data = FaceFitData(d.target, d.conf, d.base, d.reference, d.world, d.world_conf, rows)
    with torch.no_grad():
        data = fitter.prepare_stage(x, data)
        points = fitter.model_points(x, data)
        out = layer(
            global_orient=head,
            jaw_pose=x[:, fitter.layout.slices["jaw"]],
            neck_pose=torch.zeros(4, 3),
            leye_pose=torch.zeros(4, 3),
            reye_pose=torch.zeros(4, 3),
            betas=x[:, fitter.layout.slices["shape"]],
            expression=x[:, fitter.layout.slices["exp"]],
        )
    landmarks = out.joints[:, 5:]  # 51 static, then 17 contour
    expected = torch.cat([landmarks[:, 51:], landmarks[:, :51]], dim=1)
    assert torch.allclose(points, expected, atol=2e-5)
