"""h36m / mpi-inf-3dhp adapters on SPIN npz and mmhuman3d HumanData npz fixtures."""

from __future__ import annotations

import numpy as np
import pytest

from furpe_label.experts.keypoints.conventions import OPENPOSE137_PARTS
from furpe_label.storage.exports.humandata_keypoints import human_data_keypoints, human_data_mask
from furpe_label.storage.manifest import column_array
from furpe_label.workflows.datasets import ADAPTERS, DatasetError
from tests.support.dataset_fixtures import write_humandata_npz, write_spin_npz


def _by_name(table):
    """Rows keyed by the image file name (the manifest is sorted by image path)."""
    return {p.rsplit("/", 1)[-1]: i for i, p in enumerate(table.column("image_path").to_pylist())}


def test_h36m_spin_npz_boxes_joints_keypoints_and_ids(tmp_path):
    data = write_spin_npz(tmp_path / "h36m_train.npz", np.random.default_rng(1), with_smpl=True)
    table = ADAPTERS["h36m"](root=tmp_path).build_manifest()  # found by its official name
    assert table.num_rows == 3
    rows = _by_name(table)
    boxes, box_ok = column_array(table, "box_xywh")
    joints, _ = column_array(table, "joints3d")
    keypoints, kp_ok = column_array(table, "keypoints2d")
    pose, pose_ok = column_array(table, "smpl_body_pose")
    for i, name in enumerate(data["imgname"]):
        r = rows[name.rsplit("/", 1)[-1]]
        side = 200 * data["scale"][i]
        np.testing.assert_allclose(boxes[r, 2:], [side, side], rtol=1e-5)
        np.testing.assert_allclose(boxes[r, :2] + side / 2, data["center"][i], rtol=1e-5)
        np.testing.assert_allclose(joints[r], data["S"][i], rtol=1e-5, atol=1e-6)
        assert table.column("image_path")[r].as_py() == str(tmp_path / name)
        assert kp_ok[r] == (i != 1)  # row 1 had no OpenPose match
        if kp_ok[r]:
            np.testing.assert_allclose(
                keypoints[r, OPENPOSE137_PARTS["body"]], data["openpose"][i], rtol=1e-5
            )
            assert np.all(keypoints[r, 25:] == 0)
        assert pose_ok[r] == bool(data["has_smpl"][i])
        if pose_ok[r]:
            np.testing.assert_allclose(pose[r].ravel(), data["pose"][i, 3:], rtol=1e-5, atol=1e-6)
    assert box_ok.all()
    first = rows["S1_Directions_1.54138969_000006.jpg"]
    assert table.column("subject")[first].as_py() == "S1"
    assert table.column("sequence")[first].as_py() == "S1_Directions_1.54138969"
    assert table.column("frame")[first].as_py() == 6
    assert set(table.column("joints3d_convention").to_pylist()) == {"spin24"}
    assert set(table.column("joints3d_frame").to_pylist()) == {"root_relative"}
    assert table.column("keypoints2d_source").to_pylist().count("openpose") == 2
    assert ADAPTERS["h36m"].has_ground_truth


def test_mpi_inf_3dhp_spin_npz_names(tmp_path):
    names = np.array(
        [
            "S2/Seq1/imageFrames/video_4/frame_000121.jpg",
            "mpi_inf_3dhp_test_set/TS3/imageSequence/img_000007.jpg",
        ]
    )
    np.savez(
        tmp_path / "mpi_inf_3dhp_train.npz",
        imgname=names,
        center=np.ones((2, 2)) * 1000,
        scale=np.array([4.0, 5.0]),
        S=np.zeros((2, 24, 4)),
    )
    table = ADAPTERS["mpi-inf-3dhp"](root=tmp_path).build_manifest()
    assert table.column("subject").to_pylist() == ["S2", "TS3"]
    assert table.column("sequence").to_pylist() == ["S2/Seq1/video_4", "TS3"]
    assert table.column("frame").to_pylist() == [121, 7]
    assert column_array(table, "box_xywh")[0][1].tolist() == [500.0, 500.0, 1000.0, 1000.0]


def test_h36m_humandata_npz_decompresses_keypoints_and_reads_cameras(tmp_path):
    path = tmp_path / "h36m_train.npz"
    data = write_humandata_npz(path, np.random.default_rng(2))
    table = ADAPTERS["h36m"](root=tmp_path, annotations=path).build_manifest()
    assert table.num_rows == 2
    joints, _ = column_array(table, "joints3d")
    np.testing.assert_allclose(joints, data["keypoints3d_full"], atol=1e-6)
    boxes, valid = column_array(table, "box_xywh")
    assert valid.tolist() == [True, False]  # bbox_xywh confidence 0 -> no box
    np.testing.assert_allclose(boxes[0], [10, 20, 300, 400])
    focal, _ = column_array(table, "focal")
    centre, _ = column_array(table, "principal_point")
    translation, _ = column_array(table, "cam_translation")
    np.testing.assert_allclose(focal[0], [1149.7, 1147.6], rtol=1e-6)
    np.testing.assert_allclose(centre[0], [508.8, 508.1], rtol=1e-6)
    np.testing.assert_allclose(translation[1], [0.1, 0.2, 5.5], rtol=1e-6)
    body, _ = column_array(table, "smpl_body_pose")
    np.testing.assert_allclose(body, data["smpl"]["body_pose"], rtol=1e-5, atol=1e-6)
    assert table.column("joints3d_convention")[0].as_py() == "mmhuman3d:human_data"
    assert table.column("subject").to_pylist() == ["S9", "S9"]
    assert table.column("frame").to_pylist() == [1, 6]


class _Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


def test_npz_with_a_code_running_pickle_is_refused(tmp_path, capsys):
    path = tmp_path / "h36m_train.npz"
    payload = np.empty((), dtype=object)
    payload[()] = _Exploit()
    np.savez(path, image_path=np.array(["a.jpg"]), bbox_xywh=np.zeros((1, 5)), smpl=payload)
    with pytest.raises(DatasetError, match=r"h36m_train\.npz.*refused.*builtins\.print"):
        ADAPTERS["h36m"](root=tmp_path).build_manifest()
    assert "pwned" not in capsys.readouterr().out


def test_npz_errors_name_the_file_and_the_keys(tmp_path):
    (tmp_path / "h36m_train.npz").write_bytes(b"truncated zip")
    with pytest.raises(DatasetError, match=r"h36m_train\.npz: not a readable \.npz"):
        ADAPTERS["h36m"](root=tmp_path).build_manifest()
    np.savez(tmp_path / "h36m_train.npz", names=np.array(["a"]))
    with pytest.raises(DatasetError, match=r"neither SPIN.*found: names"):
        ADAPTERS["h36m"](root=tmp_path).build_manifest()
    np.savez(
        tmp_path / "h36m_train.npz",
        imgname=np.array(["a"]),
        center=np.zeros((1, 3)),
        scale=np.ones(1),
    )
    with pytest.raises(DatasetError, match=r"center: expected shape \(1, 2\), got \(1, 3\)"):
        ADAPTERS["h36m"](root=tmp_path).build_manifest()


def test_humandata_keypoints_in_human_data_order_read_back_as_written(tmp_path):
    """mmhuman3d's default convention (and `export --format humandata`'s): 190 points."""
    rng = np.random.default_rng(3)
    openpose = np.concatenate(
        [rng.uniform(0, 500, (2, 137, 2)), rng.uniform(0.1, 1, (2, 137, 1))], axis=-1
    ).astype(np.float32)
    path = tmp_path / "h36m_train.npz"
    np.savez_compressed(
        path,
        image_path=np.array(["S9/a.jpg", "S9/b.jpg"]),
        bbox_xywh=np.array([[10.0, 20.0, 300.0, 400.0, 1.0]] * 2),
        keypoints2d=human_data_keypoints(openpose),
        keypoints2d_mask=human_data_mask(),
        keypoints2d_convention="human_data",
    )
    table = ADAPTERS["h36m"](root=tmp_path, annotations=path).build_manifest()
    keypoints, valid = column_array(table, "keypoints2d")
    assert valid.all()
    pupils = [OPENPOSE137_PARTS["face"].start + 68, OPENPOSE137_PARTS["face"].start + 69]
    expected = openpose.copy()
    expected[:, pupils] = 0.0  # human_data has no pupils
    np.testing.assert_array_equal(keypoints, expected)
