"""`furpe-label export --format expose`: train.npz and vertex files read back as ExPose's
curated-fits loader reads them, equal to the store; ``--all`` with masks.

One keypoint-fitting run on SPIN's example photo (face and right hand suppressed, the left
hand kept) and an unreadable file (a dropped row)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from furpe_label.experts.vocabulary import Part
from furpe_label.storage.manifest import read_manifest
from tests.support.export_readers import (
    expose_part_present,
    read_expose,
    reference_mesh,
    reference_smplx,
)
from tests.support.export_support import (
    fitting_run,
    kept_store_rows,
    photo_folder,
    synthetic_smplx_file,
)
from tests.support.pipeline_support import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("expose")
    return fitting_run(photo_folder(base / "images"), base / "run")


def _export(out: Path, dest: Path, *extra: str) -> dict:
    code, output = run_cli("export", str(out), "--format", "expose", "--dest", str(dest), *extra)
    assert code == 0, output
    return read_expose(dest)


@pytest.fixture(scope="module")
def kept_export(run, tmp_path_factory):
    return _export(run, tmp_path_factory.mktemp("expose-kept") / "data")


@pytest.fixture(scope="module")
def all_export(run, tmp_path_factory):
    return _export(run, tmp_path_factory.mktemp("expose-all") / "data", "--all")


def test_rows_are_the_kept_rows_with_their_images(run, kept_export):
    kept, _ = kept_store_rows(run)
    images = read_manifest(run, columns=["image_path"]).column("image_path").to_pylist()
    assert kept.size >= 1
    np.testing.assert_array_equal(kept_export["extra"]["sample_idx"], kept)
    assert kept_export["img_fns"] == [images[r] for r in kept]
    assert all(Path(f).is_file() for f in kept_export["img_fns"])


def test_pose_shape_and_keypoints_equal_the_store(run, kept_export):
    kept, arrays = kept_store_rows(run)
    data = kept_export
    for name in (
        "global_orient",
        "body_pose",
        "jaw_pose",
        "betas",
        "expression",
        "left_hand_pose",
        "right_hand_pose",
    ):
        np.testing.assert_array_equal(data[name], arrays[name][kept], err_msg=name)
    eyes = np.stack([arrays["leye_pose"][kept], arrays["reye_pose"][kept]], axis=1)
    np.testing.assert_array_equal(data["eyes"], eyes)
    stored = arrays["keypoints2d"][kept]
    np.testing.assert_array_equal(data["keypoints2D"][..., :2], np.nan_to_num(stored[..., :2]))
    for part in Part:
        part_slice = part.keypoint_slice
        usable = arrays["part_valid"][kept, part.column]
        np.testing.assert_array_equal(
            data["keypoints2D"][usable, part_slice, 2], stored[usable, part_slice, 2]
        )
        assert (data["keypoints2D"][~usable, part_slice, 2] == 0).all()
        if part.is_hand:  # ExPose sees no hand where the label was suppressed
            assert not expose_part_present(data["keypoints2D"][~usable], part_slice).any()
    assert not arrays["part_valid"][kept].all(), "the run suppresses some part"


def test_vertices_are_the_mesh_of_the_exported_pose(kept_export):
    data = kept_export
    layer = reference_smplx(synthetic_smplx_file(), flat_hand_mean=True)  # ExPose: absolute
    count = len(data["betas"])
    vertices, _ = reference_mesh(
        layer,
        global_orient=data["global_orient"],
        body_pose=data["body_pose"],
        jaw_pose=data["jaw_pose"],
        leye_pose=data["eyes"][:, 0],
        reye_pose=data["eyes"][:, 1],
        left_hand_pose=data["left_hand_pose"],
        right_hand_pose=data["right_hand_pose"],
        betas=data["betas"],
        expression=data["expression"],
        transl=np.zeros((count, 3)),
    )
    np.testing.assert_allclose(data["vertices"], vertices, atol=2e-5)


def test_all_rows_with_masks(run, all_export):
    _, arrays = kept_store_rows(run)
    data = all_export
    count = len(arrays["valid"])
    np.testing.assert_array_equal(data["extra"]["sample_idx"], np.arange(count))
    np.testing.assert_array_equal(data["extra"]["valid"], arrays["valid"])
    np.testing.assert_array_equal(data["extra"]["part_valid"], arrays["part_valid"])
    dropped = ~arrays["valid"]
    assert dropped.any()
    assert np.isnan(data["body_pose"][dropped]).all() and np.isnan(data["vertices"][dropped]).all()
    np.testing.assert_array_equal(data["betas"][~dropped], arrays["betas"][~dropped])
    assert np.isfinite(data["vertices"][~dropped]).all()
