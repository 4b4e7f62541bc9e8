"""Where the real test inputs are: ``tests/data`` inside the repository (see its README).

The small real files the tests need ship with the repository, each with its licence, so a clone
alone passes. ``FURPE_REAL_DATA`` points the tests at another folder with the same layout.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.paths import DATA_DIR

SHIPPED = DATA_DIR
"""The copies committed under ``tests/data``."""

REAL_DATA = Path(os.environ.get("FURPE_REAL_DATA") or SHIPPED)
SPIN_EXAMPLE = REAL_DATA / "spin_example"
"""SPIN's example: ``im1010.jpg``, its OpenPose JSON and person box."""
OPENCV_SAMPLES = REAL_DATA / "opencv_samples"
"""OpenCV sample photos: ``messi5.jpg``, ``basketball1.png``, ``basketball2.png``; and 12 frames
of its street video ``vtest.avi``: ``vtest_crop12.mp4``."""
