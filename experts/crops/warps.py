"""Expert input crops: RGB images at network input size plus image -> crop transforms.

Every function takes the original image as (H, W, 3) uint8 (RGB; the pixel operations are
channel-agnostic, so channel order is preserved) and returns crops as (S, S, 3) arrays (uint8
for SPIN and FrankMocap; float32 in [0, 1] for DECA, whose official crop is a float warp) with
the affine that maps original-image pixels to crop pixels (pixel-centre convention, see
``furpe_label.experts.geometry.crop_transform``); ``crop_to_image`` maps crop points back.
Normalisation, BGR conversion and tensor layout belong to ``experts/networks``.

* :func:`spin_input` - nkolot/SPIN ``utils/imutils.py`` ``crop()`` as called by ``demo.py``
  ``process_image`` (also the training crop in ``datasets/base_dataset.py``).
* :func:`deca_input` - yfeng95/DECA ``decalib/datasets/datasets.py`` ``TestData.__getitem__``.
* :func:`frankmocap_input` - facebookresearch/frankmocap ``handmocap/hand_mocap_api.py``
  ``HandMocap.__pad_and_resize`` / ``__process_hand_bbox``.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from PIL import Image

from furpe_label.experts.crops.bilinear import warp_bilinear
from furpe_label.experts.crops.boxes import DECA_SCALE, deca_center_size
from furpe_label.experts.crops.bytescale import spin_bytescale
from furpe_label.experts.geometry.crop_transform import (
    center_scale_to_affine,
    spin_crop_corners,
    warp_crop,
)

NETWORK_INPUT_SIZE = 224
FRANKMOCAP_ADD_MARGIN = 0.3


def _check_image(image: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) uint8 image, got {image.shape} {image.dtype}")


def _paste(image: np.ndarray, x0: int, y0: int, width: int, height: int) -> np.ndarray:
    """Pixels ``image[y0:y0+height, x0:x0+width]`` on a zero canvas (outside -> 0)."""
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    img_h, img_w = image.shape[:2]
    ox0, oy0 = max(0, x0), max(0, y0)
    ox1, oy1 = min(img_w, x0 + width), min(img_h, y0 + height)
    if ox1 > ox0 and oy1 > oy0:
        canvas[oy0 - y0 : oy1 - y0, ox0 - x0 : ox1 - x0] = image[oy0:oy1, ox0:ox1]
    return canvas


def spin_input(
    image: np.ndarray,
    center: np.ndarray,
    scale: float,
    res: int = NETWORK_INPUT_SIZE,
    *,
    method: Literal["spin", "warp"] = "spin",
    contrast_stretch: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """SPIN body crop from center/scale (``scale = box side / 200``).

    ``method="spin"`` reproduces SPIN's ``crop()`` + ``scipy.misc.imresize`` step by step:
    integer box ``[ul, br)`` (:func:`spin_crop_corners`, SPIN's truncations), zero canvas,
    ``bytescale`` contrast stretch of the canvas (imresize converts SPIN's float64 canvas with
    min/max stretching; disable with ``contrast_stretch=False``), then PIL bilinear resize
    (antialiased when shrinking). The returned affine describes that realised box, which differs
    from the ideal ``center_scale_to_affine`` by less than one image pixel (integer box).

    ``method="warp"`` is one ``cv2.warpAffine`` with the ideal affine (no antialiasing; the
    stretch, if enabled, uses the min/max of the resampled crop).

    Args:
        image: (H, W, 3) uint8 RGB.
        center: (2,) box centre, pixels.
        scale: box side / 200.
        res: crop side (224).

    Returns:
        crop (res, res, 3) uint8, affine (2, 3) image -> crop pixels.
    """
    _check_image(image)
    center = np.asarray(center, dtype=np.float64)
    if not (np.all(np.isfinite(center)) and np.isfinite(scale) and scale > 0):
        raise ValueError(f"invalid SPIN center/scale {center}, {scale}")
    if method == "warp":
        affine = center_scale_to_affine(center, scale, res)
        crop = warp_crop(image, affine, res)
        return (spin_bytescale(crop) if contrast_stretch else crop), affine
    if method != "spin":
        raise ValueError(f"unknown method {method!r}")
    ul, br = spin_crop_corners(center, scale, (res, res))
    width, height = int(br[0] - ul[0]), int(br[1] - ul[1])
    if width < 1 or height < 1:
        raise ValueError(f"SPIN box is empty: ul={ul}, br={br}")
    canvas = _paste(image, int(ul[0]), int(ul[1]), width, height)
    if contrast_stretch:
        canvas = spin_bytescale(canvas)
    crop = np.asarray(Image.fromarray(canvas, "RGB").resize((res, res), Image.BILINEAR))
    sx, sy = res / width, res / height
    affine = np.array([[sx, 0.0, (0.5 - ul[0]) * sx - 0.5], [0.0, sy, (0.5 - ul[1]) * sy - 0.5]])
    return crop, affine


def spin_inputs(
    image: np.ndarray, centers: np.ndarray, scales: np.ndarray, res: int = NETWORK_INPUT_SIZE, **kw
) -> tuple[np.ndarray, np.ndarray]:
    """Batch :func:`spin_input` over N boxes of one image.

    Args:
        centers: (N, 2) pixels; scales: (N,); ``kw`` forwarded.

    Returns:
        crops (N, res, res, 3) uint8, affines (N, 2, 3).
    """
    out = [spin_input(image, c, float(s), res, **kw) for c, s in zip(centers, scales, strict=True)]
    return _stack(out, res)


def deca_transform(center: np.ndarray, size: float, res: int = NETWORK_INPUT_SIZE) -> np.ndarray:
    """DECA's similarity ``estimate_transform('similarity', src_pts, DST_PTS)`` in closed form.

    ``src_pts`` are the box corners ``center +- size/2`` and ``DST_PTS`` are ``0`` and ``res - 1``,
    so the box edges land on the first/last pixel centres.

    Returns:
        (3, 3) float64 image -> crop (pixel centres), as ``tform.params``.
    """
    s = (res - 1) / float(size)
    cx, cy = float(center[0]), float(center[1])
    return np.array(
        [[s, 0.0, -s * (cx - size / 2.0)], [0.0, s, -s * (cy - size / 2.0)], [0.0, 0.0, 1.0]]
    )


def deca_input(
    image: np.ndarray,
    landmarks68: np.ndarray,
    res: int = NETWORK_INPUT_SIZE,
    valid: np.ndarray | None = None,
    scale: float = DECA_SCALE,
) -> tuple[np.ndarray, np.ndarray]:
    """DECA face crop from 68 landmarks (``bbox2point('kpt68')``, scale 1.25, similarity warp).

    DECA's ``TestData.__getitem__``: ``size = int(old_size * 1.25)``, ``estimate_transform(
    'similarity', src_pts, DST_PTS)``, then ``warp(image / 255., tform.inverse,
    output_shape=(224, 224))`` (float64 bilinear, 0 outside) and ``torch.tensor(...).float()``.
    The crop here is that float warp (:func:`~furpe_label.experts.crops.bilinear.warp_bilinear`,
    equal to skimage's to float64 round-off) cast to float32: the network input DECA builds.

    Args:
        image: (H, W, 3) uint8 RGB.
        landmarks68: (68, 2) pixels.
        valid: (68,) bool landmarks to use (default all).
        scale: DECA's 1.25.

    Returns:
        crop (res, res, 3) float32 RGB in [0, 1], tform (3, 3) image -> crop.
    """
    _check_image(image)
    center, size = deca_center_size(
        landmarks68[None], None if valid is None else valid[None], scale
    )
    if not np.isfinite(size[0]) or size[0] <= 0:
        raise ValueError("no usable face landmarks for the DECA crop")
    tform = deca_transform(center[0], float(size[0]), res)
    return deca_warp(image, tform, res), tform


def deca_warp(image: np.ndarray, tform: np.ndarray, res: int = NETWORK_INPUT_SIZE) -> np.ndarray:
    """DECA's ``warp(image / 255., tform.inverse, output_shape=(res, res))`` as float32.

    Args: image (H, W, 3) uint8 RGB; tform (3, 3) or (2, 3) image -> crop (deca_transform).

    Returns: (res, res, 3) float32 in [0, 1].
    """
    return warp_bilinear(image, np.asarray(tform)[:2], res).astype(np.float32)


def deca_inputs(
    image: np.ndarray, centers: np.ndarray, sizes: np.ndarray, res: int = NETWORK_INPUT_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Batch DECA crops from N face boxes (``center``, ``side``) of one image.

    Args:
        centers: (N, 2) pixels; sizes: (N,) DECA box sides (``deca_face_boxes(...).side``).

    Returns:
        crops (N, res, res, 3) float32 in [0, 1] (:func:`deca_warp`), tforms (N, 3, 3).
    """
    _check_image(image)
    tforms = [deca_transform(c, float(s), res) for c, s in zip(centers, sizes, strict=True)]
    if not tforms:
        return np.zeros((0, res, res, 3), np.float32), np.zeros((0, 3, 3))
    return np.stack([deca_warp(image, t, res) for t in tforms]), np.stack(tforms)


def frankmocap_box(
    hand_box: np.ndarray, image_hw: tuple[int, int], add_margin: bool = True
) -> tuple[int, int, int, int]:
    """FrankMocap ``__pad_and_resize`` box arithmetic (int32 truncation, squaring, 0.3 margin).

    Args:
        hand_box: (4,) xywh pixels; image_hw: ``(H, W)``.

    Returns:
        ``(min_x, min_y, max_x, max_y)`` ints of the copied region (``bbox_processed``).
    """
    height_img, width_img = image_hw
    min_x, min_y = (int(v) for v in np.asarray(hand_box[:2], np.float64).astype(np.int32))
    width, height = (int(v) for v in np.asarray(hand_box[2:], np.float64).astype(np.int32))
    max_x, max_y = min_x + width, min_y + height
    if width > height:
        margin = (width - height) // 2
        min_y, max_y = max(min_y - margin, 0), min(max_y + margin, height_img)
    else:
        margin = (height - width) // 2
        min_x, max_x = max(min_x - margin, 0), min(max_x + margin, width_img)
    if add_margin:
        margin = int(FRANKMOCAP_ADD_MARGIN * (max_y - min_y))
        min_y, max_y = max(min_y - margin, 0), min(max_y + margin, height_img)
        min_x, max_x = max(min_x - margin, 0), min(max_x + margin, width_img)
    return min_x, min_y, max_x, max_y


def frankmocap_input(
    image: np.ndarray,
    hand_box: np.ndarray,
    res: int = NETWORK_INPUT_SIZE,
    add_margin: bool = True,
    flip: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FrankMocap hand crop: square, top-left aligned zero padding, ``cv2.resize`` to ``res``.

    Matches ``__pad_and_resize`` (``demo_frankmocap`` uses ``add_margin=True``). Region pixels
    outside the image are zero (FrankMocap only sees boxes clipped to the image and would fail
    otherwise). ``flip=True`` mirrors the crop horizontally (FrankMocap's left-hand step) and
    folds the mirror into the returned affine; by default no flip is applied.

    Args:
        image: (H, W, 3) uint8 RGB.
        hand_box: (4,) xywh pixels.

    Returns:
        crop (res, res, 3) uint8, affine (2, 3) image -> crop, bbox_processed (4,) int64
        ``(min_x, min_y, w, h)`` as FrankMocap returns it (``ratio = res / max(w, h)``).
    """
    _check_image(image)
    if not np.all(np.isfinite(np.asarray(hand_box, np.float64))):
        raise ValueError(f"invalid hand box {hand_box}")
    min_x, min_y, max_x, max_y = frankmocap_box(hand_box, image.shape[:2], add_margin)
    new_size = max(max_x - min_x, max_y - min_y)
    if new_size < 1:
        raise ValueError(f"FrankMocap hand box is empty: {hand_box}")
    canvas = _paste(image, min_x, min_y, new_size, new_size)
    canvas[max_y - min_y :, :] = 0  # FrankMocap pads outside the (possibly non-square) region
    canvas[:, max_x - min_x :] = 0
    crop = cv2.resize(canvas, (res, res))
    ratio = res / new_size
    affine = np.array(
        [[ratio, 0.0, (0.5 - min_x) * ratio - 0.5], [0.0, ratio, (0.5 - min_y) * ratio - 0.5]]
    )
    if flip:
        crop = np.ascontiguousarray(crop[:, ::-1])
        affine[0] = -affine[0]
        affine[0, 2] += res - 1
    box = np.array([min_x, min_y, max_x - min_x, max_y - min_y], dtype=np.int64)
    return crop, affine, box


def frankmocap_inputs(
    image: np.ndarray,
    hand_boxes: np.ndarray,
    flips: np.ndarray | None = None,
    res: int = NETWORK_INPUT_SIZE,
    add_margin: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch :func:`frankmocap_input` over N hand boxes (N, 4) xywh of one image.

    Returns:
        crops (N, res, res, 3) uint8, affines (N, 2, 3), bbox_processed (N, 4) int64.
    """
    flips = np.zeros(len(hand_boxes), bool) if flips is None else np.asarray(flips, bool)
    out = [
        frankmocap_input(image, b, res, add_margin, bool(f))
        for b, f in zip(hand_boxes, flips, strict=True)
    ]
    crops, affines = _stack([(c, a) for c, a, _ in out], res)
    boxes = np.stack([b for _, _, b in out]) if out else np.zeros((0, 4), np.int64)
    return crops, affines, boxes


def _stack(pairs: list[tuple[np.ndarray, np.ndarray]], res: int) -> tuple[np.ndarray, np.ndarray]:
    if not pairs:
        return np.zeros((0, res, res, 3), np.uint8), np.zeros((0, 2, 3))
    return np.stack([c for c, _ in pairs]), np.stack([a for _, a in pairs])
