"""Detector protocol, factory, box matching, checkpoint loading and hand assignment."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from furpe_label.experts.detectors import BACKENDS, PersonKeypoints, create_detector
from furpe_label.experts.detectors.base import (
    as_boxes,
    box_is_valid,
    image_problem,
)
from furpe_label.experts.detectors.boxes import (
    crop_window,
    keypoint_box,
    match_people_to_boxes,
)
from furpe_label.experts.detectors.checkpoints import (
    UnsafeCheckpointError,
    load_checkpoint_weights_only,
    state_dict_of,
)
from furpe_label.experts.detectors.hand_assignment import (
    HandCandidate,
    assign_hands,
    side_probability,
)
from furpe_label.experts.geometry.boxes import containment, iou
from furpe_label.experts.vocabulary import Reason


def test_person_keypoints_validates_and_freezes():
    kps = np.zeros((137, 3), np.float32)
    row = PersonKeypoints(kps, "x", "1")
    assert row.ok
    with pytest.raises(ValueError):
        row.keypoints[0, 0] = 1.0
    with pytest.raises(ValueError, match="float32"):
        PersonKeypoints(np.zeros((137, 3)), "x", "1")
    with pytest.raises(ValueError, match="137"):
        PersonKeypoints(np.zeros((25, 3), np.float32), "x", "1")
    with pytest.raises(ValueError, match="unknown failure"):
        PersonKeypoints(kps.copy(), "x", "1", failure="oops")
    failed = PersonKeypoints.failed("x", "1", Reason.NO_PERSON)
    assert not failed.ok and failed.failure == "no_person_in_box"
    assert not failed.keypoints.any()


def test_as_boxes_and_validity():
    assert as_boxes(np.array([1, 2, 3, 4])).shape == (1, 4)
    assert as_boxes(np.zeros((0, 4))).shape == (0, 4)
    assert as_boxes([]).shape == (0, 4)
    with pytest.raises(ValueError, match="P, 4"):
        as_boxes(np.zeros((2, 5)))
    assert box_is_valid(np.array([0, 0, 1, 1.0]))
    assert not box_is_valid(np.array([0, 0, 0, 1.0]))
    assert not box_is_valid(np.array([np.nan, 0, 1, 1.0]))


def test_image_problem():
    assert image_problem(np.zeros((4, 4, 3), np.uint8)) is None
    for bad in (
        None,
        np.zeros((4, 4), np.uint8),
        np.zeros((4, 4, 3)),
        np.zeros((0, 0, 3), np.uint8),
    ):
        assert image_problem(bad) == "image_unreadable"


def test_factory_table_and_errors():
    assert set(BACKENDS) == {"mediapipe", "openpose-json", "mmpose", "openpifpaf"}
    with pytest.raises(ValueError, match="unknown keypoint detector"):
        create_detector("yolo")


@pytest.mark.skipif(importlib.util.find_spec("mmpose") is not None, reason="mmpose installed")
def test_mmpose_missing_names_the_extra(tmp_path):
    with pytest.raises(ImportError, match=r"furpe-label\[mmpose\]"):
        create_detector("mmpose", config=tmp_path / "c.py", checkpoint=tmp_path / "w.pth")


@pytest.mark.skipif(importlib.util.find_spec("openpifpaf") is not None, reason="installed")
def test_openpifpaf_missing_names_the_extra(tmp_path):
    with pytest.raises(ImportError, match=r"furpe-label\[openpifpaf\]"):
        create_detector("openpifpaf", checkpoint=tmp_path / "w.pt")


def test_crop_window_margin_square_and_clipping():
    assert crop_window(np.array([10, 20, 40, 20.0]), 0.25, (100, 100)) == (0, 10, 60, 50)
    assert crop_window(np.array([40, 40, 20, 10.0]), 0.0, (100, 100), square=True) == (
        40,
        35,
        60,
        55,
    )
    assert crop_window(np.array([200, 200, 10, 10.0]), 0.1, (100, 100)) is None


def test_iou_containment_keypoint_box():
    a = np.array([0, 0, 10, 10.0])
    assert iou(a, a) == pytest.approx(1.0)
    assert iou(a, np.array([5, 0, 10, 10.0])) == pytest.approx(50 / 150)
    assert iou(a, np.array([20, 20, 5, 5.0])) == 0.0
    pts = np.array([[1, 1], [5, 5], [20, 20.0]])
    assert containment(pts, a) == pytest.approx(2 / 3)
    kps = np.array([[1, 2, 0.9], [7, 9, 0.8], [100, 100, 0.05]])
    np.testing.assert_allclose(keypoint_box(kps), [1, 2, 6, 7])
    assert keypoint_box(kps[:1]) is None


def _person(x0: float, y0: float, size: float) -> np.ndarray:
    kps = np.zeros((137, 3))
    kps[:25, 0] = np.linspace(x0, x0 + size, 25)
    kps[:25, 1] = np.linspace(y0, y0 + 2 * size, 25)
    kps[:25, 2] = 0.8
    return kps


def test_match_people_to_boxes_one_to_one():
    people = [_person(200, 10, 50), _person(10, 10, 50)]
    boxes = np.array([[0, 0, 70, 120], [190, 0, 70, 120], [400, 400, 50, 50.0]])
    assert match_people_to_boxes(people, boxes) == [1, 0, None]
    # Two boxes around the same person: only one gets it.
    assert match_people_to_boxes(people[:1], boxes[[1, 1]]).count(0) == 1
    assert match_people_to_boxes([], boxes) == [None, None, None]
    assert match_people_to_boxes([np.zeros((137, 3))], boxes) == [None, None, None]


def test_checkpoint_loader_allows_numpy_refuses_objects(tmp_path):
    good = tmp_path / "good.pth"
    torch.save(
        {
            "state_dict": {"module.w": torch.ones(2)},
            "meta": {"dataset_meta": {"sigmas": np.array([0.1, 0.2], np.float32)}},
        },
        good,
    )
    loaded = load_checkpoint_weights_only(good)
    np.testing.assert_allclose(loaded["meta"]["dataset_meta"]["sigmas"], [0.1, 0.2])
    assert list(state_dict_of(loaded)) == ["w"]
    bad = tmp_path / "bad.pth"
    torch.save({"model": torch.nn.Linear(2, 2)}, bad)
    with pytest.raises(UnsafeCheckpointError, match=r"torch\.nn\.modules\.linear\.Linear"):
        load_checkpoint_weights_only(bad)
    with pytest.raises(FileNotFoundError):
        load_checkpoint_weights_only(tmp_path / "none.pth")
    with pytest.raises(ValueError, match="no tensors"):
        state_dict_of({"a": 1})


def _hand(wrist_xy: tuple[float, float], label: str, score: float) -> HandCandidate:
    pts = np.zeros((21, 2))
    pts[:] = wrist_xy
    pts[9] = (wrist_xy[0], wrist_xy[1] - 20.0)  # palm length 20 px
    return HandCandidate(pts, label, score, np.zeros((21, 3), np.float32))


def test_handedness_is_swapped_for_non_mirrored_photos():
    hand = _hand((0, 0), "Left", 0.9)
    assert side_probability(hand, "right", mirrored_input=False) == pytest.approx(0.9)
    assert side_probability(hand, "left", mirrored_input=True) == pytest.approx(0.9)
    assert side_probability(hand, "left", mirrored_input=False) == pytest.approx(0.1)


def test_assign_hands_by_proximity_and_handedness():
    wrists = {"left": np.array([300, 200, 0.9]), "right": np.array([100, 200, 0.9])}
    # MediaPipe "Right" on an ordinary photo = the person's left hand.
    near_left = _hand((305, 205), "Right", 0.95)
    near_right = _hand((98, 195), "Left", 0.9)
    result = assign_hands([near_right, near_left], wrists)
    assert result["left"] == (1, pytest.approx(0.95))
    assert result["right"] == (0, pytest.approx(0.9))
    # Proximity overrules a contradicting label; the confidence reports the disagreement.
    wrong_label = _hand((305, 205), "Left", 0.8)
    result = assign_hands([wrong_label], wrists)
    assert result == {"left": (0, pytest.approx(0.2))}
    # A hand far from both usable wrists is rejected.
    assert assign_hands([_hand((600, 600), "Right", 0.99)], wrists) == {}
    # Without a pose, handedness alone decides.
    none = {"left": None, "right": None}
    assert assign_hands([_hand((600, 600), "Right", 0.99)], none) == {"left": (0, 0.99)}
    # Invisible wrists: proximity is not used.
    hidden = {k: np.array([*v[:2], 0.1]) for k, v in wrists.items()}
    assert assign_hands([_hand((600, 600), "Left", 0.7)], hidden) == {
        "right": (0, pytest.approx(0.7))
    }
