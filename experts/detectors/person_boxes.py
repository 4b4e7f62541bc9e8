"""Person boxes from the detectors that ship inside OpenCV (no download): HOG people + faces.

* :func:`hog_people`: OpenCV's HOG people detector (``cv2.HOGDescriptor_getDefaultPeopleDetector``,
  the Dalal-Triggs linear SVM). The image is resized so that a person of ``min_height_fraction``
  of the image height fills the 64 x 128 detection window (96 px person height, capped at
  ``max_work_side``), then padded by ``border_fraction`` with replicated edge pixels so people
  cut by the image border are still found (the right-hand player of OpenCV's
  ``basketball1.png``). Detections go through greedy non-maximum suppression (IoU >
  ``nms_iou``) and a containment rule: HOG also fires on the limbs of a large person, so a box
  lying ``containment`` or more inside a box at least 1.5x taller is dropped. Score: the SVM
  margin.
* :func:`face_people`: HOG misses portraits and unusual poses (scikit-image's astronaut, a
  footballer mid-kick). OpenCV's frontal-face Haar cascade finds their faces; each face
  becomes a person box ``face_width_factor`` face widths wide and ``face_height_factor`` face
  heights tall, starting half a face above it. Score: the cascade's level weight.

Boxes are pixel xywh of the original image, clipped to it. The run uses them for images whose
dataset gives no person boxes (its person pre-pass).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from furpe_label.experts.geometry.boxes import clip_boxes, intersection_area, iou

_HOG_PERSON_PX = 96.0  # person height inside HOG's 64 x 128 training window (Dalal & Triggs)
_FACE_CASCADE = "haarcascade_frontalface_default.xml"


@dataclass(frozen=True)
class DetectorConfig:
    """Settings of the OpenCV person cues (see the module docstring).

    ``min_height_beside_pose``: beside the BlazePose detector
    (:func:`furpe_label.pipeline.person_finder.find_people`), a HOG box is added only when it
    is at least this fraction of the image tall: a person filling the frame with the face
    hidden (seen from behind), whom the face-anchored detector misses. Measured on the
    hand-labelled people: HOG's other additions were all clutter (4 spectators of messi5's
    stadium crowd, 3 street-furniture boxes in 4 vtest.avi frames, 0.21-0.75 of the image
    tall) and its one right addition (basketball1's back-view player) fills the frame. But on
    a 2x crop of vtest.avi (``tests/data/opencv_samples/vtest_crop12.mp4``) BlazePose misses
    a standing man and a walking couple in most frames that HOG finds at 0.33-0.40 of the
    frame tall, so the cut is 0.3: clutter boxes that pass it end at the keypoint stage
    (``no_person_in_box``) or as separate tracks, while a missed person is lost.

    ``min_height_beside_people``: a HOG box shorter than that is still added when it is at
    least this fraction of the tallest BlazePose person's box: a person at the scale of the
    people found, where the face-anchored detector misses one of several similar walkers. On
    frames 200-249 of ``vtest.avi`` HOG's unheld boxes of 0.27-0.29 of the frame (1.5-1.8x
    BlazePose's walkers) were walkers BlazePose missed in 20 frames, while messi5's crowd
    boxes (0.26-0.29 of the image) are under 0.3 of the close-up player's box.
    """

    min_height_fraction: float = 0.2
    border_fraction: float = 0.15
    max_work_side: int = 1600
    win_stride: int = 8
    pyramid_scale: float = 1.05
    hit_threshold: float = 0.0
    nms_iou: float = 0.3
    containment: float = 0.8
    use_faces: bool = True
    min_face_fraction: float = 0.04
    face_width_factor: float = 6.0
    face_height_factor: float = 8.0
    min_height_beside_pose: float = 0.3
    min_height_beside_people: float = 0.5


def non_maximum_suppression(boxes: np.ndarray, scores: np.ndarray, max_iou: float) -> list[int]:
    """Greedy NMS over (P, 4) xywh boxes: the kept indices, best score first."""
    keep: list[int] = []
    for index in np.argsort(-scores, kind="stable"):
        if all(iou(boxes[index], boxes[k]) <= max_iou for k in keep):
            keep.append(int(index))
    return keep


def drop_contained(boxes: np.ndarray, keep: list[int], containment: float) -> list[int]:
    """Drop kept boxes lying ``containment`` or more inside a kept box >= 1.5x taller."""
    return [
        k
        for k in keep
        if not any(
            boxes[j, 3] >= 1.5 * boxes[k, 3]
            and intersection_area(boxes[k], boxes[j]) >= containment * boxes[k, 2] * boxes[k, 3]
            for j in keep
            if j != k
        )
    ]


@functools.cache
def _hog_detector() -> cv2.HOGDescriptor:
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    return hog


@functools.cache
def _face_detector() -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + _FACE_CASCADE)
    if cascade.empty():  # pragma: no cover - the cascade ships inside opencv-python
        raise RuntimeError(f"OpenCV's {_FACE_CASCADE} could not be loaded")
    return cascade


def hog_people(image: np.ndarray, config: DetectorConfig) -> tuple[np.ndarray, np.ndarray]:
    """HOG people of an (H, W, 3) uint8 image: boxes (P, 4) xywh px, scores (P,)."""
    height, width = image.shape[:2]
    scale = _HOG_PERSON_PX / (config.min_height_fraction * height)
    scale = min(
        scale, config.max_work_side / (max(height, width) * (1 + 2 * config.border_fraction))
    )
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    work = cv2.resize(image, None, fx=scale, fy=scale, interpolation=interpolation)
    pad = round(config.border_fraction * max(work.shape[:2]))
    work = cv2.copyMakeBorder(work, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    stride = (config.win_stride, config.win_stride)
    rects, weights = _hog_detector().detectMultiScale(
        work,
        hitThreshold=config.hit_threshold,
        winStride=stride,
        padding=stride,
        scale=config.pyramid_scale,
    )
    if len(rects) == 0:
        return np.zeros((0, 4)), np.zeros(0)
    boxes = (np.asarray(rects, np.float64) - [pad, pad, 0, 0]) / scale
    scores = np.asarray(weights, np.float64).reshape(-1)
    keep = non_maximum_suppression(boxes, scores, config.nms_iou)
    keep = drop_contained(boxes, keep, config.containment)
    return clip_boxes(boxes[keep], (height, width)), scores[keep]


def face_people(
    image: np.ndarray, config: DetectorConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Person boxes grown from frontal faces (see the module docstring).

    Returns:
        boxes (P, 4) xywh px, scores (P,), and the (P, 4) face boxes they were grown from.
    """
    height, width = image.shape[:2]
    gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
    side = max(16, round(config.min_face_fraction * min(height, width)))
    faces, _, weights = _face_detector().detectMultiScale3(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(side, side), outputRejectLevels=True
    )
    if len(faces) == 0:
        return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 4))
    faces = np.asarray(faces, np.float64).reshape(-1, 4)
    box_w = config.face_width_factor * faces[:, 2]
    box_h = config.face_height_factor * faces[:, 3]
    x = faces[:, 0] + faces[:, 2] / 2 - box_w / 2
    y = faces[:, 1] - faces[:, 3] / 2
    boxes = clip_boxes(np.stack([x, y, box_w, box_h], axis=1), (height, width))
    scores = np.asarray(weights, np.float64).reshape(-1)
    keep = non_maximum_suppression(boxes, scores, config.nms_iou)
    return boxes[keep], scores[keep], faces[keep]


def _inside(point: np.ndarray, box: np.ndarray) -> bool:
    return bool(box[0] <= point[0] <= box[0] + box[2] and box[1] <= point[1] <= box[1] + box[3])


def opencv_people(image: np.ndarray, config: DetectorConfig) -> tuple[np.ndarray, np.ndarray]:
    """HOG people, plus face-grown boxes of faces whose centre no HOG box contains."""
    boxes, scores = hog_people(image, config)
    if not config.use_faces:
        return boxes, scores
    face_boxes, face_scores, faces = face_people(image, config)
    centres = faces[:, :2] + faces[:, 2:] / 2
    extra = [i for i, c in enumerate(centres) if not any(_inside(c, box) for box in boxes)]
    return np.concatenate([boxes, face_boxes[extra]]), np.concatenate([scores, face_scores[extra]])
