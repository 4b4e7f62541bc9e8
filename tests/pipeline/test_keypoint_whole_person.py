"""Whole persons only, at the keypoint stage: on OpenCV's ``basketball1.png`` a
head-and-shoulders box around the standing left player is grown to his whole body (and then
is one person with his full box); full boxes, and a HOG box whose feet MediaPipe saw just
beyond it (``im1010.jpg``), are untouched; a box still cut after its one growth is dropped as
``person_cut_by_box``."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from furpe_label.experts.detectors.base import PersonKeypoints
from furpe_label.experts.vocabulary import Reason
from furpe_label.pipeline.keypoint_stage import (
    KeypointSource,
    ShardKeypoints,
    detect_keypoints,
    mark_duplicate_people,
)
from furpe_label.pipeline.whole_person_stage import keep_whole_persons
from furpe_label.selection.config import SelectionConfig
from furpe_label.selection.duplicates import DuplicateConfig
from furpe_label.selection.whole_person import WholePersonConfig, body_outside_box
from tests.support.real_data import OPENCV_SAMPLES, SPIN_EXAMPLE

LEFT_PLAYER = [0.0, 51.0, 200.0, 429.0]  # the HOG box of the man catching the ball
RIGHT_PLAYER = [420.0, 10.0, 220.0, 470.0]
LEFT_HEAD_AND_SHOULDERS = [40.0, 51.0, 120.0, 130.0]  # y 51..181 of a body reaching y ~470
LOWER_BODY = slice(8, 15)  # OpenPose body 25: mid-hip, hips, knees, ankles


@pytest.fixture(scope="module")
def source():
    source = KeypointSource("mediapipe")
    yield source
    source.close()


@pytest.fixture(scope="module")
def image():
    return cv2.cvtColor(cv2.imread(str(OPENCV_SAMPLES / "basketball1.png")), cv2.COLOR_BGR2RGB)


def _detect(source: KeypointSource, image: np.ndarray, boxes: list[list[float]]):
    count = len(boxes)
    found = detect_keypoints(
        source, [image], np.zeros(count, np.int64), np.array(boxes), [Reason.OK] * count
    )
    assert found.failure == [Reason.OK] * count, found.failure
    return found


def test_a_head_and_shoulders_box_is_grown_to_the_whole_player(source, image):
    boxes = [LEFT_PLAYER, RIGHT_PLAYER, LEFT_HEAD_AND_SHOULDERS]
    found = _detect(source, image, boxes)
    # MediaPipe extrapolates the player's lower body far below the head box, unconfidently
    assert body_outside_box(found.keypoints, np.array(boxes), WholePersonConfig()).tolist() == [
        False,
        False,
        True,
    ]
    assert (found.keypoints[2, LOWER_BODY, 2] < 0.5).all()
    untouched = found.keypoints[:2].copy()
    outcome = keep_whole_persons(
        source, found, [image], np.zeros(3, np.int64), np.array(boxes), WholePersonConfig()
    )
    assert outcome.tolist() == [0, 0, 1]
    np.testing.assert_array_equal(found.keypoints[:2], untouched)  # full boxes untouched
    assert found.failure == [Reason.OK] * 3
    assert found.detail[2].startswith("box [40, 51, 120, 130] cut the person; detected in")
    # the grown row now sees the whole player: his lower body confidently, where the full box
    # puts it
    assert (found.keypoints[2, LOWER_BODY, 2] >= 0.5).all()
    np.testing.assert_allclose(
        found.keypoints[2, LOWER_BODY, :2], found.keypoints[0, LOWER_BODY, :2], atol=25.0
    )
    # ... and the de-dup that follows compares whole persons: the player is kept once
    marked = mark_duplicate_people(
        found, ["basketball1.png"] * 3, np.arange(3), SelectionConfig(), DuplicateConfig()
    )
    assert marked.sum() == 1 and not marked[1]
    survivor = 0 if marked[2] else 2
    assert (found.keypoints[survivor, LOWER_BODY, 2] >= 0.5).all()


class _StillCutDetectorDouble:
    """Test double of a box detector whose person always reaches 100 px below any box."""

    name = "mediapipe"
    version = "test double"

    def __init__(self) -> None:
        self.boxes: list[list[float]] = []

    def detect(self, image, boxes, *, image_id=None):
        out = []
        for x, y, w, h in np.asarray(boxes, np.float64):
            self.boxes.append([x, y, w, h])
            kps = np.zeros((137, 3), np.float32)
            kps[1] = (x + w / 2, y + h / 2, 1.0)  # neck
            kps[11] = (x + w / 2, y + h + 100.0, 0.05)  # right ankle, beyond the box
            out.append(PersonKeypoints(kps, self.name, self.version))
        return out

    def close(self) -> None:
        pass


def test_a_box_still_cut_after_its_one_growth_is_dropped_with_the_reason():
    source = KeypointSource("mediapipe")
    double = _StillCutDetectorDouble()
    source._detectors[""] = double
    image = np.zeros((1000, 600, 3), np.uint8)
    boxes = np.array([[100.0, 100.0, 100.0, 100.0]])
    found = ShardKeypoints.empty(1, [Reason.OK], "mediapipe")
    found.keypoints[:] = double.detect(image, boxes)[0].keypoints
    outcome = keep_whole_persons(
        source, found, [image], np.zeros(1, np.int64), boxes, WholePersonConfig()
    )
    assert outcome.tolist() == [2] and found.failure == [Reason.PERSON_CUT_BY_BOX]
    assert len(double.boxes) == 2  # the first detection above, then one growth only
    grown = double.boxes[1]
    assert grown[1] + grown[3] > 300.0 and grown[3] <= 1000.0  # grown down to the ankle
    assert found.detail[0].startswith("body keypoints beyond box [100, 100, 100, 100]; grown")
    assert found.detail[0].endswith("still cut there")


def test_other_sources_are_left_alone():
    source = KeypointSource("ground-truth")
    found = ShardKeypoints.empty(1, [Reason.OK], "ground-truth")
    found.keypoints[0, 1] = (10, 10, 1.0)
    found.keypoints[0, 11] = (10, 900, 1.0)
    outcome = keep_whole_persons(
        source,
        found,
        [np.zeros((1000, 100, 3), np.uint8)],
        np.zeros(1, np.int64),
        np.array([[0.0, 0.0, 50.0, 50.0]]),
        WholePersonConfig(),
    )
    assert outcome.tolist() == [0] and found.failure == [Reason.OK]


def test_feet_the_detector_saw_just_beyond_a_hog_box_leave_the_row_alone(source):
    # SPIN's example im1010.jpg: the HOG box cuts the feet by a few pixels; MediaPipe finds them
    # at visibility ~0.9 on the box plus its margin, so the detection is whole as it is
    image = cv2.cvtColor(cv2.imread(str(SPIN_EXAMPLE / "im1010.jpg")), cv2.COLOR_BGR2RGB)
    boxes = [[51.0, 28.0, 58.0, 115.0]]
    found = _detect(source, image, boxes)
    before = found.keypoints.copy()
    outcome = keep_whole_persons(
        source, found, [image], np.zeros(1, np.int64), np.array(boxes), WholePersonConfig()
    )
    assert outcome.tolist() == [0] and found.failure == [Reason.OK]
    np.testing.assert_array_equal(found.keypoints, before)
    feet = found.keypoints[0, 19:25]
    assert (feet[:, 1] > 28.0 + 115.0).any() and (feet[feet[:, 2] > 0, 2] >= 0.5).all()
