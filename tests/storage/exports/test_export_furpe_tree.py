"""`--format furpe` writes the tree FuRPE's training split reads, and its loader (followed step by
step in ``tests/support/furpe_loader.py``) gets back the store's labels, hands included."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from furpe_label.experts.vocabulary import Part
from furpe_label.storage.exports.conventions import export_keypoints
from furpe_label.storage.exports.furpe_tree import (
    FURPE_TRAINING_ASSUMPTIONS,
    furpe_hand_mean,
    hands_relative_to_furpe_mean,
    write_training_tree,
)
from furpe_label.storage.exports.run_rows import ExportError
from furpe_label.storage.manifest import read_manifest
from tests.support.export_support import kept_store_rows
from tests.support.furpe_loader import (
    FURPE_CODE_LEFT_HAND_MEAN,
    FURPE_CODE_RIGHT_HAND_MEAN,
    FurpeTrainingSplit,
)

FIXED_FILES = (
    "data/curated_fits/train.npz",
    "data/curated_fits/comp_img_fns.npy",
    "data/curated_fits/posetrack_val_comp_img_fns_del05.npy",
    "data/curated_fits/posetrack_train_comp_img_fns_del05.npy",
    "data/curated_fits/posetrack_test_comp_img_fns_del05.npy",
)


@pytest.fixture(scope="module")
def split(furpe_exported):
    """FuRPE's training split over the export, and the store row of each of its items."""
    out, dest, _ = furpe_exported
    training = FurpeTrainingSplit(dest)
    kept, arrays = kept_store_rows(out)
    images = read_manifest(out, columns=["image_path"]).column("image_path").to_pylist()
    row_of = {images[row]: row for row in kept}
    items = [training[index] for index in range(len(training))]
    return training, items, [row_of[item.img_fn] for item in items], arrays


@pytest.mark.slow
def test_the_tree_holds_the_fixed_files(furpe_exported):
    _, dest, _ = furpe_exported
    for name in FIXED_FILES:
        assert (dest / name).is_file(), name
    assert np.load(dest / "data/curated_fits/comp_img_fns.npy").shape == (0,)
    for split in ("val", "test"):
        path = dest / f"data/curated_fits/posetrack_{split}_comp_img_fns_del05.npy"
        assert np.load(path).shape == (0,)


@pytest.mark.slow
def test_train_npz_rows_line_up_with_the_label_files(furpe_exported, split):
    _, dest, _ = furpe_exported
    training, items, _, _ = split
    data = np.load(dest / "data/curated_fits/train.npz")
    img_fns = [name.decode("utf-8") for name in data["img_fns"]]
    listed = np.load(dest / "data/curated_fits/posetrack_train_comp_img_fns_del05.npy").tolist()
    assert img_fns == listed == [item.img_fn for item in items]
    assert data["keypoints2D"].shape == (len(items), 137, 3)
    assert data["keypoints2D"].dtype == np.float32
    assert {name.decode() for name in data["dset_name"]} == {"image-folder"}
    files = sorted(dest.glob("data/params3d_v/curated_fits/*.npy"))
    assert len(training) == len(files) >= 2
    assert sorted(item.param_path for item in items) == files


@pytest.mark.slow
def test_each_item_has_its_store_rows_keypoints(split):
    _, items, rows, arrays = split
    for item, row in zip(items, rows, strict=True):
        expected = export_keypoints(arrays["keypoints2d"][row][None], "expose")[0]
        for part in Part:
            points = part.keypoint_slice
            if arrays["part_valid"][row, part.column]:
                np.testing.assert_array_equal(item.keypoints2d[points], expected[points])
            else:  # a suppressed part: its confidences 0
                np.testing.assert_array_equal(item.keypoints2d[points, 2], 0.0)
                np.testing.assert_array_equal(item.keypoints2d[points, :2], expected[points, :2])


@pytest.mark.slow
def test_the_loader_reconstructs_the_absolute_hands_and_parameters(split):
    _, items, rows, arrays = split
    checked = 0
    for item, row in zip(items, rows, strict=True):
        valid = arrays["part_valid"][row]
        for side, pose in (("left", item.left_hand_pose), ("right", item.right_hand_pose)):
            part = Part(f"{side}_hand")
            stored = arrays[f"{side}_hand_pose"][row].astype(np.float32)
            if not valid[part.column]:
                assert pose is None
                continue
            assert pose is not None
            np.testing.assert_allclose(pose, stored, rtol=0, atol=float(np.spacing(np.float32(4))))
            checked += 1
        assert item.has_head == valid[Part.FACE.column]
        np.testing.assert_array_equal(
            item.data["body_pose"].reshape(21, 3), arrays["body_pose"][row]
        )
        np.testing.assert_array_equal(item.data["global_orient"], arrays["global_orient"][row])
    assert checked, "the run has exported hands"


@pytest.mark.slow
def test_export_json_says_what_the_tree_assumes(furpe_exported):
    _, dest, _ = furpe_exported
    summary = json.loads((dest / "export.json").read_text())
    assert summary["assumes"] == FURPE_TRAINING_ASSUMPTIONS
    assert any("conf_2distil.yaml" in line for line in summary["assumes"])


def test_the_export_constant_is_furpes_and_differs_from_the_synthetic_models():
    np.testing.assert_array_equal(furpe_hand_mean("left"), FURPE_CODE_LEFT_HAND_MEAN)
    np.testing.assert_array_equal(furpe_hand_mean("right"), FURPE_CODE_RIGHT_HAND_MEAN)
    absolute = np.random.default_rng(0).normal(0, 0.5, (4, 15, 3)).astype(np.float32)
    for side, mean in (("left", FURPE_CODE_LEFT_HAND_MEAN), ("right", FURPE_CODE_RIGHT_HAND_MEAN)):
        stored = hands_relative_to_furpe_mean(absolute, side)
        assert stored.shape == (4, 45) and stored.dtype == np.float32
        back = stored.reshape(4, 15, 3) + mean
        np.testing.assert_allclose(back, absolute, rtol=0, atol=float(np.spacing(np.float32(4))))
    with pytest.raises(ValueError, match="left' or 'right"):
        furpe_hand_mean("both")


def test_an_image_path_with_add_data_is_refused(tmp_path: Path):
    points = np.zeros((1, 137, 3), np.float32)
    with pytest.raises(ExportError, match="contain 'add_data'"):
        write_training_tree(tmp_path, ["/x/add_data/images/a.jpg"], points, "d")
    with pytest.raises(ExportError, match=r"\(N, 137, 3\) keypoints for N=2"):
        write_training_tree(tmp_path, ["/x/a.jpg", "/x/b.jpg"], points, "d")
    assert not any(tmp_path.iterdir())
