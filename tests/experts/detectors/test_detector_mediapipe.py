"""mediapipe backend on the real photos shipped with scikit-image and matplotlib."""

from __future__ import annotations

import matplotlib.cbook
import matplotlib.image
import numpy as np
import pytest
import skimage.data

from furpe_label.experts.detectors import KeypointDetector, create_detector
from furpe_label.experts.detectors.mediapipe_detector import MediaPipeDetector

NOSE, NECK, R_SHOULDER, L_SHOULDER, MID_HIP = 0, 1, 2, 5, 8
R_HIP, R_KNEE, L_HIP, L_KNEE, R_EYE, L_EYE = 9, 10, 12, 13, 15, 16
FACE = slice(67, 137)
R_PUPIL, L_PUPIL = 135, 136


@pytest.fixture(scope="module")
def detector():
    det = create_detector("mediapipe")
    yield det
    det.close()
    det.close()  # idempotent


def _inside(points: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> bool:
    return bool(np.all((points[:, 0] >= x0) & (points[:, 0] <= x1))) and bool(
        np.all((points[:, 1] >= y0) & (points[:, 1] <= y1))
    )


def test_is_a_keypoint_detector(detector):
    assert isinstance(detector, KeypointDetector) and isinstance(detector, MediaPipeDetector)
    assert detector.name == "mediapipe" and "0.10.21" in detector.version


def test_astronaut_upper_body_and_face(detector):
    image = skimage.data.astronaut()  # 512 x 512, faces the camera
    (row,) = detector.detect(image, np.array([[40, 0, 440, 512.0]]), image_id="astronaut")
    assert row.ok and row.keypoints.shape == (137, 3)
    kps = row.keypoints
    for idx in (NOSE, NECK, R_SHOULDER, L_SHOULDER, R_EYE, L_EYE):
        assert kps[idx, 2] > 0.5, idx
        assert _inside(kps[idx : idx + 1], 0, 0, 511, 511)
    # Person's left appears on the image's right for a person facing the camera.
    assert kps[L_SHOULDER, 0] > kps[R_SHOULDER, 0] and kps[L_EYE, 0] > kps[R_EYE, 0]
    assert kps[NOSE, 1] < kps[NECK, 1]
    np.testing.assert_allclose(kps[NECK, :2], kps[[R_SHOULDER, L_SHOULDER], :2].mean(0), atol=1e-3)
    # All 70 face points confident and inside the face (x 170..285, y 60..190 in this photo).
    face = kps[FACE]
    assert np.all(face[:, 2] > 0.5)
    assert _inside(face, 165, 55, 290, 195)
    # Pupils sit next to the corresponding eye.
    assert np.linalg.norm(kps[R_PUPIL, :2] - kps[R_EYE, :2]) < 15
    assert np.linalg.norm(kps[L_PUPIL, :2] - kps[L_EYE, :2]) < 15
    # Pose world landmarks: metres, shoulders 0.2-0.6 m apart.
    world = row.world_landmarks
    assert world is not None and world.shape == (33, 3) and np.all(np.isfinite(world))
    assert 0.2 < np.linalg.norm(world[11] - world[12]) < 0.6


def test_grace_hopper_head_and_shoulders(detector):
    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    image = np.ascontiguousarray(matplotlib.image.imread(path))  # 600 x 512 RGB
    (row,) = detector.detect(image, np.array([[0, 0, 512, 600.0]]))
    kps = row.keypoints
    assert row.ok and kps[NOSE, 2] > 0.5 and kps[R_SHOULDER, 2] > 0.5 and kps[L_SHOULDER, 2] > 0.5
    face = kps[FACE]
    assert np.all(face[:, 2] > 0.5) and _inside(face, 140, 110, 380, 360)
    assert _inside(kps[[NOSE]], 200, 150, 330, 300)


def test_camera_man_standing(detector):
    gray = skimage.data.camera()  # grayscale 512 x 512
    image = np.repeat(gray[..., None], 3, axis=2)
    (row,) = detector.detect(image, np.array([[20, 60, 400, 452.0]]))
    kps = row.keypoints
    assert row.ok
    for idx in (NOSE, R_SHOULDER, L_SHOULDER, MID_HIP, R_HIP, L_HIP, R_KNEE):
        assert kps[idx, 2] > 0.5, idx
    # Standing: head above shoulders above hips above knees.
    assert kps[NOSE, 1] < kps[NECK, 1] < kps[MID_HIP, 1] < kps[R_KNEE, 1]
    assert _inside(kps[[NOSE]], 200, 100, 300, 230)
    assert (kps[FACE, 2] > 0).sum() == 70


def test_bad_inputs_give_named_failures(detector):
    box = np.array([[10, 10, 100, 200.0]])
    black = np.zeros((256, 256, 3), np.uint8)
    assert [r.failure for r in detector.detect(black, np.vstack([box, box]))] == [
        "no_person_in_box"
    ] * 2
    assert detector.detect(np.zeros((0, 0, 3), np.uint8), box)[0].failure == "image_unreadable"
    assert detector.detect(None, box)[0].failure == "image_unreadable"
    assert detector.detect(black[..., 0], box)[0].failure == "image_unreadable"
    bad_boxes = np.array([[0, 0, 0, 10], [np.nan, 0, 10, 10], [900, 900, 50, 50.0]])
    assert [r.failure for r in detector.detect(black, bad_boxes)] == ["invalid_box"] * 3
    assert detector.detect(black, np.zeros((0, 4))) == []
    failed = detector.detect(black, box)[0]
    assert not failed.keypoints.any() and failed.world_landmarks is None


class MediaPipeModelsDouble:
    """Test double of MediaPipeModels: canned pose/face/hands, records the hand windows."""

    def __init__(self, body_hands: list, window_hands: list) -> None:
        self.pose33 = np.zeros((33, 3))
        self.pose33[:, :2] = (200.0, 150.0)
        self.pose33[:, 2] = 0.9
        self.pose33[11], self.pose33[12] = (260, 120, 0.95), (140, 120, 0.85)  # shoulders L, R
        self.pose33[23], self.pose33[24] = (240, 260, 0.7), (160, 260, 0.8)  # hips L, R
        self.pose33[15], self.pose33[16] = (300, 200, 0.9), (100, 200, 0.9)  # wrists L, R
        for idx in (17, 19, 21):
            self.pose33[idx] = (310, 215, 0.9)  # left pinky / index / thumb
        for idx in (18, 20, 22):
            self.pose33[idx] = (92, 212, 0.9)
        self.pose33[27] = (240, 1000, 0.9)  # left ankle below the image
        self.body_hands, self.window_hands = body_hands, window_hands
        self.body_window: tuple[int, int, int, int] | None = None
        self.hand_windows: list[tuple[int, int, int, int]] = []
        self.closed = 0

    def run_pose(self, image, window):
        return self.pose33.copy(), np.full((33, 3), 0.1, np.float32)

    def run_face(self, image, window):
        return np.tile([[200.0, 100.0]], (478, 1)), 0.77

    def run_hands(self, image, window):
        if window == self.body_window:
            return self.body_hands
        self.hand_windows.append(window)
        return self.window_hands

    def close(self):
        self.closed += 1


def _candidate(wrist: tuple[float, float], label: str, score: float, world: float):
    from furpe_label.experts.detectors.hand_assignment import HandCandidate

    pts = np.tile(np.asarray(wrist, float), (21, 1)) + np.arange(21)[:, None]
    return HandCandidate(pts, label, score, np.full((21, 3), world, np.float32))


def test_assembly_places_hands_face_and_drops_outside_points():
    left = _candidate((302, 203), "Right", 0.9, 1.0)  # "Right" on a photo = person's left
    right = _candidate((99, 198), "Left", 0.8, 2.0)
    models = MediaPipeModelsDouble(body_hands=[left], window_hands=[right])
    detector = MediaPipeDetector(models=models)
    box = np.array([80.0, 50.0, 260.0, 300.0])
    models.body_window = (35, 5, 380, 395)  # box grown by 0.15 x 300 px, clipped to 380 x 400
    image = np.zeros((400, 380, 3), np.uint8)
    (row,) = detector.detect(image, box[None])
    kps = row.keypoints
    np.testing.assert_allclose(kps[25:46, :2], left.points, atol=1e-4)
    np.testing.assert_allclose(kps[25:46, 2], 0.9, rtol=1e-6)
    np.testing.assert_allclose(kps[46:67, :2], right.points, atol=1e-4)
    np.testing.assert_allclose(kps[46:67, 2], 0.8, rtol=1e-6)
    assert row.left_hand_world_landmarks[0, 0] == 1.0
    assert row.right_hand_world_landmarks[0, 0] == 2.0
    # Only the missing right hand was retried, on a square window around the right wrist.
    ((x0, y0, x1, y1),) = models.hand_windows
    assert x1 - x0 == y1 - y0 and x0 < 100 < x1 and y0 < 200 < y1
    # Body from pose: neck = shoulder midpoint with the smaller visibility; pose wrists.
    np.testing.assert_allclose(kps[1], [200, 120, 0.85], rtol=1e-6)
    np.testing.assert_allclose(kps[7], [300, 200, 0.9], rtol=1e-6)  # OpenPose LWrist
    np.testing.assert_allclose(kps[4], [100, 200, 0.9], rtol=1e-6)  # OpenPose RWrist
    assert not kps[14].any()  # left ankle outside the image -> (0, 0, 0)
    np.testing.assert_allclose(kps[67:137], np.tile([200, 100, 0.77], (70, 1)), rtol=1e-6)
    assert row.world_landmarks[0, 0] == pytest.approx(0.1)
    with detector:
        pass
    assert models.closed == 1
