"""Camera models: weak perspective (SPIN), perspective (vs OpenCV), D2S, and the camera fit."""

from __future__ import annotations

import dataclasses
import itertools

import cv2
import numpy as np
import pytest
import torch

from furpe_label.experts.geometry.cameras import (
    D2SCamera,
    PerspectiveCamera,
    WeakPerspectiveCamera,
    d2s_project,
    fit_weak_perspective,
    perspective_project,
    translation_to_weak_perspective,
    weak_perspective_project,
    weak_perspective_to_translation,
)
from furpe_label.experts.geometry.rotations import axis_angle_to_matrix

F64 = torch.float64


def _points(b: int, n: int, seed: int = 0) -> torch.Tensor:
    """(b, n, 3) body-sized point clouds, metres, roughly centred at the origin."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(b, n, 3, generator=g, dtype=F64) - 0.5) * torch.tensor([0.6, 1.7, 0.4])


def _cams(b: int, seed: int = 1) -> torch.Tensor:
    """(b, 3) SPIN-like cameras [s, tx, ty]."""
    g = torch.Generator().manual_seed(seed)
    s = 0.6 + 0.6 * torch.rand(b, generator=g, dtype=F64)
    t = 0.4 * (torch.rand(b, 2, generator=g, dtype=F64) - 0.5)
    return torch.cat([s[:, None], t], dim=1)


def test_weak_perspective_is_scale_times_shifted_xy() -> None:
    points = torch.tensor([[[1.0, 2.0, 5.0], [-0.5, 0.25, -3.0]]], dtype=F64)
    cam = torch.tensor([[2.0, 0.1, -0.2]], dtype=F64)
    expected = torch.tensor([[[2.2, 3.6], [-0.8, 0.1]]], dtype=F64)
    torch.testing.assert_close(weak_perspective_project(points, cam), expected)
    # extra leading batch dims broadcast
    out = weak_perspective_project(points.expand(4, 3, 2, 3), cam.expand(4, 3, 3))
    assert out.shape == (4, 3, 2, 2)


def test_perspective_matches_opencv() -> None:
    b, n = 3, 9
    points = _points(b, n)
    g = torch.Generator().manual_seed(2)
    rvec = 0.5 * torch.randn(b, 3, generator=g, dtype=F64)
    tvec = torch.tensor([[0.1, -0.2, 4.0], [0.0, 0.3, 8.0], [-0.5, 0.1, 2.5]], dtype=F64)
    focal = torch.tensor([[1000.0, 1100.0], [5000.0, 5000.0], [600.0, 650.0]], dtype=F64)
    principal = torch.tensor([[320.0, 240.0], [112.0, 112.0], [500.0, 300.0]], dtype=F64)
    out = perspective_project(points, axis_angle_to_matrix(rvec), tvec, focal, principal)
    for i in range(b):
        K = np.array(
            [[focal[i, 0], 0, principal[i, 0]], [0, focal[i, 1], principal[i, 1]], [0, 0, 1]]
        )
        ref, _ = cv2.projectPoints(points[i].numpy(), rvec[i].numpy(), tvec[i].numpy(), K, None)
        np.testing.assert_allclose(out[i].numpy(), ref[:, 0, :], atol=1e-8)
    # rotation None == identity
    eye = torch.eye(3, dtype=F64).expand(b, 3, 3)
    torch.testing.assert_close(
        perspective_project(points, None, tvec, focal, principal),
        perspective_project(points, eye, tvec, focal, principal),
    )


def test_spin_translation_bridges_weak_and_perspective() -> None:
    """SPIN: T = [tx, ty, 2 f / (224 s)] makes both projections agree on the Z = 0 plane."""
    b, n = 4, 7
    cam = _cams(b)
    points = _points(b, n)
    points[..., 2] = 0.0
    T = weak_perspective_to_translation(cam)
    torch.testing.assert_close(T[:, :2], cam[:, 1:])
    torch.testing.assert_close(T[:, 2], 2 * 5000.0 / (224.0 * cam[:, 0] + 1e-9))
    focal = torch.full((b, 2), 5000.0, dtype=F64)
    principal = torch.full((b, 2), 112.0, dtype=F64)
    pixels = perspective_project(points, None, T, focal, principal)
    weak_pixels = 112.0 * weak_perspective_project(points, cam) + 112.0
    torch.testing.assert_close(pixels, weak_pixels, atol=1e-6, rtol=0)
    # with depth the two differ by the foreshortening factor T_z / (T_z + z) only
    points = _points(b, n, seed=3)
    pixels = perspective_project(points, None, T, focal, principal)
    factor = T[:, None, 2:] / (T[:, None, 2:] + points[..., 2:])
    expected = 112.0 * factor * weak_perspective_project(points, cam) + 112.0
    torch.testing.assert_close(pixels, expected, atol=1e-6, rtol=0)
    # inverse
    torch.testing.assert_close(translation_to_weak_perspective(T), cam, atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(
        translation_to_weak_perspective(
            weak_perspective_to_translation(cam, 1500.0, 256.0), 1500.0, 256.0
        ),
        cam,
        atol=1e-9,
        rtol=1e-9,
    )


def test_d2s_equals_perspective_with_matching_parameters() -> None:
    b, n = 3, 11
    points = _points(b, n, seed=4)
    T = torch.tensor([[0.1, -0.2, 2.0], [0.0, 0.3, 0.9], [-0.5, 0.1, 6.0]], dtype=F64)
    f = 1200.0
    s = f / T[:, 2]
    out = d2s_project(points, s, s[:, None] * T[:, :2], T[:, 2])
    ref = perspective_project(
        points, None, T, torch.full((b, 2), f, dtype=F64), torch.zeros(b, 2, dtype=F64)
    )
    torch.testing.assert_close(out, ref)


def test_d2s_reduces_to_weak_perspective_for_infinite_depth() -> None:
    b, n = 3, 8
    points = _points(b, n, seed=5)
    cam = _cams(b)
    s, t = cam[:, 0], cam[:, 1:]
    weak = weak_perspective_project(points, cam)
    errors = []
    for d in (1e1, 1e3, 1e5, 1e8):
        out = d2s_project(points, s, s[:, None] * t, torch.full((b,), d, dtype=F64))
        errors.append((out - weak).abs().max().item())
    assert errors[-1] < 1e-8
    assert all(e2 < e1 for e1, e2 in itertools.pairwise(errors))
    # close range: D2S differs from weak perspective (foreshortening)
    near = d2s_project(points, s, s[:, None] * t, torch.full((b,), 0.8, dtype=F64))
    assert (near - weak).abs().max() > 1e-2


def test_fit_recovers_exact_cameras_from_noise_free_projections() -> None:
    b, n = 5, 12
    points = _points(b, n, seed=6)
    cam = _cams(b, seed=7)
    kp = weak_perspective_project(points, cam)
    conf = torch.rand(b, n, generator=torch.Generator().manual_seed(8), dtype=F64) + 0.05
    torch.testing.assert_close(fit_weak_perspective(points, kp, conf), cam)
    cam32 = fit_weak_perspective(points.float(), kp.float(), conf.float())
    assert cam32.dtype == torch.float32
    torch.testing.assert_close(cam32.double(), cam, atol=1e-4, rtol=1e-4)


def test_fit_ignores_zero_confidence_outliers() -> None:
    b, n = 3, 10
    points = _points(b, n, seed=9)
    cam = _cams(b, seed=10)
    kp = weak_perspective_project(points, cam)
    conf = torch.ones(b, n, dtype=F64)
    kp[:, :3] += 5.0  # gross outliers
    conf[:, :3] = 0.0
    conf[0, 5] = -1.0  # negative counts as zero ...
    kp[0, 5] = 100.0  # ... so this outlier is ignored too
    torch.testing.assert_close(fit_weak_perspective(points, kp, conf), cam)
    conf[:, :3] = 1.0
    assert (fit_weak_perspective(points, kp, conf) - cam).abs().max() > 0.05


def test_fit_is_the_weighted_least_squares_solution() -> None:
    """Independent reference: numpy lstsq on the linear system in (a, b) = (s, s t)."""
    b, n = 2, 15
    points = _points(b, n, seed=11)
    g = torch.Generator().manual_seed(12)
    kp = weak_perspective_project(points, _cams(b)) + 0.05 * torch.randn(
        b, n, 2, generator=g, dtype=F64
    )
    conf = torch.rand(b, n, generator=g, dtype=F64)
    out = fit_weak_perspective(points, kp, conf)
    for i in range(b):
        X, x, w = points[i, :, :2].numpy(), kp[i].numpy(), np.sqrt(conf[i].numpy())
        A = np.zeros((2 * n, 3))
        A[0::2, 0], A[0::2, 1] = X[:, 0], 1.0
        A[1::2, 0], A[1::2, 2] = X[:, 1], 1.0
        W = np.repeat(w, 2)
        sol, *_ = np.linalg.lstsq(A * W[:, None], x.reshape(-1) * W, rcond=None)
        expected = np.array([sol[0], sol[1] / sol[0], sol[2] / sol[0]])
        np.testing.assert_allclose(out[i].numpy(), expected, atol=1e-10)


def test_fit_degenerate_samples_give_nan_rows_only() -> None:
    b, n = 4, 6
    points = _points(b, n, seed=13)
    cam = _cams(b, seed=14)
    kp = weak_perspective_project(points, cam)
    conf = torch.ones(b, n, dtype=F64)
    conf[1] = 0.0  # nothing confident
    conf[2] = 0.0
    conf[2, 4] = 0.9  # a single confident point
    points[3, :, :2] = torch.tensor([0.2, -0.1], dtype=F64)  # all points coincide in x, y
    kp[3] = weak_perspective_project(points[3:4], cam[3:4])[0]
    out = fit_weak_perspective(points, kp, conf)
    torch.testing.assert_close(out[0], cam[0])
    assert torch.isnan(out[1:]).all()


def test_fit_gradients_are_finite() -> None:
    points = _points(2, 6, seed=15).requires_grad_(True)
    kp = weak_perspective_project(points.detach(), _cams(2)).requires_grad_(True)
    conf = torch.ones(2, 6, dtype=F64)
    conf[1] = 0.0
    out = fit_weak_perspective(points, kp, conf)
    grads = torch.autograd.grad(out[0].sum(), (points, kp))
    assert all(torch.isfinite(gr).all() for gr in grads)


def test_camera_dataclasses_delegate_and_are_frozen() -> None:
    points = _points(2, 5, seed=16)
    cam = _cams(2)
    weak = WeakPerspectiveCamera(cam)
    torch.testing.assert_close(weak.project(points), weak_perspective_project(points, cam))
    torch.testing.assert_close(weak.to_translation(), weak_perspective_to_translation(cam))
    T = weak.to_translation()
    focal, principal = torch.full((2, 2), 5000.0, dtype=F64), torch.full((2, 2), 112.0, dtype=F64)
    persp = PerspectiveCamera(T, focal, principal)
    torch.testing.assert_close(
        persp.project(points), perspective_project(points, None, T, focal, principal)
    )
    depth = torch.tensor([3.0, 10.0], dtype=F64)
    d2s = D2SCamera(cam[:, 0], cam[:, 1:], depth)
    torch.testing.assert_close(
        d2s.project(points), d2s_project(points, cam[:, 0], cam[:, 1:], depth)
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        weak.cam = cam  # type: ignore[misc]
