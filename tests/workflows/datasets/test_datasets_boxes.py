"""Issue 15 item 10: a box the dataset gives that is not finite, has no area or is absurd gets
``invalid_box`` (detail: file, row, values) and a null box, and the person pre-pass leaves it
alone (never replaced by a detected box). Boxes the dataset does not give are still found."""

from __future__ import annotations

import json

import numpy as np
import pytest

from furpe_label.pipeline import prepass_tasks
from furpe_label.pipeline.people_prepass import expand_people
from furpe_label.storage.manifest import column_array
from furpe_label.workflows.datasets import ADAPTERS
from furpe_label.workflows.datasets.boxes import MAX_BOX_PX, box_problems
from tests.support.dataset_fixtures import (
    write_coco_wholebody,
    write_h36m_json,
    write_humandata_npz,
    write_image,
    write_spin_npz,
)
from tests.support.dataset_fixtures_fits import write_eft, write_ochuman, write_posetrack


def _reason_rows(table) -> dict[int, str]:
    """sample_idx -> input_detail of the invalid_box rows."""
    return {
        row: detail
        for row, (why, detail) in enumerate(
            zip(
                table.column("input_reason").to_pylist(),
                table.column("input_detail").to_pylist(),
                strict=True,
            )
        )
        if why == "invalid_box"
    }


def test_box_problems_names_each_kind_of_bad_box():
    boxes = [
        [0, 0, 10, 20],
        [np.nan, 0, 10, 20],
        [0, 0, np.inf, 20],
        [0, 0, 1e300, 1e300],
        [0, 0, -5, 20],
        [0, 0, 10, 0],
        [0, 0, 2 * MAX_BOX_PX, 10],
    ]
    assert box_problems(np.array(boxes)) == [
        None,
        "is not finite",
        "is not finite",
        "is not finite",
        "has no area (width or height <= 0)",
        "has no area (width or height <= 0)",
        "is absurdly large (a value beyond 1e+06 px)",
    ]


@pytest.mark.parametrize(
    ("row", "key", "value"),
    [(0, "scale", np.nan), (1, "scale", np.inf), (2, "scale", 1e300), (0, "center", np.nan)],
)
def test_spin_npz_bad_scale_or_centre_is_invalid_box_and_never_redetected(
    tmp_path, monkeypatch, row, key, value
):
    data = write_spin_npz(tmp_path / "h36m_train.npz", np.random.default_rng(0))
    data[key] = data[key].copy()
    data[key][row] = value
    np.savez(tmp_path / "h36m_train.npz", **data)
    table = ADAPTERS["h36m"](root=tmp_path).build_manifest()
    named = _reason_rows(table)
    assert len(named) == 1
    (detail,) = named.values()
    assert f"h36m_train.npz: row {row} (center" in detail and "box [" in detail
    sample = next(iter(named))
    assert not column_array(table, "box_xywh")[1][sample]

    def no_detector(*_args, **_kwargs):
        raise AssertionError("the person pre-pass must not look for people of this row")

    monkeypatch.setattr(prepass_tasks, "find_people", no_detector)
    expanded = expand_people(table, progress=False)
    assert expanded.num_rows == table.num_rows
    assert expanded.column("input_reason").to_pylist() == table.column("input_reason").to_pylist()


def _coco_with_box(tmp_path, box):
    path = tmp_path / "annotations" / "coco_wholebody_val_v1.0.json"
    person = write_coco_wholebody(path)
    data = json.loads(path.read_text())
    data["annotations"] = [person, {**person, "id": 12, "bbox": box}, {**person, "id": 13}]
    del data["annotations"][2]["bbox"]  # no box given: people found at run time
    path.write_text(json.dumps(data).replace('"NaN"', "NaN").replace('"Inf"', "Infinity"))
    return ADAPTERS["coco-wholebody"](root=tmp_path, annotations=path).build_manifest()


@pytest.mark.parametrize(
    "box", [["NaN", 0, 10, 10], [0, 0, "Inf", 10], [0, 0, -3, 10], [0, 0, 1e300, 1e300]]
)
def test_coco_given_bad_bbox_is_invalid_box_missing_bbox_is_not(tmp_path, box):
    table = _coco_with_box(tmp_path, box)
    named = _reason_rows(table)
    assert len(named) == 1 and "annotations[1].bbox: box [" in next(iter(named.values()))
    valid = column_array(table, "box_xywh")[1]
    assert valid.sum() == 1  # the good one; the one without bbox is left to the run
    assert table.column("input_reason").null_count == 2


def test_h36m_json_infinity_bbox(tmp_path):
    write_h36m_json(tmp_path / "annotations")
    data_file = tmp_path / "annotations" / "Human36M_subject1_data.json"
    data = json.loads(data_file.read_text())
    data["annotations"][1]["bbox"] = [0, 0, "Inf", 10]
    data_file.write_text(json.dumps(data).replace('"Inf"', "Infinity"))
    named = _reason_rows(ADAPTERS["h36m"](root=tmp_path).build_manifest())
    assert list(named) == [1] and "annotations[1].bbox" in named[1]


def test_humandata_flagged_box_with_nan_is_invalid_unflagged_is_found(tmp_path):
    fixture = write_humandata_npz(tmp_path / "h36m_train.npz", np.random.default_rng(0))
    keys = [k for k in fixture if k not in ("keypoints3d_full", "mask")]
    data = {k: fixture[k] for k in keys}
    data["bbox_xywh"] = np.array([[10.0, 20.0, np.nan, 400.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    np.savez_compressed(tmp_path / "h36m_train.npz", **data)
    table = ADAPTERS["h36m"](root=tmp_path).build_manifest()
    named = _reason_rows(table)
    assert len(named) == 1 and "bbox_xywh row 0" in next(iter(named.values()))


def test_eft_nan_scale_ochuman_inverted_corners_posetrack_zero_box(tmp_path):
    eft = write_eft(tmp_path / "eft" / "MPII_ver01.json", np.random.default_rng(0))
    eft["fits"][1]["bbox_scale"] = "NaN"
    text = json.dumps({"ver": 1, "data": eft["fits"]}).replace('"NaN"', "NaN")
    (tmp_path / "eft" / "MPII_ver01.json").write_text(text)
    named = _reason_rows(ADAPTERS["eft"](root=tmp_path / "eft").build_manifest())
    assert len(named) == 1 and "data[1] (bbox_center" in next(iter(named.values()))

    data = write_ochuman(tmp_path / "och" / "ochuman.json")
    data["images"][0]["annotations"][1]["bbox"] = [300.0, 30.0, 200.0, 330.0]  # x2 < x1
    (tmp_path / "och" / "ochuman.json").write_text(json.dumps(data))
    named = _reason_rows(ADAPTERS["ochuman"](root=tmp_path / "och").build_manifest())
    assert len(named) == 1 and "has no area" in next(iter(named.values()))

    path = tmp_path / "pt" / "posetrack_data" / "train" / "000001_bonn_train.json"
    data = write_posetrack(path)
    data["annotations"][0]["bbox"] = [0.0, 0.0, 0.0, 0.0]
    path.write_text(json.dumps(data))
    named = _reason_rows(ADAPTERS["posetrack"](root=tmp_path / "pt").build_manifest())
    assert len(named) == 1


def test_image_folder_rows_still_get_detected_boxes(tmp_path):
    write_image(tmp_path / "a.png")
    table = ADAPTERS["image-folder"](root=tmp_path).build_manifest()
    assert table.column("input_reason").null_count == 1


def test_an_absurd_box_derived_from_keypoints_is_dropped_not_named(tmp_path):
    path = tmp_path / "posetrack_data" / "train" / "000001_bonn_train.json"
    data = write_posetrack(path)
    keypoints = np.asarray(data["annotations"][1]["keypoints"]).reshape(17, 3)
    keypoints[0, :2] = 1e10  # a labelled point far away: the box around them is absurd
    data["annotations"][1]["keypoints"] = keypoints.ravel().tolist()
    path.write_text(json.dumps(data))
    table = ADAPTERS["posetrack"](root=tmp_path).build_manifest()
    boxes, valid = column_array(table, "box_xywh")
    assert valid.sum() == 1 and table.column("input_reason").null_count == table.num_rows
    assert not box_problems(boxes[valid])[0]
