"""``mediapipe`` backend (default, offline): MediaPipe pose + hands + face mesh per person box.

For every person box (pixel xywh):

1. **Body crop**: the box grown by ``body_margin`` x its larger side on every side, clipped to
   the image. MediaPipe Pose (BlazePose full, 33 landmarks + world landmarks) runs on it; a
   pose whose torso lies outside the box is a neighbour's, and the crop is searched once more
   with that neighbour painted over (:mod:`.box_person`).
2. **Face**: MediaPipe Face Mesh with ``refine_landmarks=True`` (478 points incl. iris) runs on a
   square head window centred on the pose's head landmarks (nose, eyes, ears, mouth corners),
   ``face_window_scale`` x their extent; without a pose, on the body crop.
3. **Hands**: MediaPipe Hands runs on the body crop; found hands are assigned to the person's
   left/right with handedness and proximity to the pose wrists
   (:mod:`.hand_assignment`; MediaPipe's handedness assumes mirrored selfie images and is
   swapped for ordinary photos unless ``mirrored_input=True``). A side left without a hand
   whose pose wrist is usable gets a second try on a square window around the pose's wrist,
   pinky, index and thumb points (small hands are often missed in the whole body crop); a hand
   found there within one palm length of the other, already assigned hand is ignored.
4. **OpenPose-137** is assembled with :mod:`furpe_label.experts.keypoints.conventions`: body 25
   from pose 33 (neck and mid-hip derived as midpoints of shoulders/hips, big toes from the
   foot-index points, small toes absent), face 70 from the mesh (68 dlib-order vertices, pupils
   from the iris centres 468/473), each hand's 21 points copied in OpenPose hand order.

Confidences (third column, [0, 1]):

* **body**: the pose landmark ``visibility`` (MediaPipe's probability that the landmark is
  visible). The legacy solution leaves ``presence`` at 0, so it is not used. Derived neck and
  mid-hip take the smaller visibility of their two ends.
* **face**: one score for all 70 points: the short-range face-detection score on the head
  window (face mesh itself reports none; see ``MediaPipeModels.run_face``). The mesh is only
  returned when MediaPipe's face-presence score passed ``min_presence_confidence``.
* **hands**: one score per hand: the handedness probability of the side it was assigned to
  (``score`` if the corrected label agrees with the side, else ``1 - score``). The hand-presence
  score is not exposed by the legacy API; a hand is only returned when it passed
  ``min_presence_confidence``, so the presence factor is effectively a 0/1 gate.
* any keypoint outside the image ([-0.5, W - 0.5] x [-0.5, H - 0.5]) is set to (0, 0, 0), the
  OpenPose value for "not detected" (MediaPipe extrapolates landmarks beyond the frame).

Failures: ``image_unreadable`` (not an (H, W, 3) uint8 image), ``invalid_box`` (non-finite,
empty or outside the image), ``no_person_in_box`` (no pose, face or hand found),
``backend_error`` (MediaPipe raised).
"""

from __future__ import annotations

import logging

import mediapipe
import numpy as np

from furpe_label.experts.detectors.base import (
    DetectorBase,
    PersonKeypoints,
    as_boxes,
    box_is_valid,
)
from furpe_label.experts.detectors.box_person import mask_person, pose_in_box
from furpe_label.experts.detectors.boxes import crop_window
from furpe_label.experts.detectors.hand_assignment import (
    SIDES,
    HandCandidate,
    assign_hands,
    palm_length,
)
from furpe_label.experts.detectors.mediapipe_models import MediaPipeModels, Window
from furpe_label.experts.geometry.boxes import points_box
from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES, OPENPOSE137_PARTS, convert
from furpe_label.experts.vocabulary import Reason

LOG = logging.getLogger(__name__)

MIN_WRIST_VISIBILITY = 0.3  # pose wrist visibility for hand proximity and the fallback window

_POSE = KEYPOINT_NAMES["mediapipe_pose33"]
# Pose landmarks before the shoulders are the head points (nose, eyes, ears, mouth corners).
_HEAD = list(range(_POSE.index("left_shoulder")))
_WRIST = {side: _POSE.index(f"{side}_wrist") for side in SIDES}
_HAND_POINTS = {
    side: [_WRIST[side]]
    + [_POSE.index(f"mediapipe_{side}_{f}") for f in ("pinky", "index", "thumb")]
    for side in SIDES
}


class MediaPipeDetector(DetectorBase):
    """Whole-body OpenPose-137 keypoints from MediaPipe, per person box.

    Args:
        body_margin: body crop margin per side, fraction of the box's larger side.
        face_window_scale: head window side / extent of the pose head landmarks.
        hand_window_scale: fallback hand window side / max distance wrist -> hand points.
        min_hand_window: smallest fallback hand window, fraction of the box's larger side.
        mirrored_input: images are mirrored selfies (MediaPipe handedness used unswapped).
        min_detection_confidence: MediaPipe detector threshold.
        min_presence_confidence: MediaPipe landmark presence threshold.
        hand_fallback: retry missing hands on windows around the pose wrists.
        models: the MediaPipe graphs to use (default: a new :class:`MediaPipeModels` built
            with the two thresholds on the first detection; closed by :meth:`close` either
            way).
    """

    name = "mediapipe"

    def __init__(
        self,
        body_margin: float = 0.15,
        face_window_scale: float = 2.5,
        hand_window_scale: float = 4.0,
        min_hand_window: float = 0.15,
        mirrored_input: bool = False,
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
        hand_fallback: bool = True,
        models: MediaPipeModels | None = None,
    ) -> None:
        self.body_margin = body_margin
        self.face_window_scale = face_window_scale
        self.hand_window_scale = hand_window_scale
        self.min_hand_window = min_hand_window
        self.mirrored_input = mirrored_input
        self.hand_fallback = hand_fallback
        self._thresholds = (min_detection_confidence, min_presence_confidence)
        self._loaded = models  # the graphs are built on first use (not for ``version`` alone)
        self.version = (
            f"mediapipe {mediapipe.__version__} (pose full, hands full, face mesh refined; "
            f"body_margin={body_margin}, face_window_scale={face_window_scale}, "
            f"mirrored_input={mirrored_input}, hand_fallback={hand_fallback}, "
            "pose of the box's person)"
        )

    @property
    def _models(self) -> MediaPipeModels:
        """The MediaPipe graphs, built once, when a detection first needs them."""
        if self._loaded is None:
            self._loaded = MediaPipeModels(*self._thresholds)
        return self._loaded

    def close(self) -> None:
        """Release the MediaPipe graphs (if they were built)."""
        if self._loaded is not None:
            self._loaded.close()

    def detect(
        self, image: np.ndarray | None, boxes: np.ndarray, *, image_id: str | None = None
    ) -> list[PersonKeypoints]:
        """One OpenPose-137 row per (P, 4) pixel-xywh box of an (H, W, 3) uint8 RGB image."""
        boxes = as_boxes(boxes)
        if (rows := self.unusable_image_rows(image, boxes)) is not None:
            return rows
        assert image is not None
        rows = []
        for box in boxes:
            window = (
                crop_window(box, self.body_margin, image.shape[:2]) if box_is_valid(box) else None
            )
            if window is None:
                rows.append(self.failed(Reason.INVALID_BOX))
                continue
            try:
                rows.append(self._detect_person(image, box, window))
            except (RuntimeError, ValueError):  # MediaPipe graph errors
                LOG.exception("MediaPipe failed on %s box %s", image_id, box.tolist())
                rows.append(self.failed(Reason.BACKEND_ERROR))
        return rows

    def _detect_person(self, image: np.ndarray, box: np.ndarray, window: Window) -> PersonKeypoints:
        kps = np.zeros((137, 3), np.float64)
        pose = self._box_pose(image, box, window)
        pose33, pose_world = pose if pose is not None else (None, None)
        if pose33 is not None:
            body, mask = convert(pose33, "mediapipe_pose33", "openpose137")
            kps[OPENPOSE137_PARTS["body"]] = np.where(mask[:, None], body, 0.0)[
                OPENPOSE137_PARTS["body"]
            ]
        face = self._models.run_face(image, self._face_window(image, pose33, window))
        if face is not None:
            mesh, score = face
            points = np.concatenate([mesh, np.full((len(mesh), 1), score)], axis=1)
            conv, mask = convert(points, "mediapipe_face478", "openpose137")
            part = OPENPOSE137_PARTS["face"]
            kps[part] = np.where(mask[:, None], conv, 0.0)[part]
        hands_world = self._detect_hands(image, box, window, pose33, kps)
        kps = _drop_outside(kps, image.shape[:2])
        if pose33 is None and face is None and not hands_world:
            return self.failed(Reason.NO_PERSON)
        return PersonKeypoints(
            kps.astype(np.float32),
            self.name,
            self.version,
            world_landmarks=pose_world,
            left_hand_world_landmarks=hands_world.get("left"),
            right_hand_world_landmarks=hands_world.get("right"),
        )

    def _box_pose(
        self, image: np.ndarray, box: np.ndarray, window: Window
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The pose of the box's own person (:mod:`.box_person`): a pose whose torso lies
        outside the box is a neighbour's, so the crop is searched once more without them."""
        pose = self._models.run_pose(image, window)
        if pose is None or pose_in_box(pose[0], box):
            return pose
        retry = self._models.run_pose(mask_person(image, window, pose[0]), window)
        return retry if retry is not None and pose_in_box(retry[0], box) else pose

    def _face_window(self, image: np.ndarray, pose33: np.ndarray | None, body: Window) -> Window:
        """Square head window from the pose head landmarks, else the body crop."""
        if pose33 is None:
            return body
        head_box = points_box(pose33[_HEAD, :2])
        head_box[2:] = np.maximum(head_box[2:], 1.0)
        # square of side = extent, grown by (scale - 1) / 2 x extent per side -> scale x extent
        margin = (self.face_window_scale - 1.0) / 2.0
        window = crop_window(head_box, margin, image.shape[:2], square=True)
        return window if window is not None else body

    def _detect_hands(
        self,
        image: np.ndarray,
        box: np.ndarray,
        window: Window,
        pose33: np.ndarray | None,
        kps: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Fill both hands of ``kps`` in place; return side -> (21, 3) world landmarks."""
        wrists = {s: (pose33[_WRIST[s]] if pose33 is not None else None) for s in SIDES}
        candidates = self._models.run_hands(image, window)
        chosen = {
            side: (candidates[i], conf)
            for side, (i, conf) in assign_hands(
                candidates, wrists, self.mirrored_input, MIN_WRIST_VISIBILITY
            ).items()
        }
        if self.hand_fallback and pose33 is not None:
            for side in SIDES:
                if side in chosen or wrists[side][2] < MIN_WRIST_VISIBILITY:
                    continue
                hand_window = self._hand_window(image, box, pose33, side)
                if hand_window is None:
                    continue
                retry = self._models.run_hands(image, hand_window)
                only = {s: (wrists[s] if s == side else None) for s in SIDES}
                found = assign_hands(retry, only, self.mirrored_input, MIN_WRIST_VISIBILITY)
                if side in found and not _same_hand(retry[found[side][0]], chosen):
                    index, conf = found[side]
                    chosen[side] = (retry[index], conf)
        worlds = {}
        for side, (cand, conf) in chosen.items():
            hand, mask = convert(
                np.concatenate([cand.points, np.full((21, 1), conf)], axis=1),
                "mediapipe_hand21",
                "openpose_hand21",
            )
            kps[OPENPOSE137_PARTS[f"{side}_hand"]] = np.where(mask[:, None], hand, 0.0)
            worlds[side] = cand.world
        return worlds

    def _hand_window(
        self, image: np.ndarray, box: np.ndarray, pose33: np.ndarray, side: str
    ) -> Window | None:
        """Square window around the pose wrist and its pinky/index/thumb points."""
        pts = pose33[_HAND_POINTS[side], :2]
        reach = float(np.max(np.linalg.norm(pts - pts[0], axis=1)))
        side_px = max(self.hand_window_scale * reach, self.min_hand_window * max(box[2], box[3]))
        centre = pts.mean(axis=0)
        square = np.array([centre[0] - side_px / 2, centre[1] - side_px / 2, side_px, side_px])
        return crop_window(square, 0.0, image.shape[:2])


def _same_hand(candidate: HandCandidate, chosen: dict[str, tuple[HandCandidate, float]]) -> bool:
    """True when ``candidate``'s wrist is within one palm length of an already chosen hand's
    (a fallback window can catch the other hand again when the hands are close together)."""
    return any(
        np.linalg.norm(candidate.points[0] - other.points[0]) < palm_length(candidate.points)
        for other, _ in chosen.values()
    )


def _drop_outside(kps: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """(137, 3) keypoints with those outside the image (pixel-centre bounds) set to 0."""
    height, width = image_hw
    inside = (
        (kps[:, 0] >= -0.5)
        & (kps[:, 0] <= width - 0.5)
        & (kps[:, 1] >= -0.5)
        & (kps[:, 1] <= height - 0.5)
    )
    out = kps.copy()
    out[~inside | (kps[:, 2] <= 0)] = 0.0
    return out
