"""`furpe-label run` on annotations naming a file outside --root and boxes that are invalid
(issue 15 items 4 and 10): each such row ends in the audit with its named reason at the input
stage (never labelled, never given a detected box); ``--allow-outside-root`` is recorded in
run.json."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.support.pipeline_support import audit_frame, run_cli, spin_layout_h36m
from tests.support.real_data import SPIN_EXAMPLE

pytestmark = pytest.mark.slow


def test_outside_root_and_invalid_boxes_are_named_in_the_audit(tmp_path):
    root = spin_layout_h36m(tmp_path / "h36m")
    shutil.copy(SPIN_EXAMPLE / "im1010.jpg", tmp_path / "S7_Outside.54138969_000001.jpg")
    data = dict(np.load(root / "h36m_train.npz"))
    extra = {
        "../S7_Outside.54138969_000001.jpg": 1.0,  # a real photo of a person, beside the root
        "images/S1_Directions_1.54138969_000001.jpg": np.nan,  # same photo, NaN scale
        "images/S9_Walking.60457274_000006.jpg": 1e300,
    }
    data["imgname"] = np.concatenate([data["imgname"], list(extra)])
    data["scale"] = np.concatenate([data["scale"], list(extra.values())])
    for key in ("center", "part", "S", "openpose"):
        data[key] = np.concatenate([data[key], data[key][:1].repeat(3, 0)])
    data["scale"][-3] = data["scale"][0]
    np.savez(root / "h36m_train.npz", **data)
    out = tmp_path / "run"
    args = ["run", "--dataset", "h36m", "--root", str(root), "--out", str(out)]
    args += ["--models", "synthetic", "--detector", "ground-truth", "--executor", "inline"]
    code, output = run_cli(*args)
    assert code == 0, output
    frame = audit_frame(out)
    assert len(frame) == 5
    reasons = frame.set_index("image_path")["drop_reason"].astype(str)
    outside = reasons[reasons.index.str.contains("S7_Outside")]
    assert outside.tolist() == ["outside_root"]
    named = frame[frame["drop_reason"].astype(str) == "invalid_box"]
    assert len(named) == 2 and (named["drop_stage"].astype(str) == "input").all()
    assert named["drop_detail"].str.contains("h36m_train.npz: row").all()
    assert (frame["drop_stage"].astype(str) == "kept").sum() == 2
    config = json.loads((out / "run.json").read_text())["config"]
    assert config["allow_outside_root"] is False


def test_run_refuses_a_mistyped_annotation_file_with_one_sentence(tmp_path):
    from tests.support.dataset_fixtures import write_h36m_json

    write_h36m_json(tmp_path / "h36m" / "annotations")
    data_file = tmp_path / "h36m" / "annotations" / "Human36M_subject1_data.json"
    data = json.loads(data_file.read_text())
    data["images"][1]["frame_idx"] = "abc"
    data_file.write_text(json.dumps(data))
    args = ["run", "--dataset", "h36m", "--root", str(tmp_path / "h36m")]
    args += ["--out", str(tmp_path / "out"), "--models", "synthetic", "--executor", "inline"]
    code, output = run_cli(*args)
    assert code == 1 and "Traceback" not in output
    assert (
        f"{data_file}: expected an integer frame_idx at images[1], image 1, got a string" in output
    )
