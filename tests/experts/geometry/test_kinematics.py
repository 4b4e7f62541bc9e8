"""The project's one kinematics module against ``smplx.lbs`` and ``roma`` (independent code)."""

from __future__ import annotations

import numpy as np
import pytest
import roma
import torch
from smplx.lbs import batch_rigid_transform, batch_rodrigues, blend_shapes, vertices2joints

from furpe_label.experts.geometry.kinematics import (
    depth_order,
    fold_joint_regressor,
    forward_kinematics,
    global_rotations,
    rodrigues,
    vertex_blend_matrix,
)
from furpe_label.experts.geometry.kinematics_component_first import (
    forward_kinematics as forward_kinematics_cf,
)
from furpe_label.experts.geometry.kinematics_component_first import rodrigues as rodrigues_cf
from tests.support.doubles.random_smplx import SMPLX_PARENTS


def _axis_angles(n: int, dtype: torch.dtype, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    aa = 1.5 * torch.randn(n, 3, generator=g, dtype=dtype)
    aa[:5] *= 1e-6  # Taylor branch
    aa[5] = 0.0
    aa[6] = torch.tensor([np.pi - 1e-7, 0.0, 0.0], dtype=dtype)  # near a half turn
    return aa


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rodrigues_equals_roma_and_smplx(dtype: torch.dtype) -> None:
    aa = _axis_angles(200, dtype)
    ours = rodrigues(aa)
    assert ours.dtype == dtype and ours.shape == (200, 3, 3)
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    torch.testing.assert_close(ours, roma.rotvec_to_rotmat(aa), atol=tol, rtol=0)
    # smplx nudges the vector by 1e-8 before taking the angle: agrees to ~1e-8 away from 0
    away = aa[7:]
    torch.testing.assert_close(rodrigues(away), batch_rodrigues(away), atol=1e-6, rtol=0)


def test_rodrigues_keeps_batch_shape_and_is_differentiable_at_zero() -> None:
    aa = _axis_angles(24, torch.float64).reshape(2, 4, 3, 3)
    assert rodrigues(aa).shape == (2, 4, 3, 3, 3)
    zero = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(rodrigues, (zero,))
    assert torch.autograd.gradcheck(rodrigues, (aa[0, 0].clone().requires_grad_(),))


def test_component_first_rodrigues_is_the_same_formula() -> None:
    aa = _axis_angles(40, torch.float64)
    cf = rodrigues_cf(aa.T.contiguous())  # (3, 3, 40)
    assert torch.equal(cf.permute(2, 0, 1), rodrigues(aa))


def test_forward_kinematics_equals_smplx_rigid_transform() -> None:
    parents = np.asarray(SMPLX_PARENTS, dtype=np.int64)
    tree = depth_order(parents)
    g = torch.Generator().manual_seed(1)
    local = rodrigues(0.4 * torch.randn(6, 55, 3, generator=g, dtype=torch.float64))
    joints = torch.randn(6, 55, 3, generator=g, dtype=torch.float64)
    ref_pos, ref_transforms = batch_rigid_transform(local, joints, torch.as_tensor(parents))
    rot, pos = forward_kinematics(local, joints, tree.chain_levels)
    torch.testing.assert_close(pos, ref_pos, atol=1e-12, rtol=0)
    torch.testing.assert_close(rot, ref_transforms[..., :3, :3], atol=1e-12, rtol=0)
    chained = global_rotations(local, torch.as_tensor(parents))
    torch.testing.assert_close(chained, ref_transforms[..., :3, :3], atol=1e-12, rtol=0)
    # the component-first variant walks the same chain
    order, rank = torch.as_tensor(tree.order), torch.as_tensor(tree.rank)
    rot_cf, pos_cf = forward_kinematics_cf(
        local[:, order].permute(2, 3, 1, 0).contiguous(),
        joints[:, order].permute(2, 1, 0).contiguous(),
        torch.as_tensor(tree.sorted_parents),
        tree.levels,
    )
    torch.testing.assert_close(pos_cf.permute(2, 1, 0)[:, rank], pos, atol=1e-12, rtol=0)
    torch.testing.assert_close(rot_cf.permute(3, 2, 0, 1)[:, rank], rot, atol=1e-12, rtol=0)


def test_forward_kinematics_is_differentiable() -> None:
    tree = depth_order(np.asarray(SMPLX_PARENTS[:22], dtype=np.int64))
    g = torch.Generator().manual_seed(4)
    aa = (0.3 * torch.randn(2, 22, 3, generator=g, dtype=torch.float64)).requires_grad_()
    joints = torch.randn(2, 22, 3, generator=g, dtype=torch.float64).requires_grad_()

    def chain(v: torch.Tensor, rest: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return forward_kinematics(rodrigues(v), rest, tree.chain_levels)

    assert torch.autograd.gradcheck(chain, (aa, joints))


def test_fold_joint_regressor_equals_regressing_the_shaped_mesh() -> None:
    g = torch.Generator().manual_seed(2)
    regressor = torch.rand(7, 50, generator=g)
    regressor /= regressor.sum(1, keepdim=True)
    template = torch.randn(50, 3, generator=g)
    dirs = 0.01 * torch.randn(50, 3, 4, generator=g)
    coeffs = torch.randn(5, 4, generator=g)
    joint_template, joint_dirs = fold_joint_regressor(regressor, template, dirs)
    assert joint_template.dtype == joint_dirs.dtype == torch.float64
    folded = joint_template + torch.einsum("jcn,bn->bjc", joint_dirs, coeffs.double())
    shaped = template.double() + blend_shapes(coeffs.double(), dirs.double())
    expected = vertices2joints(regressor.double(), shaped)
    torch.testing.assert_close(folded, expected, atol=1e-12, rtol=0)


def test_vertex_blend_matrix_places_the_rest_vertices_as_smplx() -> None:
    g = torch.Generator().manual_seed(3)
    n_vertices, n_coeffs, n_pose = 30, 4, 18
    template = torch.randn(n_vertices, 3, generator=g, dtype=torch.float64)
    dirs = torch.randn(n_vertices, 3, n_coeffs, generator=g, dtype=torch.float64)
    posedirs = torch.randn(n_pose, n_vertices * 3, generator=g, dtype=torch.float64)
    ids = torch.tensor([4, 0, 29, 4])
    coeffs = torch.randn(2, n_coeffs, generator=g, dtype=torch.float64)
    feature = torch.randn(2, n_pose, generator=g, dtype=torch.float64)
    blend = vertex_blend_matrix(template, dirs, posedirs, ids)
    assert blend.shape == (len(ids) * 3, n_coeffs + n_pose + 1)
    feats = torch.cat([coeffs, feature, torch.ones(2, 1, dtype=torch.float64)], 1)
    ours = (blend @ feats.T).T.reshape(2, -1, 3)
    full = template + blend_shapes(coeffs, dirs) + (feature @ posedirs).view(2, -1, 3)
    torch.testing.assert_close(ours, full[:, ids], atol=1e-12, rtol=0)
    # reordered pose-feature rows: the same positions from the reordered feature
    rows = torch.randperm(n_pose, generator=g)
    reordered = vertex_blend_matrix(template, dirs, posedirs, ids, rows)
    feats_r = torch.cat([coeffs, feature[:, rows], torch.ones(2, 1, dtype=torch.float64)], 1)
    torch.testing.assert_close((reordered @ feats_r.T).T.reshape(2, -1, 3), ours)


def test_depth_order_of_a_single_joint_has_no_levels() -> None:
    tree = depth_order(np.array([-1]))
    assert tree.order.tolist() == [0] and tree.levels == []
