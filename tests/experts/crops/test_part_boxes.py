"""Tests for experts/crops/boxes.py, expose_boxes.py and quality.py on the real SPIN example."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from furpe_label.experts.crops import boxes, expose_boxes, quality
from furpe_label.experts.crops.part_keypoints import part_keypoints
from furpe_label.experts.vocabulary import Reason
from tests.support.real_data import SPIN_EXAMPLE

DATA = SPIN_EXAMPLE
IMAGE_HW = (192, 153)  # im1010.jpg


def load_openpose137(path: Path) -> np.ndarray:
    """OpenPose JSON -> (N, 137, 3) in OpenPose-137 order (body, lhand, rhand, face)."""
    people = json.loads(path.read_text())["people"]
    keys = ("pose_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d")
    sizes = (25, 21, 21, 70)
    out = []
    for p in people:
        parts = [np.reshape(p[k], (-1, 3)) for k in (*keys, "face_keypoints_2d")]
        parts = [q if len(q) else np.zeros((n, 3)) for q, n in zip(parts, sizes, strict=True)]
        out.append(np.concatenate(parts))
    return np.stack(out)


@pytest.fixture(scope="module")
def kp137() -> np.ndarray:
    kp = load_openpose137(DATA / "im1010_openpose.json")
    assert kp.shape == (1, 137, 3)
    return kp


def test_spin_body_center_scale_matches_spin_demo_rule(kp137):
    # independent re-implementation of SPIN demo.py bbox_from_openpose from the raw JSON
    raw = json.loads((DATA / "im1010_openpose.json").read_text())["people"][0]
    keypoints = np.reshape(np.array(raw["pose_keypoints_2d"]), (-1, 3))
    valid = keypoints[:, -1] > 0.2
    vk = keypoints[valid][:, :-1]
    ref_center = vk.mean(axis=0)
    ref_scale = (vk.max(axis=0) - vk.min(axis=0)).max() / 200.0
    ref_scale *= 1.2
    center, scale, count = boxes.spin_body_center_scale(kp137)
    np.testing.assert_array_equal(center[0], ref_center)
    assert scale[0] == ref_scale
    assert count[0] == valid.sum() == 21
    np.testing.assert_allclose(center[0], [75.4538, 108.1238], atol=1e-4)
    body = boxes.spin_body_boxes(kp137)
    np.testing.assert_allclose(body.side, [200 * ref_scale])
    # the SPIN box agrees with the annotated person box of the same image
    x, y, w, h = json.loads((DATA / "im1010_bbox.json").read_text())["bbox"]
    bx, by, bw, bh = body.xywh[0]
    inter = max(0, min(x + w, bx + bw) - max(x, bx)) * max(0, min(y + h, by + bh) - max(y, by))
    assert inter / (w * h + bw * bh - inter) > 0.75


def test_spin_rule_handles_missing_people():
    kp = np.zeros((2, 137, 3))
    kp[1, :25] = [10.0, 20.0, 0.9]
    kp[1, 3] = [30.0, 60.0, 0.9]
    center, scale, count = boxes.spin_body_center_scale(kp)
    assert np.isnan(center[0]).all() and np.isnan(scale[0]) and count[0] == 0
    np.testing.assert_allclose(scale[1], 40 / 200 * 1.2)


def test_deca_face_box_matches_deca_kpt68_rule():
    rng = np.random.default_rng(0)
    lm = rng.uniform([100, 50], [180, 150], (68, 2))
    kp = np.zeros((1, 137, 3))
    kp[0, 67:135, :2] = lm
    kp[0, 67:135, 2] = 0.9
    kp[0, 135:137] = [500.0, 500.0, 0.9]  # pupils are not part of DECA's 68
    # independent: DECA TestData.bbox2point(type='kpt68') + int(old_size * 1.25)
    left, right = np.min(lm[:, 0]), np.max(lm[:, 0])
    top, bottom = np.min(lm[:, 1]), np.max(lm[:, 1])
    old_size = (right - left + bottom - top) / 2 * 1.1
    ref_center = np.array([right - (right - left) / 2.0, bottom - (bottom - top) / 2.0])
    ref_size = int(old_size * 1.25)
    face = boxes.deca_face_boxes(kp)
    np.testing.assert_array_equal(face.center[0], ref_center)
    np.testing.assert_array_equal(face.xywh[0, 2:], [ref_size, ref_size])
    np.testing.assert_allclose(face.xywh[0, :2], ref_center - ref_size / 2)
    assert face.num_keypoints[0] == 68
    # low-confidence landmarks are ignored
    kp[0, 67, :] = [0.0, 0.0, 0.05]
    assert boxes.deca_face_boxes(kp).num_keypoints[0] == 67
    assert boxes.deca_face_boxes(kp).xywh[0, 0] > 0


def test_real_openpose_face_and_right_hand_are_missing(kp137):
    found = expose_boxes.part_boxes_from_openpose(kp137, IMAGE_HW)
    assert set(found) == {"body", "face", "left_hand", "right_hand"}
    assert np.isnan(found["face"].xywh).all() and found["face"].num_keypoints[0] == 0
    assert np.isnan(found["right_hand"].xywh).all()
    q = quality.assess_crops(found["face"].xywh, part_keypoints(kp137, "face"), IMAGE_HW)
    assert q[0].degenerate and q[0].reason == Reason.EMPTY_BOX


def test_frankmocap_hand_box_matches_get_hand_bboxes(kp137):
    # independent: FrankMocap BodyMocap.get_hand_bboxes on the confident left-hand keypoints
    raw = json.loads((DATA / "im1010_openpose.json").read_text())["people"][0]
    hand = np.reshape(raw["hand_left_keypoints_2d"], (-1, 3))
    joints = hand[hand[:, 2] > 0.2, :2]
    x0, x1 = np.min(joints[:, 0]), np.max(joints[:, 0])
    y0, y1 = np.min(joints[:, 1]), np.max(joints[:, 1])
    width, height = x1 - x0, y1 - y0
    margin = int(max(height, width) * 0.2)
    img_height, img_width = IMAGE_HW
    x0, y0 = max(x0 - margin, 0), max(y0 - margin, 0)
    x1, y1 = min(x1 + margin, img_width), min(y1 + margin, img_height)
    ref = np.array([x0, y0, x1 - x0, y1 - y0])
    got = boxes.frankmocap_hand_boxes(kp137, "left", IMAGE_HW)
    np.testing.assert_array_equal(got.xywh[0], ref)
    assert got.num_keypoints[0] == 5 and got.part == "left_hand" and got.rule == "frankmocap"
    # clipping at the image border
    kp = np.zeros((1, 137, 3))
    kp[0, 46:67] = [150.0, 190.0, 0.9]
    kp[0, 46] = [120.0, 180.0, 0.9]
    clipped = boxes.frankmocap_hand_boxes(kp, "right", IMAGE_HW).xywh[0]
    np.testing.assert_allclose(clipped, [114.0, 174.0, 153 - 114.0, 192 - 174.0])


def test_expose_rules_on_real_keypoints(kp137):
    found = expose_boxes.part_boxes_from_openpose(kp137, IMAGE_HW, rule="expose")
    assert set(found) == {"body", "face", "left_hand", "right_hand"}
    # independent: points_to_bbox on nose/eyes/ears with conf > 0.2 (face is empty here)
    raw = np.reshape(
        json.loads((DATA / "im1010_openpose.json").read_text())["people"][0]["pose_keypoints_2d"],
        (-1, 3),
    )[[0, 15, 16, 17, 18]]
    pts = raw[raw[:, 2] > 0.2, :2]
    lo, hi = pts.min(0), pts.max(0)
    np.testing.assert_allclose(found["face"].center[0], (lo + hi) * 0.5)
    np.testing.assert_allclose(found["face"].side[0], (hi - lo).max() * 2.0)
    assert found["face"].num_keypoints[0] == 3  # right eye 0.126 and right ear 0 are dropped
    lh = found["left_hand"]
    hand = kp137[0, 25:46]
    hp = hand[hand[:, 2] > 0.2, :2]
    np.testing.assert_allclose(lh.side[0], (hp.max(0) - hp.min(0)).max() * 3.0)
    with pytest.raises(ValueError):
        expose_boxes.part_boxes_from_openpose(kp137, IMAGE_HW, rule="mediapipe")


def test_quality_outside_fraction_and_keypoints_inside():
    boxes_xywh = np.array(
        [
            [-10.0, 0.0, 20.0, 10.0],  # half outside on the left
            [0.0, 0.0, 50.0, 40.0],  # fully inside
            [200.0, 200.0, 10.0, 10.0],  # fully outside
            [5.0, 5.0, 0.0, 10.0],  # zero width
            [np.nan, 0.0, 1.0, 1.0],  # empty
        ]
    )
    np.testing.assert_allclose(quality.outside_fraction(boxes_xywh, (100, 100)), [0.5, 0, 1, 1, 1])
    kp = np.zeros((5, 4, 3))
    kp[:, :, 2] = 0.9
    kp[1, :, :2] = [[1, 1], [49, 39], [60, 10], [10, 45]]  # two inside, two outside
    kp[0, :, :2] = [[5, 5], [-5, 5], [50, 50], [0, 0]]
    kp[0, 3, 2] = 0.1  # not confident
    rec = quality.assess_crops(boxes_xywh, kp, (100, 100))
    assert [r.reason for r in rec] == ["ok", "ok", "outside_image", "zero_area", "empty_box"]
    assert rec[1].num_inside == 2 and rec[1].inside_fraction == 0.5 and rec[1].side_px == 50.0
    assert rec[0].num_keypoints == 3 and rec[0].num_inside == 2
    assert [r.degenerate for r in rec] == [False, False, True, True, True]
    few = kp.copy()
    few[1, 1:, 2] = 0.0
    assert quality.assess_crops(boxes_xywh, few, (100, 100))[1].reason == "too_few_keypoints"
    assert set(rec[0].as_dict()) >= {"side_px", "outside_fraction", "degenerate", "reason"}
    with pytest.raises(ValueError):
        quality.assess_crops(boxes_xywh, kp[:3], (100, 100))


def test_quality_of_real_crops(kp137):
    found = expose_boxes.part_boxes_from_openpose(kp137, IMAGE_HW)
    body = quality.assess_crops(found["body"].xywh, part_keypoints(kp137, "body"), IMAGE_HW)
    assert not body[0].degenerate and body[0].num_inside == body[0].num_keypoints == 21
    assert body[0].outside_fraction == 0.0 and body[0].side_px == pytest.approx(141.762)
    lh = found["left_hand"]
    q = quality.assess_crops(lh.xywh, part_keypoints(kp137, "left_hand"), IMAGE_HW)[0]
    assert q.reason == "ok" and q.num_inside == 5 and q.side_px < 10
