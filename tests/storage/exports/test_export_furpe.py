"""`furpe-label export --format furpe`: read back as FuRPE's loader reads it, equal to the store.

One network-expert run (random test-double checkpoints, so the 1024-d features are real
arrays) on SPIN's example photo and messi5 (+ an unreadable file): ``furpe_exported`` in
``conftest.py``, shared with ``test_export_furpe_tree.py``."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from furpe_label.experts.vocabulary import Part
from furpe_label.storage.exports.furpe import (
    feature_distillation_notes,
    furpe_image_name,
    one_file_per_image,
)
from furpe_label.storage.exports.run_rows import ExportError, ExportSkip, RunRows
from furpe_label.storage.exports.smplx_mesh import SmplxMesh
from furpe_label.storage.manifest import read_manifest
from tests.support.export_readers import (
    furpe_label_path,
    read_furpe,
    reference_mesh,
    reference_smplx,
)
from tests.support.export_support import (
    kept_store_rows,
    synthetic_smplx_file,
)
from tests.support.furpe_loader import (
    FURPE_CODE_LEFT_HAND_MEAN,
    FURPE_CODE_RIGHT_HAND_MEAN,
)
from tests.support.pipeline_support import run_cli


@pytest.fixture(scope="module")
def loaded(furpe_exported):
    """Every kept row: (store row, its image, the file as FuRPE's loader reads it)."""
    out, dest, _ = furpe_exported
    kept, arrays = kept_store_rows(out)
    assert len(kept) >= 2, "the run keeps labels to export"
    images = read_manifest(out, columns=["image_path"]).column("image_path").to_pylist()
    model = np.load(synthetic_smplx_file())
    means = model["hands_meanl"].reshape(15, 3), model["hands_meanr"].reshape(15, 3)
    rows = []
    for row in kept:
        path = furpe_label_path(dest, images[row])
        assert path.is_file(), f"FuRPE's loader would not find {path}"
        furpe_means = FURPE_CODE_LEFT_HAND_MEAN, FURPE_CODE_RIGHT_HAND_MEAN  # what it adds
        rows.append((row, images[row], read_furpe(path, *furpe_means)))
    return arrays, rows, means


@pytest.mark.slow
def test_parameters_read_back_equal_to_the_store(loaded):
    arrays, rows, _ = loaded
    for row, _, data in rows:
        np.testing.assert_array_equal(data["global_orient"], arrays["global_orient"][row])
        np.testing.assert_array_equal(data["body_pose"], arrays["body_pose"][row])
        np.testing.assert_array_equal(data["betas"], arrays["betas"][row][None])
        assert data["raw"]["betas"].shape == (1, 10) and data["raw"]["body_pose"].shape == (63,)
        valid = arrays["part_valid"][row]
        assert data["has_head"] == valid[Part.FACE.column]
        if data["has_head"]:
            np.testing.assert_array_equal(data["jaw_pose"], arrays["jaw_pose"][row][None])
            np.testing.assert_array_equal(data["expression"], arrays["expression"][row][None])
        for part in (Part.LEFT_HAND, Part.RIGHT_HAND):
            pose = data[f"{part.value}_pose"]
            assert (pose is not None) == valid[part.column], (row, part)
            if pose is not None:  # mean-relative on disk, the loader's mean added back
                np.testing.assert_allclose(pose, arrays[f"{part.value}_pose"][row], atol=1e-6)
                assert data["raw"][f"{part.value}_pose"].shape == (45,)
    suppressed = [not arrays["part_valid"][row].all() for row, _, _ in rows]
    assert any(suppressed) and not all(suppressed), "the run has rows with and without parts"


@pytest.mark.slow
def test_features_are_the_store_features_of_usable_parts(loaded):
    arrays, rows, _ = loaded
    for row, _, data in rows:
        for part in Part:
            key = f"save_feature_{part.value}"
            assert (key in data) == arrays["part_valid"][row, part.column], (row, key)
            if key in data:
                stored = arrays[f"feature_{part.value}"][row].astype(np.float32)
                np.testing.assert_array_equal(data[key], stored)
                assert data["raw"][key].shape == (1, 1024)


@pytest.mark.slow
def test_mesh_and_camera_come_from_the_exported_parameters(loaded):
    arrays, rows, means = loaded
    layer = reference_smplx(synthetic_smplx_file(), flat_hand_mean=True)  # absolute hands
    for row, _, data in rows:
        valid = arrays["part_valid"][row]
        face = valid[Part.FACE.column]
        params = {
            "global_orient": arrays["global_orient"][row][None],
            "body_pose": arrays["body_pose"][row][None],
            "betas": arrays["betas"][row][None],
            "jaw_pose": (arrays["jaw_pose"][row] if face else np.zeros(3))[None],
            "expression": (arrays["expression"][row] if face else np.zeros(10))[None],
            "leye_pose": np.zeros((1, 3)),
            "reye_pose": np.zeros((1, 3)),
            "transl": np.zeros((1, 3)),
        }
        for part, mean in zip((Part.LEFT_HAND, Part.RIGHT_HAND), means, strict=True):
            absolute = arrays[f"{part.value}_pose"][row] if valid[part.column] else mean
            params[f"{part.value}_pose"] = absolute[None]
        vertices, joints = reference_mesh(layer, **params)
        np.testing.assert_allclose(data["raw"]["vertices"], vertices[0], atol=2e-5)
        np.testing.assert_allclose(data["raw"]["keypoints3d"], joints[0], atol=2e-5)
        assert data["raw"]["vertices"].shape == (10475, 3)
        assert data["raw"]["keypoints3d"].shape == (144, 3)
        # the store's camera projects the mesh WITH transl; the file's without, same pixels
        s, tx, ty = arrays["camera"][row]
        stored = s * (joints[0, :, :2] + arrays["transl"][row][:2] + [tx, ty])
        scale, translation = data["raw"]["scale"], data["raw"]["translation"]
        np.testing.assert_allclose(scale * (joints[0, :, :2] + translation), stored, atol=1e-5)
        np.testing.assert_array_equal(data["raw"]["crop_body_bbox"], arrays["box_body"][row])


@pytest.mark.slow
def test_image_list_summary_and_synthetic_note(furpe_exported, loaded):
    _, dest, output = furpe_exported
    _, rows, _ = loaded
    listed = np.load(Path(dest, "data/curated_fits/posetrack_train_comp_img_fns_del05.npy"))
    assert sorted(listed.tolist()) == sorted(image for _, image, _ in rows)
    assert f"{len(rows)} row(s) in furpe format" in output
    assert "SYNTHETIC" in output


@pytest.mark.slow
def test_all_rows_and_a_used_destination_are_refused(furpe_exported, tmp_path):
    out, dest, _ = furpe_exported
    code, output = run_cli(
        "export", str(out), "--format", "furpe", "--dest", str(tmp_path / "all"), "--all"
    )
    assert code != 0 and "no per-row mask" in output and "Traceback" not in output
    code, output = run_cli("export", str(out), "--format", "furpe", "--dest", str(dest))
    assert code != 0 and "not an empty folder" in output


@pytest.mark.slow
def test_a_run_with_network_features_needs_no_feature_note(furpe_exported, loaded):
    _, dest, output = furpe_exported
    _, rows, _ = loaded
    assert all("save_feature_body" in data for _, _, data in rows)
    assert "FuRPE features" not in output and "feature_distil" not in output
    assert json.loads((dest / "export.json").read_text())["notes"] == []


@pytest.mark.slow
def test_a_fitting_run_export_names_the_feature_distillation_switches(demo_run, tmp_path):
    """The keypoint-fitting experts give no features: FuRPE's mytrain.py would stop with
    KeyError('save_feature_body'); the export says so and names the switches."""
    dest = tmp_path / "furpe"
    code, output = run_cli("export", str(demo_run), "--format", "furpe", "--dest", str(dest))
    assert code == 0, output
    files = sorted(dest.glob("data/params3d_v/*/*.npy"))
    records = [np.load(path, allow_pickle=True).item() for path in files]
    assert records and not any("save_feature_body" in r for r in records)
    with_face = sum("jaw_pose" in r for r in records)
    assert with_face and not any("save_feature_face" in r for r in records)
    notes = json.loads((dest / "export.json").read_text())["notes"]
    assert len(notes) == 2
    body, face = notes
    assert f"{len(files)} of {len(files)} file(s) have no save_feature_body" in body
    assert "KeyError('save_feature_body')" in body
    assert "use_body_feature_distil=False" in body and "FuRPE's mytrain.py" in body
    assert f"all {with_face} file(s) with a face have no save_feature_face" in face
    assert "use_face_feature_distil=False" in face
    for note in notes:
        assert f"warning: {note}" in " ".join(output.split()), output


def test_feature_notes_follow_the_files_written():
    full = Counter({"save_feature_body": 4, "jaw_pose": 3, "save_feature_face": 3})
    assert feature_distillation_notes(4, full) == []
    assert feature_distillation_notes(0, Counter()) == []
    some_body = Counter({"save_feature_body": 3, "jaw_pose": 2, "save_feature_face": 1})
    (note,) = feature_distillation_notes(4, some_body)
    assert note.startswith("FuRPE features: 1 of 4 file(s) have no save_feature_body")
    faceless = Counter({"save_feature_body": 4})  # no face written: nothing to distil
    assert feature_distillation_notes(4, faceless) == []
    (note,) = feature_distillation_notes(4, Counter({"save_feature_body": 4, "jaw_pose": 1}))
    assert "all 1 file(s) with a face have no save_feature_face" in note
    assert "use_face_feature_distil=False" in note


def _rows(images: list[str], persons: list[int]) -> RunRows:
    count = len(images)
    return RunRows(
        out=Path("."),
        info=None,
        dataset="d",
        sample_idx=np.arange(count),  # type: ignore[arg-type]
        image_path=images,
        person_idx=np.array(persons),
        valid=np.ones(count, bool),
        part_valid=np.ones((count, 4), bool),
    )


def test_one_person_per_image_the_largest_body_box():
    rows = _rows(["/a/x.jpg", "/a/x.jpg", "/a/x.jpg", "/a/y.png"], [0, 1, 2, 0])
    kept = one_file_per_image(rows, np.array([100.0, 400.0, np.nan, 5.0]))
    assert kept.sample_idx.tolist() == [1, 3]
    assert kept.skipped == {
        0: ExportSkip.OTHER_PERSON_EXPORTED,
        2: ExportSkip.OTHER_PERSON_EXPORTED,
    }


def test_images_with_one_file_name_keep_the_first():
    rows = _rows(["/s1/im.jpg", "/s2/im.jpg", "/s2/im.png"], [0, 0, 0])
    kept = one_file_per_image(rows, np.ones(3))
    assert kept.sample_idx.tolist() == [0, 2]
    assert kept.skipped == {1: ExportSkip.FILE_NAME_TAKEN}
    assert [furpe_image_name(p) for p in kept.image_path] == ["im", "im.png"]
    assert furpe_image_name("C:\\data\\a.jpg.jpg") == "a"  # FuRPE removes every ".jpg"


def test_another_smplx_file_than_the_runs_is_refused(synthetic_models_dir):
    with pytest.raises(ExportError, match="not the SMPL-X file the run used"):
        SmplxMesh(synthetic_models_dir, {"SMPLX_NEUTRAL.npz": "0" * 64})
    with pytest.raises(ExportError, match="recorded no SMPL-X file"):
        SmplxMesh(synthetic_models_dir, {"SMPL_NEUTRAL.pkl": "0" * 64})
