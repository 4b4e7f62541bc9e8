"""How :mod:`furpe_label.pipeline.tracking` matches a video's live tracks with a frame's people:
the gates (:class:`TrackingConfig`), a track's state and prediction (:class:`Track`), and the
gated similarity matrix (:func:`similarity`; IoU of boxes, OKS of keypoints where both sides have
enough confident ones). The association rules themselves: the tracking module's docstring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from furpe_label.experts.geometry.boxes import iou_matrix
from furpe_label.selection.oks import cross_oks

__all__ = ["SIMILARITY_DECIMALS", "Track", "TrackingConfig", "similarity"]

SIMILARITY_DECIMALS = 6
"""Similarities are rounded to this many decimals before they are compared or summed."""


@dataclass(frozen=True)
class TrackingConfig:
    """Gates of the frame-to-frame association.

    Attributes:
        min_iou: a track and a box match only when the IoU of the track's predicted box and
            the box is >= this (ByteTrack's second stage uses 0.5 on Kalman predictions; the
            boxes of a person finder jitter more, so 0.3).
        min_oks: same for OKS, used where both sides have keypoints (COCO's OKS 0.5 is a
            loose "same person").
        max_height_ratio: an IoU match also needs the larger of the two box heights (the
            track's last, the new box's) to be at most this times the smaller (>= 1; the
            heights of one walker's boxes in the vtest.avi runs changed by <= 1.45x from one
            match to the next, BlazePose's square and HOG's tall box included).
        max_missed_frames: a track survives this many frames of its video without a match.
        keypoint_confidence: a keypoint with confidence >= this takes part in OKS.
        min_shared_keypoints: OKS is used only when this many keypoints are confident on both
            sides; otherwise IoU.
    """

    min_iou: float = 0.3
    min_oks: float = 0.5
    max_height_ratio: float = 1.75
    max_missed_frames: int = 5
    keypoint_confidence: float = 0.2
    min_shared_keypoints: int = 4

    def __post_init__(self) -> None:
        for name in ("min_iou", "min_oks", "keypoint_confidence"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
            if not (math.isfinite(value) and 0.0 < value <= 1.0):
                raise ValueError(f"{name} must be in (0, 1], got {value!r}")
        ratio = self.max_height_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, int | float):
            raise ValueError(f"max_height_ratio must be a number >= 1, got {ratio!r}")
        if not (math.isfinite(ratio) and ratio >= 1.0):
            raise ValueError(f"max_height_ratio must be a finite number >= 1, got {ratio!r}")
        for name in ("max_missed_frames", "min_shared_keypoints"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


@dataclass
class Track:
    """A live track: its id, last box (xywh px), keypoints ((K, 3) or None), centre velocity
    (px per video frame position) and the position of its last match."""

    track_id: int
    box: np.ndarray
    keypoints: np.ndarray | None
    velocity: np.ndarray
    position: int

    def predicted(self, position: int) -> tuple[np.ndarray, np.ndarray | None]:
        shift = self.velocity * (position - self.position)
        box = self.box.copy()
        box[:2] += shift
        if self.keypoints is None:
            return box, None
        keypoints = self.keypoints.copy()
        keypoints[:, :2] += shift
        return box, keypoints


def _oks_matrix(
    a: np.ndarray, b: np.ndarray, config: TrackingConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) OKS of OpenPose-137 keypoints ``a`` (A, 137, 3) and ``b`` (B, 137, 3), as
    :func:`~furpe_label.selection.duplicates.cross_oks` defines it, and (A, B) counts of
    keypoints confident (``>= keypoint_confidence``) in both."""

    def confident(points: np.ndarray) -> np.ndarray:
        return np.nan_to_num(points[..., 2], nan=-np.inf) >= config.keypoint_confidence

    return cross_oks(a, confident(a), b, confident(b))


def similarity(
    tracks: list[Track],
    boxes: np.ndarray,
    keypoints: np.ndarray | None,
    position: int,
    config: TrackingConfig,
) -> np.ndarray:
    """(T, D) gated similarity of live tracks and one frame's people (0 where not gated)."""
    predicted = [track.predicted(position) for track in tracks]
    track_boxes = np.array([box for box, _ in predicted])
    iou = iou_matrix(track_boxes, boxes)
    heights = track_boxes[:, None, 3], boxes[None, :, 3]
    ratio = np.maximum(heights[0], heights[1]) / np.maximum(np.minimum(*heights), 1e-9)
    gated = (np.round(iou, SIMILARITY_DECIMALS) >= config.min_iou) & (
        np.round(ratio, SIMILARITY_DECIMALS) <= config.max_height_ratio
    )
    similarity = np.where(gated, iou, 0.0)
    with_points = [t for t, (_, points) in enumerate(predicted) if points is not None]
    if keypoints is None or not with_points:
        return np.round(similarity, SIMILARITY_DECIMALS)
    track_points = np.stack([predicted[t][1] for t in with_points])
    oks, shared = _oks_matrix(track_points, keypoints, config)
    oks = np.round(oks, SIMILARITY_DECIMALS)
    use_oks = shared >= config.min_shared_keypoints
    similarity[with_points] = np.where(
        use_oks, np.where(oks >= config.min_oks, oks, 0.0), similarity[with_points]
    )
    return np.round(similarity, SIMILARITY_DECIMALS)
