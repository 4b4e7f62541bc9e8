"""Other inputs of `furpe-label run`: the no-download demo (`samples`, keypoint fitters,
synthetic models, said loudly), a video with an unreadable frame, OpenPose JSON files, and the
SLURM job script of --dry-run."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from furpe_label.pipeline.decode import decode_video_frames
from tests.pipeline_support import audit_frame, run_cli, store_arrays
from tests.real_data import OPENCV_SAMPLES, SPIN_EXAMPLE

pytestmark = pytest.mark.slow


def test_demo_on_the_shipped_photos_with_fitting_experts(tmp_path):
    out = tmp_path / "demo"
    code, output = run_cli("run", "--dataset", "samples", "--out", str(out), "--executor",
                           "inline", "--fitting-iterations", "8")  # fmt: skip
    assert code == 0, output
    assert "SYNTHETIC BODY MODELS" in output
    frame = audit_frame(out)
    assert len(frame) >= 3 and (frame["drop_stage"] == "kept").any(), frame["drop_reason"].tolist()
    info = (out / "run.json").read_text()
    assert '"synthetic": true' in info and "fit-smpl" in info
    arrays = store_arrays(out)
    kept = arrays["valid"]
    assert np.isfinite(arrays["betas"][kept]).all()
    assert np.isnan(arrays["feature_body"][kept].astype(np.float32)).all()  # fitters: no feature


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
    from tests.doubles.official_checkpoints import write_experts_folder

    video = _video(tmp_path / "clip.avi")
    assert len(dict(decode_video_frames(video, range(4)))) == 4
    experts = write_experts_folder(tmp_path / "experts", seed=0)
    out = tmp_path / "run"
    code, output = run_cli("run", "--dataset", "video", "--root", str(video), "--out", str(out),
                           "--models", "synthetic", "--experts", str(experts),
                           "--executor", "inline", "--shard-size", "2")  # fmt: skip
    assert code == 0, output
    frame = audit_frame(out)
    assert frame["frame"].dropna().astype(int).tolist() == sorted(
        frame["frame"].dropna().astype(int).tolist()
    )
    assert set(frame["frame"].dropna().astype(int)) == {0, 1, 2, 3}
    assert frame["sequence"].notna().all()
    assert frame["image_path"].str.contains("clip.avi#").all()


def test_openpose_json_keypoints_drive_the_run(tmp_path):
    from tests.doubles.official_checkpoints import write_experts_folder

    images, keypoints = tmp_path / "images", tmp_path / "openpose"
    images.mkdir()
    keypoints.mkdir()
    shutil.copy(SPIN_EXAMPLE / "im1010.jpg", images / "im1010.jpg")
    shutil.copy(SPIN_EXAMPLE / "im1010_openpose.json", keypoints / "im1010_keypoints.json")
    shutil.copy(OPENCV_SAMPLES / "messi5.jpg", images / "messi5.jpg")  # no JSON for this one
    experts = write_experts_folder(tmp_path / "experts", seed=0)
    out = tmp_path / "run"
    code, output = run_cli("run", "--dataset", "image-folder", "--root", str(images),
                           "--openpose", str(keypoints), "--detector", "openpose-json",
                           "--out", str(out), "--models", "synthetic", "--experts",
                           str(experts), "--executor", "inline")  # fmt: skip
    assert code == 0, output
    frame = audit_frame(out)
    reasons = dict(zip(frame["image_path"].map(lambda p: Path(p).name),
                       frame["drop_reason"].astype(str), strict=True))  # fmt: skip
    assert reasons["messi5.jpg"] == "keypoints_file_missing"
    assert frame[frame["image_path"].str.endswith("im1010.jpg")]["n_confident_kp"].iloc[0] >= 12


def test_slurm_dry_run_prints_the_job_script():
    pytest.importorskip("dask_jobqueue")
    code, output = run_cli("run", "--dataset", "samples", "--out", "/tmp/unused",
                           "--cluster", "slurm", "--queue", "gpu", "--account", "lab",
                           "--gpus", "2", "--walltime", "02:00:00", "--dry-run")  # fmt: skip
    assert code == 0, output
    assert "#SBATCH -p gpu" in output and "#SBATCH -A lab" in output
    assert "--gres=gpu:2" in output and "GPU=2" in output and "02:00:00" in output
    code, output = run_cli("run", "--dataset", "samples", "--out", "/tmp/unused", "--dry-run")
    assert code == 2 and "--cluster slurm" in output
