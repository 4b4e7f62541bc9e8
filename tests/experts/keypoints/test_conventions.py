"""Keypoint convention tables and converters."""

from __future__ import annotations

import numpy as np
import pytest

from furpe_label.experts.keypoints.conventions import (
    KEYPOINT_NAMES,
    OPENPOSE137_PARTS,
    convert,
    mapping,
)
from furpe_label.experts.keypoints.tables_mediapipe import MEDIAPIPE_FACE68_VERTICES

EXPECTED_COUNTS = {
    "openpose137": 137,
    "openpose25": 25,
    "openpose_face70": 70,
    "openpose_hand21": 21,
    "coco_wholebody133": 133,
    "mediapipe_pose33": 33,
    "mediapipe_hand21": 21,
    "mediapipe_face468": 468,
    "mediapipe_face478": 478,
    "smplx": 127,
    "smplx144": 144,
    "h36m17": 17,
    "h36m17_spin": 17,
    "spin24": 24,
}


def _tagged(count: int, channels: int = 3) -> np.ndarray:
    """(count, channels) points whose values identify their source index (conf in (0, 1])."""
    points = np.zeros((count, channels), dtype=np.float64)
    points[:, 0] = np.arange(count)
    points[:, 1] = 1000 + np.arange(count)
    if channels > 2:
        points[:, -1] = (np.arange(count) + 1) / (count + 1)
    return points


def test_counts_and_unique_names():
    assert {k: len(v) for k, v in KEYPOINT_NAMES.items()} == EXPECTED_COUNTS
    for names in KEYPOINT_NAMES.values():
        assert len(set(names)) == len(names)


def test_openpose137_parts_match_the_part_conventions():
    names = KEYPOINT_NAMES["openpose137"]
    expected_parts = {
        "body": slice(0, 25),
        "left_hand": slice(25, 46),
        "right_hand": slice(46, 67),
        "face": slice(67, 137),
    }
    assert expected_parts == OPENPOSE137_PARTS
    assert names[OPENPOSE137_PARTS["body"]] == KEYPOINT_NAMES["openpose25"]
    assert names[OPENPOSE137_PARTS["face"]] == KEYPOINT_NAMES["openpose_face70"]
    hand = KEYPOINT_NAMES["openpose_hand21"]
    assert names[OPENPOSE137_PARTS["left_hand"]] == tuple(f"left_{n}" for n in hand)
    assert names[OPENPOSE137_PARTS["right_hand"]] == tuple(f"right_{n}" for n in hand)
    # Pupils: right at face index 68, left at 69, as OpenPose.
    assert names[67 + 68] == "right_pupil" and names[67 + 69] == "left_pupil"
    assert KEYPOINT_NAMES["mediapipe_hand21"] == hand  # MediaPipe hand = OpenPose hand order


def test_mapping_is_cached_read_only_and_consistent():
    src_idx, dst_idx = mapping("coco_wholebody133", "openpose137")
    assert mapping("coco_wholebody133", "openpose137")[0] is src_idx
    assert src_idx.dtype == np.int64 and len(src_idx) == len(dst_idx)
    assert len(np.unique(dst_idx)) == len(dst_idx)
    with pytest.raises(ValueError):
        src_idx[0] = 3
    with pytest.raises(ValueError, match="unknown keypoint convention"):
        mapping("coco", "openpose137")


PAIRS = [
    ("coco_wholebody133", "openpose137"),
    ("smplx144", "openpose137"),
    ("smplx", "coco_wholebody133"),
    ("mediapipe_face478", "openpose_face70"),
    ("mediapipe_pose33", "openpose25"),
    ("spin24", "h36m17"),
    ("h36m17_spin", "h36m17"),
    ("spin24", "openpose137"),
]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_round_trip_keeps_shared_points(a, b):
    names_a, names_b = KEYPOINT_NAMES[a], KEYPOINT_NAMES[b]
    points = _tagged(len(names_a))[None].repeat(2, axis=0)  # (2, K_a, 3) leading dims kept
    there, mask_b = convert(points, a, b)
    back, mask_a = convert(there, b, a)
    assert there.shape == (2, len(names_b), 3) and back.shape == points.shape
    shared = [names_a.index(n) for n in set(names_a) & set(names_b)]
    assert len(shared) > 0
    np.testing.assert_array_equal(back[:, shared], points[:, shared])
    assert mask_a[shared].all()
    assert (there[:, ~mask_b] == 0).all() and (back[:, ~mask_a] == 0).all()


def test_coco_wholebody_to_openpose137_by_hand():
    coco = _tagged(133)
    op, mask = convert(coco, "coco_wholebody133", "openpose137")
    expected_body = {  # OpenPose body index -> COCO-WholeBody index
        0: 0,
        2: 6,
        3: 8,
        4: 10,
        5: 5,
        6: 7,
        7: 9,
        9: 12,
        10: 14,
        11: 16,
        12: 11,
        13: 13,
        14: 15,
        15: 2,
        16: 1,
        17: 4,
        18: 3,
        # feet: COCO-WB 17-22 = L big toe, L small toe, L heel, R big toe, R small toe, R heel
        19: 17,
        20: 18,
        21: 19,
        22: 20,
        23: 21,
        24: 22,
    }
    for op_i, coco_i in expected_body.items():
        np.testing.assert_array_equal(op[op_i], coco[coco_i])
    # Derived: neck = mean of shoulders (5, 6), mid-hip = mean of hips (11, 12); conf = min.
    np.testing.assert_allclose(op[1, :2], (coco[5, :2] + coco[6, :2]) / 2)
    np.testing.assert_allclose(op[8, :2], (coco[11, :2] + coco[12, :2]) / 2)
    assert op[1, 2] == min(coco[5, 2], coco[6, 2]) and op[8, 2] == min(coco[11, 2], coco[12, 2])
    np.testing.assert_array_equal(op[25:46], coco[91:112])  # left hand
    np.testing.assert_array_equal(op[46:67], coco[112:133])  # right hand
    np.testing.assert_array_equal(op[67:135], coco[23:91])  # 68 face landmarks
    assert mask[:135].all() and not mask[135:].any()  # pupils have no COCO-WB counterpart
    assert (op[135:] == 0).all()


def test_derived_points_need_both_ends_and_respect_has_confidence():
    face = _tagged(70)
    op, mask = convert(face, "openpose_face70", "openpose137")
    assert not mask[[1, 8]].any() and not mask[:25].any() and mask[67:].all()
    np.testing.assert_array_equal(op[67:], face)
    assert (op[:67] == 0).all()
    xyz = np.random.default_rng(0).normal(size=(4, 17, 3))
    op3d, mask3d = convert(xyz, "h36m17", "openpose25", has_confidence=False)
    np.testing.assert_allclose(op3d[:, 1], (xyz[:, 11] + xyz[:, 14]) / 2)  # plain mean
    np.testing.assert_allclose(op3d[:, 8], (xyz[:, 1] + xyz[:, 4]) / 2)
    assert mask3d[[1, 8]].all() and not mask3d[0]  # H36M has no nose point


def test_mediapipe_face_to_openpose_face_with_pupils():
    mp = _tagged(478)
    face, mask = convert(mp, "mediapipe_face478", "openpose_face70")
    np.testing.assert_array_equal(face[:68], mp[list(MEDIAPIPE_FACE68_VERTICES)])
    np.testing.assert_array_equal(face[68], mp[468])  # right pupil = right iris centre
    np.testing.assert_array_equal(face[69], mp[473])
    assert mask.all()
    _, mask468 = convert(_tagged(468), "mediapipe_face468", "openpose_face70")
    assert mask468[:68].all() and not mask468[68:].any()


def test_mediapipe_pose_and_h36m_orders():
    op, mask = convert(_tagged(33), "mediapipe_pose33", "openpose137")
    assert op[19, 0] == 31 and op[22, 0] == 32  # big toes from the foot-index points
    assert op[21, 0] == 29 and op[24, 0] == 30  # heels
    assert not mask[[20, 23]].any()  # no small toes in BlazePose
    assert op[25, 0] == 15 and op[46, 0] == 16  # hand roots are the wrists
    assert op[67 + 48, 0] == 10 and op[67 + 54, 0] == 9  # mouth corners (right, left)
    src, dst = mapping("h36m17", "h36m17_spin")
    order = np.empty(17, dtype=np.int64)
    order[dst] = src
    assert order.tolist() == [0, 4, 5, 6, 1, 2, 3, *range(7, 17)]  # legs swap places


def test_smplx_to_openpose_uses_smplifyx_equivalences():
    names = KEYPOINT_NAMES["smplx144"]
    op, mask = convert(_tagged(144), "smplx144", "openpose137")
    assert op[1, 0] == names.index("neck") and op[8, 0] == names.index("pelvis")
    assert op[7, 0] == op[25, 0] == names.index("left_wrist")
    assert op[67, 0] == names.index("right_contour_1") and op[67 + 17, 0] == 76
    assert not mask[135:].any() and mask[:135].all()


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="133 keypoints"):
        convert(np.zeros((2, 137, 3)), "coco_wholebody133", "openpose137")
