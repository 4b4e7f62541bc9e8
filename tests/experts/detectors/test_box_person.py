"""The pose of the box's own person, not a neighbour's (experts/detectors/box_person.py).

Real case: ``tests/data/opencv_samples/vtest_neighbours.avi`` holds frames 241 and 247 of
OpenCV's ``vtest.avi``, cropped to x 480-735, y 140-395. In both, a man in dark clothes walks
just above and left of a man in a light shirt; the person finder's BlazePose box around the
dark man (looked at by eye) reaches the light-shirted man's head at its corner. MediaPipe's
pose followed the light-shirted man there (body points x 182-197 px in frame 241, below the
box), so the dark man got no label and his row ended as a ``duplicate_person``.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from furpe_label.experts.detectors import create_detector
from furpe_label.experts.detectors.box_person import mask_person, pose_in_box, torso_centre
from furpe_label.experts.detectors.mediapipe_detector import MediaPipeDetector
from tests.support.real_data import SHIPPED

CLIP = SHIPPED / "opencv_samples" / "vtest_neighbours.avi"
DARK_MAN_BOXES = (  # the person pre-pass's boxes around the dark man, crop pixels xywh
    np.array([86.0, 47.0, 102.0, 102.0]),
    np.array([45.0, 37.0, 109.0, 109.0]),
)
BODY = slice(0, 25)


def _frames() -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(CLIP))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(np.ascontiguousarray(frame[..., ::-1]))
    capture.release()
    return frames


def test_each_box_gets_the_pose_of_the_person_it_was_drawn_around():
    frames = _frames()
    assert len(frames) == 2
    detector = create_detector("mediapipe")
    try:
        for image, box in zip(frames, DARK_MAN_BOXES, strict=True):
            (row,) = detector.detect(image, box[None])
            assert row.ok
            body = row.keypoints[BODY]
            seen = body[body[:, 2] >= 0.5, :2]
            assert len(seen) >= 10
            # the dark man's seen body points lie inside his box (the neighbour's were below
            # and right of it), and his torso centre near the box's centre
            low, high = box[:2] - 0.05 * box[2:], box[:2] + 1.05 * box[2:]
            assert np.all((seen >= low) & (seen <= high)), seen
            hips = body[[9, 12], :2].mean(axis=0)
            assert np.linalg.norm(hips - (box[:2] + box[2:] / 2)) < 0.35 * box[2]
    finally:
        detector.close()


def _pose(centre: tuple[float, float], half: float = 20.0) -> np.ndarray:
    """(33, 3) pose of a stick person: shoulders above, hips below ``centre``."""
    pose = np.zeros((33, 3))
    pose[:, :2] = centre
    pose[:, 2] = 0.9
    cx, cy = centre
    pose[11], pose[12] = (cx + 10, cy - half, 0.9), (cx - 10, cy - half, 0.9)
    pose[23], pose[24] = (cx + 8, cy + half, 0.9), (cx - 8, cy + half, 0.9)
    pose[0] = (cx, cy - 2 * half, 0.9)
    pose[27], pose[28] = (cx + 8, cy + 3 * half, 0.9), (cx - 8, cy + 3 * half, 0.9)
    return pose


def test_torso_centre_decides_whose_pose_it_is():
    pose = _pose((100.0, 80.0))
    np.testing.assert_allclose(torso_centre(pose), [100.0, 80.0])
    assert pose_in_box(pose, np.array([60.0, 40.0, 80.0, 80.0]))
    assert pose_in_box(pose, np.array([100.0, 80.0, 10.0, 10.0]))  # edges count
    assert not pose_in_box(pose, np.array([101.0, 40.0, 80.0, 80.0]))


def test_mask_paints_the_person_over_inside_the_window_only():
    image = np.zeros((200, 200, 3), np.uint8)
    image[:, 100:] = 200
    pose = _pose((150.0, 100.0))  # landmarks x 140-160, y 60-160
    window = (50, 50, 190, 190)
    masked = mask_person(image, window, pose)
    assert masked is not image and (image[:, 100:] == 200).all()  # the input is untouched
    fill = np.round(image[50:190, 50:190].reshape(-1, 3).mean(axis=0)).astype(np.uint8)
    assert (masked[60:160, 140:161] == fill).all()
    assert (masked[:50] == image[:50]).all() and (masked[190:] == image[190:]).all()
    changed = np.argwhere((masked != image).any(axis=-1))
    assert changed[:, 0].min() >= 50 and changed[:, 0].max() < 190  # clipped to the window
    assert changed[:, 1].min() >= 130 and changed[:, 1].max() <= 170  # grown by 10 % of 100


class PoseModelsDouble:
    """Test double of MediaPipeModels: scripted poses in call order, no face, no hands."""

    def __init__(self, poses: list[np.ndarray | None]) -> None:
        self.poses = list(poses)
        self.images: list[np.ndarray] = []

    def run_pose(self, image, window):
        self.images.append(image)
        pose = self.poses.pop(0)
        return None if pose is None else (pose.copy(), np.zeros((33, 3), np.float32))

    def run_face(self, image, window):
        return None

    def run_hands(self, image, window):
        return []

    def close(self):
        pass


BOX = np.array([60.0, 40.0, 80.0, 80.0])  # holds (100, 80); a neighbour at (170, 150) not


@pytest.mark.parametrize(
    ("poses", "expected", "calls"),
    [
        ([_pose((100.0, 80.0))], (100.0, 80.0), 1),  # own person first: no second look
        ([_pose((170.0, 150.0)), _pose((100.0, 80.0))], (100.0, 80.0), 2),  # neighbour, retry
        ([_pose((170.0, 150.0)), None], (170.0, 150.0), 2),  # retry finds no one: first stays
        ([_pose((170.0, 150.0)), _pose((30.0, 20.0))], (170.0, 150.0), 2),  # nor another
    ],
)
def test_a_neighbours_pose_is_replaced_only_by_the_boxs_own_person(poses, expected, calls):
    models = PoseModelsDouble(poses)
    detector = MediaPipeDetector(models=models, hand_fallback=False)
    image = np.zeros((220, 220, 3), np.uint8)
    image[:, :, 0] = np.arange(220, dtype=np.uint8)  # not one colour: painting shows
    (row,) = detector.detect(image, BOX[None])
    hips = row.keypoints[[9, 12], :2].mean(axis=0)  # OpenPose right / left hip
    np.testing.assert_allclose(hips, [expected[0], expected[1] + 20.0], atol=1e-4)
    assert len(models.images) == calls
    if calls == 2:  # the second look had the first person painted over
        assert (models.images[1] != image).any() and (models.images[0] == image).all()
