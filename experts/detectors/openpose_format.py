"""Parse OpenPose JSON output files into OpenPose-137 arrays.

Supported file layouts (``{"version": ..., "people": [...]}``, one file per image):

* OpenPose 1.x: ``pose_keypoints_2d`` (75 = BODY_25, or 54 = COCO-18), ``face_keypoints_2d``
  (210), ``hand_left_keypoints_2d``, ``hand_right_keypoints_2d`` (63 each).
* OpenPose 0.x: the same without the ``_2d`` suffix (``pose_keypoints``, ...); the very first
  releases (0.1) wrote the body as ``body_parts``.
* Empty face/hand arrays (face or hands disabled) become zero-confidence keypoints.
* 18-keypoint COCO body output (54 values, OpenPose ``--model_pose COCO``) is converted to the
  BODY_25 layout (:func:`coco18_to_body25`); MidHip is derived from the hips, feet stay zero.

Flat arrays are x, y, c triplets of finite numbers (magnitude at most :data:`MAX_ABS_VALUE`);
a string, an object, null inside an array, a wrong count, a file nested too deeply to parse or
larger than :data:`MAX_FILE_BYTES` is an :class:`OpenPoseFormatError` naming the file, the
person and the key. Confidences are clipped to [0, 1] (OpenPose heat-map peaks can
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
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from furpe_label.experts.input_files import InputFileError, open_regular
from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES, OPENPOSE137_PARTS
from furpe_label.experts.vocabulary import Reason

COORDINATE_MODES: tuple[str, ...] = ("auto", "pixels", "zero_to_one", "minus_one_to_one")

# OpenPose JSON part key -> (OpenPose-137 part, number of keypoints)
_PARTS = (
    ("pose", "body", 25),
    ("hand_left", "left_hand", 21),
    ("hand_right", "right_hand", 21),
    ("face", "face", 70),
)
_COCO18_VALUES = 54
MAX_FILE_BYTES = 64 * 2**20
"""Largest OpenPose JSON file read (a person takes about 5 KB: over 10^4 people)."""
MAX_ABS_VALUE = 1e7
"""Largest coordinate magnitude accepted (pixels or normalised; no image is 10^7 px wide)."""
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


def _describe(value: object) -> str:
    """A short description of a JSON value for an error sentence (never a deep repr)."""
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:17] + "..."
        return f"the string {shown!r}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    return {dict: "an object", list: "a list"}.get(type(value), type(value).__name__)


def _numbers(values: object, name: str) -> np.ndarray:
    """A JSON array of finite numbers as (N,) float64; anything else is a format error."""
    if values is None:
        return np.zeros(0, np.float64)
    if not isinstance(values, list):
        raise OpenPoseFormatError(f"{name} is {_describe(values)}, not a list of numbers")
    out = np.empty(len(values), np.float64)
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise OpenPoseFormatError(f"{name}[{index}] is {_describe(value)}, not a number")
        try:
            out[index] = value
        except OverflowError:
            raise OpenPoseFormatError(f"{name}[{index}] is too large for a number") from None
        if not math.isfinite(out[index]) or abs(out[index]) > MAX_ABS_VALUE:
            raise OpenPoseFormatError(
                f"{name}[{index}] is {value!r}, not a finite coordinate or confidence"
            )
    return out


def _part_array(person: dict[str, Any], key: str) -> np.ndarray:
    """The flat triplets of one part as (N, 3) float64, preferring the 1.x ``_2d`` key."""
    names = [f"{key}_keypoints_2d", f"{key}_keypoints"] + (["body_parts"] if key == "pose" else [])
    for name in names:
        if name in person:
            values = _numbers(person[name], name)
            if values.size % 3:
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
            raise OpenPoseFormatError(f"{key} keypoints: {len(arr)} triplets, expected {count}")
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


def _read_bytes(path: Path) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_FILE_BYTES` (a FIFO is never read).

    Raises:
        FileNotFoundError: no such file.
        OpenPoseFormatError: not a regular file, too large, or unreadable.
    """
    try:
        stream = open_regular(path)
    except InputFileError as err:
        if err.reason is Reason.IMAGE_MISSING:
            raise FileNotFoundError(err.detail) from None
        raise OpenPoseFormatError(err.detail) from None
    with stream:
        size = os.fstat(stream.fileno()).st_size
        if size > MAX_FILE_BYTES:
            raise OpenPoseFormatError(
                f"{path}: {size} bytes, more than the {MAX_FILE_BYTES} an OpenPose file may have"
            )
        try:
            return stream.read(MAX_FILE_BYTES + 1)
        except OSError as err:
            raise OpenPoseFormatError(f"{path}: cannot be read ({err.strerror or err})") from err


def read_openpose_json(path: Path) -> tuple[list[np.ndarray], str]:
    """Read one OpenPose JSON file.

    Returns:
        (people, version): a list of (137, 3) float64 arrays (coordinates as written) and the
        file's ``version`` as a string ("unknown" when absent).

    Raises:
        FileNotFoundError: the file does not exist.
        OpenPoseFormatError: anything else: unreadable, not a regular file, not JSON (or
            nested too deeply to read), not an OpenPose keypoint layout, a value that is not
            a finite number. The message names the file and the problem.
    """
    try:
        data = json.loads(_read_bytes(Path(path)))
    except RecursionError:
        raise OpenPoseFormatError(f"{path}: not JSON (nested too deeply to read)") from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        raise OpenPoseFormatError(f"{path}: not JSON ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise OpenPoseFormatError(f"{path}: no 'people' list")
    people = []
    for index, person in enumerate(data["people"]):
        if not isinstance(person, dict):
            raise OpenPoseFormatError(f"{path}: people[{index}] is {_describe(person)}")
        try:
            people.append(person_to_openpose137(person))
        except OpenPoseFormatError as err:
            raise OpenPoseFormatError(f"{path}: people[{index}].{err}") from None
    version = data.get("version", "unknown")
    return people, str(version) if isinstance(version, str | int | float) else "unknown"


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
