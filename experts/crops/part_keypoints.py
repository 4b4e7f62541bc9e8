"""Each part's keypoints in OpenPose-137, as the crop rules read them.

Input keypoints are ``(N, 137, 3)`` arrays ``(x, y, confidence)`` in pixels of the original image,
layout from the convention table (``OPENPOSE137_PARTS``: body 25, left hand 21, right hand 21,
face 70 = 68 landmarks + 2 pupils). Undetected OpenPose points are ``(0, 0, 0)``.
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES
from furpe_label.experts.vocabulary import Part

__all__ = [
    "FACE_LANDMARKS68",
    "as_keypoint_batch",
    "face_landmarks68",
    "part_keypoints",
]

FACE = Part.FACE.keypoint_slice
# DECA's rule reads the 68 dlib-order landmarks: the face's 70 points without the two pupils.
FACE_LANDMARKS68 = slice(FACE.start, FACE.stop - 2)
_OPENPOSE137 = KEYPOINT_NAMES["openpose137"]
if _OPENPOSE137[FACE_LANDMARKS68.stop :] != ("right_pupil", "left_pupil"):  # pragma: no cover
    raise RuntimeError("OpenPose-137 face must end with the two pupils")


def as_keypoint_batch(keypoints: np.ndarray, last: int = 3) -> np.ndarray:
    """(K, last) or (N, K, last) points -> (N, K, last) float64; ``ValueError`` otherwise."""
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim == 2:
        kp = kp[None]
    if kp.ndim != 3 or kp.shape[-1] != last:
        raise ValueError(f"expected (N, K, {last}) keypoints, got {np.shape(keypoints)}")
    return kp


def part_keypoints(keypoints: np.ndarray, part: Part | str) -> np.ndarray:
    """(N, 137, 3) -> (N, K, 3) keypoints of ``part`` (all 70 face points for the face)."""
    return as_keypoint_batch(keypoints)[:, Part(part).keypoint_slice]


def face_landmarks68(keypoints: np.ndarray) -> np.ndarray:
    """(N, 137, 3) -> (N, 68, 3) the dlib-order face landmarks (no pupils): DECA's input."""
    return as_keypoint_batch(keypoints)[:, FACE_LANDMARKS68]
