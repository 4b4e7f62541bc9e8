"""Rotation conversions against scipy.spatial.transform.Rotation (independent reference)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from furpe_label.experts.geometry.rotations import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    matrix_to_rot6d,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    rot6d_to_matrix,
    rotation_about_axis,
    twist_swing_decompose,
)

DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: 2e-5, torch.float64: 1e-10}


def _test_rotvecs(seed: int = 0) -> np.ndarray:
    """(40, 3) rotation vectors: random, tiny, zero, and near/at pi."""
    rng = np.random.default_rng(seed)
    random = Rotation.random(16, random_state=seed).as_rotvec()
    axes = rng.normal(size=(24, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = np.array(
        [0.0, 1e-12, 1e-9, 1e-7, 1e-5, 1e-4, 1e-3, 1e-2, 0.5, 1.0, 2.0, 3.0]
        + [math.pi - d for d in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-9)]
        + [math.pi] * 3
        + [1.5, 2.5]
    )
    return np.concatenate([random, axes * angles[:, None]], axis=0)


def _as_torch(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).to(dtype)


def _same_rotation_vec(a: np.ndarray, b: np.ndarray, tol: float) -> None:
    """Compare rotation vectors as rotations (at pi, r and -r are the same rotation)."""
    ra, rb = Rotation.from_rotvec(a), Rotation.from_rotvec(b)
    err = (ra.inv() * rb).magnitude()
    assert err.max() < tol, err.max()


@pytest.mark.parametrize("dtype", DTYPES)
def test_axis_angle_to_matrix_matches_scipy(dtype: torch.dtype) -> None:
    rv = _test_rotvecs()
    out = axis_angle_to_matrix(_as_torch(rv, dtype))
    assert out.dtype == dtype and out.shape == (len(rv), 3, 3)
    np.testing.assert_allclose(
        out.double().numpy(), Rotation.from_rotvec(rv).as_matrix(), atol=TOL[dtype]
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_matrix_to_axis_angle_matches_scipy(dtype: torch.dtype) -> None:
    rv = _test_rotvecs()
    mats = Rotation.from_rotvec(rv).as_matrix()
    out = matrix_to_axis_angle(_as_torch(mats, dtype)).double().numpy()
    # Away from pi the vector itself is unique.
    away = np.linalg.norm(rv, axis=1) < math.pi - 1e-3
    np.testing.assert_allclose(
        out[away], Rotation.from_matrix(mats[away]).as_rotvec(), atol=10 * TOL[dtype]
    )
    _same_rotation_vec(out, rv, 10 * TOL[dtype] if dtype == torch.float64 else 1e-3)
    assert np.all(np.linalg.norm(out, axis=1) <= math.pi + 1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_quaternions_match_scipy_with_reordering(dtype: torch.dtype) -> None:
    """Ours are (w, x, y, z); scipy's as_quat is (x, y, z, w)."""
    rv = _test_rotvecs()
    rot = Rotation.from_rotvec(rv)
    xyzw = rot.as_quat()
    wxyz = np.concatenate([xyzw[:, 3:], xyzw[:, :3]], axis=1)
    wxyz *= np.where(wxyz[:, :1] < 0, -1.0, 1.0)
    q_from_aa = axis_angle_to_quaternion(_as_torch(rv, dtype)).double().numpy()
    q_from_mat = matrix_to_quaternion(_as_torch(rot.as_matrix(), dtype)).double().numpy()
    # At exactly pi, w = 0 and the sign is arbitrary: compare up to sign.
    for q in (q_from_aa, q_from_mat):
        dots = np.abs((q * wxyz).sum(axis=1))
        np.testing.assert_allclose(dots, 1.0, atol=10 * TOL[dtype])
    assert np.all(q_from_mat[:, 0] >= 0)
    mats = quaternion_to_matrix(_as_torch(wxyz, dtype)).double().numpy()
    np.testing.assert_allclose(mats, rot.as_matrix(), atol=TOL[dtype])
    aa = quaternion_to_axis_angle(_as_torch(wxyz, dtype)).double().numpy()
    _same_rotation_vec(aa, rv, 10 * TOL[dtype] if dtype == torch.float64 else 1e-3)


def test_quaternion_identity_order_is_w_first() -> None:
    q = axis_angle_to_quaternion(torch.zeros(3, dtype=torch.float64))
    assert q.tolist() == [1.0, 0.0, 0.0, 0.0]
    # 90 degrees about z: (cos 45, 0, 0, sin 45)
    q = axis_angle_to_quaternion(torch.tensor([0.0, 0.0, math.pi / 2], dtype=torch.float64))
    np.testing.assert_allclose(q.numpy(), [math.sqrt(0.5), 0, 0, math.sqrt(0.5)], atol=1e-15)


def test_unnormalised_quaternions_are_accepted() -> None:
    q = _as_torch(Rotation.random(8, random_state=3).as_quat()[:, [3, 0, 1, 2]], torch.float64)
    scaled = q * torch.linspace(0.1, 5.0, 8, dtype=torch.float64)[:, None]
    torch.testing.assert_close(quaternion_to_matrix(scaled), quaternion_to_matrix(q))
    torch.testing.assert_close(quaternion_to_axis_angle(scaled), quaternion_to_axis_angle(q))
    torch.testing.assert_close(quaternion_to_axis_angle(-q), quaternion_to_axis_angle(q))


@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trips_with_leading_batch_shape(dtype: torch.dtype) -> None:
    rv = _test_rotvecs()[:36].reshape(2, 3, 6, 3)  # excludes the exact-pi rows
    aa = _as_torch(rv, dtype)
    mats = axis_angle_to_matrix(aa)
    assert mats.shape == (2, 3, 6, 3, 3)
    torch.testing.assert_close(
        axis_angle_to_matrix(matrix_to_axis_angle(mats)), mats, atol=20 * TOL[dtype], rtol=0
    )
    torch.testing.assert_close(
        quaternion_to_matrix(matrix_to_quaternion(mats)), mats, atol=20 * TOL[dtype], rtol=0
    )
    torch.testing.assert_close(
        quaternion_to_matrix(axis_angle_to_quaternion(aa)), mats, atol=20 * TOL[dtype], rtol=0
    )
    torch.testing.assert_close(
        rot6d_to_matrix(matrix_to_rot6d(mats)), mats, atol=20 * TOL[dtype], rtol=0
    )
    # small angles keep full relative precision through the round trip
    tiny = torch.tensor([[1e-9, -2e-9, 3e-9]], dtype=torch.float64)
    torch.testing.assert_close(
        matrix_to_axis_angle(axis_angle_to_matrix(tiny)), tiny, atol=1e-20, rtol=1e-6
    )


def test_gradients_match_finite_differences() -> None:
    aa = _as_torch(Rotation.random(4, random_state=1).as_rotvec(), torch.float64)
    aa.requires_grad_(True)
    torch.autograd.gradcheck(axis_angle_to_matrix, (aa,))
    torch.autograd.gradcheck(axis_angle_to_quaternion, (aa,))
    torch.autograd.gradcheck(lambda a: matrix_to_axis_angle(axis_angle_to_matrix(a)), (aa,))
    torch.autograd.gradcheck(
        lambda a: rot6d_to_matrix(a), (torch.randn(3, 6).double().requires_grad_(),)
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_gradients_finite_at_zero_and_near_pi(dtype: torch.dtype) -> None:
    aa = torch.tensor(
        [[0.0, 0.0, 0.0], [1e-9, 0.0, 0.0], [0.0, math.pi - 1e-4, 0.0], [0.0, 0.0, math.pi]],
        dtype=dtype,
        requires_grad=True,
    )
    for fn in (
        axis_angle_to_matrix,
        axis_angle_to_quaternion,
        lambda a: matrix_to_axis_angle(axis_angle_to_matrix(a)),
        lambda a: quaternion_to_axis_angle(axis_angle_to_quaternion(a)),
    ):
        (grad,) = torch.autograd.grad(fn(aa).sum(), aa)
        assert torch.isfinite(grad).all()
    # Identity round trip has Jacobian identity at zero.
    zero = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    jac = torch.autograd.functional.jacobian(
        lambda a: matrix_to_axis_angle(axis_angle_to_matrix(a)), zero
    )
    torch.testing.assert_close(jac, torch.eye(3, dtype=torch.float64))


def test_rot6d_convention_hand_written() -> None:
    """SPIN: x.view(-1, 3, 2) -> columns; 6D = [r00, r01, r10, r11, r20, r21]."""
    rz90 = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert matrix_to_rot6d(rz90).tolist() == [0.0, -1.0, 1.0, 0.0, 0.0, 0.0]
    rx90 = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    assert matrix_to_rot6d(rx90).tolist() == [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    torch.testing.assert_close(rot6d_to_matrix(torch.tensor([0.0, -1.0, 1.0, 0.0, 0.0, 0.0])), rz90)
    torch.testing.assert_close(rot6d_to_matrix(torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0, 1.0])), rx90)
    # A general rotation from scipy: 6D is its first two columns read row by row.
    m = Rotation.from_euler("xyz", [0.3, -1.1, 2.0]).as_matrix()
    expected = [m[0, 0], m[0, 1], m[1, 0], m[1, 1], m[2, 0], m[2, 1]]
    np.testing.assert_allclose(matrix_to_rot6d(_as_torch(m, torch.float64)).numpy(), expected)


def test_rot6d_gram_schmidt_on_unnormalised_input() -> None:
    """Independent numpy Gram-Schmidt on the (3, 2) view, as SPIN's rot6d_to_rotmat."""
    x = np.random.default_rng(5).normal(size=(7, 6))
    cols = x.reshape(7, 3, 2)
    a1, a2 = cols[..., 0], cols[..., 1]
    b1 = a1 / np.linalg.norm(a1, axis=1, keepdims=True)
    b2 = a2 - (b1 * a2).sum(1, keepdims=True) * b1
    b2 /= np.linalg.norm(b2, axis=1, keepdims=True)
    expected = np.stack([b1, b2, np.cross(b1, b2)], axis=-1)
    out = rot6d_to_matrix(_as_torch(x, torch.float64)).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(out), 1.0, atol=1e-12)


def _twist_quaternion_component(mats: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
    q = matrix_to_quaternion(mats)
    return (q[..., 1:] * torch.nn.functional.normalize(axis, dim=-1)).sum(-1)


def test_twist_swing_recovers_known_factors() -> None:
    rng = np.random.default_rng(7)
    n = 12
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    perp = np.cross(axis, rng.normal(size=(n, 3)))
    perp /= np.linalg.norm(perp, axis=1, keepdims=True)
    swing_angle = rng.uniform(0.0, 3.0, size=n)
    twist_angle = np.concatenate([rng.uniform(-3.1, 3.1, size=n - 3), [0.0, 1e-8, -2.9]])
    swing = Rotation.from_rotvec(perp * swing_angle[:, None]).as_matrix()
    twist = Rotation.from_rotvec(axis * twist_angle[:, None]).as_matrix()
    R = _as_torch(swing @ twist, torch.float64)
    # unnormalised axis is accepted
    got_angle, got_swing = twist_swing_decompose(R, _as_torch(axis * 2.5, torch.float64))
    np.testing.assert_allclose(got_angle.numpy(), twist_angle, atol=1e-9)
    np.testing.assert_allclose(got_swing.numpy(), swing, atol=1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
def test_twist_swing_random_rotations_and_broadcast_axis(dtype: torch.dtype) -> None:
    R = _as_torch(Rotation.random(20, random_state=11).as_matrix(), dtype)
    axis = torch.tensor([0.3, -0.8, 0.5], dtype=dtype)
    angle, swing = twist_swing_decompose(R, axis)
    assert angle.shape == (20,) and swing.shape == (20, 3, 3)
    assert torch.all(angle.abs() <= math.pi + 1e-6)
    twist = rotation_about_axis(axis.expand(20, 3), angle)
    torch.testing.assert_close(swing @ twist, R, atol=20 * TOL[dtype], rtol=0)
    # swing has no component about the axis (right factorisation) ...
    assert _twist_quaternion_component(swing, axis.expand(20, 3)).abs().max() < 20 * TOL[dtype]
    # ... and the left factorisation R = twist @ swing_left has the same twist angle.
    swing_left = twist.transpose(-1, -2) @ R
    assert _twist_quaternion_component(swing_left, axis.expand(20, 3)).abs().max() < 20 * TOL[dtype]
    # gradients stay finite
    R.requires_grad_(True)
    angle, swing = twist_swing_decompose(R, axis)
    (grad,) = torch.autograd.grad(angle.sum() + swing.sum(), R)
    assert torch.isfinite(grad).all()


def test_pure_twist_and_pure_swing() -> None:
    axis = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)
    twist_only = rotation_about_axis(axis, torch.tensor([0.7], dtype=torch.float64))
    angle, swing = twist_swing_decompose(twist_only, axis)
    torch.testing.assert_close(angle, torch.tensor([0.7], dtype=torch.float64))
    torch.testing.assert_close(swing, torch.eye(3, dtype=torch.float64)[None])
    swing_only = rotation_about_axis(
        torch.tensor([[1.0, 0.0, 0.0]]).double(), torch.tensor([1.2]).double()
    )
    angle, swing = twist_swing_decompose(swing_only, axis)
    assert abs(angle.item()) < 1e-12
    torch.testing.assert_close(swing, swing_only)


def test_rot6d_matches_spin_torch_steps_bit_for_bit() -> None:
    """SPIN's steps in torch (view (-1, 3, 2), F.normalize, cross): the same numbers, including
    degenerate network outputs (zero columns stay finite, as with F.normalize's epsilon)."""
    x = torch.from_numpy(np.random.default_rng(9).normal(size=(64, 6))).float()
    x[0] = 0.0
    x[1, 0::2] = 0.0
    cols = x.view(-1, 3, 2)
    b1 = torch.nn.functional.normalize(cols[:, :, 0])
    a2 = cols[:, :, 1]
    dot = torch.einsum("bi,bi->b", b1, a2).unsqueeze(-1)
    b2 = torch.nn.functional.normalize(a2 - dot * b1)
    expected = torch.stack((b1, b2, torch.linalg.cross(b1, b2)), dim=-1)
    out = rot6d_to_matrix(x)
    assert torch.isfinite(out).all()
    assert torch.equal(out, expected)
