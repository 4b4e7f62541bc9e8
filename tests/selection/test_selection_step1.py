"""Selection step 1 against a literal transcription of FuRPE's filter script, and boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from furpe_label.selection import SelectionConfig, confident_mask, keep_keypoints, score_keypoints

BODY, LEFT, RIGHT, FACE = slice(0, 25), slice(25, 46), slice(46, 67), slice(67, 137)


def _furpe_filter_kpjson(person: np.ndarray) -> tuple[int, bool]:
    """FuRPE myutils/filter_kpjson.py on one (137, 3) person, transcribed step by step."""
    body_kp, face_kp = person[BODY].copy(), person[FACE].copy()
    left_hand_kp, right_hand_kp = person[LEFT].copy(), person[RIGHT].copy()
    body_conf, face_conf = body_kp[:, -1], face_kp[:, -1]
    left_hand_conf, right_hand_conf = left_hand_kp[:, -1], right_hand_kp[:, -1]
    body_conf[body_conf < 0.1] = 0.0
    left_hand_conf[left_hand_conf < 0.2] = 0.0
    right_hand_conf[right_hand_conf < 0.2] = 0.0
    face_conf[face_conf < 0.4] = 0.0
    body_kp[:, -1], left_hand_kp[:, -1] = body_conf, left_hand_conf
    right_hand_kp[:, -1], face_kp[:, -1] = right_hand_conf, face_conf
    keypoints2d = np.concatenate((body_kp, face_kp, left_hand_kp, right_hand_kp))
    valid_keypoints = keypoints2d[:, :-1][keypoints2d[:, -1] > 0]
    return len(valid_keypoints), len(valid_keypoints) >= 12


def _people(n: int, seed: int) -> np.ndarray:
    """Random people whose confidences sit on, just below and just above every threshold."""
    rng = np.random.default_rng(seed)
    kp = np.zeros((n, 137, 3))
    kp[..., :2] = rng.uniform(0, 500, (n, 137, 2))
    near = np.array(
        [
            0.0,
            0.1,
            0.2,
            0.4,
            np.nextafter(0.1, 0),
            np.nextafter(0.2, 0),
            np.nextafter(0.4, 0),
            np.nextafter(0.4, 1),
            -0.5,
            1.0,
        ]
    )
    sparse = rng.random((n, 137)) < rng.uniform(0.02, 0.3, (n, 1))  # many around 12
    kp[..., 2] = np.where(sparse, rng.choice(near, (n, 137)), 0.0)
    return kp


def test_counts_equal_furpe_filter_script():
    kp = _people(400, seed=0)
    scores = score_keypoints(kp, SelectionConfig())
    keep = keep_keypoints(scores["n_confident_kp"], SelectionConfig())
    expected = [_furpe_filter_kpjson(person) for person in kp]
    assert scores["n_confident_kp"].tolist() == [count for count, _ in expected]
    assert keep.tolist() == [kept for _, kept in expected]
    assert 0 < keep.sum() < len(keep)  # both outcomes exercised
    parts = sum(scores[f"n_confident_{p}"] for p in ("body", "face", "left_hand", "right_hand"))
    np.testing.assert_array_equal(parts, scores["n_confident_kp"])
    assert scores["n_confident_kp"].dtype == np.int16


@pytest.mark.parametrize(
    ("index", "threshold"),
    [(0, 0.1), (24, 0.1), (25, 0.2), (45, 0.2), (46, 0.2), (66, 0.2), (67, 0.4), (136, 0.4)],
)
def test_threshold_boundary_per_part(index, threshold):
    kp = np.zeros((4, 137, 3))
    kp[:, index, 2] = [threshold, np.nextafter(threshold, 0), np.float32(threshold), 1.0]
    mask = confident_mask(kp, SelectionConfig())[:, index]
    # exactly at the threshold counts (FuRPE zeroes only conf < threshold); float32 rounds up
    assert mask.tolist() == [True, False, True, True]


def test_pupils_use_the_face_threshold():
    kp = np.zeros((2, 137, 3))
    kp[0, 135:137, 2] = 0.4
    kp[1, 135:137, 2] = 0.39
    assert score_keypoints(kp, SelectionConfig())["n_confident_face"].tolist() == [2, 0]


def test_nan_and_negative_confidences_never_count():
    kp = np.zeros((1, 137, 3))
    kp[0, :12, 2] = np.nan
    kp[0, 12:24, 2] = -1.0
    kp[0, 30, :2] = np.nan  # coordinates are not looked at
    kp[0, 30, 2] = 0.9
    assert score_keypoints(kp, SelectionConfig())["n_confident_kp"].tolist() == [1]


def test_keep_boundary_exactly_min_count():
    kp = np.zeros((3, 137, 3))
    kp[0, :12, 2] = 0.1  # exactly 12 at exactly the body threshold
    kp[1, :11, 2] = 0.1
    kp[1, 67, 2] = 0.3999  # the 12th is below the face threshold
    kp[2, 67:79, 2] = 0.4
    counts = score_keypoints(kp, SelectionConfig())["n_confident_kp"]
    assert counts.tolist() == [12, 11, 12]
    assert keep_keypoints(counts, SelectionConfig()).tolist() == [True, False, True]
    assert keep_keypoints(counts, SelectionConfig(min_count=13)).tolist() == [False] * 3


def test_other_thresholds_are_honoured():
    kp = np.zeros((1, 137, 3))
    kp[0, 0, 2], kp[0, 30, 2], kp[0, 80, 2] = 0.3, 0.3, 0.3
    config = SelectionConfig(body_threshold=0.31, hand_threshold=0.3, face_threshold=0.25)
    assert confident_mask(kp, config)[0, [0, 30, 80]].tolist() == [False, True, True]


@pytest.mark.parametrize("shape", [(137, 3), (2, 135, 3), (2, 137, 2)])
def test_wrong_shapes_are_refused(shape):
    with pytest.raises(ValueError, match=r"\(N, 137, 3\)"):
        score_keypoints(np.zeros(shape), SelectionConfig())


def test_config_validates_its_values():
    with pytest.raises(ValueError, match="body_threshold"):
        SelectionConfig(body_threshold=0.0)
    with pytest.raises(ValueError, match="min_count"):
        SelectionConfig(min_count=-1)
    with pytest.raises(ValueError, match="max_mse"):
        SelectionConfig(max_mse=float("nan"))
    with pytest.raises(ValueError, match="mse_frame"):
        SelectionConfig(mse_frame="mm")
