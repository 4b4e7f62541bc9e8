"""Other inputs of `furpe-label run`: the no-download demo (`samples`, keypoint fitters,
synthetic models, said loudly), a video with an unreadable frame, OpenPose JSON files, and the
SLURM job script of --dry-run. The demo's and the video's console output is checked too: it
fits on one screen, and library logs go to OUT/logs/ (--verbose: the console too)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from furpe_label.pipeline.decode import decode_video_frames
from tests.support.pipeline_support import audit_frame, run_cli, store_arrays
from tests.support.real_data import OPENCV_SAMPLES, SPIN_EXAMPLE

pytestmark = pytest.mark.slow


def test_demo_on_the_shipped_photos_with_fitting_experts(tmp_path):
    out = tmp_path / "demo"
    code, output = run_cli(
        "run",
        "--dataset",
        "samples",
        "--out",
        str(out),
        "--executor",
        "inline",
        "--fitting-iterations",
        "8",
    )
    assert code == 0, output
    assert "SYNTHETIC BODY MODELS" in output
    _assert_one_screen(output)
    assert re.search(r"^labelling: \d+/\d+ samples \(100 %\)", output, re.MULTILINE), output
    assert re.search(r"^manifest: \d+ person instances from 7 images$", output, re.MULTILINE)
    driver_log = (out / "logs" / "driver.log").read_text()
    assert "manifest: " in driver_log and "furpe_label." in driver_log
    frame = audit_frame(out)
    assert len(frame) >= 3 and (frame["drop_stage"] == "kept").any(), frame["drop_reason"].tolist()
    info = (out / "run.json").read_text()
    assert '"synthetic": true' in info and "fit-smpl" in info
    arrays = store_arrays(out)
    kept = arrays["valid"]
    assert np.isfinite(arrays["betas"][kept]).all()
    assert np.isnan(arrays["feature_body"][kept].astype(np.float32)).all()  # fitters: no feature


LIBRARY_LINES = re.compile(
    r"^(W0000|I0000|INFO |WARNING |INFO: |WARNING: )|distributed\.|8787", re.MULTILINE
)
"""Lines of libraries (glog / TFLite, logging records, dask) that belong in OUT/logs/."""


def _assert_one_screen(output: str) -> None:
    """The console of a small run: <= 25 lines, the banner once, no redraws, no library lines."""
    assert len(output.splitlines()) <= 25, output
    assert output.count("SYNTHETIC BODY MODELS") == 1, output
    assert "\r" not in output, output  # not a terminal: plain lines, no redraws
    assert not LIBRARY_LINES.search(output), output


def _video(path: Path, frames: int = 4) -> Path:
    """A short clip of a real photo of a person (SPIN's example), moving right by 4 px/frame."""
    image = cv2.imread(str(SPIN_EXAMPLE / "im1010.jpg"))
    height, width = image.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (width, height))
    for k in range(frames):
        writer.write(np.roll(image, 4 * k, axis=1))
    writer.release()
    return path


def test_video_frames_are_samples_with_sequence_and_frame_ids(tmp_path):
    from tests.support.doubles.official_checkpoints import write_experts_folder

    video = _video(tmp_path / "clip.avi")
    assert len(dict(decode_video_frames(video, range(4)))) == 4
    experts = write_experts_folder(tmp_path / "experts", seed=0)
    out = tmp_path / "run"
    code, output = run_cli(
        "run",
        "--dataset",
        "video",
        "--root",
        str(video),
        "--out",
        str(out),
        "--models",
        "synthetic",
        "--experts",
        str(experts),
        "--executor",
        "inline",
        "--shard-size",
        "2",
        "--verbose",
    )
    assert code == 0, output
    # --verbose: the library records are shown as well as written to OUT/logs/driver.log
    assert re.search(r"^INFO furpe_label\.\S+: manifest: ", output, re.MULTILINE), output
    assert "INFO furpe_label" in (out / "logs" / "driver.log").read_text()
    frame = audit_frame(out)
    assert frame["frame"].dropna().astype(int).tolist() == sorted(
        frame["frame"].dropna().astype(int).tolist()
    )
    assert set(frame["frame"].dropna().astype(int)) == {0, 1, 2, 3}
    assert frame["sequence"].notna().all()
    assert frame["image_path"].str.contains("clip.avi#").all()


def test_local_cluster_run_writes_worker_logs_and_keeps_the_console_short(tmp_path):
    """Two LocalCluster worker processes (a real `furpe-label` process, stdout piped as in a
    SLURM log): the glog lines of MediaPipe in the workers go to their log files."""
    video = _video(tmp_path / "clip.avi")
    out = tmp_path / "run"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "furpe_label.workflows.cli",
            "run",
            "--dataset",
            "video",
            "--root",
            str(video),
            "--out",
            str(out),
            "--models",
            "synthetic",
            "--workers",
            "2",
            "--shard-size",
            "2",
            "--fitting-iterations",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    _assert_one_screen(output)
    assert "on 2 Dask worker(s)" in output, output
    workers = sorted((out / "logs").glob("worker-*.log"))
    assert workers, list((out / "logs").iterdir())
    worker_text = "".join(path.read_text() for path in workers)
    assert "SYNTHETIC stand-in model" in worker_text  # the workers' Python records
    assert re.search(r"^(W0000|I0000|INFO: Created TensorFlow Lite)", worker_text, re.MULTILINE)
    assert "distributed.scheduler" in (out / "logs" / "driver.log").read_text()


def test_openpose_json_keypoints_drive_the_run(tmp_path):
    from tests.support.doubles.official_checkpoints import write_experts_folder

    images, keypoints = tmp_path / "images", tmp_path / "openpose"
    images.mkdir()
    keypoints.mkdir()
    shutil.copy(SPIN_EXAMPLE / "im1010.jpg", images / "im1010.jpg")
    shutil.copy(SPIN_EXAMPLE / "im1010_openpose.json", keypoints / "im1010_keypoints.json")
    shutil.copy(OPENCV_SAMPLES / "messi5.jpg", images / "messi5.jpg")  # no JSON for this one
    experts = write_experts_folder(tmp_path / "experts", seed=0)
    out = tmp_path / "run"
    code, output = run_cli(
        "run",
        "--dataset",
        "image-folder",
        "--root",
        str(images),
        "--openpose",
        str(keypoints),
        "--detector",
        "openpose-json",
        "--out",
        str(out),
        "--models",
        "synthetic",
        "--experts",
        str(experts),
        "--executor",
        "inline",
    )
    assert code == 0, output
    frame = audit_frame(out)
    reasons = dict(
        zip(
            frame["image_path"].map(lambda p: Path(p).name),
            frame["drop_reason"].astype(str),
            strict=True,
        )
    )
    assert reasons["messi5.jpg"] == "keypoints_file_missing"
    assert frame[frame["image_path"].str.endswith("im1010.jpg")]["n_confident_kp"].iloc[0] >= 12


def test_slurm_dry_run_prints_the_job_script():
    pytest.importorskip("dask_jobqueue")
    code, output = run_cli(
        "run",
        "--dataset",
        "samples",
        "--out",
        "/tmp/unused",
        "--cluster",
        "slurm",
        "--queue",
        "gpu",
        "--account",
        "lab",
        "--gpus",
        "2",
        "--walltime",
        "02:00:00",
        "--dry-run",
    )
    assert code == 0, output
    assert "#SBATCH -p gpu" in output and "#SBATCH -A lab" in output
    assert "--gres=gpu:2" in output and "GPU=2" in output and "02:00:00" in output
    code, output = run_cli("run", "--dataset", "samples", "--out", "/tmp/unused", "--dry-run")
    assert code == 2 and "--cluster slurm" in output
