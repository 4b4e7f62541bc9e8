"""Whole persons only: does a person box cut the person it holds?

A box-crop keypoint detector (MediaPipe runs its pose on the box grown by its body margin) sees
only what the box holds. Around a standing body, a head-and-shoulders box still gives a pose,
and MediaPipe *extrapolates* the landmarks it cannot see: on OpenCV's ``basketball1.png`` a
box around the left player's head and shoulders gave hips, knees and ankles 80-200 px below
the box, with visibility <= 0.1 (the detector keeps them; it only drops points outside the
image). The body crop of the experts is built from the confident keypoints, so the head and
shoulders are fitted as a whole body (a full-body label with the arms spread). The test, on
the keypoints and the box alone::

    cut  <=>  some body keypoint that the detector placed (OpenPose-137 body 25, confidence
              > 0, inside the image) but did not see (confidence < ``seen_confidence``) lies
              outside the box grown by ``tolerance`` x its larger side on every side

* a guessed point beyond the box is the detector's evidence that the body goes on where it
  could not look (basketball1's head box: hips 0.1, knees and ankles < 0.05);
* a point beyond the box that the detector *saw* (MediaPipe's visibility >= 0.5) is part of a
  whole detection: the SPIN example ``im1010.jpg``'s HOG box cuts the feet by 5-20 px, and
  MediaPipe, running on the box plus its margin, finds them at 0.9. Growing that box lost the
  hands (44 confident keypoints -> 21) and gained nothing, so such a row is left alone;
* a point outside the *image* is not placed (the detector sets it to 0): a person that the
  image cuts is not cut by the box, so a box on the image border is never flagged for it;
* ``tolerance`` (default 0.15) is MediaPipe's body margin: points inside the window the pose
  ran on are inside what the detector saw.

The keypoint stage then grows a cut box to hold the placed body keypoints
(:func:`grown_box`) and detects once more; a box that still cuts is dropped as
``person_cut_by_box``. The decision reads one row's keypoints, box and image size, nothing
else, so it is the same in every run, shard plan and worker count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from furpe_label.experts.geometry.boxes import clip_boxes
from furpe_label.experts.keypoints.conventions import OPENPOSE137_PARTS

__all__ = [
    "DEFAULT_CUT_TOLERANCE",
    "DEFAULT_SEEN_CONFIDENCE",
    "WholePersonConfig",
    "body_outside_box",
    "grown_box",
]

DEFAULT_CUT_TOLERANCE = 0.15
"""Fraction of the box's larger side a placed body point may lie outside the box (MediaPipe's
``body_margin``: the pose runs on the box grown by this much)."""

DEFAULT_SEEN_CONFIDENCE = 0.5
"""A body point at this confidence or more was seen by the detector (MediaPipe: the
landmark's visibility, its probability of being visible), not extrapolated."""

_BODY = OPENPOSE137_PARTS["body"]


@dataclass(frozen=True)
class WholePersonConfig:
    """The keypoint stage's whole-person rule (a setting of the run).

    Attributes:
        tolerance: see :data:`DEFAULT_CUT_TOLERANCE` (>= 0).
        seen_confidence: a placed point at or above this confidence was seen, not guessed.
        grow_margin: a grown box is the placed body points' extent grown by this fraction of
            its larger side on every side (then joined with the old box, clipped to the
            image; >= 0).
    """

    tolerance: float = DEFAULT_CUT_TOLERANCE
    grow_margin: float = 0.1
    seen_confidence: float = DEFAULT_SEEN_CONFIDENCE

    def __post_init__(self) -> None:
        for name in ("tolerance", "grow_margin", "seen_confidence"):
            value = getattr(self, name)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not (ok and math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def _placed_body(keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 25, 2) body xy and (N, 25) bool: placed (confidence > 0, finite)."""
    body = np.asarray(keypoints, np.float64)[:, _BODY]
    placed = (body[..., 2] > 0) & np.isfinite(body).all(axis=-1)
    return body[..., :2], placed


def body_outside_box(
    keypoints: np.ndarray, boxes: np.ndarray, config: WholePersonConfig
) -> np.ndarray:
    """Which rows' boxes cut their person (see the module docstring).

    Args:
        keypoints: (N, 137, 3) OpenPose-137 ``(x, y, conf)``, pixels (0 where not placed).
        boxes: (N, 4) person boxes, pixel xywh.
        config: the tolerance.

    Returns:
        (N,) bool: some placed, unseen body point lies outside the tolerated box. Rows with a
        non-finite box, or no placed body point, are False.
    """
    xy, placed = _placed_body(keypoints)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    pad = config.tolerance * boxes[:, 2:].max(axis=1)
    low = boxes[:, :2] - pad[:, None]
    high = boxes[:, :2] + boxes[:, 2:] + pad[:, None]
    guessed = placed & (np.asarray(keypoints, np.float64)[:, _BODY, 2] < config.seen_confidence)
    outside = ((xy < low[:, None]) | (xy > high[:, None])).any(axis=-1) & guessed
    return outside.any(axis=1) & np.isfinite(boxes).all(axis=1)


def grown_box(
    keypoints: np.ndarray,
    box: np.ndarray,
    image_hw: tuple[int, int],
    config: WholePersonConfig,
) -> np.ndarray:
    """The box grown to hold one row's placed body points.

    Args:
        keypoints: (137, 3) OpenPose-137 ``(x, y, conf)``, pixels.
        box: (4,) the row's box, pixel xywh.
        image_hw: the image's (height, width), pixels.
        config: the grow margin.

    Returns:
        (4,) float64 pixel xywh: the union of ``box`` and the placed body points' extent grown
        by ``grow_margin`` x its larger side per side, clipped to [0, W] x [0, H] (``box``
        itself, clipped, where no body point is placed).
    """
    xy, placed = _placed_body(np.asarray(keypoints)[None])
    box = np.asarray(box, np.float64)
    low, high = box[:2].copy(), box[:2] + box[2:]
    points = xy[0][placed[0]]
    if len(points):
        lo, hi = points.min(axis=0), points.max(axis=0)
        pad = config.grow_margin * float((hi - lo).max())
        low, high = np.minimum(low, lo - pad), np.maximum(high, hi + pad)
    return clip_boxes(np.concatenate([low, high - low])[None], image_hw)[0]
