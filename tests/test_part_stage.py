"""The expert stage end to end: real OpenPose output -> part crops -> experts -> records."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import skimage.data

from furpe_label.experts.crops import warps
from furpe_label.experts.crops.boxes import spin_body_center_scale
from furpe_label.experts.crops.part_crops import PARTS, make_part_crops
from furpe_label.experts.detectors import create_detector
from furpe_label.experts.geometry.crop_transform import crop_to_image
from furpe_label.experts.networks.records import Part
from furpe_label.experts.part_stage import (
    REASON_EXPERT_DISABLED,
    PartExperts,
    load_part_experts,
    run_part_experts,
    run_part_experts_batch,
)
from tests.doubles.official_checkpoints import write_experts_folder
from tests.real_data import SPIN_EXAMPLE


@pytest.fixture(scope="module")
def experts(tmp_path_factory) -> PartExperts:
    folder = write_experts_folder(tmp_path_factory.mktemp("experts"), seed=1)
    return load_part_experts(folder, device="cpu", batch_size=4)


@pytest.fixture(scope="module")
def real_example() -> tuple[np.ndarray, np.ndarray]:
    """im1010.jpg and its real OpenPose 1.2 keypoints, read by the openpose-json backend."""
    image = cv2.imread(str(SPIN_EXAMPLE / "im1010.jpg"))[:, :, ::-1].copy()
    box = np.array([json.loads((SPIN_EXAMPLE / "im1010_bbox.json").read_text())["bbox"]], float)
    with create_detector("openpose-json", folder=SPIN_EXAMPLE) as detector:
        (person,) = detector.detect(image, box, image_id="im1010")
    assert person.ok
    return image, person.keypoints[None].astype(np.float64)


def _astronaut_keypoints() -> np.ndarray:
    """A hand-made OpenPose-137 person on skimage's astronaut: body, face ring, right hand."""
    kps = np.zeros((1, 137, 3))
    body = {
        0: (226, 120), 1: (210, 250), 2: (120, 245), 5: (305, 255), 3: (70, 400),
        4: (140, 480), 6: (330, 370), 7: (340, 460), 15: (205, 100), 16: (245, 100),
    }  # fmt: skip
    for index, (x, y) in body.items():
        kps[0, index] = (x, y, 0.9)
    angles = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    kps[0, 67:135] = np.c_[228 + 45 * np.cos(angles), 125 + 60 * np.sin(angles), np.full(68, 0.9)]
    fingers = np.linspace(0, np.pi, 21)
    kps[0, 46:67] = np.c_[150 + 25 * np.cos(fingers), 480 + 20 * np.sin(fingers), np.full(21, 0.8)]
    return kps


def test_real_photo_parts_and_named_reasons(real_example, experts):
    image, keypoints = real_example
    result = run_part_experts(image, keypoints, experts)
    assert set(result) == set(PARTS)
    body = result["body"]
    assert body.reasons == ("ok",) and body.record.part is Part.BODY
    assert body.record.params.rotmats.shape == (1, 24, 3, 3)
    assert body.record.feature.dtype == np.float16 and body.record.feature.shape == (1, 2048)
    # the real file has no face and no right hand: named reasons, no record
    assert result["face"].reasons == ("empty_box",) and result["face"].record is None
    assert result["right_hand"].reasons == ("empty_box",) and result["right_hand"].record is None
    left = result["left_hand"]
    assert left.reasons == ("ok",)
    assert left.record.params.is_left.tolist() == [True]
    assert left.record.params.pose.shape == (1, 48)


def test_crop_affines_map_the_crop_centre_into_the_box(real_example):
    image, keypoints = real_example
    crops = make_part_crops(image, keypoints)
    for part in ("body", "left_hand"):
        part_crops = crops[part]
        centre = crop_to_image(np.array([[111.5, 111.5]]), part_crops.affines[0])[0]
        x, y, w, h = part_crops.boxes[0]
        assert x - 1 <= centre[0] <= x + w + 1 and y - 1 <= centre[1] <= y + h + 1, part
        assert part_crops.crops.shape == (1, 224, 224, 3)
        assert np.isnan(crops["face"].affines[0]).all()


def test_batch_over_images_equals_single_images(real_example, experts):
    image, keypoints = real_example
    astronaut, astronaut_kps = skimage.data.astronaut(), _astronaut_keypoints()
    both = np.concatenate([astronaut_kps, astronaut_kps])  # two persons, same image
    batch = run_part_experts_batch([image, astronaut], [keypoints, both], experts)
    single = run_part_experts(astronaut, both, experts)
    for part in PARTS:
        a, b = batch[1][part], single[part]
        assert a.reasons == b.reasons, part
        if a.record is not None:
            np.testing.assert_allclose(a.record.camera, b.record.camera, atol=1e-4)
            assert a.record.params.__class__ is b.record.params.__class__
    assert batch[1]["face"].reasons == ("ok", "ok")
    assert batch[1]["right_hand"].record.params.is_left.tolist() == [False, False]
    np.testing.assert_array_equal(batch[1]["face"].crops.person_index, [0, 1])
    assert batch[0]["face"].reasons == ("empty_box",)


def test_disabled_expert_and_no_person(real_example, experts):
    image, keypoints = real_example
    only_body = PartExperts(body=experts.body)
    result = run_part_experts(image, keypoints, only_body)
    assert result["body"].record is not None
    assert result["left_hand"].reasons == (REASON_EXPERT_DISABLED,)
    assert result["left_hand"].record is None
    assert result["face"].reasons == ("empty_box",)  # the crop reason wins over "disabled"
    empty = run_part_experts(image, np.zeros((0, 137, 3)), experts)
    assert all(r.record is None and r.reasons == () for r in empty.values())


def test_unknown_part_is_refused():
    with pytest.raises(ValueError, match="unknown expert parts"):
        load_part_experts(None, parts=("body", "feet"))


def test_crops_follow_each_experts_rule_and_left_hands_flip_once(real_example, experts):
    image, keypoints = real_example
    crops = make_part_crops(image, keypoints)
    center, scale, _ = spin_body_center_scale(keypoints)
    np.testing.assert_array_equal(
        crops["body"].crops[0], warps.spin_input(image, center[0], scale[0])[0]
    )
    hand_crop, affine, _ = warps.frankmocap_input(image, crops["left_hand"].boxes[0])  # no flip
    np.testing.assert_array_equal(crops["left_hand"].crops[0], hand_crop)
    np.testing.assert_allclose(crops["left_hand"].affines[0], affine)
    # the runner mirrors left hands once: the stage equals the runner on the unflipped crop ...
    staged = run_part_experts(image, keypoints, experts)["left_hand"].record
    direct = experts.hands(hand_crop[None], np.array([True]))
    np.testing.assert_allclose(staged.params.pose, direct.params.pose, atol=1e-5)
    np.testing.assert_allclose(staged.camera, direct.camera, atol=1e-5)
    # ... and differs from feeding a crop that was already mirrored (a double flip)
    twice = experts.hands(np.ascontiguousarray(hand_crop[None, :, ::-1]), np.array([True]))
    assert np.abs(twice.params.pose - staged.params.pose).max() > 1e-4


def test_every_person_is_in_a_record_or_has_a_reason(experts):
    image, full = skimage.data.astronaut(), _astronaut_keypoints()
    broken = np.zeros((1, 137, 3))
    broken[0, 1] = (200, 250, 0.9)  # one body keypoint: a zero-area SPIN box
    broken[0, 67:135] = (300.0, 300.0, 0.9)  # 68 landmarks on one point: zero-area face box
    hand = np.c_[np.linspace(600, 640, 21), np.linspace(100, 140, 21), np.full(21, 0.8)]
    broken[0, 46:67] = hand  # right hand right of the image: clipped to nothing
    keypoints = np.concatenate([full, broken, full])
    result = run_part_experts(image, keypoints, experts)
    for part, part_result in result.items():
        ok = [i for i, reason in enumerate(part_result.reasons) if reason == "ok"]
        np.testing.assert_array_equal(part_result.crops.person_index, ok)
        assert len(part_result.reasons) == 3 and len(part_result.crops.quality) == 3
        assert part_result.crops.boxes.shape == (3, 4)
        assert part_result.crops.affines.shape == (3, 2, 3)
        assert (part_result.record is None) == (not ok)
        if ok:
            assert len(part_result.record) == len(ok), part
            assert part_result.record.feature.shape == (len(ok), 2048)
    for part in ("body", "face", "right_hand"):
        assert result[part].reasons == ("ok", "zero_area", "ok"), part
        assert result[part].crops.quality[1].degenerate
        assert np.isnan(result[part].crops.affines[1]).all()
    assert result["left_hand"].reasons == ("empty_box",) * 3
    assert result["body"].record.params.rotmats.shape == (2, 24, 3, 3)
    assert result["face"].record.params.exp.shape == (2, 50)
    assert result["right_hand"].record.params.is_left.tolist() == [False, False]
    # persons 0 and 2 are the same person: the same crops give the same labels
    np.testing.assert_allclose(*result["face"].record.camera, atol=1e-5)
    for part in ("body", "face", "right_hand"):
        for person in (0, 2):
            part_crops = result[part].crops
            centre = crop_to_image(np.array([[111.5, 111.5]]), part_crops.affines[person])[0]
            x, y, w, h = part_crops.boxes[person]
            assert x - 1 <= centre[0] <= x + w + 1 and y - 1 <= centre[1] <= y + h + 1, part
