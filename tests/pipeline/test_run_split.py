"""The split run end to end (network experts with test-double weights, MediaPipe keypoints):
kill -9 between a shard's keypoint task and its expert task, then the same command, gives a
store identical to an uninterrupted split run (the intermediate kept, or redone when damaged);
1 and 2 Dask workers write identical stores; the unsplit run writes the same store; no
intermediate is left."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from furpe_label.pipeline.keypoint_files import KEYPOINTS_FOLDER
from tests.support.doubles.official_checkpoints import write_experts_folder
from tests.support.pipeline_support import audit_frame, store_arrays
from tests.support.real_data import OPENCV_SAMPLES, SPIN_EXAMPLE

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "furpe_label.workflows.cli"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    images = tmp_path_factory.mktemp("images")
    shutil.copy(SPIN_EXAMPLE / "im1010.jpg", images / "im1010.jpg")
    for name in ("messi5.jpg", "basketball1.png", "basketball2.png"):
        shutil.copy(OPENCV_SAMPLES / name, images / name)
    (images / "broken.jpg").write_text("not an image")
    return images, write_experts_folder(tmp_path_factory.mktemp("experts"), seed=0)


def _args(inputs: tuple[Path, Path], out: Path, *extra: str) -> list[str]:
    images, experts = inputs
    return [
        *CLI,
        *("run", "--dataset", "image-folder", "--root", str(images), "--out", str(out)),
        *("--models", "synthetic", "--experts", str(experts), "--shard-size", "2"),
        *(extra if "--no-split" in extra else ("--split", *extra)),
    ]


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "FURPE_CACHE": str(tmp / "cache"), "PYTHONUNBUFFERED": "1"}


def _run(args: list[str], tmp: Path) -> str:
    done = subprocess.run(args, env=_env(tmp), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def reference(tmp_path_factory, inputs) -> Path:
    """An uninterrupted split run in this process's way (inline)."""
    tmp = tmp_path_factory.mktemp("reference")
    output = _run(_args(inputs, tmp / "out", "--executor", "inline"), tmp)
    assert "split: keypoints on CPU slots, experts on GPU slots" in output
    return tmp / "out"


def _assert_identical(out: Path, reference: Path) -> None:
    """Every label array bit for bit; every audit column but the timings (and the file
    descriptor number PIL names in an unreadable file's detail)."""
    assert not (out / KEYPOINTS_FOLDER).exists()  # every intermediate removed
    got, want = store_arrays(out), store_arrays(reference)
    assert sorted(got) == sorted(want)
    for name, value in want.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)
    got_audit, want_audit = audit_frame(out), audit_frame(reference)
    for frame in (got_audit, want_audit):
        frame["drop_detail"] = frame["drop_detail"].map(
            lambda d: d if d is None else re.sub(r"name=\d+", "name=N", d)
        )
        frame.drop(columns=["seconds_temporal"], inplace=True)
    assert got_audit.astype(str).equals(want_audit.astype(str))


@pytest.mark.parametrize("damage", [False, True], ids=["intermediate-kept", "intermediate-damaged"])
def test_kill_9_between_the_two_tasks_then_rerun_is_identical(tmp_path, inputs, reference, damage):
    out = tmp_path / "out"
    args = _args(inputs, out, "--executor", "inline")
    process = subprocess.Popen(
        args,
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    folder = out / KEYPOINTS_FOLDER
    deadline = time.monotonic() + 600
    while not list(folder.glob("*.npz")) and time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # a shard's keypoints stored, its experts running
    process.wait(30)
    left = sorted(folder.glob("*.npz"))
    assert left, "no intermediate was left by the killed run"
    if damage:
        data = bytearray(left[0].read_bytes())
        data[len(data) // 2] ^= 0xFF
        left[0].write_bytes(bytes(data))
    output = _run(args, tmp_path)
    reused = "keep the keypoints a killed run left" in output
    assert reused != damage
    _assert_identical(out, reference)


def test_one_and_two_dask_workers_write_identical_stores(tmp_path, inputs):
    for workers in ("1", "2"):
        output = _run(_args(inputs, tmp_path / workers, "--workers", workers), tmp_path)
        assert f"on {workers} Dask worker(s), split" in output
    _assert_identical(tmp_path / "2", tmp_path / "1")


def test_split_and_unsplit_runs_write_identical_stores(tmp_path, inputs, reference):
    """The expert task decodes the same chunks and gives the experts the same batches."""
    output = _run(_args(inputs, tmp_path / "out", "--executor", "inline", "--no-split"), tmp_path)
    assert "split:" not in output
    _assert_identical(tmp_path / "out", reference)
