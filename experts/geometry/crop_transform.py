"""Crop geometry shared by all part experts (SPIN body, DECA face, FrankMocap hands).

Coordinate conventions (all in pixels unless stated):

* **Image / crop pixel coordinates** follow OpenCV, skimage and OpenPose: the centre of the
  pixel at row ``i``, column ``j`` is the point ``(x=j, y=i)``; an image of width ``W`` spans
  ``x in [-0.5, W - 0.5]``. Every affine in this module maps such coordinates, so it can be fed
  to ``cv2.warpAffine`` unchanged.
* **SPIN's corner convention**: nkolot/SPIN ``utils/imutils.py`` (``get_transform``,
  ``transform``, ``crop``) treats pixel ``i`` as the cell ``[i, i + 1)``: ``get_transform`` maps the
  box ``[c - h/2, c + h/2]`` (``h = 200 * scale``) onto ``[0, res]``. ``crop()`` realises exactly
  that geometry (integer box, then a pixel-centre resize), so in pixel-centre coordinates the crop
  is ``u = T(x + 0.5) - 0.5``. :func:`center_scale_to_affine` returns this pixel-centre form;
  :func:`spin_get_transform` and :func:`spin_transform` reproduce SPIN's functions bit for bit.
* **Crop-normalised coordinates** ``n in [-1, 1]``: three conventions exist in the expert code,
  see :data:`NORMALIZED_CONVENTIONS` and :func:`normalized_to_crop`.

Affines are ``(..., 2, 3)`` float64 arrays mapping image -> crop pixels; ``(..., 3, 3)`` is the
homogeneous form. Points are ``(..., N, 2)`` numpy arrays or torch tensors.
"""

from __future__ import annotations

from typing import Any, Literal

import cv2
import numpy as np

REFERENCE_BOX_SIZE = 200.0
"""SPIN / HMR scale unit: ``scale = box_side_px / 200``."""

NormalizedConvention = Literal["edges", "centers", "origin"]
NORMALIZED_CONVENTIONS: dict[str, str] = {
    "edges": "n = 2 (u + 0.5) / res - 1: -1/+1 are the outer crop edges (SPIN get_transform, "
    "grid_sample align_corners=False)",
    "centers": "n = 2 u / (res - 1) - 1: -1/+1 are the first/last pixel centres (ExPose "
    "CropSampler, grid_sample align_corners=True)",
    "origin": "n = 2 u / res - 1: -1 is the first pixel centre (DECA datasets and "
    "transform_points, FrankMocap convert_bbox_to_oriIm with res=224)",
}


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def spin_get_transform(
    center: np.ndarray, scale: float, res: tuple[int, int], rot: float = 0.0
) -> np.ndarray:
    """SPIN's ``get_transform`` (corner convention), reproduced exactly.

    Args:
        center: (2,) box centre ``(x, y)``, pixels.
        scale: box side / 200.
        res: crop size ``(rows, cols)``; SPIN uses ``res[1]`` for x and ``res[0]`` for y.
        rot: rotation in degrees (SPIN augmentation sign convention).

    Returns:
        (3, 3) float64 homogeneous matrix image(corner) -> crop(corner).
    """
    h = REFERENCE_BOX_SIZE * scale
    t = np.zeros((3, 3))
    t[0, 0] = float(res[1]) / h
    t[1, 1] = float(res[0]) / h
    t[0, 2] = res[1] * (-float(center[0]) / h + 0.5)
    t[1, 2] = res[0] * (-float(center[1]) / h + 0.5)
    t[2, 2] = 1.0
    if rot != 0:
        rad = -rot * np.pi / 180.0
        sn, cs = np.sin(rad), np.cos(rad)
        rot_mat = np.array([[cs, -sn, 0.0], [sn, cs, 0.0], [0.0, 0.0, 1.0]])
        t_mat = np.eye(3)
        t_mat[0, 2] = -res[1] / 2
        t_mat[1, 2] = -res[0] / 2
        t_inv = t_mat.copy()
        t_inv[:2, 2] *= -1
        t = t_inv @ rot_mat @ t_mat @ t
    return t


def spin_transform(
    pt: np.ndarray,
    center: np.ndarray,
    scale: float,
    res: tuple[int, int],
    invert: bool = False,
    rot: float = 0.0,
) -> np.ndarray:
    """SPIN's ``transform``: 1-based integer pixel -> 1-based integer pixel, reproduced exactly.

    Subtracts 1, applies :func:`spin_get_transform` (or its inverse), truncates toward zero
    (``astype(int)``) and adds 1 back.

    Args:
        pt: (..., 2) points, SPIN's 1-based pixel coordinates.
        center, scale, res, rot: as in :func:`spin_get_transform`.
        invert: map crop -> image instead.

    Returns:
        (..., 2) int64 points.
    """
    t = spin_get_transform(center, scale, res, rot=rot)
    if invert:
        t = np.linalg.inv(t)
    p = np.asarray(pt, dtype=np.float64) - 1.0
    out = p @ t[:2, :2].T + t[:2, 2]
    return out.astype(np.int64) + 1


def spin_crop_corners(
    center: np.ndarray, scale: float, res: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Integer box that SPIN's ``crop()`` copies (no rotation).

    Returns:
        ``(ul, br)``: (2,) int64 ``(x, y)`` 0-based pixel indices; the crop holds pixels
        ``ul <= (x, y) < br`` (zero where outside the image) before being resized to ``res``.
    """
    ul = spin_transform(np.array([1, 1]), center, scale, res, invert=True) - 1
    br = spin_transform(np.array([res[0] + 1, res[1] + 1]), center, scale, res, invert=True) - 1
    return ul, br


def center_size_to_affine(
    center: np.ndarray, size: np.ndarray | float, res: int, rot: np.ndarray | float = 0.0
) -> np.ndarray:
    """Affine image -> crop (pixel-centre convention) of a square box.

    The box ``[c - size/2, c + size/2]``, read in SPIN's corner convention (pixel-centre edges
    ``c - 0.5 -+ size/2``), fills the ``res x res`` crop exactly as SPIN's ``get_transform`` /
    ``crop()``; ``rot`` (degrees) rotates about the crop centre with SPIN's sign.

    Args:
        center: (..., 2) box centres, pixels.
        size: (...) box sides, pixels.
        res: crop side, pixels.
        rot: (...) or scalar rotation, degrees.

    Returns:
        (..., 2, 3) float64 affines.
    """
    center = np.asarray(center, dtype=np.float64)
    size = np.asarray(size, dtype=np.float64)
    rot = np.asarray(rot, dtype=np.float64)
    shape = np.broadcast_shapes(center.shape[:-1], size.shape, rot.shape)
    center = np.broadcast_to(center, (*shape, 2))
    s = np.broadcast_to(float(res) / size, shape)
    # SPIN corner form: u' = s x + res (0.5 - c / size); pixel centres: u = s (x + .5) + t - .5.
    t = res * (-center / size[..., None] + 0.5) + 0.5 * s[..., None] - 0.5
    out = np.zeros((*shape, 2, 3))
    out[..., 0, 0] = s
    out[..., 1, 1] = s
    out[..., :, 2] = t
    if np.any(rot != 0):
        rad = np.broadcast_to(-rot * np.pi / 180.0, shape)
        sn, cs = np.sin(rad), np.cos(rad)
        pivot = (res - 1) / 2.0  # corner-convention res/2 in pixel-centre coordinates
        r = np.stack([np.stack([cs, -sn], -1), np.stack([sn, cs], -1)], -2)
        lin = r @ out[..., :2]
        trans = (r @ (out[..., 2] - pivot)[..., None])[..., 0] + pivot
        out = np.concatenate([lin, trans[..., None]], axis=-1)
    return out


def center_scale_to_affine(
    center: np.ndarray, scale: np.ndarray | float, res: int, rot: np.ndarray | float = 0.0
) -> np.ndarray:
    """SPIN center/scale (``scale = side / 200``) -> (..., 2, 3) image -> crop affine.

    Pixel-centre form of SPIN's ``get_transform`` (see module docstring): SPIN's ``center`` is a
    corner-convention point, so the crop centre is the pixel-centre image point ``center - 0.5``,
    as SPIN's ``crop()`` realises it. Shapes as in :func:`center_size_to_affine`.
    """
    return center_size_to_affine(
        center, REFERENCE_BOX_SIZE * np.asarray(scale, dtype=np.float64), res, rot
    )


def affine_to_homogeneous(affine: np.ndarray) -> np.ndarray:
    """(..., 2, 3) affine -> (..., 3, 3) homogeneous matrix."""
    affine = np.asarray(affine, dtype=np.float64)
    out = np.zeros((*affine.shape[:-2], 3, 3))
    out[..., :2, :] = affine
    out[..., 2, 2] = 1.0
    return out


def invert_affine(affine: np.ndarray) -> np.ndarray:
    """Inverse of (..., 2, 3) affines (crop -> image from image -> crop), float64."""
    affine = np.asarray(affine, dtype=np.float64)
    lin_inv = np.linalg.inv(affine[..., :2])
    trans = -(lin_inv @ affine[..., 2:])
    return np.concatenate([lin_inv, trans], axis=-1)


def transform_points(points: Any, affine: Any) -> Any:
    """Apply (..., 2, 3) affines to (..., N, 2) points (numpy arrays or torch tensors).

    Leading dimensions broadcast. Torch points keep their dtype/device (the affine is cast);
    numpy points are computed in float64.
    """
    if _is_torch(points):
        import torch

        a = torch.as_tensor(affine, dtype=points.dtype, device=points.device)
        return points @ a[..., :2].transpose(-1, -2) + a[..., None, :, 2]
    p = np.asarray(points, dtype=np.float64)
    a = np.asarray(affine, dtype=np.float64)
    return p @ np.swapaxes(a[..., :2], -1, -2) + a[..., None, :, 2]


def image_to_crop(points: Any, affine: Any) -> Any:
    """(..., N, 2) image pixels -> crop pixels with the image -> crop ``affine``."""
    return transform_points(points, affine)


def crop_to_image(points: Any, affine: Any) -> Any:
    """(..., N, 2) crop pixels -> image pixels, given the image -> crop ``affine``."""
    inv = invert_affine(affine.detach().cpu().numpy() if _is_torch(affine) else affine)
    return transform_points(points, inv)


def _norm_params(res: int, convention: NormalizedConvention) -> tuple[float, float]:
    """(a, b) with u = a (n + 1) + b."""
    if convention == "edges":
        return res / 2.0, -0.5
    if convention == "centers":
        return (res - 1) / 2.0, 0.0
    if convention == "origin":
        return res / 2.0, 0.0
    raise ValueError(
        f"unknown convention {convention!r}; use one of {list(NORMALIZED_CONVENTIONS)}"
    )


def normalized_to_crop(points: Any, res: int, convention: NormalizedConvention = "edges") -> Any:
    """(..., 2) crop-normalised coordinates -> crop pixels (pixel-centre convention).

    ``convention``: ``"edges"`` (SPIN, default), ``"centers"`` (ExPose) or ``"origin"``
    (DECA / FrankMocap); see :data:`NORMALIZED_CONVENTIONS`.
    """
    a, b = _norm_params(res, convention)
    return (points + 1.0) * a + b


def crop_to_normalized(points: Any, res: int, convention: NormalizedConvention = "edges") -> Any:
    """(..., 2) crop pixels -> crop-normalised coordinates (inverse of normalized_to_crop)."""
    a, b = _norm_params(res, convention)
    return (points - b) / a - 1.0


def warp_crop(
    image: np.ndarray,
    affine: np.ndarray,
    size: int,
    *,
    interpolation: int = cv2.INTER_LINEAR,
    border_value: int = 0,
) -> np.ndarray:
    """Resample a square crop with ``cv2.warpAffine``.

    Border handling: ``cv2.BORDER_CONSTANT`` with ``border_value`` (default 0, black). Crop pixels
    whose source lies outside the image are ``border_value``; bilinear taps straddling the image
    edge blend with it. This matches SPIN's zero canvas, DECA's skimage ``warp`` (mode
    ``'constant'``, ``cval=0``) and FrankMocap's zero padding. No anti-aliasing is applied.

    Args:
        image: (H, W, 3) uint8 image (any channel order; channels are kept).
        affine: (2, 3) image -> crop affine, pixel-centre convention.
        size: crop side, pixels.
        interpolation: cv2 interpolation flag (``INTER_LINEAR`` default).
        border_value: constant for outside pixels, 0..255.

    Returns:
        (size, size, 3) uint8 crop.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) uint8 image, got {image.shape} {image.dtype}")
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape != (2, 3):
        raise ValueError(f"expected a (2, 3) affine, got {affine.shape}")
    return cv2.warpAffine(
        image,
        affine,
        (int(size), int(size)),
        flags=interpolation,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(border_value, border_value, border_value),
    )
