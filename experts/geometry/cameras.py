"""Batched camera models in torch: weak perspective, full perspective, depth-to-scale (D2S).

Shapes are written for one batch dimension ``B``; every function also accepts further leading
dimensions (``(..., N, 3)`` points with ``(..., 3)`` cameras), broadcasting as torch does.

Weak perspective (HMR/SPIN ``orthographic_projection``)
    ``x = s * (X[:2] + t)`` with camera ``[s, tx, ty]``. ``X`` in metres (model/camera frame,
    usually root-centred), ``t`` in metres, ``s`` in output units per metre. For SPIN the
    output is the normalised body crop, ``[-1, 1]`` across the 224-pixel crop
    (pixel = 112 * x + 112).
Perspective (SPIN ``perspective_projection``)
    ``u = f * (R X + T)[:2] / (R X + T)[2] + c``, metres in, pixels out.
SPIN's bridge between the two (``weak_perspective_to_translation``)
    ``T = [tx, ty, 2 f / (crop_size * s)]`` with ``f = 5000`` px and ``crop_size = 224`` px:
    the weak-perspective projection of a point with ``Z = 0`` equals its perspective projection
    in crop pixels exactly, and approximates it when ``|Z| << T_z``.
D2S (Sun et al., "Synthetic Training for Monocular Human Mesh Recovery", 2020)
    ``u_i = s_i * (s * x_i + t_u)`` with per-point scale ``s_i = d / (d + z_i)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = [
    "D2SCamera",
    "PerspectiveCamera",
    "WeakPerspectiveCamera",
    "d2s_project",
    "fit_weak_perspective",
    "perspective_project",
    "translation_to_weak_perspective",
    "weak_perspective_project",
    "weak_perspective_to_translation",
]

SPIN_FOCAL_LENGTH = 5000.0  # pixels, for the 224-pixel body crop
SPIN_CROP_SIZE = 224.0  # pixels


def weak_perspective_project(points: torch.Tensor, cam: torch.Tensor) -> torch.Tensor:
    """HMR/SPIN weak-perspective projection ``s * (X[:2] + [tx, ty])``.

    Args:
        points: (B, N, 3) metres; the depth coordinate is ignored.
        cam: (B, 3) ``[s, tx, ty]``: scale (output units per metre) and translation (metres).

    Returns:
        (B, N, 2) projected points in the camera's output units (SPIN: normalised crop
        coordinates in ``[-1, 1]``).
    """
    s = cam[..., None, :1]
    t = cam[..., None, 1:3]
    return s * (points[..., :2] + t)


def perspective_project(
    points: torch.Tensor,
    rotation: torch.Tensor | None,
    translation: torch.Tensor,
    focal: torch.Tensor,
    principal: torch.Tensor,
) -> torch.Tensor:
    """Pinhole projection ``f * P[:2] / P[2] + c`` with ``P = R X + T`` (SPIN convention).

    Args:
        points: (B, N, 3) metres.
        rotation: (B, 3, 3) camera rotation, or None for the identity.
        translation: (B, 3) camera translation, metres.
        focal: (B, 2) ``[fx, fy]`` pixels ((B, 1) broadcasts to both axes).
        principal: (B, 2) ``[cx, cy]`` pixels.

    Returns:
        (B, N, 2) pixels. Points with ``P[2] <= 0`` (at or behind the camera) are not guarded:
        they give inf/NaN or mirrored coordinates.
    """
    cam_points = points if rotation is None else points @ rotation.transpose(-1, -2)
    cam_points = cam_points + translation[..., None, :]
    xy = cam_points[..., :2] / cam_points[..., 2:3]
    return xy * focal[..., None, :] + principal[..., None, :]


def weak_perspective_to_translation(
    cam: torch.Tensor,
    focal: float | torch.Tensor = SPIN_FOCAL_LENGTH,
    crop_size: float | torch.Tensor = SPIN_CROP_SIZE,
) -> torch.Tensor:
    """SPIN's weak-perspective camera -> perspective camera translation.

    Args:
        cam: (B, 3) ``[s, tx, ty]`` in normalised crop coordinates (see module docstring).
        focal: focal length, pixels (scalar or (B,)); SPIN: 5000.
        crop_size: crop side, pixels (scalar or (B,)); SPIN: 224.

    Returns:
        (B, 3) translation ``[tx, ty, 2 * focal / (crop_size * s + 1e-9)]``, metres.
    """
    s, tx, ty = cam.unbind(-1)
    tz = 2.0 * focal / (crop_size * s + 1e-9)
    return torch.stack([tx, ty, tz], dim=-1)


def translation_to_weak_perspective(
    translation: torch.Tensor,
    focal: float | torch.Tensor = SPIN_FOCAL_LENGTH,
    crop_size: float | torch.Tensor = SPIN_CROP_SIZE,
) -> torch.Tensor:
    """Inverse of :func:`weak_perspective_to_translation` (up to its 1e-9 guard).

    Args:
        translation: (B, 3) metres, ``T_z > 0``.
        focal: pixels; crop_size: pixels (scalars or (B,)).

    Returns:
        (B, 3) ``[2 * focal / (crop_size * T_z), T_x, T_y]``.
    """
    tx, ty, tz = translation.unbind(-1)
    s = 2.0 * focal / (crop_size * tz)
    return torch.stack([s, tx, ty], dim=-1)


def d2s_project(
    points: torch.Tensor,
    scale: torch.Tensor,
    translation: torch.Tensor,
    depth: torch.Tensor,
) -> torch.Tensor:
    """Depth-to-scale projection ``u_i = d / (d + z_i) * (s * x_i + t_u)``.

    ``points`` are relative to the body centre, which lies at distance ``d`` from the camera.
    With ``d = T_z``, ``s = f / T_z`` and ``t_u = s * [T_x, T_y]`` this equals the perspective
    projection ``f (x + T_xy) / (z + T_z)`` (principal point at the output origin); as
    ``d -> inf`` it becomes the weak perspective ``s * x + t_u``, i.e. SPIN's camera
    ``[s, t_u / s]``.

    Args:
        points: (B, N, 3) metres, body-centred camera-frame coordinates (``z`` away from camera).
        scale: (B,) ``s``, output units per metre (normalised crop units for SPIN-style crops).
        translation: (B, 2) ``t_u``, output units (already multiplied by ``s``).
        depth: (B,) ``d``, metres, > 0; ``d + z_i <= 0`` is not guarded.

    Returns:
        (B, N, 2) projected points, output units.
    """
    d = depth[..., None, None]
    per_point = d / (d + points[..., 2:3])
    return per_point * (scale[..., None, None] * points[..., :2] + translation[..., None, :])


def fit_weak_perspective(
    points3d: torch.Tensor, keypoints2d: torch.Tensor, conf: torch.Tensor
) -> torch.Tensor:
    """Closed-form confidence-weighted least-squares weak-perspective camera.

    Minimises ``sum_i conf_i * || a * X_i[:2] + b - x_i ||^2`` over ``a = s`` and ``b = s * t``
    (a linear problem: weighted centroid and one ratio), then returns ``[a, b / a]``, the
    camera of :func:`weak_perspective_project`. The depth of ``points3d`` is ignored.

    Args:
        points3d: (B, N, 3) metres.
        keypoints2d: (B, N, 2) in the units the camera should map to (normalised crop
            coordinates for SPIN-style cameras; pixels give ``s`` in pixels per metre).
        conf: (B, N) weights >= 0 (negative values count as 0); 0 ignores a point.

    Returns:
        (B, 3) ``[s, tx, ty]``. A sample's row is all NaN when it cannot be determined: fewer
        than 2 points with ``conf > 0``, all weighted points at the same ``X[:2]``, or fitted
        ``s == 0``. Callers decide what to do with NaN rows. ``s`` may come out negative
        (mirrored data); it is not constrained.
    """
    w = conf.clamp(min=0).to(points3d.dtype)
    X = points3d[..., :2]
    x = keypoints2d.to(points3d.dtype)
    total = w.sum(-1)
    total_safe = torch.where(total > 0, total, torch.ones_like(total))
    X_mean = (w[..., None] * X).sum(-2) / total_safe[..., None]
    x_mean = (w[..., None] * x).sum(-2) / total_safe[..., None]
    dX = X - X_mean[..., None, :]
    dx = x - x_mean[..., None, :]
    num = (w * (dX * dx).sum(-1)).sum(-1)
    den = (w * (dX * dX).sum(-1)).sum(-1)
    # Spread of the weighted X relative to their magnitude: ~0 means all points coincide.
    magnitude = (w * (X * X).sum(-1)).sum(-1)
    eps = torch.finfo(points3d.dtype).eps
    n_confident = (w > 0).sum(-1)
    invalid = (n_confident < 2) | (den <= 16 * eps * magnitude) | (den <= 0)
    a = num / torch.where(invalid, torch.ones_like(den), den)
    invalid = invalid | (a == 0)
    a_safe = torch.where(invalid, torch.ones_like(a), a)
    b = x_mean - a[..., None] * X_mean
    cam = torch.cat([a[..., None], b / a_safe[..., None]], dim=-1)
    return torch.where(invalid[..., None], torch.full_like(cam, float("nan")), cam)


@dataclass(frozen=True, eq=False)
class WeakPerspectiveCamera:
    """HMR/SPIN weak-perspective camera; ``cam`` (B, 3) ``[s, tx, ty]``."""

    cam: torch.Tensor

    def project(self, points: torch.Tensor) -> torch.Tensor:
        """(B, N, 3) metres -> (B, N, 2) output units; see :func:`weak_perspective_project`."""
        return weak_perspective_project(points, self.cam)

    def to_translation(
        self,
        focal: float | torch.Tensor = SPIN_FOCAL_LENGTH,
        crop_size: float | torch.Tensor = SPIN_CROP_SIZE,
    ) -> torch.Tensor:
        """(B, 3) metres; see :func:`weak_perspective_to_translation`."""
        return weak_perspective_to_translation(self.cam, focal, crop_size)


@dataclass(frozen=True, eq=False)
class PerspectiveCamera:
    """Pinhole camera: translation (B, 3) metres, focal (B, 2) px, principal (B, 2) px,
    rotation (B, 3, 3) or None (identity)."""

    translation: torch.Tensor
    focal: torch.Tensor
    principal: torch.Tensor
    rotation: torch.Tensor | None = None

    def project(self, points: torch.Tensor) -> torch.Tensor:
        """(B, N, 3) metres -> (B, N, 2) pixels; see :func:`perspective_project`."""
        return perspective_project(
            points, self.rotation, self.translation, self.focal, self.principal
        )


@dataclass(frozen=True, eq=False)
class D2SCamera:
    """Depth-to-scale camera: scale (B,) units/metre, translation (B, 2) units, depth (B,) m."""

    scale: torch.Tensor
    translation: torch.Tensor
    depth: torch.Tensor

    def project(self, points: torch.Tensor) -> torch.Tensor:
        """(B, N, 3) body-centred metres -> (B, N, 2); see :func:`d2s_project`."""
        return d2s_project(points, self.scale, self.translation, self.depth)
