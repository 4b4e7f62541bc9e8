"""Fixtures shared by the end-to-end runs of tests/pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.pipeline_support import run_cli
from tests.support.real_data import OPENCV_SAMPLES


@pytest.fixture(scope="session")
def crop12_run(tmp_path_factory) -> Path:
    """OUT of one ``furpe-label run`` on ``vtest_crop12.mp4`` (12 real street-video frames):
    synthetic body models, inline, 4 fitting iterations, shards of 16 rows (several shards, so
    tracks and decisions cross shard bounds). Read it, never write to it."""
    out = tmp_path_factory.mktemp("crop12") / "run"
    code, output = run_cli(
        "run",
        "--dataset",
        "video",
        "--root",
        str(OPENCV_SAMPLES / "vtest_crop12.mp4"),
        "--out",
        str(out),
        "--models",
        "synthetic",
        "--executor",
        "inline",
        "--fitting-iterations",
        "4",
        "--shard-size",
        "16",
    )
    assert code == 0, output
    return out
