"""JSON-layout adapters: Human3.6M trio, COCO-WholeBody, OCHuman, PoseTrack."""

from __future__ import annotations

import json

import numpy as np
import pytest

from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES
from furpe_label.storage.manifest import column_array
from furpe_label.workflows.datasets import ADAPTERS, DatasetError
from tests.support.dataset_fixtures import write_coco_wholebody, write_h36m_json
from tests.support.dataset_fixtures_fits import write_ochuman, write_posetrack

OP = KEYPOINT_NAMES["openpose137"]


def test_h36m_json_trio_gives_real_intrinsics_and_camera_joints(tmp_path):
    fixture = write_h36m_json(tmp_path / "annotations", subject=1)
    table = ADAPTERS["h36m"](root=tmp_path).build_manifest()
    assert table.num_rows == 2
    camera = fixture["camera"]
    focal, ok = column_array(table, "focal")
    assert ok.all()
    np.testing.assert_allclose(focal, [camera["f"]] * 2, rtol=1e-6)
    np.testing.assert_allclose(column_array(table, "principal_point")[0][0], camera["c"], rtol=1e-6)
    np.testing.assert_allclose(column_array(table, "cam_rotation")[0][0], camera["R"], atol=1e-6)
    np.testing.assert_allclose(
        column_array(table, "cam_translation")[0][0], np.array(camera["t"]) / 1000, rtol=1e-6
    )
    world = np.array(fixture["joints"]["2"]["1"]["5"])  # mm, world
    expected = (world @ np.array(camera["R"]).T + camera["t"]) / 1000
    joints, _ = column_array(table, "joints3d")
    np.testing.assert_allclose(joints[1, :, :3], expected, rtol=1e-5, atol=1e-6)
    assert np.all(joints[..., 3] == 1)
    image = fixture["images"][1]
    assert table.column("image_path")[1].as_py() == str(tmp_path / "images" / image["file_name"])
    assert table.column("subject").to_pylist() == ["S1", "S1"]
    assert table.column("frame").to_pylist() == [0, 5]
    assert table.column("sequence")[0].as_py() == "s_01_act_02_subact_01_ca_01"
    np.testing.assert_allclose(column_array(table, "box_xywh")[0][1], [101, 150, 300, 600])
    assert set(table.column("joints3d_frame").to_pylist()) == {"camera"}
    assert set(table.column("joints3d_convention").to_pylist()) == {"h36m17"}


def test_h36m_json_missing_camera_file_and_malformed_json_are_named(tmp_path):
    write_h36m_json(tmp_path / "annotations", subject=5)
    (tmp_path / "annotations" / "Human36M_subject5_camera.json").unlink()
    with pytest.raises(DatasetError, match=r"Human36M_subject5_camera\.json: missing"):
        ADAPTERS["h36m"](root=tmp_path).build_manifest()
    write_h36m_json(tmp_path / "annotations", subject=5)
    data_file = tmp_path / "annotations" / "Human36M_subject5_data.json"
    data_file.write_text('{"images": [')
    with pytest.raises(
        DatasetError, match=r"Human36M_subject5_data\.json: malformed JSON at line 1"
    ):
        ADAPTERS["h36m"](root=tmp_path).build_manifest()
    data_file.write_text(json.dumps({"images": [{"id": 0}], "annotations": []}))
    with pytest.raises(DatasetError, match=r"image 0: missing keys \['file_name'"):
        ADAPTERS["h36m"](root=tmp_path).build_manifest()


def test_coco_wholebody_133_to_openpose137_and_part_boxes(tmp_path):
    person = write_coco_wholebody(tmp_path / "annotations" / "coco_wholebody_val_v1.0.json")
    (tmp_path / "val2017").mkdir()
    adapter = ADAPTERS["coco-wholebody"](root=tmp_path)
    table = adapter.build_manifest()
    assert table.num_rows == 1 and adapter.skipped["iscrowd"] == 1
    assert table.column("image_path")[0].as_py() == str(tmp_path / "val2017" / "000000000001.jpg")
    keypoints = column_array(table, "keypoints2d")[0][0]
    body = np.array(person["keypoints"]).reshape(17, 3)
    face = np.array(person["face_kpts"]).reshape(68, 3)
    left = np.array(person["lefthand_kpts"]).reshape(21, 3)
    np.testing.assert_allclose(keypoints[OP.index("left_wrist"), :2], body[9, :2], rtol=1e-5)
    np.testing.assert_allclose(keypoints[OP.index("right_knee"), :2], body[14, :2], rtol=1e-5)
    np.testing.assert_allclose(keypoints[OP.index("neck"), :2], body[5:7, :2].mean(0), rtol=1e-5)
    np.testing.assert_allclose(keypoints[25:46, :2], left[:, :2], rtol=1e-5)
    np.testing.assert_allclose(keypoints[67 : 67 + 68, :2], face[:, :2], rtol=1e-5)
    assert np.all(keypoints[25:46, 2] == 1) and np.all(keypoints[46:67] == 0)  # right unlabelled
    assert np.all(keypoints[135:137] == 0)  # pupils: not in COCO-WholeBody
    np.testing.assert_allclose(column_array(table, "box_face")[0][0], person["face_box"])
    np.testing.assert_allclose(column_array(table, "box_lhand")[0][0], person["lefthand_box"])
    assert not column_array(table, "box_rhand")[1][0]  # righthand_valid false
    assert table.column("keypoints2d_source")[0].as_py() == "annotation"


def test_ochuman_native_json_boxes_and_named_keypoints(tmp_path):
    data = write_ochuman(tmp_path / "ochuman.json")
    table = ADAPTERS["ochuman"](root=tmp_path).build_manifest()
    assert table.num_rows == 2
    boxes = column_array(table, "box_xywh")[0]
    np.testing.assert_allclose(boxes, [[90, 40, 170, 260], [300, 30, 120, 300]])
    keypoints, valid = column_array(table, "keypoints2d")
    assert valid.tolist() == [True, False]
    raw = np.array(data["images"][0]["annotations"][0]["keypoints"]).reshape(19, 3)
    names = data["keypoint_names"]
    for name in ("nose", "right_elbow", "left_ankle", "left_eye"):
        np.testing.assert_allclose(keypoints[0, OP.index(name)], [*raw[names.index(name), :2], 1])
    assert np.all(keypoints[0, OP.index("left_wrist")] == 0)  # visibility 0
    assert table.column("image_path")[0].as_py() == str(tmp_path / "images" / "005051.jpg")


def test_posetrack_sequences_frames_and_boxes(tmp_path):
    data = write_posetrack(tmp_path / "posetrack_data" / "train" / "000001_bonn_train.json")
    adapter = ADAPTERS["posetrack"](root=tmp_path)
    table = adapter.build_manifest()
    assert table.num_rows == 2 and adapter.skipped["no_box_and_no_keypoints"] == 1
    assert table.column("sequence").to_pylist() == ["000001_bonn_train"] * 2
    assert table.column("frame").to_pylist() == [2, 2]
    assert table.column("person_idx").to_pylist() == [0, 1]
    assert table.column("track_id").to_pylist() == [0, 1]  # the file's tracks 0 and 1
    boxes = column_array(table, "box_xywh")[0]
    np.testing.assert_allclose(boxes[0], data["annotations"][0]["bbox"])
    points = np.array(data["annotations"][1]["keypoints"]).reshape(17, 3)[[0, 5, 6, 11, 12]]
    lo, hi = points[:, :2].min(0), points[:, :2].max(0)
    np.testing.assert_allclose(boxes[1, 2:], (hi - lo) * 1.2, rtol=1e-5)  # from keypoints
    keypoints = column_array(table, "keypoints2d")[0][0]
    np.testing.assert_allclose(keypoints[OP.index("nose"), :2], points[0, :2])
    assert keypoints[OP.index("right_ear"), 2] == 0  # PoseTrack's ears are placeholders
    folder = ADAPTERS["posetrack"](root=tmp_path, annotations=tmp_path / "posetrack_data/train")
    assert folder.build_manifest().num_rows == 2
    write_posetrack(tmp_path / "posetrack_data" / "train" / "000002_bonn_train.json", "000002")
    both = ADAPTERS["posetrack"](root=tmp_path).build_manifest()
    by_sequence = {}
    for sequence, track in zip(
        both.column("sequence").to_pylist(), both.column("track_id").to_pylist(), strict=True
    ):
        by_sequence.setdefault(sequence, []).append(track)
    # each file numbers its tracks 0, 1, 2: the manifest's ids differ between the files
    assert sorted(by_sequence) == ["000001_bonn_train", "000002"]
    assert sorted(by_sequence["000001_bonn_train"] + by_sequence["000002"]) == [0, 1, 2, 3]
