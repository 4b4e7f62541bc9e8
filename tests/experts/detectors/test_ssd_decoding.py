"""SSD anchors, decoding and weighted NMS of MediaPipe's pose detector (ssd_decoding)."""

from __future__ import annotations

import numpy as np
import pytest

from furpe_label.experts.detectors.ssd_decoding import (
    Detections,
    SsdOptions,
    decode_detections,
    ssd_anchors,
    weighted_nms,
)


def test_pose_detector_anchors_follow_the_calculator_options():
    anchors = ssd_anchors(SsdOptions())
    assert anchors.shape == (2254, 2)
    # stride 8: 28 x 28 cells, two anchors each, row-major, centred on their cell
    np.testing.assert_allclose(anchors[:4], [[0.5 / 28, 0.5 / 28]] * 2 + [[1.5 / 28, 0.5 / 28]] * 2)
    np.testing.assert_allclose(anchors[1567], [27.5 / 28, 27.5 / 28])
    # stride 16 starts at 1568; the three stride-32 layers share one 7 x 7 grid, 6 per cell
    np.testing.assert_allclose(anchors[1568], [0.5 / 14, 0.5 / 14])
    np.testing.assert_allclose(anchors[1960:1966], [[0.5 / 7, 0.5 / 7]] * 6)
    np.testing.assert_allclose(anchors[-1], [6.5 / 7, 6.5 / 7])


def test_decoding_is_relative_to_the_anchor_in_input_pixels():
    options = SsdOptions()
    anchors = np.array([[0.25, 0.5], [0.75, 0.75]])
    raw = np.zeros((2, 12))
    raw[0, :4] = [22.4, -11.2, 44.8, 89.6]  # x, y offsets, width, height (px of 224)
    raw[0, 4:6] = [0.0, 22.4]  # keypoint 0 offset
    logits = np.array([2.0, -3.0])
    found = decode_detections(raw, logits, anchors, options, min_score=0.5)
    assert found.scores.shape == (1,)
    assert found.scores[0] == pytest.approx(1 / (1 + np.exp(-2.0)))
    np.testing.assert_allclose(found.boxes[0], [0.25, 0.25, 0.45, 0.65])  # centre (0.35, 0.45)
    np.testing.assert_allclose(found.keypoints[0, 0], [0.25, 0.6])
    np.testing.assert_allclose(found.keypoints[0, 1:], [[0.25, 0.5]] * 3)
    none = decode_detections(raw, np.array([-1.0, -5.0]), anchors, options, min_score=0.5)
    assert none.boxes.shape == (0, 4) and none.keypoints.shape == (0, 4, 2)


def test_weighted_nms_averages_a_cluster_and_keeps_every_separate_person():
    boxes = np.array(
        [[0.1, 0.1, 0.3, 0.3], [0.12, 0.1, 0.32, 0.3], [0.6, 0.6, 0.8, 0.8], [0.0, 0.6, 0.2, 0.8]]
    )
    keypoints = np.zeros((4, 4, 2))
    keypoints[:, 0] = boxes[:, :2]
    scores = np.array([0.9, 0.6, 0.8, 0.55])
    kept = weighted_nms(Detections(boxes, keypoints, scores), max_iou=0.3)
    assert kept.scores.tolist() == [0.9, 0.8, 0.55]  # best first, best score of a cluster
    np.testing.assert_allclose(kept.boxes[0], (0.9 * boxes[0] + 0.6 * boxes[1]) / 1.5)
    np.testing.assert_allclose(
        kept.keypoints[0, 0], (0.9 * boxes[0, :2] + 0.6 * boxes[1, :2]) / 1.5
    )
    np.testing.assert_allclose(kept.boxes[1:], boxes[2:])
