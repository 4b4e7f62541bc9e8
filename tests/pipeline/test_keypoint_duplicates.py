"""The keypoint stage's duplicate rule on real detections: the two players of OpenCV's
``basketball1.png`` are two people; the same player boxed twice is one."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from furpe_label.experts.vocabulary import Reason
from furpe_label.pipeline.keypoint_stage import (
    KeypointSource,
    detect_keypoints,
    mark_duplicate_people,
)
from furpe_label.selection.config import SelectionConfig
from furpe_label.selection.duplicates import DuplicateConfig
from tests.support.real_data import OPENCV_SAMPLES

LEFT_PLAYER = [0.0, 51.0, 200.0, 429.0]  # the HOG box of the man catching the ball
LEFT_PLAYER_AGAIN = [4.0, 47.0, 198.0, 433.0]  # a nearly identical second box
RIGHT_PLAYER = [420.0, 10.0, 220.0, 470.0]  # the man on the right (his face is found)


@pytest.fixture(scope="module")
def source():
    source = KeypointSource("mediapipe")
    yield source
    source.close()


def _detect(source: KeypointSource, boxes: list[list[float]]):
    image = cv2.cvtColor(cv2.imread(str(OPENCV_SAMPLES / "basketball1.png")), cv2.COLOR_BGR2RGB)
    count = len(boxes)
    found = detect_keypoints(
        source, [image], np.zeros(count, np.int64), np.array(boxes), [Reason.OK] * count
    )
    assert found.failure == [Reason.OK] * count, found.failure
    return found


def test_two_players_are_two_people(source):
    found = _detect(source, [LEFT_PLAYER, RIGHT_PLAYER])
    marked = mark_duplicate_people(
        found, ["basketball1.png"] * 2, np.arange(2), SelectionConfig(), DuplicateConfig()
    )
    assert not marked.any() and found.failure == [Reason.OK, Reason.OK]


def test_one_player_boxed_twice_is_one_person(source):
    found = _detect(source, [RIGHT_PLAYER, LEFT_PLAYER, LEFT_PLAYER_AGAIN])
    sample_idx = np.array([20, 21, 22])
    marked = mark_duplicate_people(
        found, ["basketball1.png"] * 3, sample_idx, SelectionConfig(), DuplicateConfig()
    )
    assert marked.sum() == 1 and not marked[0]
    duplicate = int(np.flatnonzero(marked)[0])
    assert found.failure[duplicate] is Reason.DUPLICATE_PERSON
    kept = 3 - duplicate  # the other left-player row (1 <-> 2)
    assert found.detail[duplicate].startswith(f"same person as sample {sample_idx[kept]} (OKS")
