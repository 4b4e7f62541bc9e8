"""Whose pose is it? Keep the pose of the person a box was drawn around, not a neighbour's.

MediaPipe's pose solution runs its own person detector on the body crop (the box plus its
margin) and follows the *most prominent* person there. Where people walk close together a
neighbour at the crop's edge can win: on OpenCV's ``vtest.avi`` (frame 241) the box around a man
in dark clothes gave the pose of the man walking below him (his head at the box's corner), so
the dark man got no label and his row ended as a ``duplicate_person`` of the neighbour.

The test: a pose belongs to the box when its **torso centre** (the mean of MediaPipe's two
shoulder and two hip landmarks, pose-33 indices 11, 12, 23, 24) lies inside the box. Every
person finder here centres its box on the person (BlazePose on the hip centre, HOG and
OpenPose boxes on the body), so the box's own person passes; a neighbour who only reaches into
the margin does not. When the pose fails the test, the pose runs once more on the same crop
with that neighbour painted over (:func:`mask_person`: the extent of its 33 landmarks, grown by
``MASK_MARGIN`` of its larger side, filled with the crop's mean colour); the second pose
replaces the first only when it passes the test. Otherwise the first pose stays (a head box
above a standing body fails the test with its own person, whose hips lie below it: the
whole-person rule grows that box later). The decision reads one crop's pixels, so it is the
same in every run and on any worker count.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MASK_MARGIN", "TORSO", "mask_person", "pose_in_box", "torso_centre"]

TORSO = (11, 12, 23, 24)
"""MediaPipe pose-33 indices of the left / right shoulder and the left / right hip."""

MASK_MARGIN = 0.1
"""The painted region is the other person's landmark extent grown by this fraction of its
larger side on every side."""


def torso_centre(pose33: np.ndarray) -> np.ndarray:
    """(2,) float64 pixel centre of the torso of a (33, 3) MediaPipe pose (x, y, visibility)."""
    return np.asarray(pose33, np.float64)[list(TORSO), :2].mean(axis=0)


def pose_in_box(pose33: np.ndarray, box: np.ndarray) -> bool:
    """Whether the pose's torso centre lies inside the box (pixel xywh, edges included)."""
    centre = torso_centre(pose33)
    box = np.asarray(box, np.float64)
    return bool(np.all(centre >= box[:2]) and np.all(centre <= box[:2] + box[2:]))


def mask_person(
    image: np.ndarray, window: tuple[int, int, int, int], pose33: np.ndarray
) -> np.ndarray:
    """A copy of the image with one person painted over inside the crop window.

    Args:
        image: (H, W, 3) uint8 RGB.
        window: the crop (x0, y0, x1, y1), integer pixels, x1 / y1 exclusive.
        pose33: (33, 3) the person's pose landmarks, pixels of ``image``.

    Returns:
        (H, W, 3) uint8: ``image`` where the person's landmark extent, grown by
        :data:`MASK_MARGIN` x its larger side and clipped to the window, holds the window's
        mean colour (rounded per channel).
    """
    x0, y0, x1, y1 = window
    points = np.asarray(pose33, np.float64)[:, :2]
    points = points[np.isfinite(points).all(axis=1)]
    out = image.copy()
    if len(points) == 0:
        return out
    low, high = points.min(axis=0), points.max(axis=0)
    pad = MASK_MARGIN * float((high - low).max())
    left, top = np.floor(low - pad).astype(int)
    right, bottom = np.ceil(high + pad).astype(int) + 1
    left, right = min(max(left, x0), x1), min(max(right, x0), x1)
    top, bottom = min(max(top, y0), y1), min(max(bottom, y0), y1)
    fill = image[y0:y1, x0:x1].reshape(-1, image.shape[2]).mean(axis=0)
    out[top:bottom, left:right] = np.round(fill).astype(np.uint8)
    return out
