"""The HumanData export's keypoint convention, part marks and key names, checked against the
tables transcribed from mmhuman3d and SMPLer-X (``peer_keypoint_tables``), on in-memory rows
(no run)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from furpe_label.experts.keypoints.conventions import mapping
from furpe_label.experts.vocabulary import Part
from furpe_label.storage.exports.humandata import SMPLERX_FOLDER, write_humandata
from furpe_label.storage.exports.humandata_keypoints import (
    OPENPOSE137_TO_HUMAN_DATA,
    human_data_keypoints,
    human_data_mask,
)
from furpe_label.storage.exports.run_rows import RunRows
from furpe_label.storage.schema import LABEL_FIELDS, SMPLX_PARAMS
from tests.storage.exports.peer_keypoint_tables import (
    HUMAN_DATA,
    OPENPOSE_137,
    SMPLX_137_MAPPING,
)
from tests.support.export_readers import read_humandata, smplerx_part_valid

# SMPLer-X's 137 joints (common/utils/human_models.py ``joint_part``): body 25, left hand 20,
# right hand 20, face 72 (jaw, head, the two eye points, 68 landmarks).
SMPLERX_PARTS = {
    Part.BODY: range(0, 25),
    Part.LEFT_HAND: range(25, 45),
    Part.RIGHT_HAND: range(45, 65),
    Part.FACE: range(65, 137),
}


def test_table_is_mmhuman3d_name_matching_plus_eyebrows():
    exact = [HUMAN_DATA.index(n) if n in HUMAN_DATA else -1 for n in OPENPOSE_137]
    assert sum(i >= 0 for i in exact) == 125  # what mmhuman3d's get_mapping finds
    spelled = [n.replace("eye_brow", "eyebrow") for n in OPENPOSE_137]
    expected = [HUMAN_DATA.index(n) if n in HUMAN_DATA else -1 for n in spelled]
    np.testing.assert_array_equal(OPENPOSE137_TO_HUMAN_DATA, expected)
    assert [OPENPOSE_137[i] for i in np.flatnonzero(OPENPOSE137_TO_HUMAN_DATA < 0)] == [
        "right_eyeball_unused",
        "left_eyeball_unused",
    ]
    assert len(HUMAN_DATA) == 190 and human_data_mask().sum() == 135


def test_table_agrees_with_the_projects_smplx144_table():
    """human_data's first 144 points are SMPL-X's; the project's own OpenPose-137 -> smplx144
    table maps every point it shares to the same index."""
    src, dst = mapping("openpose137", "smplx144")
    np.testing.assert_array_equal(OPENPOSE137_TO_HUMAN_DATA[src], dst)
    assert sorted(set(range(137)) - set(src.tolist())) == [25, 46, 135, 136]


@pytest.mark.parametrize("part", list(Part))
def test_smplerx_reads_each_part_from_that_parts_points(part):
    seen = np.flatnonzero(human_data_mask({part})[list(SMPLX_137_MAPPING)])
    assert set(seen) <= set(SMPLERX_PARTS[part]) | ({67, 68} if part is Part.BODY else set())
    if part in (Part.LEFT_HAND, Part.RIGHT_HAND):
        assert list(seen) == list(SMPLERX_PARTS[part])
    if part is Part.FACE:  # jaw, head, eye points: not from the face detector
        assert list(seen) == list(range(69, 137))


def test_keypoints_shape_is_checked():
    with pytest.raises(ValueError, match="137, 3"):
        human_data_keypoints(np.zeros((2, 133, 3), np.float32))


class InMemoryRunRows(RunRows):
    """Test double: :class:`RunRows` whose labels come from a dict instead of a run's store."""

    labels: dict[str, np.ndarray]

    def read(self, names, positions):
        return {name: self.labels[name][self.sample_idx[positions]] for name in names}


def _rows(tmp_path: Path) -> InMemoryRunRows:
    """Row 0 all parts usable, row 1 face and right hand suppressed, row 2 without a label."""
    rng = np.random.default_rng(4)
    labels = {f.name: rng.random((3, *f.shape)).astype(np.float32) for f in LABEL_FIELDS}
    labels["keypoints2d"][..., 2] = 0.9
    labels["keypoints2d"][1, 30] = np.nan  # a point the detector missed
    for name in SMPLX_PARAMS:
        labels[name][2] = np.nan
    rows = InMemoryRunRows(
        out=tmp_path,
        info=SimpleNamespace(experts={}, synthetic=True, config_hash="h", code_version="c"),
        dataset="demo",
        sample_idx=np.arange(3),
        image_path=[str(tmp_path / f"{i}.jpg") for i in range(3)],
        person_idx=np.zeros(3, np.int64),
        valid=np.array([True, True, False]),
        part_valid=np.array([[1, 1, 1, 1], [1, 0, 1, 0], [1, 1, 1, 1]], bool),
    )
    rows.labels = labels
    return rows


def test_written_keys_confidences_boxes_and_smplerx_files(tmp_path):
    rows = _rows(tmp_path)
    dest = tmp_path / "dest"
    dest.mkdir()
    hand_mean = np.random.default_rng(5).random((2, 15, 3)).astype(np.float32)
    _, notes = write_humandata(rows, dest, "demo", hand_mean)
    whole = read_humandata(dest / "demo.npz")
    assert whole["__data_len__"] == 3 and "__temporal_len__" not in whole
    assert whole["keypoints2d_convention"] == "human_data"
    assert whole["keypoints2d"].shape == (3, 190, 3)
    np.testing.assert_array_equal(whole["keypoints2d_mask"], human_data_mask())
    source = rows.labels["keypoints2d"]
    for part in Part:
        slots = OPENPOSE137_TO_HUMAN_DATA[part.keypoint_slice]
        conf = whole["keypoints2d"][:, slots[slots >= 0], 2]
        expected = [0.9, 0.9 if part in (Part.BODY, Part.LEFT_HAND) else 0.0, 0.0]
        assert np.allclose(np.nanmax(conf, axis=1), expected), part
    np.testing.assert_array_equal(whole["keypoints2d"][1, OPENPOSE137_TO_HUMAN_DATA[30]], 0)
    np.testing.assert_allclose(whole["keypoints2d"][0, 55, :2], source[0, 0, :2])  # nose
    np.testing.assert_array_equal(whole["rhand_bbox_xywh"][:, 4], [1, 0, 0])
    np.testing.assert_array_equal(whole["lhand_bbox_xywh"][:, 4], [1, 1, 0])
    np.testing.assert_array_equal(whole["meta"]["face_valid"], [True, False, False])

    files = sorted(p.name for p in (dest / SMPLERX_FOLDER).iterdir())
    assert files == ["demo_body+face+left_hand+right_hand.npz", "demo_body+left_hand.npz"]
    full = read_humandata(dest / SMPLERX_FOLDER / files[0])
    part = read_humandata(dest / SMPLERX_FOLDER / files[1])
    assert set(full["smplx"]) == set(SMPLX_PARAMS)
    assert set(part["smplx"]) == set(SMPLX_PARAMS) - {
        "jaw_pose",
        "leye_pose",
        "reye_pose",
        "expression",
        "right_hand_pose",
    }
    np.testing.assert_array_equal(part["meta"]["sample_idx"], [1])
    np.testing.assert_array_equal(part["smplx"]["body_pose"][0], rows.labels["body_pose"][1])
    np.testing.assert_array_equal(whole["smplx"]["left_hand_pose"], rows.labels["left_hand_pose"])
    assert whole["misc"]["flat_hand_mean"] is True and part["misc"]["flat_hand_mean"] is False
    np.testing.assert_allclose(
        part["smplx"]["left_hand_pose"][0] + hand_mean[0],
        rows.labels["left_hand_pose"][1],
        atol=1e-6,
    )
    np.testing.assert_allclose(
        full["smplx"]["right_hand_pose"][0] + hand_mean[1],
        rows.labels["right_hand_pose"][0],
        atol=1e-6,
    )
    marks = smplerx_part_valid(part, SMPLX_137_MAPPING)
    assert marks["lhand_valid"].all() and not marks["rhand_valid"].any()
    assert not marks["face_valid"].any() and not marks["rhand_bbox_valid"].any()
    joint_valid = marks["joint_valid"]
    assert not joint_valid[SMPLERX_PARTS[Part.RIGHT_HAND]].any()
    assert not joint_valid[69:137].any() and joint_valid[SMPLERX_PARTS[Part.LEFT_HAND]].all()
    assert smplerx_part_valid(full, SMPLX_137_MAPPING)["face_valid"].all()
    assert "suppressed part supervises no pose" in notes[0] and "1 rows without" in notes[1]
