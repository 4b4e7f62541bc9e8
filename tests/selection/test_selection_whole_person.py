"""Whole persons only: the box-cuts-the-person test and the grown box, on constructed
keypoints and boxes."""

from __future__ import annotations

import numpy as np
import pytest

from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES
from furpe_label.selection.whole_person import WholePersonConfig, body_outside_box, grown_box

NAMES = KEYPOINT_NAMES["openpose137"]
CONFIG = WholePersonConfig()  # tolerance 0.15 x larger side, grow margin 0.1, seen at 0.5


def _person(points: dict[str, tuple[float, float, float]]) -> np.ndarray:
    """(137, 3) keypoints with the named points set (x, y, conf), all others (0, 0, 0)."""
    out = np.zeros((137, 3), np.float64)
    for name, value in points.items():
        out[NAMES.index(name)] = value
    return out


# a standing person, head at y 100, ankles at y 400 (as a box detector extrapolates it, the
# lower body with low confidence)
STANDING = _person(
    {
        "nose": (100, 100, 1.0),
        "neck": (100, 140, 1.0),
        "right_shoulder": (80, 140, 1.0),
        "left_shoulder": (120, 140, 1.0),
        "mid_hip": (100, 250, 0.05),
        "right_knee": (90, 320, 0.02),
        "right_ankle": (90, 400, 0.01),
    }
)
HEAD_AND_SHOULDERS = np.array([60.0, 80.0, 80.0, 80.0])  # x 60..140, y 80..160
WHOLE = np.array([50.0, 80.0, 100.0, 330.0])  # y 80..410


def test_a_head_and_shoulders_box_cuts_a_standing_person_and_a_whole_box_does_not():
    boxes = np.stack([HEAD_AND_SHOULDERS, WHOLE])
    cut = body_outside_box(np.stack([STANDING, STANDING]), boxes, CONFIG)
    assert cut.tolist() == [True, False]


def test_unplaced_points_and_the_face_or_hands_do_not_count():
    only_upper = STANDING.copy()
    lower = [NAMES.index(n) for n in ("mid_hip", "right_knee", "right_ankle")]
    only_upper[lower] = 0.0  # the detector placed no lower body (e.g. outside the image)
    hand_far = only_upper.copy()
    hand_far[NAMES.index("right_hand_root")] = (500, 500, 1.0)  # hands are not body 25
    boxes = np.stack([HEAD_AND_SHOULDERS, HEAD_AND_SHOULDERS])
    assert not body_outside_box(np.stack([only_upper, hand_far]), boxes, CONFIG).any()


def test_the_tolerance_is_a_fraction_of_the_larger_side():
    # ankle at y 400; box bottom 160; larger side 80 -> tolerated up to 160 + 0.15 * 80 = 172
    person = _person({"neck": (100, 140, 1.0), "right_ankle": (100, 171.9, 0.3)})
    assert not body_outside_box(person[None], HEAD_AND_SHOULDERS[None], CONFIG)[0]
    person[NAMES.index("right_ankle"), 1] = 172.1
    assert body_outside_box(person[None], HEAD_AND_SHOULDERS[None], CONFIG)[0]
    loose = WholePersonConfig(tolerance=0.5)
    assert not body_outside_box(person[None], HEAD_AND_SHOULDERS[None], loose)[0]
    above = _person({"neck": (100, 140, 1.0), "right_wrist": (100, 60, 0.3)})  # raised arm
    assert body_outside_box(above[None], HEAD_AND_SHOULDERS[None], CONFIG)[0]


def test_points_the_detector_saw_beyond_the_box_do_not_count():
    # im1010.jpg: MediaPipe finds the feet 5-20 px beyond the HOG box, at visibility 0.9
    seen = STANDING.copy()
    seen[NAMES.index("mid_hip"), 2] = 0.0
    seen[NAMES.index("right_knee"), 2] = 0.5  # at the threshold: seen
    seen[NAMES.index("right_ankle"), 2] = 0.9
    assert not body_outside_box(seen[None], HEAD_AND_SHOULDERS[None], CONFIG)[0]
    seen[NAMES.index("right_knee"), 2] = 0.49
    assert body_outside_box(seen[None], HEAD_AND_SHOULDERS[None], CONFIG)[0]
    strict = WholePersonConfig(seen_confidence=1.01)  # nothing counts as seen
    seen[NAMES.index("right_knee"), 2] = 0.0
    assert body_outside_box(seen[None], HEAD_AND_SHOULDERS[None], strict)[0]


def test_a_non_finite_box_or_no_body_is_not_flagged():
    nothing = np.zeros((137, 3))
    boxes = np.stack([np.full(4, np.nan), HEAD_AND_SHOULDERS])
    assert not body_outside_box(np.stack([STANDING, nothing]), boxes, CONFIG).any()


def test_the_grown_box_holds_the_body_points_and_stays_in_the_image():
    grown = grown_box(STANDING, HEAD_AND_SHOULDERS, (480, 640), CONFIG)
    # body points span x 80..120, y 100..400: larger side 300 -> margin 30 per side,
    # joined with the box (x 60..140, y 80..160)
    np.testing.assert_allclose(grown, [50.0, 70.0, 100.0, 360.0])
    assert not body_outside_box(STANDING[None], grown[None], CONFIG)[0]
    clipped = grown_box(STANDING, HEAD_AND_SHOULDERS, (380, 120), CONFIG)
    np.testing.assert_allclose(clipped, [50.0, 70.0, 70.0, 310.0])  # right 120, bottom 380
    alone = grown_box(np.zeros((137, 3)), np.array([-5.0, 10.0, 50.0, 50.0]), (480, 640), CONFIG)
    np.testing.assert_allclose(alone, [0.0, 10.0, 45.0, 50.0])


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), True, "0.1"])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError, match="tolerance"):
        WholePersonConfig(tolerance=bad)
    with pytest.raises(ValueError, match="grow_margin"):
        WholePersonConfig(grow_margin=bad)
    with pytest.raises(ValueError, match="seen_confidence"):
        WholePersonConfig(seen_confidence=bad)
