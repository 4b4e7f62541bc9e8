"""`furpe-label export --format humandata`: the npz read back as mmhuman3d's HumanData.load and
SMPLer-X's loader read it (``smplerx/`` files), equal to the store; ``--all`` with masks;
refusals.

One keypoint-fitting run on SPIN's example photo (face and right hand suppressed, the left
hand kept) and an unreadable file (a dropped row)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from furpe_label.experts.vocabulary import Part
from furpe_label.storage.exports.humandata import SMPLERX_FOLDER, SMPLERX_POSE_KEYS
from furpe_label.storage.exports.humandata_keypoints import (
    OPENPOSE137_TO_HUMAN_DATA,
    human_data_mask,
)
from furpe_label.storage.manifest import read_manifest
from furpe_label.storage.schema import SMPLX_PARAMS
from tests.storage.exports.peer_keypoint_tables import SMPLX_137_MAPPING
from tests.support import peer_loaders
from tests.support.export_readers import read_humandata, smplerx_part_valid
from tests.support.export_support import (
    fitting_run,
    kept_store_rows,
    photo_folder,
    synthetic_smplx_file,
)
from tests.support.pipeline_support import run_cli

pytestmark = pytest.mark.slow
BOXES = {
    Part.BODY: "bbox_xywh",
    Part.FACE: "face_bbox_xywh",
    Part.LEFT_HAND: "lhand_bbox_xywh",
    Part.RIGHT_HAND: "rhand_bbox_xywh",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("humandata")
    return fitting_run(photo_folder(base / "images"), base / "run")


def _export(out: Path, dest: Path, *extra: str) -> tuple[Path, dict]:
    code, output = run_cli(
        "export",
        str(out),
        "--format",
        "humandata",
        "--dest",
        str(dest),
        "--dataset-name",
        "demo",
        *extra,
    )
    assert code == 0, output
    return dest, read_humandata(dest / "demo.npz")


@pytest.fixture(scope="module")
def kept_export(run, tmp_path_factory):
    return _export(run, tmp_path_factory.mktemp("hd-kept") / "data")


@pytest.fixture(scope="module")
def all_export(run, tmp_path_factory):
    return _export(run, tmp_path_factory.mktemp("hd-all") / "data", "--all")


def test_layout_and_parameters_equal_the_store(run, kept_export):
    kept, arrays = kept_store_rows(run)
    _, data = kept_export
    assert data["__data_len__"] == len(kept) >= 1 and "__temporal_len__" not in data
    assert data["__keypoints_compressed__"] is False and data["__key_strict__"] is False
    images = read_manifest(run, columns=["image_path"]).column("image_path").to_pylist()
    assert data["image_path"].tolist() == [images[r] for r in kept]
    assert data["misc"]["flat_hand_mean"] is True and data["misc"]["synthetic_body_models"]
    assert set(data["smplx"]) == set(SMPLX_PARAMS)
    for name in SMPLX_PARAMS:
        np.testing.assert_array_equal(data["smplx"][name], arrays[name][kept], err_msg=name)
    assert data["smplx"]["body_pose"].shape == (len(kept), 21, 3)
    np.testing.assert_array_equal(data["meta"]["sample_idx"], kept)
    np.testing.assert_array_equal(data["meta"]["weak_perspective_camera"], arrays["camera"][kept])


def test_boxes_keypoints_and_part_marks(run, kept_export):
    kept, arrays = kept_store_rows(run)
    dest, data = kept_export
    valid = arrays["part_valid"][kept]
    for part, key in BOXES.items():
        assert data[key].shape == (len(kept), 5)
        boxes = arrays[f"box_{part.value}"][kept]
        present = np.isfinite(boxes).all(axis=1)
        np.testing.assert_array_equal(data[key][present, :4], boxes[present])
        np.testing.assert_array_equal(data[key][:, 4], (valid[:, part.column] & present))
    assert data["keypoints2d_convention"] == "human_data"
    np.testing.assert_array_equal(data["keypoints2d_mask"], human_data_mask())
    store = arrays["keypoints2d"][kept]
    for part in Part:
        source = np.arange(137)[part.keypoint_slice]
        source = source[OPENPOSE137_TO_HUMAN_DATA[source] >= 0]
        written = data["keypoints2d"][:, OPENPOSE137_TO_HUMAN_DATA[source]]
        np.testing.assert_array_equal(written[..., :2], np.nan_to_num(store[:, source, :2]))
        usable = valid[:, part.column, None]
        np.testing.assert_array_equal(written[..., 2], np.nan_to_num(store[:, source, 2]) * usable)
    assert not valid.all(), "the run has a suppressed part"
    files = sorted((dest / SMPLERX_FOLDER).iterdir())
    assert files, "SMPLer-X files"
    seen = []
    model = np.load(synthetic_smplx_file())  # the run's SMPL-X file
    means = {"left": model["hands_meanl"].reshape(15, 3), "right": model["hands_meanr"]}
    for path in files:
        part_file = read_humandata(path)
        marks = smplerx_part_valid(part_file, SMPLX_137_MAPPING)
        rows = np.searchsorted(kept, part_file["meta"]["sample_idx"])
        seen += rows.tolist()
        assert part_file["misc"]["flat_hand_mean"] is False  # as SMPLer-X's SMPL-X layer
        for side, mean in means.items():
            key = f"{side}_hand_pose"
            if key in part_file["smplx"]:
                absolute = part_file["smplx"][key] + np.reshape(mean, (15, 3))
                np.testing.assert_allclose(absolute, arrays[key][kept][rows], atol=1e-6)
        for part, keys in SMPLERX_POSE_KEYS.items():
            name = {Part.FACE: "face", Part.LEFT_HAND: "lhand", Part.RIGHT_HAND: "rhand"}[part]
            usable = valid[rows, part.column]
            assert (usable == usable[0]).all(), path.name
            np.testing.assert_array_equal(marks[f"{name}_valid"], usable, err_msg=path.name)
            assert all((key in part_file["smplx"]) == usable[0] for key in keys)
            np.testing.assert_array_equal(
                marks[f"{name}_bbox_valid"], part_file[BOXES[part]][:, 4] > 0
            )
    assert sorted(seen) == np.flatnonzero(valid[:, Part.BODY.column]).tolist()
    notes = json.loads((dest / "export.json").read_text())["notes"]
    assert any("suppressed part supervises no pose" in note for note in notes)
    for row, path in enumerate(data["image_path"]):
        width, height = Image.open(path).size
        assert (data["meta"]["height"][row], data["meta"]["width"][row]) == (height, width)


def test_all_rows_with_masks(run, all_export):
    _, arrays = kept_store_rows(run)
    _, data = all_export
    count = len(arrays["valid"])
    assert data["__data_len__"] == count
    np.testing.assert_array_equal(data["meta"]["valid"], arrays["valid"])
    dropped = ~arrays["valid"]
    for key in BOXES.values():
        assert (data[key][dropped, 4] == 0).all()
    assert np.isnan(data["smplx"]["global_orient"][dropped]).all()
    unreadable = [i for i, p in enumerate(data["image_path"]) if p.endswith("zero_bytes.jpg")]
    assert data["meta"]["height"][unreadable].tolist() == [-1]


def test_unfinished_run_and_unknown_names_are_refused(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    next((copy / "complete").iterdir()).unlink()
    code, output = run_cli(
        "export", str(copy), "--format", "humandata", "--dest", str(tmp_path / "a")
    )
    assert code != 0 and "not a finished run" in output and "Traceback" not in output
    code, output = run_cli(
        "export",
        str(run),
        "--format",
        "humandata",
        "--dest",
        str(tmp_path / "b"),
        "--dataset-name",
        "../up",
    )
    assert code != 0 and "dataset name" in output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# ---- the peers' own loaders (mmhuman3d installed or MMHUMAN3D_REPO; SMPLERX_REPO) ----


def test_mmhuman3d_human_image_dataset_loads_the_export(kept_export):
    package = peer_loaders.mmhuman3d_package()
    dest, data = kept_export
    with peer_loaders.mmhuman3d(package) as mm:
        loaded = mm["HumanData"].fromfile(str(dest / "demo.npz"))
        assert loaded.data_len == len(data["image_path"])
        points, mask = mm["convert_kps"](
            loaded["keypoints2d"], src="human_data", dst="smplx", mask=loaded["keypoints2d_mask"]
        )
        np.testing.assert_array_equal(points, data["keypoints2d"][:, :144])
        np.testing.assert_array_equal(mask, human_data_mask()[:144])
        dataset = SimpleNamespace(
            ann_file=str(dest / "demo.npz"),
            cache_data_path=None,
            convention="smplx",
            num_keypoints=mm["get_keypoint_num"]("smplx"),
            get_annotation_file=lambda: None,
            data_prefix=str(dest),
            dataset_name="demo",
        )
        mm["HumanImageDataset"].load_annotations(dataset)
        assert dataset.num_data == len(data["image_path"])
        info = mm["HumanImageDataset"].prepare_raw_data(dataset, 0)
        np.testing.assert_array_equal(info["keypoints2d"], data["keypoints2d"][0, :144])
        np.testing.assert_array_equal(info["bbox_xywh"], data["bbox_xywh"][0])


def test_smplerx_human_dataset_loads_the_part_files(run, kept_export):
    repo = peer_loaders.checkout("SMPLERX_REPO")
    kept, arrays = kept_store_rows(run)
    dest, _ = kept_export
    valid = arrays["part_valid"][kept]
    with peer_loaders.smplerx(repo) as human_dataset:
        for path in sorted((dest / SMPLERX_FOLDER).iterdir()):
            part_file = read_humandata(path)
            loader = human_dataset(transform=None, data_split="train")
            loader.annot_path, loader.img_dir = str(path), str(dest)
            datalist = loader.load_data()
            rows = np.searchsorted(kept, part_file["meta"]["sample_idx"])
            assert len(datalist) == len(rows), path.name
            for position, (item, row) in enumerate(zip(datalist, rows, strict=True)):
                param = item["smplx_param"]
                assert param["lhand_valid"] == valid[row, Part.LEFT_HAND.column]
                assert param["rhand_valid"] == valid[row, Part.RIGHT_HAND.column]
                assert param["face_valid"] == valid[row, Part.FACE.column]
                for part, name in ((Part.LEFT_HAND, "lhand"), (Part.RIGHT_HAND, "rhand")):
                    assert (item[f"{name}_bbox"] is not None) <= valid[row, part.column]
                joint_valid = item["joint_valid"][:, 0]
                assert joint_valid[25:45].all() == valid[row, Part.LEFT_HAND.column]
                assert joint_valid[45:65].any() == valid[row, Part.RIGHT_HAND.column]
                assert joint_valid[69:137].any() == valid[row, Part.FACE.column]
                points = part_file["keypoints2d"][position, list(SMPLX_137_MAPPING), :2]
                np.testing.assert_array_equal(item["joint_img"], points)
