"""Parse OpenPose JSON output files into OpenPose-137 arrays.

Supported file layouts (``{"version": ..., "people": [...]}``, one file per image):

* OpenPose 1.x: ``pose_keypoints_2d`` (75 = BODY_25, or 54 = COCO-18), ``face_keypoints_2d``
  (210), ``hand_left_keypoints_2d``, ``hand_right_keypoints_2d`` (63 each).
* OpenPose 0.x: the same without the ``_2d`` suffix (``pose_keypoints``, ...); the very first
  releases (0.1) wrote the body as ``body_parts``.
* Empty face/hand arrays (face or hands disabled) become zero-confidence keypoints.
* 18-keypoint COCO body output (54 values, OpenPose ``--model_pose COCO``) is converted to the
  BODY_25 layout (:func:`coco18_to_body25`); MidHip is derived from the hips, feet stay zero.

Flat arrays are x, y, c triplets. Confidences are clipped to [0, 1] (OpenPose heat-map peaks can
exceed 1 by a little). Coordinates are converted to pixels of the original image according to
``coordinates``:

* ``"pixels"``: as written (OpenPose's default ``--keypoint_scale 0``).
* ``"zero_to_one"``: ``--keypoint_scale 3``; OpenPose divides by (W - 1, H - 1), so pixels =
  value * (W - 1, H - 1).
* ``"minus_one_to_one"``: ``--keypoint_scale 4``; pixels = (value + 1) / 2 * (W - 1, H - 1).
* ``"auto"``: ``"zero_to_one"`` when every keypoint with non-zero confidence in the file has x
  and y in [0, 1] (a real person never fits in a 1 x 1 pixel square), else ``"pixels"``.
  ``minus_one_to_one`` is never guessed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES, OPENPOSE137_PARTS

COORDINATE_MODES: tuple[str, ...] = ("auto", "pixels", "zero_to_one", "minus_one_to_one")

# OpenPose JSON part key -> (OpenPose-137 part, number of keypoints)
_PARTS = (
    ("pose", "body", 25),
    ("hand_left", "left_hand", 21),
    ("hand_right", "right_hand", 21),
    ("face", "face", 70),
)
_COCO18_VALUES = 54
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".json")


class OpenPoseFormatError(ValueError):
    """The JSON content is not an OpenPose keypoint file this reader understands."""


def coco18_to_body25(body: np.ndarray) -> np.ndarray:
    """OpenPose COCO-18 body (18, 3) -> BODY_25 layout (25, 3).

    OpenPose's BODY_25 is its COCO-18 model with MidHip inserted at index 8 and six foot points
    appended, so the COCO-18 names are ``openpose25`` minus ``mid_hip`` and the feet (names from
    the conventions module). MidHip is the midpoint of the hips with the smaller confidence,
    as ``conventions.convert`` derives it, when both hips were detected; feet stay (0, 0, 0).
    """
    names25 = KEYPOINT_NAMES["openpose25"]
    mid = names25.index("mid_hip")
    coco18 = names25[:mid] + names25[mid + 1 : names25.index("left_big_toe")]
    out = np.zeros((25, 3), np.float64)
    out[[names25.index(n) for n in coco18]] = body
    hips = out[[names25.index("right_hip"), names25.index("left_hip")]]
    if np.all(hips[:, 2] > 0):
        out[mid, :2] = hips[:, :2].mean(axis=0)
        out[mid, 2] = hips[:, 2].min()
    return out


def _part_array(person: dict[str, Any], key: str) -> np.ndarray:
    """The flat triplets of one part as (N, 3) float64, preferring the 1.x ``_2d`` key."""
    names = [f"{key}_keypoints_2d", f"{key}_keypoints"] + (["body_parts"] if key == "pose" else [])
    for name in names:
        if name in person:
            values = np.asarray(person[name] if person[name] is not None else [], np.float64)
            if values.ndim != 1 or values.size % 3:
                raise OpenPoseFormatError(f"{name}: {values.size} values is not x, y, c triplets")
            return values.reshape(-1, 3)
    return np.zeros((0, 3), np.float64)


def person_to_openpose137(person: dict[str, Any]) -> np.ndarray:
    """One ``people[i]`` entry as (137, 3) float64: pixels as written, confidence in [0, 1].

    Raises:
        OpenPoseFormatError: an array of unexpected length (only BODY_25, COCO-18, 21-point
            hands and 70-point faces are understood).
    """
    out = np.zeros((137, 3), np.float64)
    for key, part, count in _PARTS:
        arr = _part_array(person, key)
        if len(arr) == 0:
            continue
        if key == "pose" and arr.size == _COCO18_VALUES:
            arr = coco18_to_body25(arr)
        if len(arr) != count:
            raise OpenPoseFormatError(f"{key}: {len(arr)} keypoints, expected {count}")
        out[OPENPOSE137_PARTS[part]] = arr
    out[:, 2] = np.clip(np.nan_to_num(out[:, 2]), 0.0, 1.0)
    out[out[:, 2] <= 0] = 0.0
    return out


def detect_coordinates(people: list[np.ndarray]) -> str:
    """``"zero_to_one"`` when all confident (x, y) of all people lie in [0, 1], else pixels."""
    confident = [p[p[:, 2] > 0, :2] for p in people]
    values = np.concatenate(confident) if confident else np.zeros((0, 2))
    if len(values) and values.min() >= 0.0 and values.max() <= 1.0:
        return "zero_to_one"
    return "pixels"


def to_pixels(person: np.ndarray, mode: str, image_hw: tuple[int, int] | None) -> np.ndarray:
    """Convert (137, 3) keypoints of coordinate ``mode`` to pixels; zero-confidence rows stay 0.

    Args:
        person: (137, 3) keypoints as parsed.
        mode: "pixels", "zero_to_one" or "minus_one_to_one".
        image_hw: (H, W) of the original image; required unless ``mode == "pixels"``.
    """
    if mode == "pixels":
        return person
    if image_hw is None:
        raise ValueError(f"{mode} coordinates need the image size")
    scale = np.array([image_hw[1] - 1.0, image_hw[0] - 1.0])
    out = person.copy()
    if mode == "zero_to_one":
        out[:, :2] = person[:, :2] * scale
    elif mode == "minus_one_to_one":
        out[:, :2] = (person[:, :2] + 1.0) * 0.5 * scale
    else:
        raise ValueError(f"unknown coordinate mode {mode!r}")
    out[out[:, 2] <= 0] = 0.0
    return out


def read_openpose_json(path: Path) -> tuple[list[np.ndarray], str]:
    """Read one OpenPose JSON file.

    Returns:
        (people, version): a list of (137, 3) float64 arrays (coordinates as written) and the
        file's ``version`` as a string ("unknown" when absent).

    Raises:
        OSError: the file cannot be read.
        OpenPoseFormatError: not valid JSON or not an OpenPose keypoint layout.
    """
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise OpenPoseFormatError(f"{path}: not JSON ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise OpenPoseFormatError(f"{path}: no 'people' list")
    people = []
    for person in data["people"]:
        if not isinstance(person, dict):
            raise OpenPoseFormatError(f"{path}: a 'people' entry is not an object")
        people.append(person_to_openpose137(person))
    return people, str(data.get("version", "unknown"))


def candidate_files(folder: Path, image_id: str) -> list[Path]:
    """JSON files that may hold the keypoints of ``image_id``, in lookup order.

    For an image id ``sub/dir/name.jpg`` (a path or a bare stem) the names tried are
    ``name_keypoints.json`` (OpenPose's default naming), ``name_openpose.json`` and
    ``name.json`` (only a known image suffix is stripped: H36M names contain dots), first in
    ``folder/sub/dir`` (for relative ids with directories), then in ``folder`` itself.
    """
    rel = Path(image_id)
    stem = rel.stem if rel.suffix.lower() in _IMAGE_SUFFIXES else rel.name
    names = (f"{stem}_keypoints.json", f"{stem}_openpose.json", f"{stem}.json")
    dirs = [folder]
    if not rel.is_absolute() and rel.parent != Path("."):
        dirs.insert(0, folder / rel.parent)
    return [d / n for d in dirs for n in names]
