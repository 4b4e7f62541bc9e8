"""`furpe-label run --openpose DIR`: the files' keypoints are used (unless --detector says
otherwise), the run says which detector it used, and a person the file lists with only
low-confidence body keypoints reaches FuRPE's step 1 instead of being dropped before it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.support.openpose_files import write_malformed
from tests.support.pipeline_support import audit_frame, run_cli, store_arrays
from tests.support.real_data import SPIN_EXAMPLE

pytestmark = pytest.mark.slow

FAINT_CONF = 0.1
"""FuRPE's step-1 body threshold (body keypoints count at conf >= 0.1), below the 0.2 the
person box rule asks for first."""


def _spin_body() -> np.ndarray:
    """(25, 3) the real OpenPose 1.2 body keypoints of SPIN's im1010.jpg (pixels, conf)."""
    people = json.loads((SPIN_EXAMPLE / "im1010_openpose.json").read_text())["people"]
    return np.asarray(people[0]["pose_keypoints_2d"], np.float64).reshape(25, 3)


def _faint_person_file(path: Path, count: int) -> None:
    """An OpenPose 1.x JSON file (OpenPose's own layout) listing one person: the first ``count``
    detected body keypoints of im1010.jpg at confidence 0.1, everything else at (0, 0, 0)."""
    body = _spin_body()
    faint = np.zeros_like(body)
    detected = np.flatnonzero(body[:, 2] > 0)[:count]
    assert len(detected) == count
    faint[detected, :2] = body[detected, :2]
    faint[detected, 2] = FAINT_CONF
    person = {
        "person_id": [-1],
        "pose_keypoints_2d": faint.reshape(-1).tolist(),
        "face_keypoints_2d": [0.0] * 70 * 3,
        "hand_left_keypoints_2d": [0.0] * 21 * 3,
        "hand_right_keypoints_2d": [0.0] * 21 * 3,
        "pose_keypoints_3d": [],
        "face_keypoints_3d": [],
        "hand_left_keypoints_3d": [],
        "hand_right_keypoints_3d": [],
    }
    path.write_text(json.dumps({"version": 1.3, "people": [person]}))


def _run(tmp_path: Path, keypoints: Path, *extra: str) -> tuple[Path, str]:
    from tests.support.doubles.official_checkpoints import write_experts_folder

    experts = write_experts_folder(tmp_path / "experts", seed=0)
    out = tmp_path / "run"
    code, output = run_cli(
        "run",
        "--dataset",
        "image-folder",
        "--root",
        str(tmp_path / "images"),
        "--openpose",
        str(keypoints),
        *extra,
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
    return out, output


def _by_image(frame) -> dict[str, object]:
    names = frame["image_path"].map(lambda p: Path(p).name)
    return {name: frame[names == name].iloc[0] for name in names}


def test_faint_openpose_people_reach_step_1_with_the_implied_detector(tmp_path):
    images, keypoints = tmp_path / "images", tmp_path / "openpose"
    images.mkdir()
    keypoints.mkdir()
    for name, count in (("twelve", 12), ("eleven", 11)):
        shutil.copy(SPIN_EXAMPLE / "im1010.jpg", images / f"{name}.jpg")
        _faint_person_file(keypoints / f"{name}_keypoints.json", count)
    out, output = _run(tmp_path, keypoints)  # no --detector: --openpose implies openpose-json
    assert "keypoint detector: openpose-json (--openpose)" in output
    info = json.loads((out / "run.json").read_text())
    assert info["config"]["detector"] == "openpose-json"
    assert info["detector"].startswith("openpose-json")
    rows = _by_image(audit_frame(out))
    twelve, eleven = rows["twelve.jpg"], rows["eleven.jpg"]
    # the file's keypoints (not a detector's) were scored: exactly its 12 / 11 body keypoints
    assert int(twelve["n_confident_kp"]) == 12 and int(twelve["n_confident_body"]) == 12
    assert int(eleven["n_confident_kp"]) == 11
    # 12 at 0.1: listed by the file, kept by step 1, so the row gets past step 1's decision
    assert twelve["drop_reason"] not in ("no_person_in_box", "few_confident_keypoints")
    assert twelve["drop_stage"] not in ("input", "keypoints"), twelve["drop_reason"]
    # 11 at 0.1: step 1 drops it, with step 1's reason
    assert eleven["drop_reason"] == "few_confident_keypoints"
    assert eleven["drop_stage"] == "keypoints" and eleven["drop_step"] == 1
    stored = store_arrays(out)["keypoints2d"][int(twelve["sample_idx"])]
    assert np.allclose(stored[:25, 2][stored[:25, 2] > 0], FAINT_CONF)


def test_an_explicit_detector_overrides_the_one_openpose_implies(tmp_path):
    images, keypoints = tmp_path / "images", tmp_path / "openpose"
    images.mkdir()
    keypoints.mkdir()
    shutil.copy(SPIN_EXAMPLE / "im1010.jpg", images / "im1010.jpg")
    shutil.copy(SPIN_EXAMPLE / "im1010_openpose.json", keypoints / "im1010_keypoints.json")
    out, output = _run(tmp_path, keypoints, "--detector", "mediapipe")
    assert "keypoint detector: mediapipe (--detector)" in output
    info = json.loads((out / "run.json").read_text())
    assert info["config"]["detector"] == "mediapipe" and info["detector"].startswith("mediapipe")
    (row,) = _by_image(audit_frame(out)).values()
    assert row["drop_reason"] not in ("no_person_in_box", "keypoints_file_missing")
    stored = store_arrays(out)["keypoints2d"][int(row["sample_idx"])]
    # MediaPipe's keypoints, not the file's
    assert (stored[:25, 2] > 0).sum() >= 12
    assert not np.allclose(stored[:25], _spin_body(), atol=1e-3)


def test_malformed_openpose_files_are_named_rows_and_the_run_goes_on(tmp_path):
    images, keypoints = tmp_path / "images", tmp_path / "openpose"
    images.mkdir()
    written = write_malformed(keypoints)
    for name in [*written, "good"]:
        shutil.copy(SPIN_EXAMPLE / "im1010.jpg", images / f"{name}.jpg")
    shutil.copy(SPIN_EXAMPLE / "im1010_openpose.json", keypoints / "good_keypoints.json")
    out, _ = _run(tmp_path, keypoints)
    rows = _by_image(audit_frame(out))
    assert rows["good.jpg"]["drop_reason"] != "keypoints_file_invalid"
    for name, (path, problem) in written.items():
        row = rows[f"{name}.jpg"]
        assert row["drop_reason"] == "keypoints_file_invalid", (name, row["drop_reason"])
        assert str(path) in row["drop_detail"] and problem in row["drop_detail"]
