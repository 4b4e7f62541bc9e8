"""find_people: OpenPose JSON people, OpenCV HOG + faces with NMS, whole-image fallback."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from furpe_label.experts.detectors.person_boxes import DetectorConfig, non_maximum_suppression
from furpe_label.experts.vocabulary import Reason
from furpe_label.pipeline.person_finder import (
    METHOD_OPENCV,
    METHOD_OPENPOSE,
    METHOD_WHOLE_IMAGE,
    find_people,
    over_smaller_person,
)
from tests.support.openpose_files import malformed_openpose_files, write_malformed
from tests.support.real_data import REAL_DATA, SPIN_EXAMPLE

BASKETBALL = REAL_DATA / "opencv_samples" / "basketball1.png"


def _rgb(path) -> np.ndarray:
    if not path.is_file():
        pytest.skip(f"real test data not found: {path}")
    return np.ascontiguousarray(cv2.imread(str(path))[..., ::-1])


@pytest.mark.parametrize("use_faces", [True, False])
def test_both_basketball_players_are_found(use_faces):
    image = _rgb(BASKETBALL)
    height, width = image.shape[:2]
    found = find_people(image, config=DetectorConfig(use_faces=use_faces), blazepose=None)
    assert found.method == METHOD_OPENCV and found.failure is None
    assert found.boxes.shape == (2, 4) and found.scores.shape == (2,)
    centres = found.boxes[:, 0] + found.boxes[:, 2] / 2
    left, right = found.boxes[np.argmin(centres)], found.boxes[np.argmax(centres)]
    assert left[0] + left[2] / 2 < 0.35 * width and left[3] > 0.7 * height
    # the right-hand player is cut by the image border: found thanks to the padding, clipped
    assert right[0] + right[2] / 2 > 0.65 * width and right[3] > 0.7 * height
    assert right[0] + right[2] == pytest.approx(width)
    assert np.all(found.boxes[:, :2] >= 0)


def test_a_portrait_gets_a_box_around_the_face():
    from skimage.data import astronaut

    image = astronaut()
    found = find_people(image)
    face_centre = np.array([224.0, 114.0])  # the astronaut's face in the 512 x 512 photo
    holds_face = [
        b[0] <= face_centre[0] <= b[0] + b[2]
        and b[1] <= face_centre[1] <= b[1] + b[3]
        and b[2] * b[3] > 0.5 * 512 * 512
        for b in found.boxes
    ]
    assert any(holds_face)


def test_nothing_found_gives_the_whole_image():
    image = np.full((120, 90, 3), 128, np.uint8)
    found = find_people(image)
    assert found.method == METHOD_WHOLE_IMAGE
    np.testing.assert_array_equal(found.boxes, [[0, 0, 90, 120]])


def test_openpose_json_box_follows_spin(tmp_path):
    image = _rgb(SPIN_EXAMPLE / "im1010.jpg")
    path = SPIN_EXAMPLE / "im1010_openpose.json"
    found = find_people(image, openpose_json=path)
    assert found.method == METHOD_OPENPOSE and len(found.boxes) == 1
    body = np.array(json.loads(path.read_text())["people"][0]["pose_keypoints_2d"]).reshape(-1, 3)
    valid = body[body[:, 2] > 0.2, :2]  # SPIN demo.bbox_from_openpose
    centre = valid.mean(axis=0)
    side = 1.2 * (valid.max(axis=0) - valid.min(axis=0)).max()
    np.testing.assert_allclose(found.boxes[0], [*(centre - side / 2), side, side], rtol=1e-5)
    reference = json.loads((SPIN_EXAMPLE / "im1010_bbox.json").read_text())["bbox"]
    box = found.boxes[0]
    ix = min(box[0] + box[2], reference[0] + reference[2]) - max(box[0], reference[0])
    iy = min(box[1] + box[3], reference[1] + reference[3]) - max(box[1], reference[1])
    assert ix * iy / (box[2] * box[3] + reference[2] * reference[3] - ix * iy) > 0.7


def test_openpose_json_every_person_and_normalised_coordinates(tmp_path):
    image = np.zeros((200, 100, 3), np.uint8)
    person = np.zeros((25, 3))
    person[:, 0], person[:, 1], person[:, 2] = np.linspace(0.1, 0.3, 25), 0.5, 0.9
    other = person.copy()
    other[:, 0] += 0.5
    path = tmp_path / "img_keypoints.json"
    people = [{"pose_keypoints_2d": p.ravel().tolist()} for p in (person, other)]
    path.write_text(json.dumps({"version": 1.3, "people": people}))
    found = find_people(image, openpose_json=path)
    assert found.method == METHOD_OPENPOSE and len(found.boxes) == 2
    centres = found.boxes[:, :2] + found.boxes[:, 2:] / 2
    np.testing.assert_allclose(centres[:, 1], [0.5 * 199] * 2, rtol=1e-5)  # pixels, not 0..1
    assert centres[1, 0] > centres[0, 0] + 40


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, Reason.KEYPOINTS_FILE_MISSING),
        ("{not json", Reason.KEYPOINTS_FILE_INVALID),
        (
            '{"version": 1.3, "people": [{"pose_keypoints_2d": [1, 2]}]}',
            Reason.KEYPOINTS_FILE_INVALID,
        ),
        ('{"version": 1.3, "people": []}', Reason.NO_PERSON),
    ],
)
def test_unusable_openpose_json_has_a_named_reason(tmp_path, content, reason):
    path = tmp_path / "x_keypoints.json"
    if content is not None:
        path.write_text(content)
    found = find_people(np.zeros((50, 50, 3), np.uint8), openpose_json=path)
    assert found.failure is reason and found.boxes.shape == (0, 4)
    assert str(path) in found.detail


@pytest.mark.parametrize("name", sorted(malformed_openpose_files()))
def test_a_malformed_openpose_file_names_the_file_and_its_problem(tmp_path, name):
    path, problem = write_malformed(tmp_path)[name]
    found = find_people(np.zeros((200, 200, 3), np.uint8), openpose_json=path)
    assert found.failure is Reason.KEYPOINTS_FILE_INVALID and found.boxes.shape == (0, 4)
    assert str(path) in found.detail and problem in found.detail, found.detail


def test_unusable_image_has_a_named_reason():
    found = find_people(np.zeros((50, 50), np.uint8))
    assert found.failure is Reason.IMAGE_UNREADABLE and len(found.boxes) == 0


def test_non_maximum_suppression_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 20], [1, 1, 10, 20], [50, 0, 10, 20]], float)
    assert non_maximum_suppression(boxes, np.array([0.5, 0.9, 0.1]), 0.3) == [1, 2]


def test_found_people_do_not_depend_on_opencv_thread_count():
    image = _rgb(BASKETBALL)
    threads = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        single = find_people(image)
        cv2.setNumThreads(4)
        several = find_people(image)
    finally:
        cv2.setNumThreads(threads)
    np.testing.assert_array_equal(single.boxes, several.boxes)
    np.testing.assert_array_equal(single.scores, several.scores)


def test_a_hog_box_over_a_smaller_walker_is_no_person_but_one_beside_the_walker_is():
    """Boxes of the person pre-pass on vtest.avi (pixels xywh; BlazePose at scale 1.25).
    Frame 235: HOG's 290-px box around a 96-px walker (all of the walker's box inside it)
    gave a second kept label of that walker. Frame 223: HOG's 268-px box holds a man in dark
    clothes BlazePose missed; the couple's BlazePose box only reaches over its left edge."""
    walkers_235 = np.array(
        [[5, 160, 92, 92], [227, 150, 96, 96], [416, 240, 148, 148], [608, 95, 97, 97]], float
    )
    walkers_223 = np.array(
        [[46, 170, 96, 96], [304, 149, 105, 105], [509, 276, 138, 138], [626, 98, 86, 86]], float
    )
    hog = np.array([[204, 0, 160, 290], [665, 90, 103, 268]], float)
    assert over_smaller_person(hog[:1], walkers_235).tolist() == [True]
    assert over_smaller_person(hog[1:], walkers_223).tolist() == [False]
    # a HOG box as tall as the BlazePose person it overlaps (a couple side by side) stays
    assert over_smaller_person(np.array([[250, 140, 60, 150]], float), walkers_235).tolist() == [
        False
    ]


WALKERS = REAL_DATA / "opencv_samples" / "vtest_walkers.avi"
MESSI = REAL_DATA / "opencv_samples" / "messi5.jpg"


def _video_frames(path) -> list[np.ndarray]:
    if not path.is_file():
        pytest.skip(f"real test data not found: {path}")
    capture = cv2.VideoCapture(str(path))
    frames = []
    while (read := capture.read())[0]:
        frames.append(np.ascontiguousarray(read[1][..., ::-1]))
    capture.release()
    return frames


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    low = np.maximum(box[:2], boxes[:, :2])
    high = np.minimum(box[:2] + box[2:], boxes[:, :2] + boxes[:, 2:])
    inter = np.clip(high - low, 0, None).prod(-1)
    return inter / (box[2:].prod() + boxes[:, 2:].prod(-1) - inter)


@pytest.mark.parametrize(("frame", "walker"), [(0, [622, 252, 83, 166]), (1, [506, 257, 83, 164])])
def test_a_walker_blazepose_misses_is_found_by_hog_at_the_scale_of_the_people_found(frame, walker):
    """vtest.avi frames 204 / 227: a walker 0.28 of the frame tall (under the 0.3 cut for HOG
    boxes beside BlazePose) whom BlazePose misses; HOG's box is 1.5-1.8x BlazePose's walkers,
    so it is added, once."""
    found = find_people(_video_frames(WALKERS)[frame])
    overlaps = _iou(np.asarray(walker, float), found.boxes.astype(float))
    assert (overlaps >= 0.7).sum() == 1, found.boxes.round().tolist()
    assert found.boxes.shape[0] == [6, 5][frame]


def test_crowd_boxes_smaller_than_the_person_found_are_not_added():
    """messi5.jpg: HOG finds spectators 0.26-0.29 of the image tall in the stadium crowd, under
    a third of the player's BlazePose box: they are not at the scale of the people found."""
    found = find_people(_rgb(MESSI))
    assert found.boxes.shape[0] == 2
    assert (found.boxes[:, 3] >= 0.3 * 342).all()
