"""Pseudo-ground-truth fit adapters: EFT json and ExPose curated-fits npz."""

from __future__ import annotations

import numpy as np
import pytest

from furpe_label.storage.manifest import column_array
from furpe_label.workflows.datasets import ADAPTERS, DatasetError
from tests.support.dataset_fixtures_fits import write_eft, write_expose_npz


def test_eft_rotation_matrices_to_axis_angle_and_spin_boxes(tmp_path):
    fixture = write_eft(tmp_path / "eft_fit" / "COCO2014-Part-ver01.json", np.random.default_rng(4))
    table = ADAPTERS["eft"](root=tmp_path).build_manifest()
    assert table.num_rows == 2
    assert (
        table.column("image_path").to_pylist()
        == [str(tmp_path / "COCO_train2014_000000000036.jpg")] * 2
    )  # EFT's viewer: <img_dir>/<basename(imageName)>
    assert table.column("person_idx").to_pylist() == [0, 1]
    orient = column_array(table, "smpl_global_orient")[0]
    body = column_array(table, "smpl_body_pose")[0]
    np.testing.assert_allclose(orient, fixture["rotvecs"][:, 0], atol=1e-5)
    np.testing.assert_allclose(body, fixture["rotvecs"][:, 1:], atol=1e-5)
    boxes = column_array(table, "box_xywh")[0]
    for box, fit in zip(boxes, fixture["fits"], strict=True):
        side = 200 * fit["bbox_scale"]
        np.testing.assert_allclose(box, [*(np.array(fit["bbox_center"]) - side / 2), side, side])
    np.testing.assert_allclose(column_array(table, "gt_weak_camera")[0][0], [0.9, 0.01, -0.02])
    np.testing.assert_allclose(
        column_array(table, "smpl_betas")[0][1], fixture["fits"][1]["parm_shape"], rtol=1e-6
    )
    valid = column_array(table, "keypoints2d")[1]
    assert valid.tolist() == [True, False]  # the second fit has no OpenPose keypoints


def test_eft_fit_without_a_key_is_named(tmp_path):
    path = tmp_path / "MPII_ver01.json"
    path.write_text('{"ver": 1, "data": [{"imageName": "a.jpg", "bbox_center": [1, 2]}]}')
    with pytest.raises(DatasetError, match=r"MPII_ver01\.json: data\[0\]: missing keys"):
        ADAPTERS["eft"](root=tmp_path, annotations=path).build_manifest()
    path.write_text('{"ver": 1, "fits": []}')
    with pytest.raises(DatasetError, match=r"missing keys \['data'\]"):
        ADAPTERS["eft"](root=tmp_path, annotations=path).build_manifest()


def test_curated_fits_pose_split_hands_and_boxes(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.jpg").write_bytes(b"")
    data = write_expose_npz(tmp_path / "train.npz", np.random.default_rng(5), images)
    adapter = ADAPTERS["curated-fits"](root=images, annotations=tmp_path / "train.npz")
    table = adapter.build_manifest()
    paths = table.column("image_path").to_pylist()
    assert sorted(paths) == sorted([str(images / "a.jpg"), str(images / "relative" / "b.jpg")])
    row = {p: i for i, p in enumerate(paths)}[str(images / "a.jpg")]
    pose = data["pose"][0]
    np.testing.assert_allclose(column_array(table, "smplx_global_orient")[0][row], pose[0], 1e-6)
    np.testing.assert_allclose(column_array(table, "smplx_body_pose")[0][row], pose[1:22], 1e-6)
    np.testing.assert_allclose(column_array(table, "smplx_jaw_pose")[0][row], pose[22], 1e-6)
    np.testing.assert_allclose(column_array(table, "smplx_reye_pose")[0][row], pose[24], 1e-6)
    np.testing.assert_allclose(
        column_array(table, "smplx_left_hand_pose")[0][row], pose[25:40], 1e-6
    )
    np.testing.assert_allclose(
        column_array(table, "smplx_right_hand_pose")[0][row], pose[40:55], 1e-6
    )
    assert table.column("gt_hands_relative_to_mean").to_pylist() == [True, True]
    keypoints = column_array(table, "keypoints2d")[0]
    assert keypoints[..., 2].min() >= 0  # ExPose's negative confidences become 0
    boxes, valid = column_array(table, "box_xywh")
    assert valid[row] and not valid[1 - row]  # the second person has no confident keypoint
    body = data["keypoints2D"][0, :25]
    confident = body[body[:, 2] >= 0.1, :2]
    assert boxes[row, 0] <= confident[:, 0].min() and boxes[row, 1] <= confident[:, 1].min()


def test_curated_fits_wrong_pose_shape_is_named(tmp_path):
    np.savez(
        tmp_path / "train.npz",
        img_fns=np.array(["a.jpg"]),
        betas=np.zeros((1, 10)),
        expression=np.zeros((1, 10)),
        keypoints2D=np.zeros((1, 137, 3)),
        pose=np.zeros((1, 24, 3)),
    )
    with pytest.raises(DatasetError, match=r"train\.npz: pose must be \(N, 55, 3\)"):
        ADAPTERS["curated-fits"](root=tmp_path).build_manifest()
