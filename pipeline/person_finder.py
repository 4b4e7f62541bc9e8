"""Find the people in an image whose dataset gives no person boxes, without any download.

Called by the person pre-pass before sharding (:mod:`.people_prepass`, for manifest rows whose
``box_xywh`` is null: image folders, videos, the demo samples), which turns each such row into
one row per person found. :func:`find_people` tries, in order:

1. **OpenPose JSON** (the row's ``openpose_json``): every person in the file. Each box follows
   SPIN's ``bbox_from_openpose``: body keypoints with confidence > 0.2 (all keypoints > 0.2
   when fewer than two body keypoints are that confident, and every keypoint with confidence
   > 0 when fewer than two keypoints are: a person the file lists reaches step 1), centred on
   their mean, square, side 1.2 x their larger extent; the score is their mean confidence.
   The file is the user's statement of who is in the image, so nothing else is tried: a
   missing file, a malformed one, or one listing nobody gives no boxes and a named
   ``failure`` (``keypoints_file_missing``, ``keypoints_file_invalid``, ``no_person_in_box``).
2. **The BlazePose person detector** (:mod:`furpe_label.experts.detectors.blazepose_people`,
   the model MediaPipe's wheel ships, every detection kept, whole image plus tiles), plus the
   HOG people (:mod:`furpe_label.experts.detectors.person_boxes`) that fill the frame
   (``DetectorConfig.min_height_beside_pose``) or stand at the scale of the people BlazePose
   found (``DetectorConfig.min_height_beside_people``: at least half the tallest BlazePose
   box; on frames 200-249 of ``vtest.avi`` 20 walkers BlazePose missed, 0.27-0.29 of the
   frame tall: kept labels 205 -> 223 of 233 -> 253 rows, ``no_person_in_box`` 18 -> 20,
   ``duplicate_person`` 1 -> 1) and whose box centre no BlazePose box holds:
   HOG finds a person seen from behind (``basketball1.png``'s right-hand player), which a
   face-anchored detector cannot; its smaller boxes beside BlazePose were all clutter. Nor is
   a HOG box added that holds a BlazePose person less than half its height (90 % of that
   person's box inside it): HOG's window fired on that person (or a group) at the wrong
   scale. On 50 frames of ``vtest.avi`` (200-249) such boxes, 2.5-4x taller than the walker
   inside, ended as ``duplicate_person`` of the walker, ``no_person_in_box``, or once as a
   second kept label of the walker (frame 235), and on the hand-labelled vtest frames they
   were 2 of the 4 false boxes. A HOG person beside a BlazePose one stays: a tall HOG box
   that only reaches over the edge of a smaller BlazePose box (frame 223: the couple's box
   at its corner, a man BlazePose missed inside it) is kept.
   Measured on the hand-labelled people (``tests/benchmarks/bench_person_detectors.py``,
   square IoU >= 0.5): photos recall 8/9 -> 9/9 with that HOG addition; the face-grown boxes
   add no one there, so they are not used beside BlazePose.
3. **The detectors inside OpenCV** alone when BlazePose found no one (or is turned off): the
   HOG people detector (with non-maximum suppression) plus person boxes grown from frontal
   faces that no HOG box holds (portraits, unusual poses).
4. **The whole image** as one box (score 0) when nothing was found: a keypoint backend then
   finds the one person a portrait or a cropped photo holds.

Boxes narrower or shorter than 2 pixels after clipping to the image are not returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from furpe_label.experts.detectors.base import image_problem
from furpe_label.experts.detectors.blazepose_people import BlazePoseConfig, blazepose_people
from furpe_label.experts.detectors.boxes import box_keypoints
from furpe_label.experts.detectors.openpose_format import (
    OpenPoseFormatError,
    detect_coordinates,
    read_openpose_json,
    to_pixels,
)
from furpe_label.experts.detectors.person_boxes import DetectorConfig, hog_people, opencv_people
from furpe_label.experts.geometry.boxes import clip_boxes
from furpe_label.experts.vocabulary import Reason

METHOD_OPENPOSE = "openpose_json"
METHOD_BLAZEPOSE = "blazepose"
METHOD_OPENCV = "opencv"
METHOD_WHOLE_IMAGE = "whole_image"
METHOD_NONE = "none"

_OPENPOSE_MIN_CONF = 0.2  # SPIN bbox_from_openpose detection_thresh
_OPENPOSE_RESCALE = 1.2  # SPIN bbox_from_openpose rescale
_HOG_OVER_PERSON = 0.5  # a HOG box over a BlazePose person < this x its height is no person
_HOG_HOLDS = 0.9  # ... when this fraction of the person's box lies inside it
DEFAULT_BLAZEPOSE = BlazePoseConfig(box_scale=1.25)
"""BlazePose boxes handed to the keypoint backends are MediaPipe's pose-landmark ROI (1.25 x
the whole-body circle), not the tighter person extent (1.0) that best matches hand-drawn
boxes: on messi5 MediaPipe's hand model finds the outstretched left hand (21 points) in the
1.25 box's crop and nothing in the 1.0 or 1.1 box's."""


@dataclass(frozen=True)
class PeopleFound:
    """The people found in one image.

    Attributes:
        boxes: (P, 4) float32 pixel xywh of the original image.
        scores: (P,) float32: mean keypoint confidence (OpenPose), detection probability
            (BlazePose), SVM margin (HOG), cascade weight (face), 0 (whole image).
        method: "openpose_json", "blazepose" (BlazePose, with any HOG additions), "opencv",
            "whole_image", or "none" (nothing could be tried).
        failure: why no box was returned (P == 0), else None.
        detail: free text for the failure (file name, error).
    """

    boxes: np.ndarray
    scores: np.ndarray
    method: str
    failure: Reason | None = None
    detail: str = field(default="")


def _empty(method: str, failure: Reason, detail: str = "") -> PeopleFound:
    return PeopleFound(
        np.zeros((0, 4), np.float32), np.zeros(0, np.float32), method, failure, detail
    )


def openpose_people(
    path: Path, image_hw: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray] | PeopleFound:
    """Boxes (P, 4) and scores (P,) of every person in an OpenPose JSON file, or the failure
    (file missing / invalid, with the file and its problem in ``detail``)."""
    try:
        people, _ = read_openpose_json(Path(path))
    except FileNotFoundError:
        return _empty(METHOD_OPENPOSE, Reason.KEYPOINTS_FILE_MISSING, f"{path}: no such file")
    except OpenPoseFormatError as err:
        return _empty(METHOD_OPENPOSE, Reason.KEYPOINTS_FILE_INVALID, str(err))
    mode = detect_coordinates(people)
    boxes, scores = [], []
    for person in people:
        keypoints = to_pixels(person, mode, image_hw)
        chosen = box_keypoints(keypoints, _OPENPOSE_MIN_CONF)
        if len(chosen) < 2:
            continue
        center = chosen[:, :2].mean(axis=0)
        side = _OPENPOSE_RESCALE * float((chosen[:, :2].max(axis=0) - chosen[:, :2].min(0)).max())
        boxes.append([center[0] - side / 2, center[1] - side / 2, side, side])
        scores.append(float(chosen[:, 2].mean()))
    return np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores, np.float64)


def _unheld(boxes: np.ndarray, holders: np.ndarray) -> np.ndarray:
    """(P,) bool: boxes (P, 4) xywh whose centre no box of holders (Q, 4) contains."""
    centres = boxes[:, None, :2] + boxes[:, None, 2:] / 2
    inside = (centres >= holders[None, :, :2]) & (
        centres <= holders[None, :, :2] + holders[None, :, 2:]
    )
    return ~inside.all(-1).any(-1)


def over_smaller_person(boxes: np.ndarray, people: np.ndarray) -> np.ndarray:
    """(P,) bool: boxes (P, 4) xywh that hold a person box of people (Q, 4) less than half
    their height, ``_HOG_HOLDS`` of its area or more inside (see the module docstring, step 2)."""
    low = np.maximum(boxes[:, None, :2], people[None, :, :2])
    high = np.minimum(
        boxes[:, None, :2] + boxes[:, None, 2:], people[None, :, :2] + people[None, :, 2:]
    )
    inside = np.clip(high - low, 0.0, None).prod(axis=-1)
    held = inside >= _HOG_HOLDS * people[None, :, 2:].prod(axis=-1)
    small = people[None, :, 3] < _HOG_OVER_PERSON * boxes[:, None, 3]
    return (held & small).any(1)


def detector_people(
    image: np.ndarray, config: DetectorConfig, blazepose: BlazePoseConfig | None
) -> tuple[np.ndarray, np.ndarray, str]:
    """Boxes (P, 4) xywh, scores (P,) and method of steps 2-3 of the module docstring."""
    if blazepose is not None:
        boxes, scores = blazepose_people(image, blazepose)
        if len(boxes):
            hog_boxes, hog_scores = hog_people(image, config)
            tall = (hog_boxes[:, 3] >= config.min_height_beside_pose * image.shape[0]) | (
                hog_boxes[:, 3] >= config.min_height_beside_people * boxes[:, 3].max()
            )
            extra = _unheld(hog_boxes, boxes) & tall & ~over_smaller_person(hog_boxes, boxes)
            boxes = np.concatenate([boxes, hog_boxes[extra]])
            return boxes, np.concatenate([scores, hog_scores[extra]]), METHOD_BLAZEPOSE
    boxes, scores = opencv_people(image, config)
    return boxes, scores, METHOD_OPENCV


def find_people(
    image: np.ndarray,
    openpose_json: Path | str | None = None,
    config: DetectorConfig | None = None,
    blazepose: BlazePoseConfig | None = DEFAULT_BLAZEPOSE,
) -> PeopleFound:
    """The people in one image (see the module docstring for the order of methods).

    Args:
        image: (H, W, 3) uint8 RGB of the whole original image.
        openpose_json: the image's OpenPose JSON file (the manifest's ``openpose_json``).
        config: settings of the OpenCV detectors (default :class:`DetectorConfig`).
        blazepose: settings of the BlazePose detector (default :data:`DEFAULT_BLAZEPOSE`);
            None leaves it out (OpenCV only).

    Returns:
        :class:`PeopleFound`; P >= 1 unless ``failure`` says why not. Never raises for bad
        data: an unusable image gives ``failure`` = ``image_unreadable``.
    """
    if image_problem(image) is not None:
        return _empty(METHOD_NONE, Reason.IMAGE_UNREADABLE, "not an (H, W, 3) uint8 image")
    image_hw = (int(image.shape[0]), int(image.shape[1]))
    if openpose_json is not None:
        found = openpose_people(Path(openpose_json), image_hw)
        if isinstance(found, PeopleFound):
            return found
        boxes = clip_boxes(found[0], image_hw)
        usable = (boxes[:, 2] >= 2) & (boxes[:, 3] >= 2)
        if not usable.any():
            return _empty(METHOD_OPENPOSE, Reason.NO_PERSON, f"{openpose_json}: nobody listed")
        return PeopleFound(
            boxes[usable].astype(np.float32), found[1][usable].astype(np.float32), METHOD_OPENPOSE
        )
    boxes, scores, method = detector_people(image, config or DetectorConfig(), blazepose)
    usable = (boxes[:, 2] >= 2) & (boxes[:, 3] >= 2)
    if usable.any():
        return PeopleFound(
            boxes[usable].astype(np.float32), scores[usable].astype(np.float32), method
        )
    whole = np.array([[0.0, 0.0, image_hw[1], image_hw[0]]], np.float32)
    return PeopleFound(whole, np.zeros(1, np.float32), METHOD_WHOLE_IMAGE)
