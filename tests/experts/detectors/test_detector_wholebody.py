"""COCO-WholeBody-133 -> OpenPose-137 conversion (always) and the optional mmpose / openpifpaf
backends (only with the extra installed and local weights named by environment variables:
FURPE_TEST_MMPOSE_CONFIG + FURPE_TEST_MMPOSE_CHECKPOINT, FURPE_TEST_OPENPIFPAF_CHECKPOINT
[+ FURPE_TEST_OPENPIFPAF_BASENET])."""

from __future__ import annotations

import os

import numpy as np
import pytest
import skimage.data

from furpe_label.experts.detectors import create_detector
from furpe_label.experts.detectors.wholebody import wholebody133_to_openpose137

# (COCO-WholeBody index, OpenPose-137 index) from the two published layouts.
_PAIRS = [
    (0, 0),  # nose
    (6, 2),  # right shoulder
    (5, 5),  # left shoulder
    (10, 4),  # right wrist
    (9, 7),  # left wrist
    (12, 9),  # right hip
    (11, 12),  # left hip
    (15, 14),  # left ankle
    (16, 11),  # right ankle
    (2, 15),  # right eye
    (17, 19),  # left big toe
    (19, 21),  # left heel
    (20, 22),  # right big toe
    (22, 24),  # right heel
    (23, 67),  # face 0 (jaw contour start)
    (90, 134),  # face 67
    (91, 25),  # left hand root
    (111, 45),  # left pinky tip
    (112, 46),  # right hand root
    (132, 66),  # right pinky tip
]


def _wholebody() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    kps = rng.uniform(0, 500, (133, 2))
    scores = rng.uniform(0.2, 0.9, 133)
    return kps, scores


def test_indices_and_derived_points():
    kps, scores = _wholebody()
    out = wholebody133_to_openpose137(kps, scores)
    assert out.shape == (137, 3) and out.dtype == np.float32
    for src, dst in _PAIRS:
        np.testing.assert_allclose(out[dst, :2], kps[src], rtol=1e-6)
        assert out[dst, 2] == pytest.approx(scores[src], rel=1e-6)
    np.testing.assert_allclose(out[1, :2], (kps[5] + kps[6]) / 2, rtol=1e-6)  # neck
    assert out[1, 2] == pytest.approx(min(scores[5], scores[6]), rel=1e-6)
    np.testing.assert_allclose(out[8, :2], (kps[11] + kps[12]) / 2, rtol=1e-6)  # mid-hip
    assert not out[135:].any()  # pupils: no COCO-WholeBody source


def test_scores_clipped_thresholded_and_batched():
    kps, scores = _wholebody()
    scores[0] = 1.3  # SimCC scores can exceed 1
    scores[6] = 0.05
    kps[9] = np.nan
    out = wholebody133_to_openpose137(kps, scores, min_score=0.1)
    assert out[0, 2] == 1.0
    assert not out[2].any()  # right shoulder below min_score -> (0, 0, 0)
    assert not out[1].any()  # so is the derived neck
    assert not out[7].any()  # non-finite left wrist
    batch = wholebody133_to_openpose137(np.stack([kps, kps]), np.stack([scores, scores]), 0.1)
    np.testing.assert_array_equal(batch[1], out)
    with pytest.raises(ValueError, match="133"):
        wholebody133_to_openpose137(kps[:17], scores[:17])


def _check_astronaut(detector) -> None:
    image = skimage.data.astronaut()
    rows = detector.detect(image, np.array([[60, 0, 400, 512.0]]))
    assert len(rows) == 1 and rows[0].ok
    kps = rows[0].keypoints
    assert kps[0, 2] > 0.3 and 150 < kps[0, 0] < 300 and 50 < kps[0, 1] < 200  # nose
    assert (kps[67:135, 2] > 0.3).sum() > 40


@pytest.mark.mmpose
def test_mmpose_backend_on_a_real_photo():
    pytest.importorskip("mmpose")
    config = os.environ.get("FURPE_TEST_MMPOSE_CONFIG")
    checkpoint = os.environ.get("FURPE_TEST_MMPOSE_CHECKPOINT")
    if not (config and checkpoint):
        pytest.skip("set FURPE_TEST_MMPOSE_CONFIG and FURPE_TEST_MMPOSE_CHECKPOINT")
    with create_detector("mmpose", config=config, checkpoint=checkpoint) as detector:
        _check_astronaut(detector)


@pytest.mark.openpifpaf
def test_openpifpaf_backend_on_a_real_photo():
    pytest.importorskip("openpifpaf")
    checkpoint = os.environ.get("FURPE_TEST_OPENPIFPAF_CHECKPOINT")
    if not checkpoint:
        pytest.skip("set FURPE_TEST_OPENPIFPAF_CHECKPOINT (a wholebody state dict)")
    basenet = os.environ.get("FURPE_TEST_OPENPIFPAF_BASENET", "shufflenetv2k30")
    with create_detector("openpifpaf", checkpoint=checkpoint, basenet=basenet) as detector:
        _check_astronaut(detector)
