"""Component-first skinning kernels against the batch-first reference maths."""

from __future__ import annotations

import numpy as np
import torch
from smplx.lbs import batch_rigid_transform

from furpe_label.experts.geometry.kinematics import depth_order
from furpe_label.experts.geometry.kinematics_component_first import forward_kinematics, rodrigues
from furpe_label.experts.geometry.rotations import axis_angle_to_matrix
from tests.support.doubles.random_smplx import SMPLX_PARENTS


def test_rodrigues_equals_the_project_formula_including_tiny_angles():
    g = torch.Generator().manual_seed(0)
    aa = torch.randn(40, 3, generator=g, dtype=torch.float64) * 1.5
    aa[:5] *= 1e-6  # Taylor branch
    aa[5] = 0.0
    ours = rodrigues(aa.T.contiguous())  # (3, 3, 40)
    ref = axis_angle_to_matrix(aa)  # (40, 3, 3)
    torch.testing.assert_close(ours.permute(2, 0, 1), ref, atol=1e-12, rtol=0)


def test_depth_order_levels_are_contiguous_and_parents_precede_children():
    parents = np.asarray(SMPLX_PARENTS, dtype=np.int64)
    order, sorted_parents, levels = depth_order(parents)
    assert sorted(order.tolist()) == list(range(55)) and order[0] == 0
    rank = np.argsort(order)
    for position in range(1, 55):
        joint = order[position]
        assert sorted_parents[position] == rank[parents[joint]] < position
    covered = [p for start, stop in levels for p in range(start, stop)]
    assert covered == list(range(1, 55))
    for start, stop in levels:  # a level's parents are all in earlier levels
        assert sorted_parents[start:stop].max() < start


def test_forward_kinematics_equals_smplx_rigid_transform():
    parents = np.asarray(SMPLX_PARENTS, dtype=np.int64)
    order, sorted_parents, levels = depth_order(parents)
    g = torch.Generator().manual_seed(1)
    batch = 6
    rot = axis_angle_to_matrix(0.4 * torch.randn(batch, 55, 3, generator=g))
    joints = torch.randn(batch, 55, 3, generator=g)
    ref_pos, _ = batch_rigid_transform(rot, joints, torch.as_tensor(parents))
    rot_cf = rot[:, order].permute(2, 3, 1, 0).contiguous()
    joints_cf = joints[:, order].permute(2, 1, 0).contiguous()
    _, pos = forward_kinematics(rot_cf, joints_cf, torch.as_tensor(sorted_parents), levels)
    torch.testing.assert_close(
        pos.permute(2, 1, 0)[:, np.argsort(order)], ref_pos, atol=1e-5, rtol=0
    )
