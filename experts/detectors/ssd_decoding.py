"""SSD anchors, box + keypoint decoding and weighted non-maximum suppression of MediaPipe's
single-shot detectors (the BlazePose person detector, :mod:`.blazepose_people`).

A re-implementation of three MediaPipe calculators, with the options of
``mediapipe/modules/pose_detection/pose_detection_cpu.pbtxt`` as defaults:

* ``SsdAnchorsCalculator`` (:func:`ssd_anchors`): one anchor grid per stride; consecutive
  layers of the same stride share a grid, each layer adds one anchor per aspect ratio plus
  one "interpolated scale" anchor per cell. With ``fixed_anchor_size`` every anchor is 1 x 1,
  centred on its cell: strides (8, 16, 32, 32, 32) over 224 px give 28x28x2 + 14x14x2 +
  7x7x6 = 2254 anchors.
* ``TensorsToDetectionsCalculator`` (:func:`decode_detections`): raw values are offsets in
  input pixels (divided by ``scale`` = 224) relative to the anchor centre; x comes before y
  (``reverse_output_order``); the score is the sigmoid of the logit clipped to +-100.
* ``NonMaxSuppressionCalculator`` with ``algorithm: WEIGHTED`` (:func:`weighted_nms`): the best
  remaining detection and every remaining one overlapping it by IoU > ``max_iou`` (0.3) form a
  cluster whose box and keypoints are the score-weighted mean; the cluster keeps the best
  score. No cap on the number of detections: every person in the image is returned.

All coordinates here are normalised to the square network input ([0, 1] across it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SsdOptions:
    """Anchor and decoding options (defaults: MediaPipe's pose detector)."""

    input_size: int = 224
    strides: tuple[int, ...] = (8, 16, 32, 32, 32)
    aspect_ratios: tuple[float, ...] = (1.0,)
    interpolated_scale_aspect_ratio: float = 1.0
    anchor_offset: float = 0.5
    num_keypoints: int = 4
    coordinate_scale: float = 224.0
    score_clipping: float = 100.0


def ssd_anchors(options: SsdOptions) -> np.ndarray:
    """Anchor centres (N, 2) float64, x and y in [0, 1] of the network input (fixed-size
    anchors: width = height = 1)."""
    centres: list[np.ndarray] = []
    layer = 0
    while layer < len(options.strides):
        stride = options.strides[layer]
        per_cell = 0
        while layer < len(options.strides) and options.strides[layer] == stride:
            per_cell += len(options.aspect_ratios)
            if options.interpolated_scale_aspect_ratio > 0:
                per_cell += 1
            layer += 1
        cells = int(np.ceil(options.input_size / stride))
        grid = (np.arange(cells, dtype=np.float64) + options.anchor_offset) / cells
        ys, xs = np.meshgrid(grid, grid, indexing="ij")
        cell_centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(cell_centres, per_cell, axis=0))
    return np.concatenate(centres)


@dataclass(frozen=True)
class Detections:
    """Detections in normalised input coordinates.

    Attributes:
        boxes: (D, 4) float64 x0, y0, x1, y1 in [0, 1] of the network input (may exceed it).
        keypoints: (D, K, 2) float64 x, y, same frame.
        scores: (D,) float64 in (0, 1).
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray


def decode_detections(
    raw_boxes: np.ndarray,
    raw_scores: np.ndarray,
    anchors: np.ndarray,
    options: SsdOptions,
    min_score: float,
) -> Detections:
    """Decode the network outputs of the anchors whose score reaches ``min_score``.

    Args:
        raw_boxes: (N, 4 + 2K) regressor values: x/y centre offsets, width, height, then K
            keypoint x/y offsets, in input pixels.
        raw_scores: (N,) logits.
        anchors: (N, 2) from :func:`ssd_anchors`.
    """
    count = anchors.shape[0]
    raw_boxes = np.asarray(raw_boxes, np.float64).reshape(count, -1)
    logits = np.clip(
        np.asarray(raw_scores, np.float64).reshape(count),
        -options.score_clipping,
        options.score_clipping,
    )
    scores = 1.0 / (1.0 + np.exp(-logits))
    chosen = np.flatnonzero(scores >= min_score)
    values = raw_boxes[chosen] / options.coordinate_scale
    centre = values[:, :2] + anchors[chosen]
    half = values[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = values[:, 4 : 4 + 2 * options.num_keypoints].reshape(
        len(chosen), options.num_keypoints, 2
    )
    keypoints = keypoints + anchors[chosen][:, None, :]
    return Detections(boxes, keypoints, scores[chosen])


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU (M,) of one x0, y0, x1, y1 box (4,) with boxes (M, 4); 0 where a union is empty."""
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def weighted_nms(detections: Detections, max_iou: float) -> Detections:
    """MediaPipe's weighted non-maximum suppression (see the module docstring).

    Ties in score are broken by anchor order (a stable sort), so the result depends on the
    network output only.
    """
    order = np.argsort(-detections.scores, kind="stable")
    boxes, keypoints, scores = [], [], []
    while order.size:
        best = order[0]
        overlap = box_iou(detections.boxes[best], detections.boxes[order])
        cluster = order[overlap > max_iou]
        if cluster.size == 0:  # a degenerate (empty) best box overlaps nothing, not even itself
            cluster = order[:1]
        weights = detections.scores[cluster]
        weights = weights / weights.sum()
        boxes.append(weights @ detections.boxes[cluster])
        keypoints.append(np.tensordot(weights, detections.keypoints[cluster], axes=1))
        scores.append(detections.scores[best])
        order = order[~np.isin(order, cluster)]
    size = detections.keypoints.shape[1]
    return Detections(
        np.asarray(boxes, np.float64).reshape(-1, 4),
        np.asarray(keypoints, np.float64).reshape(-1, size, 2),
        np.asarray(scores, np.float64),
    )
