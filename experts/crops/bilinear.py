"""Exact float64 bilinear resampling: ``skimage.transform.warp`` with ``order=1`` in numpy.

DECA (yfeng95/DECA ``decalib/datasets/datasets.py``) crops faces with
``warp(image / 255., tform.inverse, output_shape=(224, 224))``: bilinear interpolation in
float64, ``mode='constant'``, ``cval=0``. ``cv2.warpAffine`` on uint8 is not that warp: it
quantises sub-pixel positions to 1/32 px and rounds the result to integers (several /255 off
on real photos). :func:`warp_bilinear` evaluates skimage's formula directly, vectorised over the
output pixels, gathering only the 4 taps each output pixel needs from the uint8 image (the
whole image is never converted to float).

skimage's bilinear rule (``skimage/_shared/interpolation.pxd``): at source position ``(r, c)``
(row, column; pixel-centre coordinates), with ``r0 = floor(r)``, ``c0 = floor(c)``,
``dr = r - r0``, ``dc = c - c0``, taps outside the image read ``cval = 0``::

    top    = (1 - dc) * I[r0, c0]     + dc * I[r0, c0 + 1]
    bottom = (1 - dc) * I[r0 + 1, c0] + dc * I[r0 + 1, c0 + 1]
    value  = (1 - dr) * top + dr * bottom
"""

from __future__ import annotations

import numpy as np


def _inverse(affine: np.ndarray) -> np.ndarray:
    """(2, 3) crop -> image affine of a (2, 3) image -> crop ``affine`` (closed form)."""
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape != (2, 3) or not np.all(np.isfinite(affine)):
        raise ValueError(f"expected a finite (2, 3) affine, got {affine.tolist()}")
    (a, b, tx), (c, d, ty) = affine
    det = a * d - b * c
    if not abs(det) > 1e-12:
        raise ValueError(f"affine is not invertible: {affine.tolist()}")
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    return np.array([[ia, ib, -(ia * tx + ib * ty)], [ic, id_, -(ic * tx + id_ * ty)]])


def _split(position: np.ndarray, extent: int) -> tuple[np.ndarray, np.ndarray]:
    """Source positions -> (floor as int64, fraction). Positions far outside are clamped to
    ``extent + 2`` pixels away (still outside, so they read 0) to stay within int64."""
    floor = np.floor(position)
    fraction = position - floor
    limit = float(extent + 2)
    return np.clip(floor, -limit, limit).astype(np.int64), fraction


def _gather_separable(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``image[rows][:, cols] / 255`` as (len(rows), len(cols), C) float64, 0 outside."""
    height, width = image.shape[:2]
    values = image[np.clip(rows, 0, height - 1)][:, np.clip(cols, 0, width - 1)] / 255.0
    values[(rows < 0) | (rows >= height)] = 0.0
    values[:, (cols < 0) | (cols >= width)] = 0.0
    return values


def _gather(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``image[rows, cols] / 255`` as (*rows.shape, C) float64, 0 outside."""
    height, width = image.shape[:2]
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    values = image[np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)] / 255.0
    values[~inside] = 0.0
    return values


def warp_bilinear(image: np.ndarray, affine: np.ndarray, size: int) -> np.ndarray:
    """``skimage.transform.warp(image / 255., inverse_of(affine), output_shape=(size, size))``.

    Bilinear (``order=1``), outside the image 0 (``mode='constant'``, ``cval=0``), float64,
    computed tap by tap with skimage's formula (the same numbers to float64 round-off).
    skimage's output clip (``clip=True``) is a no-op here: a bilinear blend of values in
    ``[0, 1]`` stays in ``[0, 1]``. Axis-aligned affines (scale + shift, as DECA's) take a
    separable gather: the source column depends only on the crop column, the source row only
    on the crop row.

    Args:
        image: (H, W, C) uint8 (any channel order; kept).
        affine: (2, 3) image -> crop, pixel-centre convention (``tform.params[:2]`` of skimage).
        size: crop side, pixels.

    Returns:
        (size, size, C) float64 in ``[0, 1]`` (pixel value / 255).
    """
    if image.dtype != np.uint8 or image.ndim != 3:
        raise ValueError(f"expected (H, W, C) uint8 image, got {image.shape} {image.dtype}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"empty image {image.shape}")
    inverse = _inverse(affine)
    grid = np.arange(int(size), dtype=np.float64)
    extent = max(image.shape[:2])
    if inverse[0, 1] == 0.0 and inverse[1, 0] == 0.0:
        c0, dc = _split(inverse[0, 0] * grid + inverse[0, 2], extent)
        r0, dr = _split(inverse[1, 1] * grid + inverse[1, 2], extent)
        dc, dr = dc[None, :, None], dr[:, None, None]
        gather = _gather_separable
    else:
        cols, rows = grid[None, :], grid[:, None]
        c0, dc = _split(inverse[0, 0] * cols + inverse[0, 1] * rows + inverse[0, 2], extent)
        r0, dr = _split(inverse[1, 0] * cols + inverse[1, 1] * rows + inverse[1, 2], extent)
        dc, dr = dc[..., None], dr[..., None]
        gather = _gather
    top = (1.0 - dc) * gather(image, r0, c0) + dc * gather(image, r0, c0 + 1)
    bottom = (1.0 - dc) * gather(image, r0 + 1, c0) + dc * gather(image, r0 + 1, c0 + 1)
    return (1.0 - dr) * top + dr * bottom
