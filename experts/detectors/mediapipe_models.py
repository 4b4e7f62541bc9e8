"""The MediaPipe solution objects (pose, hands, face mesh, face detection) run on crops.

One instance holds the four legacy ``mediapipe.solutions`` graphs, created once with
``static_image_mode=True`` (every image is processed independently, no tracking) and reused
across calls; :meth:`MediaPipeModels.close` releases them. Only ``model_complexity=1`` exists in
the ``mediapipe==0.10.21`` wheel (pose_landmark_full, hand_landmark_full).

Each ``run_*`` method takes the whole (H, W, 3) uint8 RGB image and an integer crop window
(x0, y0, x1, y1), runs the model on the crop and returns points in pixels of the *original*
image. MediaPipe's normalised coordinates are relative to the crop's edges (0 = left edge of
the first pixel), OpenPose's are pixel centres, so pixels = norm * crop_size + offset - 0.5.
"""

from __future__ import annotations

import numpy as np
from mediapipe.python.solutions import face_detection, face_mesh, hands, pose

from furpe_label.experts.detectors.hand_assignment import HandCandidate

Window = tuple[int, int, int, int]


def _crop(image: np.ndarray, window: Window) -> np.ndarray:
    x0, y0, x1, y1 = window
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def _to_pixels(norm_xy: np.ndarray, window: Window) -> np.ndarray:
    """(N, 2) crop-normalised coordinates -> (N, 2) original-image pixel centres."""
    x0, y0, x1, y1 = window
    return norm_xy * np.array([x1 - x0, y1 - y0], np.float64) + np.array([x0, y0]) - 0.5


class MediaPipeModels:
    """Pose, hands, face mesh (refined, 478 points) and short-range face detection.

    Args:
        min_detection_confidence: detector threshold of all four graphs.
        min_presence_confidence: landmark-model presence threshold (MediaPipe's
            ``min_tracking_confidence``, which gates pose/hand/face presence also in static
            mode).
        max_num_hands: hands searched per crop.
    """

    def __init__(
        self,
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
        max_num_hands: int = 2,
    ) -> None:
        self.min_detection_confidence = min_detection_confidence
        self._pose = pose.Pose(
            static_image_mode=True,
            model_complexity=1,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_presence_confidence,
        )
        self._hands = hands.Hands(
            static_image_mode=True,
            max_num_hands=max_num_hands,
            model_complexity=1,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_presence_confidence,
        )
        self._face_mesh = face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=1,
            refine_landmarks=True,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_presence_confidence,
        )
        self._face_detection = face_detection.FaceDetection(
            model_selection=0, min_detection_confidence=min_detection_confidence
        )
        self._closed = False

    def run_pose(self, image: np.ndarray, window: Window) -> tuple[np.ndarray, np.ndarray] | None:
        """Pose landmarks of the most prominent person in the crop.

        Returns:
            ((33, 3) float64 x, y pixels + visibility in [0, 1], (33, 3) float32 world
            landmarks in metres, origin at the hip centre), or ``None`` when no person was
            found.
        """
        result = self._pose.process(_crop(image, window))
        if result.pose_landmarks is None:
            return None
        lms = result.pose_landmarks.landmark
        out = np.array([[lm.x, lm.y, lm.visibility] for lm in lms], np.float64)
        out[:, :2] = _to_pixels(out[:, :2], window)
        world = np.zeros((33, 3), np.float32)
        if result.pose_world_landmarks is not None:
            world = np.array(
                [[lm.x, lm.y, lm.z] for lm in result.pose_world_landmarks.landmark], np.float32
            )
        return out, world

    def run_hands(self, image: np.ndarray, window: Window) -> list[HandCandidate]:
        """All hands MediaPipe Hands finds in the crop, with handedness and world landmarks."""
        result = self._hands.process(_crop(image, window))
        if not result.multi_hand_landmarks:
            return []
        worlds = result.multi_hand_world_landmarks or [None] * len(result.multi_hand_landmarks)
        found = []
        for lms, handed, world in zip(
            result.multi_hand_landmarks, result.multi_handedness, worlds, strict=True
        ):
            pts = np.array([[lm.x, lm.y] for lm in lms.landmark], np.float64)
            best = handed.classification[0]
            world_arr = np.zeros((21, 3), np.float32)
            if world is not None:
                world_arr = np.array([[lm.x, lm.y, lm.z] for lm in world.landmark], np.float32)
            found.append(
                HandCandidate(_to_pixels(pts, window), best.label, float(best.score), world_arr)
            )
        return found

    def run_face(self, image: np.ndarray, window: Window) -> tuple[np.ndarray, float] | None:
        """Refined face mesh and a face score for the crop.

        Returns:
            ((478, 2) float64 pixels, score) or ``None`` when the mesh found no face. The legacy
            face mesh reports no score, so ``score`` is the best short-range face-detection
            score among detections whose box centre lies inside the mesh's bounding box, or
            ``min_detection_confidence`` (the threshold the mesh's own detector passed) when
            the separate detection finds none.
        """
        crop = _crop(image, window)
        result = self._face_mesh.process(crop)
        if not result.multi_face_landmarks:
            return None
        lms = result.multi_face_landmarks[0].landmark
        norm = np.array([[lm.x, lm.y] for lm in lms], np.float64)
        lo, hi = norm.min(axis=0), norm.max(axis=0)
        score = self.min_detection_confidence
        detections = self._face_detection.process(crop).detections or []
        for det in detections:
            box = det.location_data.relative_bounding_box
            centre = np.array([box.xmin + box.width / 2, box.ymin + box.height / 2])
            if np.all(centre >= lo) and np.all(centre <= hi):
                score = max(score, float(det.score[0]))
        return _to_pixels(norm, window), score

    def close(self) -> None:
        """Release the four MediaPipe graphs (idempotent)."""
        if self._closed:
            return
        for solution in (self._pose, self._hands, self._face_mesh, self._face_detection):
            solution.close()
        self._closed = True
