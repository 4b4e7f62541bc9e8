"""Issue 15 items 11 and 15: duplicate image ids refuse the file (naming it and the id), and
annotation values of the wrong type or nesting too deep give one sentence naming the file
through `check` (exit 1), never a TypeError / AttributeError / RecursionError traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from furpe_label.workflows.datasets import ADAPTERS, DatasetError
from tests.support.dataset_fixtures import (
    write_coco_wholebody,
    write_h36m_json,
    write_humandata_npz,
)
from tests.support.dataset_fixtures_fits import write_ochuman, write_posetrack
from tests.support.pipeline_support import run_cli

COCO_FILE = "annotations/coco_wholebody_val_v1.0.json"
H36M_FILE = "annotations/Human36M_subject1_data.json"


def _coco(root: Path, change) -> Path:
    path = root / COCO_FILE
    write_coco_wholebody(path)
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def _h36m(root: Path, change) -> Path:
    write_h36m_json(root / "annotations")
    path = root / H36M_FILE
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def _set(where: str, key: str, value):
    def change(data):
        data[where][0][key] = value

    return change


def _check(dataset: str, root: Path, annotations: Path | None = None) -> str:
    args = ["check", "--dataset", dataset, "--root", str(root)]
    args += ["--annotations", str(annotations)] if annotations else []
    code, output = run_cli(*args)  # catch_exceptions=False: a traceback fails the test
    assert code == 1, output
    (line,) = [line for line in output.splitlines() if line.strip().startswith("error:")]
    return line


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        (
            "file_name int",
            _set("images", "file_name", 7),
            "file_name at images[0], image 1, got int",
        ),
        ("file_name null", _set("images", "file_name", None), "got null"),
        ("id a list", _set("images", "id", [1]), "integer or string id at images[0], got a list"),
        (
            "image_id a dict",
            _set("annotations", "image_id", {"a": 1}),
            "image_id at annotations[0]",
        ),
        ("images: [1, 2]", lambda d: d.update(images=[1, 2]), "an object at images[0], got int"),
        ("annotations null", lambda d: d.update(annotations=None), "a list at annotations"),
    ],
)
def test_coco_wrong_types_are_one_sentence(tmp_path, name, change, expected):
    path = _coco(tmp_path, change)
    line = _check("coco-wholebody", tmp_path, path)
    assert str(path) in line and expected in line, (name, line)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_set("images", "frame_idx", None), "an integer frame_idx at images[0], image 0, got null"),
        (_set("images", "frame_idx", "abc"), "an integer frame_idx at images[0], image 0"),
        (_set("images", "file_name", 3), "file_name at images[0], image 0, got int"),
        (_set("annotations", "image_id", {"x": 0}), "image_id at annotations[0], got an object"),
        (_set("images", "cam_idx", [1]), "cam_idx at images[0], image 0, got a list"),
    ],
)
def test_h36m_json_wrong_types_are_one_sentence(tmp_path, change, expected):
    path = _h36m(tmp_path, change)
    line = _check("h36m", tmp_path)
    assert str(path) in line and expected in line, line


def test_deep_nesting_is_one_sentence(tmp_path):
    path = tmp_path / COCO_FILE
    path.parent.mkdir(parents=True)
    path.write_text('{"images": ' + "[" * 200_000 + "]" * 200_000 + ', "annotations": []}')
    line = _check("coco-wholebody", tmp_path, path)
    assert str(path) in line and "nested too deeply" in line


def test_humandata_in_mat_a_dict_and_paths_not_strings(tmp_path):
    fixture = write_humandata_npz(tmp_path / "h36m_train.npz", np.random.default_rng(0))
    data = {k: v for k, v in fixture.items() if k not in ("keypoints3d_full", "mask")}
    data["cam_param"] = {("S9", "55011271"): {"in_mat": {"fx": 1}}}
    np.savez_compressed(tmp_path / "h36m_train.npz", **data)
    line = _check("h36m", tmp_path)
    assert "h36m_train.npz: cam_param[('S9', '55011271')].in_mat: not numeric" in line
    data = {k: v for k, v in fixture.items() if k not in ("keypoints3d_full", "mask")}
    data["image_path"] = np.array([1, None], dtype=object)
    np.savez_compressed(tmp_path / "h36m_train.npz", **data)
    line = _check("h36m", tmp_path)
    assert "h36m_train.npz: image_path[0]: expected a non-empty path string, got int" in line


@pytest.mark.parametrize(
    "dataset", ["coco-wholebody", "posetrack", "ochuman", "ochuman-native", "h36m"]
)
def test_duplicate_image_ids_refuse_the_file_naming_the_id(tmp_path, dataset):
    if dataset == "ochuman-native":
        path = tmp_path / "ochuman.json"
        data = write_ochuman(path)
        data["images"].append({**data["images"][0], "file_name": "other.jpg"})
        path.write_text(json.dumps(data))
        dataset, duplicate = "ochuman", "'005051'"
    elif dataset == "coco-wholebody":
        path = _coco(tmp_path, lambda d: d["images"].append({**d["images"][0], "file_name": "b"}))
        duplicate = 1
    elif dataset == "h36m":
        path = _h36m(tmp_path, lambda d: d["images"][1].update(id=0))
        duplicate = 0
    elif dataset == "posetrack":
        path = tmp_path / "posetrack_data" / "train" / "000001_bonn_train.json"
        data = write_posetrack(path)
        data["images"][1]["id"] = duplicate = data["images"][2]["id"]
        path.write_text(json.dumps(data))
    else:
        path = tmp_path / "ochuman_coco_format_val_range_0.00_1.00.json"
        images = [{"id": 5, "file_name": f"{i}.jpg"} for i in range(2)]
        ann = {"image_id": 5, "bbox": [0, 0, 10, 10], "keypoints": None}
        path.write_text(json.dumps({"images": images, "annotations": [ann]}))
        duplicate = 5
    with pytest.raises(DatasetError, match=rf"image id {duplicate} is used by both images\[\d"):
        ADAPTERS[dataset](root=tmp_path, annotations=path).build_manifest()
    line = _check(dataset, tmp_path, path)
    assert str(path) in line and f"image id {duplicate}" in line
