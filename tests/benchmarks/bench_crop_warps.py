"""Benchmark: one DECA face crop, the exact float warp vs the official skimage call and cv2.

Per crop (224 x 224) from a real photo (messi5.jpg, 548 x 342) and the same photo resized to
1920 x 1080, three ways measured in the same run:

* ``exact``: ``warps.deca_warp`` (float64 bilinear gather of the 4 taps per output pixel,
  float32 out) - the project's path;
* ``skimage``: DECA's own call, ``warp(image / 255., tform.inverse, output_shape=(224, 224))``
  (the baseline it must equal; ``image / 255.`` of the whole image is part of DECA's per-image
  cost and is timed with it);
* ``cv2``: the former ``cv2.warpAffine`` on uint8 (fast, but up to several /255 off).

Median of repeated rounds, each way timed in turn; ratios against ``skimage``.

    pytest tests/benchmarks -m benchmark -s -k crop_warps
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np
import pytest
from skimage.transform import SimilarityTransform, warp

from furpe_label.experts.crops import warps
from furpe_label.experts.geometry.crop_transform import warp_crop
from tests.support.real_data import OPENCV_SAMPLES

ROUNDS = 15


def _median_ms(fns: dict[str, Callable[[], object]]) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(ROUNDS):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


@pytest.mark.benchmark
@pytest.mark.parametrize("size", [None, (1920, 1080)])
def test_deca_crop_time(size):
    image = cv2.imread(str(OPENCV_SAMPLES / "messi5.jpg"))[:, :, ::-1].copy()
    if size is not None:
        image = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    height, width = image.shape[:2]
    tform = warps.deca_transform(np.array([0.5 * width, 0.2 * height]), 0.15 * width)
    inverse = SimilarityTransform(matrix=tform).inverse
    exact = warps.deca_warp(image, tform)
    official = warp(image / 255.0, inverse, output_shape=(224, 224))
    assert np.abs(exact - official).max() <= 1e-6
    ms = _median_ms(
        {
            "exact": lambda: warps.deca_warp(image, tform),
            "skimage": lambda: warp(image / 255.0, inverse, output_shape=(224, 224)),
            "cv2": lambda: warp_crop(image, tform[:2], 224),
        }
    )
    print(
        f"\nDECA crop from {width}x{height}: "
        + ", ".join(f"{k} {v:.2f} ms ({ms['skimage'] / v:.2f}x skimage)" for k, v in ms.items())
    )
