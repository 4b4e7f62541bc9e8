"""Loss terms of the keypoint fitters, each written as residuals whose squares are summed.

Every term returns per-sample residuals ``(B, R)``; a fitter's loss is the sum of their
squares per sample, so a sample's loss depends on its own row only (batch independence).

Robust reprojection (SMPLify, SPIN ``smplify/losses.py``): the Geman-McClure error
``rho(e) = sigma^2 e^2 / (sigma^2 + e^2)`` per coordinate, weighted by the squared keypoint
confidence. Its residual form is ``conf * e * sigma / sqrt(sigma^2 + e^2)``: squared it gives
``conf^2 rho(e)``. Errors much larger than ``sigma`` add at most ``conf^2 sigma^2`` and pull
with a vanishing gradient, so outliers and mislabelled points stop mattering.
"""

from __future__ import annotations

import torch

__all__ = [
    "centred_world_residual",
    "clean_keypoints",
    "gmof_residual",
    "hinge_residual",
    "keypoint_residual",
]


def clean_keypoints(keypoints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split (B, K, 3) ``x, y, confidence`` keypoints into safe targets and weights.

    Returns:
        xy (B, K, 2) with 0 wherever the point is unusable, and conf (B, K) >= 0 that is 0
        where the confidence is <= 0 or not finite, or a coordinate is not finite (missing
        points, NaN placeholders): such points take no part in any loss.
    """
    xy, conf = keypoints[..., :2], keypoints[..., 2]
    usable = torch.isfinite(xy).all(-1) & torch.isfinite(conf) & (conf > 0)
    xy = torch.where(usable[..., None], xy, torch.zeros_like(xy))
    return xy, torch.where(usable, conf, torch.zeros_like(conf))


def gmof_residual(error: torch.Tensor, sigma: float) -> torch.Tensor:
    """Residual whose square is the Geman-McClure error ``sigma^2 e^2 / (sigma^2 + e^2)``.

    Args:
        error: (...) signed errors in the unit of ``sigma``.
        sigma: > 0, the scale at which the error starts to saturate.
    """
    # Clamped so that error^2 cannot overflow to inf (which would make the residual 0 and
    # reward sending points to infinity); the residual is saturated long before 1e4 sigma.
    error = error.clamp(-1e4 * sigma, 1e4 * sigma)
    return error * (sigma / torch.sqrt(sigma * sigma + error * error))


def keypoint_residual(
    projected: torch.Tensor, target: torch.Tensor, conf: torch.Tensor, sigma: float
) -> torch.Tensor:
    """Confidence-weighted robust 2D residuals.

    Args:
        projected: (B, K, 2) model keypoints in the target's frame.
        target: (B, K, 2) detected keypoints (finite; see :func:`clean_keypoints`).
        conf: (B, K) weights >= 0; 0 removes a point.
        sigma: Geman-McClure scale, same unit as the keypoints.

    Returns:
        (B, 2K) residuals ``conf * gmof_residual(projected - target)``.
    """
    residual = conf[..., None] * gmof_residual(projected - target, sigma)
    return residual.reshape(residual.shape[0], -1)


def centred_world_residual(
    model_points: torch.Tensor, world: torch.Tensor, weight: torch.Tensor, sigma: float
) -> torch.Tensor:
    """Robust 3D residuals between two point sets after removing their weighted centroids.

    MediaPipe's world landmarks are metric and camera-aligned but centred on its own hip
    midpoint, which is not a model joint; centring both sets on the centroid of the points
    they share removes that offset (and the fitter's unknown depth) without a choice of
    origin.

    Args:
        model_points: (B, N, 3) model points, metres, camera-aligned axes.
        world: (B, N, 3) landmarks, metres (finite; 0 where absent).
        weight: (B, N) >= 0, 0 where a landmark is absent.
        sigma: Geman-McClure scale, metres.

    Returns:
        (B, 3N) residuals; all 0 for a sample with fewer than 2 weighted landmarks.
    """
    total = weight.sum(-1, keepdim=True)
    enough = (weight > 0).sum(-1, keepdim=True) >= 2
    share = weight / torch.where(total > 0, total, torch.ones_like(total))
    model_c = model_points - (share[..., None] * model_points).sum(-2, keepdim=True)
    world_c = world - (share[..., None] * world).sum(-2, keepdim=True)
    residual = (weight * enough)[..., None] * gmof_residual(model_c - world_c, sigma)
    return residual.reshape(residual.shape[0], -1)


def hinge_residual(values: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """How far each value lies outside ``[low, high]`` (0 inside), same shape as ``values``.

    Squared it is a one-sided quadratic penalty: continuous with a continuous gradient.
    """
    return torch.relu(low - values) + torch.relu(values - high)
