"""The official input normalisation of each expert, applied to batches of warped crops.

Input: (B, 224, 224, 3) **RGB** crops, already warped to the network input size by
:mod:`furpe_label.experts.crops`: uint8 for SPIN and FrankMocap; for DECA float32 in [0, 1]
(its official crop is a float warp, ``crops.warps.deca_inputs``) or uint8. The conversion
runs on the target device (a uint8 batch is transferred, a quarter of the float32 size).

- SPIN (``demo.py``): RGB, ``/ 255``, then ``Normalize(mean=[0.485, 0.456, 0.406],
  std=[0.229, 0.224, 0.225])`` (``constants.IMG_NORM_MEAN`` / ``IMG_NORM_STD``).
- DECA (``datasets.TestData``): RGB, ``/ 255``, no mean / std.
- FrankMocap (``HandMocap``): the crop is **BGR** (cv2 image), left hands are mirrored
  horizontally (``img[:, ::-1]``), then ``ToTensor()`` (``/ 255``) and
  ``Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))``.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "INPUT_SIZE",
    "check_crops",
    "deca_tensor",
    "frankmocap_tensor",
    "spin_tensor",
]

INPUT_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def check_crops(crops: np.ndarray, dtypes: tuple[type, ...] = (np.uint8,)) -> np.ndarray:
    """Validate a crop batch: (B, 224, 224, 3) RGB of one of ``dtypes``; returns it C-contiguous.

    ``dtypes``: uint8 by default; DECA also takes float32 in [0, 1] (its float warp).
    """
    allowed = " or ".join(np.dtype(d).name for d in dtypes)
    if not isinstance(crops, np.ndarray) or crops.dtype not in [np.dtype(d) for d in dtypes]:
        raise TypeError(f"crops must be a {allowed} numpy array (B, 224, 224, 3)")
    if crops.ndim != 4 or crops.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3):
        raise ValueError(f"crops must be (B, {INPUT_SIZE}, {INPUT_SIZE}, 3), got {crops.shape}")
    return np.ascontiguousarray(crops)


def _unit_nchw(crops: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float32 (B, 3, H, W) in [0, 1] on ``device``."""
    batch = torch.from_numpy(check_crops(crops)).to(device, non_blocking=True)
    return batch.permute(0, 3, 1, 2).float().div_(255.0)


def _channel_vector(values: tuple[float, float, float], device: torch.device) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32, device=device).view(1, 3, 1, 1)


def spin_tensor(crops: np.ndarray, device: torch.device) -> torch.Tensor:
    """SPIN: (B, 224, 224, 3) uint8 RGB -> (B, 3, 224, 224) float32 ImageNet-normalised RGB."""
    x = _unit_nchw(crops, device)
    return x.sub_(_channel_vector(IMAGENET_MEAN, device)).div_(
        _channel_vector(IMAGENET_STD, device)
    )


def deca_tensor(crops: np.ndarray, device: torch.device) -> torch.Tensor:
    """DECA: (B, 224, 224, 3) RGB crops -> (B, 3, 224, 224) float32 RGB in [0, 1].

    float32 crops in [0, 1] (DECA's float warp, ``deca_inputs``) pass through unchanged;
    uint8 crops are divided by 255.
    """
    if isinstance(crops, np.ndarray) and crops.dtype == np.float32:
        batch = torch.from_numpy(check_crops(crops, (np.float32,))).to(device, non_blocking=True)
        return batch.permute(0, 3, 1, 2).contiguous()
    return _unit_nchw(crops, device).contiguous()


def frankmocap_tensor(crops: np.ndarray, is_left: np.ndarray, device: torch.device) -> torch.Tensor:
    """FrankMocap: uint8 RGB crops -> (B, 3, 224, 224) float32 BGR in [-1, 1], left rows mirrored.

    Args:
        crops: (B, 224, 224, 3) uint8 RGB.
        is_left: (B,) bool; those crops are flipped left-right (so the net sees a right hand).
    """
    is_left = np.asarray(is_left, dtype=bool).reshape(-1)
    if is_left.shape[0] != crops.shape[0]:
        raise ValueError(f"is_left has {is_left.shape[0]} entries for {crops.shape[0]} crops")
    x = _unit_nchw(crops, device).flip(1)  # RGB -> BGR
    if is_left.any():
        rows = torch.from_numpy(np.flatnonzero(is_left)).to(device)
        x[rows] = x[rows].flip(3)
    return x.sub_(0.5).div_(0.5)
