"""The expert stage end to end: real OpenPose output -> crop plans -> experts -> dense rows."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import skimage.data

from furpe_label.experts.crops import warps
from furpe_label.experts.crops.boxes import spin_body_center_scale
from furpe_label.experts.crops.rules import FrankMocapHandCrop, SpinBodyCrop
from furpe_label.experts.detectors import create_detector
from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.geometry.crop_transform import crop_to_image
from furpe_label.experts.part_experts import ExpertOptions, build_experts
from furpe_label.experts.part_stage import PersonBatch, run_expert_stage
from furpe_label.experts.vocabulary import Part, Reason
from tests.support.doubles.official_checkpoints import write_experts_folder
from tests.support.real_data import SPIN_EXAMPLE

BODY, FACE, LEFT, RIGHT = (p.column for p in Part)


@pytest.fixture(scope="module")
def experts(tmp_path_factory) -> dict[Part, object]:
    folder = write_experts_folder(tmp_path_factory.mktemp("experts"), seed=1)
    options = ExpertOptions(experts_dir=folder, device="cpu", batch_size=4)
    built = build_experts(["spin", "deca", "frankmocap"], options)
    return {expert.part: expert for expert in built}


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
        0: (226, 120),
        1: (210, 250),
        2: (120, 245),
        5: (305, 255),
        3: (70, 400),
        4: (140, 480),
        6: (330, 370),
        7: (340, 460),
        15: (205, 100),
        16: (245, 100),
    }
    for index, (x, y) in body.items():
        kps[0, index] = (x, y, 0.9)
    angles = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    kps[0, 67:135] = np.c_[228 + 45 * np.cos(angles), 125 + 60 * np.sin(angles), np.full(68, 0.9)]
    fingers = np.linspace(0, np.pi, 21)
    kps[0, 46:67] = np.c_[150 + 25 * np.cos(fingers), 480 + 20 * np.sin(fingers), np.full(21, 0.8)]
    return kps


def _persons(images, keypoints, failure=None) -> PersonBatch:
    """A PersonBatch from per-image (P_i, 137, 3) keypoint arrays."""
    index = np.concatenate([np.full(len(k), i) for i, k in enumerate(keypoints)]).astype(int)
    kps = np.concatenate(keypoints).astype(np.float32).reshape(-1, 137, 3)
    failure = failure if failure is not None else [Reason.OK] * len(index)
    return PersonBatch(list(images), index, kps, failure)


def _stage(images, keypoints, experts, parts=tuple(Part)) -> ExpertOutputs:
    return run_expert_stage(_persons(images, keypoints), [experts[p] for p in parts])


def test_real_photo_parts_and_named_reasons(real_example, experts):
    image, keypoints = real_example
    out = _stage([image], [keypoints], experts)
    assert out.reason.shape == (1, 4)
    assert out.reason[0, BODY] is Reason.OK and out.records[Part.BODY].part is Part.BODY
    body = out.records[Part.BODY]
    assert body.params.rotmats.shape == (1, 24, 3, 3)
    assert body.feature.dtype == np.float16 and body.feature.shape == (1, 2048)
    assert body.head_feature.dtype == np.float16 and body.head_feature.shape == (1, 1024)
    # the real file has no face and no right hand: named reasons, no output
    assert out.reason[0, FACE] is Reason.EMPTY_BOX and Part.FACE not in out.records
    assert out.reason[0, RIGHT] is Reason.EMPTY_BOX and Part.RIGHT_HAND not in out.records
    left = out.records[Part.LEFT_HAND]
    assert out.reason[0, LEFT] is Reason.OK
    assert left.params.is_left.tolist() == [True]
    assert left.params.pose.shape == (1, 48)
    assert out.valid.tolist() == [[True, False, True, False]]


def test_crop_affines_map_the_crop_centre_into_the_stored_box(real_example, experts):
    image, keypoints = real_example
    out = _stage([image], [keypoints], experts)
    for part in (Part.BODY, Part.LEFT_HAND):
        centre = crop_to_image(np.array([[111.5, 111.5]]), out.affines[0, part.column])[0]
        x, y, w, h = out.boxes[0, part.column]
        assert x - 1 <= centre[0] <= x + w + 1 and y - 1 <= centre[1] <= y + h + 1, part
    assert np.isnan(out.affines[0, FACE]).all() and np.isnan(out.boxes[0, FACE]).all()


def test_the_stored_box_is_the_cropped_box(real_example):
    """Every corner of the realised region maps to the crop's corners (SPIN's integer box,
    FrankMocap's squared box), and the plan's affine is the warp's affine."""
    image, keypoints = real_example
    for rule in (SpinBodyCrop(), FrankMocapHandCrop(Part.LEFT_HAND)):
        plan = rule.plan(keypoints, image.shape[:2])
        x, y, w, h = plan.boxes[0]
        corners = np.array([[x, y], [x + w, y + h]]) - 0.5  # pixel-edge -> pixel-centre frame
        mapped = corners @ plan.affines[0][:, :2].T + plan.affines[0][:, 2]
        np.testing.assert_allclose(mapped, [[-0.5, -0.5], [223.5, 223.5]], atol=1e-9)
    center, scale, _ = spin_body_center_scale(keypoints)
    _, spin_affine = warps.spin_input(image, center[0], scale[0])
    np.testing.assert_allclose(
        SpinBodyCrop().plan(keypoints, image.shape[:2]).affines[0], spin_affine
    )


def test_batch_over_images_equals_single_images(real_example, experts):
    image, keypoints = real_example
    astronaut, astronaut_kps = skimage.data.astronaut(), _astronaut_keypoints()
    both = np.concatenate([astronaut_kps, astronaut_kps])  # two persons, same image
    batch = _stage([image, astronaut], [keypoints, both], experts)
    single = _stage([astronaut], [both], experts)
    np.testing.assert_array_equal(batch.reason[1:], single.reason)
    for part, record in single.records.items():
        np.testing.assert_allclose(batch.records[part].camera[1:], record.camera, atol=1e-4)
        assert batch.records[part].params.__class__ is record.params.__class__
    assert single.reason[:, FACE].tolist() == [Reason.OK, Reason.OK]
    assert batch.records[Part.RIGHT_HAND].params.is_left[1:].tolist() == [False, False]
    assert batch.reason[0, FACE] is Reason.EMPTY_BOX


def test_disabled_expert_failed_detection_and_no_person(real_example, experts):
    image, keypoints = real_example
    out = _stage([image], [keypoints], experts, parts=(Part.BODY,))
    assert Part.BODY in out.records
    assert out.reason[0, LEFT] is Reason.EXPERT_DISABLED and Part.LEFT_HAND not in out.records
    assert out.reason[0, FACE] is Reason.EXPERT_DISABLED
    persons = _persons([image], [keypoints], failure=[Reason.NO_PERSON])
    failed = run_expert_stage(persons, list(experts.values()))
    assert (failed.reason[0] == Reason.NO_PERSON).all() and not failed.records
    empty = _stage([image], [np.zeros((0, 137, 3))], experts)
    assert empty.reason.shape == (0, 4) and not empty.records


def test_unreadable_image_and_failing_expert_keep_every_row(real_example, experts):
    image, keypoints = real_example
    persons = _persons([None, image], [keypoints, keypoints])
    out = run_expert_stage(persons, [experts[Part.BODY]])
    assert out.reason[0, BODY] is Reason.IMAGE_UNREADABLE and out.reason[1, BODY] is Reason.OK

    class FailingExpertDouble:
        name, part, sha256, needs_crops = "failing-double", Part.BODY, "0" * 64, False
        crop_rule = SpinBodyCrop()

        def __call__(self, batch):
            raise RuntimeError("device lost")

    out = run_expert_stage(persons, [FailingExpertDouble()])
    assert out.reason[1, BODY] is Reason.EXPERT_FAILED
    assert "device lost" in out.detail[1, BODY] and Part.BODY not in out.records


def test_unknown_or_doubled_experts_are_refused():
    with pytest.raises(ValueError, match="unknown experts"):
        build_experts(["spin", "feet"], ExpertOptions())


def test_crops_follow_each_experts_rule_and_left_hands_flip_once(real_example, experts):
    image, keypoints = real_example
    center, scale, _ = spin_body_center_scale(keypoints)
    body_rule = experts[Part.BODY].crop_rule
    plan = body_rule.plan(keypoints, image.shape[:2])
    np.testing.assert_array_equal(
        body_rule.cut(image, plan, 0), warps.spin_input(image, center[0], scale[0])[0]
    )
    hand = experts[Part.LEFT_HAND]
    hand_plan = hand.crop_rule.plan(keypoints, image.shape[:2])
    hand_crop, affine, _ = warps.frankmocap_input(image, hand_plan.rule_boxes[0])  # no flip
    np.testing.assert_array_equal(hand.crop_rule.cut(image, hand_plan, 0), hand_crop)
    np.testing.assert_allclose(hand_plan.affines[0], affine)
    # the runner mirrors left hands once: the stage equals the runner on the unflipped crop ...
    staged = _stage([image], [keypoints], experts).records[Part.LEFT_HAND]
    direct = hand.runner(hand_crop[None], np.array([True]))
    np.testing.assert_allclose(staged.params.pose, direct.params.pose, atol=1e-5)
    np.testing.assert_allclose(staged.camera, direct.camera, atol=1e-5)
    # ... and differs from feeding a crop that was already mirrored (a double flip)
    twice = hand.runner(np.ascontiguousarray(hand_crop[None, :, ::-1]), np.array([True]))
    assert np.abs(twice.params.pose - staged.params.pose).max() > 1e-4


def test_every_person_is_in_a_record_or_has_a_reason(experts):
    image, full = skimage.data.astronaut(), _astronaut_keypoints()
    broken = np.zeros((1, 137, 3))
    broken[0, 1] = (200, 250, 0.9)  # one body keypoint: a zero-area SPIN box
    broken[0, 67:135] = (300.0, 300.0, 0.9)  # 68 landmarks on one point: zero-area face box
    hand = np.c_[np.linspace(600, 640, 21), np.linspace(100, 140, 21), np.full(21, 0.8)]
    broken[0, 46:67] = hand  # right hand right of the image: clipped to nothing
    out = _stage([image], [np.concatenate([full, broken, full])], experts, parts=tuple(Part))
    for part, record in out.records.items():
        ok = out.reason[:, part.column] == Reason.OK
        assert len(record) == 3  # scattered back to every instance
        assert np.isfinite(record.camera[ok]).all() and np.isnan(record.camera[~ok]).all()
        assert record.feature.shape == (3, 2048)
    assert out.boxes.shape == (3, 4, 4) and out.affines.shape == (3, 4, 2, 3)
    for part in (Part.BODY, Part.FACE, Part.RIGHT_HAND):
        assert out.reason[:, part.column].tolist() == [Reason.OK, Reason.ZERO_AREA, Reason.OK]
        assert np.isnan(out.affines[1, part.column]).all()
    assert out.reason[:, LEFT].tolist() == [Reason.EMPTY_BOX] * 3
    assert out.records[Part.BODY].params.rotmats.shape == (3, 24, 3, 3)
    assert out.records[Part.RIGHT_HAND].params.is_left.tolist() == [False, False, False]
    # persons 0 and 2 are the same person: the same crops give the same labels
    np.testing.assert_allclose(*out.records[Part.FACE].camera[[0, 2]], atol=1e-5)
    for part in (Part.BODY, Part.FACE, Part.RIGHT_HAND):
        for person in (0, 2):
            centre = crop_to_image(np.array([[111.5, 111.5]]), out.affines[person, part.column])
            x, y, w, h = out.boxes[person, part.column]
            inside = x - 1 <= centre[0, 0] <= x + w + 1 and y - 1 <= centre[0, 1] <= y + h + 1
            assert inside, part


def test_blocks_of_rows_concatenate_to_the_whole(real_example, experts):
    """The shard runner runs the stage chunk by chunk: the concatenation equals one call, also
    when a chunk has no output for a part (NaN-filled records)."""
    image, keypoints = real_example
    astronaut = _astronaut_keypoints()
    whole = _stage([image, skimage.data.astronaut()], [keypoints, astronaut], experts)
    first = _stage([image], [keypoints], experts)  # no face / right hand output here
    second = _stage([skimage.data.astronaut()], [astronaut], experts)
    joined = ExpertOutputs.concat([first, second])
    np.testing.assert_array_equal(joined.reason, whole.reason)
    np.testing.assert_allclose(joined.boxes, whole.boxes)
    for part, record in whole.records.items():
        np.testing.assert_allclose(joined.records[part].camera, record.camera, atol=1e-4)
        assert joined.records[part].feature.shape == record.feature.shape
    assert np.isnan(joined.records[Part.FACE].camera[0]).all()
