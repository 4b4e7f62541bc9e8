"""Loss terms of the keypoint fitters."""

from __future__ import annotations

import numpy as np
import torch

from furpe_label.experts.fitting.losses import (
    centred_world_residual,
    clean_keypoints,
    gmof_residual,
    hinge_residual,
    keypoint_residual,
)
from furpe_label.experts.fitting.outputs import crop_keypoints


def test_gmof_residual_squares_to_geman_mcclure_and_saturates():
    error = torch.tensor([-3.0, -0.1, 0.0, 0.05, 0.2, 50.0])
    sigma = 0.1
    expected = sigma**2 * error**2 / (sigma**2 + error**2)
    assert torch.allclose(gmof_residual(error, sigma) ** 2, expected)
    assert torch.equal(torch.sign(gmof_residual(error, sigma)), torch.sign(error))
    assert gmof_residual(torch.tensor(50.0), sigma) ** 2 < sigma**2


def test_gmof_residual_does_not_vanish_for_huge_errors():
    # error^2 would overflow float32 to inf and make the residual 0: a reward for sending
    # points to infinity. The residual must stay at its saturation value instead.
    huge = torch.tensor([1e25, -1e30, float("inf")])
    residual = gmof_residual(huge, 0.1)
    assert torch.allclose(residual.abs(), torch.full((3,), 0.1), rtol=1e-6)


def test_clean_keypoints_drops_unusable_points():
    points = torch.tensor(
        [
            [
                [0.1, 0.2, 0.9],
                [float("nan"), 0.0, 0.8],
                [0.3, 0.4, 0.0],
                [0.5, 0.6, -1.0],
                [0.7, float("inf"), 0.5],
                [0.2, 0.1, float("nan")],
            ]
        ]
    )
    xy, conf = clean_keypoints(points)
    assert torch.equal(conf, torch.tensor([[0.9, 0.0, 0.0, 0.0, 0.0, 0.0]]))
    assert torch.isfinite(xy).all() and torch.equal(xy[0, 1:], torch.zeros(5, 2))


def test_keypoint_residual_ignores_zero_confidence():
    projected = torch.zeros(1, 3, 2)
    target = torch.tensor([[[0.1, 0.0], [5.0, 5.0], [0.0, -0.2]]])
    conf = torch.tensor([[1.0, 0.0, 0.5]])
    residual = keypoint_residual(projected, target, conf, sigma=1.0)
    assert residual.shape == (1, 6)
    assert torch.equal(residual[0, 2:4], torch.zeros(2))
    assert residual[0, 0] < 0 and residual[0, 5] > 0


def test_centred_world_residual_ignores_offsets_and_absent_points():
    g = torch.Generator().manual_seed(0)
    model = torch.randn(2, 6, 3, generator=g)
    world = model + torch.tensor([0.3, -1.0, 2.0])  # same shape, other origin
    weight = torch.ones(2, 6)
    weight[1, 2] = 0.0
    world[1, 2] = 100.0  # absent: must not matter
    residual = centred_world_residual(model, world, weight, sigma=0.1)
    assert residual.abs().max() < 1e-5
    moved = world.clone()
    moved[0, 0] += 0.05
    assert centred_world_residual(model, moved, weight, 0.1)[0].abs().max() > 0.01
    lonely = torch.zeros(2, 6)
    lonely[:, 0] = 1.0
    assert torch.equal(centred_world_residual(model, moved, lonely, 0.1), torch.zeros(2, 18))


def test_hinge_residual_is_zero_inside_and_linear_outside():
    values = torch.tensor([-2.0, -1.0, 0.0, 1.0, 1.5])
    low, high = torch.full((5,), -1.0), torch.full((5,), 1.0)
    assert torch.equal(hinge_residual(values, low, high), torch.tensor([1.0, 0, 0, 0, 0.5]))


def test_crop_keypoints_maps_image_pixels_to_the_normalised_crop():
    # A 448-pixel box at (100, 50) scaled onto the 224-pixel crop.
    affine = np.array([[[0.5, 0.0, -50.0], [0.0, 0.5, -25.0]]])
    keypoints = np.array([[[100.0, 50.0, 0.9], [548.0, 498.0, 0.5], [np.nan, np.nan, 0.0]]])
    out = crop_keypoints(keypoints, affine)
    assert np.allclose(out[0, :2], [[-1.0, -1.0, 0.9], [1.0, 1.0, 0.5]])
    assert np.isnan(out[0, 2, :2]).all() and out[0, 2, 2] == 0.0
    edges = crop_keypoints(keypoints, affine, convention="edges")
    assert np.allclose(edges[0, 0, :2], -1.0 + 0.5 / 112)
