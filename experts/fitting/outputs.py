"""Inputs and outputs shared by the fitters: keypoint parsing and the result tuple."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from furpe_label.experts.geometry.crop_transform import (
    NormalizedConvention,
    crop_to_normalized,
    image_to_crop,
)
from furpe_label.experts.keypoints.conventions import OPENPOSE137_PARTS
from furpe_label.experts.records import BodyParams, FaceParams, HandParams

__all__ = [
    "CROP_SIZE",
    "FitResult",
    "camera_array",
    "crop_keypoints",
    "empty_result",
    "part_keypoints",
    "too_few_keypoints",
]

CROP_SIZE = 224  # pixels: every part crop is 224 x 224


class FitResult(NamedTuple):
    """What a fitter returns for M instances (unpacks as ``params, camera, loss``).

    Attributes:
        params: the part's parameters in the network experts' layout (float32 numpy).
        camera: (M, 3) float32 weak-perspective ``[s, tx, ty]`` in the part's normalised
            crop frame, as the matching network expert emits it.
        loss: (M,) float32 final loss per instance (robust 2D term + priors, normalised
            units); NaN where the instance had too few usable keypoints to be fitted (its
            params are then the start: the init record, or the mean).
    """

    params: BodyParams | FaceParams | HandParams
    camera: np.ndarray
    loss: np.ndarray


def crop_keypoints(
    keypoints: np.ndarray,
    crop_from_image: np.ndarray,
    convention: NormalizedConvention = "origin",
) -> np.ndarray:
    """Image keypoints -> the fitters' input: the normalised frame of each instance's crop.

    Args:
        keypoints: (M, K, 3) ``x, y`` image pixels + confidence (NaN where absent).
        crop_from_image: (M, 2, 3) float64 affines, image pixels -> 224-pixel crop pixels.
        convention: crop pixels -> [-1, 1]; ``"origin"`` is ``u / 112 - 1`` (DECA,
            FrankMocap), ``"edges"`` is SPIN's ``(u + 0.5) / 112 - 1`` (see
            :data:`~furpe_label.experts.geometry.crop_transform.NORMALIZED_CONVENTIONS`).

    Returns:
        (M, K, 3) float32: normalised ``x, y`` and the confidence unchanged.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    crop_px = image_to_crop(keypoints[..., :2], np.asarray(crop_from_image, dtype=np.float64))
    normalised = crop_to_normalized(crop_px, CROP_SIZE, convention)
    return np.concatenate([normalised, keypoints[..., 2:3]], -1).astype(np.float32)


def part_keypoints(keypoints: np.ndarray | torch.Tensor, part: str, count: int) -> torch.Tensor:
    """(M, count, 3) float32 keypoints of one part from its own layout or OpenPose-137.

    Args:
        keypoints: (M, count, 3) or (M, 137, 3) ``x, y, confidence`` in the part's
            normalised crop frame.
        part: key of ``OPENPOSE137_PARTS`` used to slice a 137-point input.
        count: the part's number of keypoints.

    Raises:
        ValueError: any other shape.
    """
    points = torch.tensor(np.asarray(keypoints), dtype=torch.float32)
    if points.ndim != 3 or points.shape[-1] != 3 or points.shape[1] not in (count, 137):
        raise ValueError(
            f"{part} keypoints must be (M, {count}, 3) or (M, 137, 3) x, y, confidence; "
            f"got shape {tuple(points.shape)}"
        )
    if points.shape[1] == 137:
        points = points[:, OPENPOSE137_PARTS[part]]
    return points


def too_few_keypoints(conf: torch.Tensor, minimum: int) -> torch.Tensor:
    """(M,) bool: fewer than ``minimum`` keypoints with weight > 0 (conf (M, K))."""
    return (conf > 0).sum(-1) < minimum


def empty_result(part: str) -> FitResult:
    """The result for zero instances of ``part`` ("body", "hand" or "face")."""
    empty = {"body": BodyParams, "hand": HandParams, "face": FaceParams}[part]
    arrays = {name: np.zeros((0, *shape), np.float32) for name, shape in empty.SHAPES.items()}
    if part == "hand":
        arrays["is_left"] = np.zeros(0, bool)
    return FitResult(empty(**arrays), np.zeros((0, 3), np.float32), np.zeros(0, np.float32))


def camera_array(camera_block: torch.Tensor) -> np.ndarray:
    """(M, 3) float32 ``[s, tx, ty]`` from the optimised ``[log s, tx, ty]`` block."""
    cam = torch.cat([camera_block[:, :1].exp(), camera_block[:, 1:]], dim=-1)
    return cam.detach().cpu().numpy().astype(np.float32)
