"""Keypoint-detector throughput (images/s) on this machine, with in-run baselines.

Run: ``pytest tests/benchmarks/bench_detectors.py -m benchmark -s``.

* mediapipe: the full detector (pose + face mesh + face detection + hands with fallback
  windows) on the three real photos, vs. a baseline of MediaPipe Pose alone on the whole image.
* openpose-json: the reader (lookup, parse, convert, match) on the real SPIN OpenPose file, vs.
  a baseline of ``json.loads`` of the same file.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable

import cv2
import matplotlib.cbook
import matplotlib.image
import numpy as np
import pytest
import skimage.data

from furpe_label.experts.detectors import create_detector
from tests.support.real_data import SPIN_EXAMPLE

REAL = SPIN_EXAMPLE


def _rate(fn: Callable[[], object], n_images: int, repeats: int) -> float:
    """Images per second of ``fn`` (which processes ``n_images``), best of ``repeats``."""
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n_images / best


def _photos() -> list[tuple[np.ndarray, np.ndarray]]:
    grace = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return [
        (skimage.data.astronaut(), np.array([[40, 0, 440, 512.0]])),
        (np.ascontiguousarray(matplotlib.image.imread(grace)), np.array([[0, 0, 512, 600.0]])),
        (np.repeat(skimage.data.camera()[..., None], 3, 2), np.array([[20, 60, 400, 452.0]])),
    ]


@pytest.mark.benchmark
def test_bench_mediapipe():
    from mediapipe.python.solutions import pose

    photos = _photos()
    with (
        create_detector("mediapipe") as detector,
        pose.Pose(static_image_mode=True, model_complexity=1) as pose_only,
    ):
        full = _rate(lambda: [detector.detect(im, b) for im, b in photos], len(photos), 5)
        base = _rate(lambda: [pose_only.process(im) for im, _ in photos], len(photos), 5)
    print(
        f"\nmediapipe detector: {full:.1f} images/s (1 person each); baseline pose-only "
        f"{base:.1f} images/s; detector/baseline speed ratio {full / base:.2f}"
    )


@pytest.mark.benchmark
def test_bench_openpose_json(tmp_path):
    shutil.copy(REAL / "im1010_openpose.json", tmp_path / "im1010_openpose.json")
    image = np.ascontiguousarray(cv2.imread(str(REAL / "im1010.jpg"))[..., ::-1])
    box = np.array([json.loads((REAL / "im1010_bbox.json").read_text())["bbox"]], float)
    detector = create_detector("openpose-json", folder=tmp_path)
    path = tmp_path / "im1010_openpose.json"
    n = 200
    reader = _rate(
        lambda: [detector.detect(image, box, image_id="im1010.jpg") for _ in range(n)], n, 3
    )
    base = _rate(lambda: [json.loads(path.read_text()) for _ in range(n)], n, 3)
    print(
        f"\nopenpose-json: {reader:.0f} images/s; baseline json.loads {base:.0f} files/s; "
        f"reader/baseline speed ratio {reader / base:.2f}"
    )
