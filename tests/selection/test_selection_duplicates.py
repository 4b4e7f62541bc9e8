"""One candidate per person: the OKS of two candidates against a hand computation, the sigma
table, and the keep rule (completeness, ties, three-way overlaps, different people)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES
from furpe_label.selection.config import SelectionConfig
from furpe_label.selection.duplicates import (
    OKS_MARGIN,
    OPENPOSE137_SIGMAS,
    DuplicateConfig,
    duplicate_of,
    find_duplicates,
    pairwise_oks,
)
from furpe_label.selection.step1_keypoints import confident_mask

NAMES = KEYPOINT_NAMES["openpose137"]


def _person(points: dict[str, tuple[float, float, float]]) -> np.ndarray:
    """(137, 3) keypoints with the named points set (x, y, conf), all others (0, 0, 0)."""
    out = np.zeros((137, 3), np.float64)
    for name, value in points.items():
        out[NAMES.index(name)] = value
    return out


def test_sigmas_are_coco_for_the_body_and_wholebody_elsewhere():
    sigma = dict(zip(NAMES, OPENPOSE137_SIGMAS, strict=True))
    assert OPENPOSE137_SIGMAS.shape == (137,) and (OPENPOSE137_SIGMAS > 0).all()
    # COCO's keypoint sigmas (cocoeval: .26, .25, .79, .62, 1.07, .89 / 10)
    assert sigma["nose"] == 0.026 and sigma["left_eye"] == 0.025
    assert sigma["left_shoulder"] == 0.079 and sigma["right_wrist"] == 0.062
    assert sigma["left_hip"] == 0.107 and sigma["right_ankle"] == 0.089
    # COCO-WholeBody: feet, hands (wrist root 0.029), face contour and inner points
    assert sigma["left_big_toe"] == 0.068 and sigma["right_heel"] == 0.094
    assert sigma["left_hand_root"] == 0.029 and sigma["right_thumb1"] == 0.022
    face = OPENPOSE137_SIGMAS[67:135]
    assert face[0] == 0.042 and face[16] == 0.045 and face[17] == 0.013
    # the documented constants for the points COCO-WholeBody lacks
    assert sigma["neck"] == pytest.approx(0.079) and sigma["mid_hip"] == pytest.approx(0.107)
    assert sigma["left_pupil"] == sigma["right_pupil"] == 0.025


def test_oks_matches_a_hand_computed_case():
    # a: nose (0, 0), right shoulder (20, 10), left wrist (40, 10) (only a has it)
    # b: nose (1, 0), right shoulder (20, 10)
    a = _person({"nose": (0, 0, 0.9), "right_shoulder": (20, 10, 0.8), "left_wrist": (40, 10, 1)})
    b = _person({"nose": (1, 0, 0.9), "right_shoulder": (20, 10, 0.8)})
    keypoints = np.stack([a, b])
    oks = pairwise_oks(keypoints, keypoints[..., 2] > 0)
    # union extent of both candidates' confident points: 40 x 10 px = 400 px^2; only the nose
    # and the shoulder are confident in both: exp(-1 / (2 * 400 * (2 * 0.026)^2)) and exp(0)
    expected = (math.exp(-1.0 / (2 * 400 * (2 * 0.026) ** 2)) + 1.0) / 2
    assert oks[0, 1] == pytest.approx(expected, rel=1e-12) == oks[1, 0]
    assert expected == pytest.approx(0.8149, abs=1e-4)  # 1 - (1 - e^-0.4623) / 2
    assert oks[0, 0] == oks[1, 1] == 1.0
    nobody = np.zeros((2, 137, 3))
    assert (
        pairwise_oks(np.stack([a, nobody[0]]), np.stack([a[:, 2] > 0, [False] * 137]))
        == [
            [1, 0],
            [0, 0],
        ]
    ).all()


def test_the_threshold_comparison_has_a_margin():
    oks = np.array([[1.0, 0.7 - OKS_MARGIN / 2], [0.7 - OKS_MARGIN / 2, 1.0]])
    owner = duplicate_of(oks, [20, 20], [0.5, 0.5], [0, 1], DuplicateConfig(0.7))
    assert owner.tolist() == [-1, 0]
    oks[0, 1] = oks[1, 0] = 0.7 - 2 * OKS_MARGIN
    assert duplicate_of(oks, [20, 20], [0.5, 0.5], [0, 1], DuplicateConfig(0.7)).tolist() == [
        -1,
        -1,
    ]


def test_keep_rule_completeness_then_confidence_then_sample_idx():
    same = np.ones((2, 2))
    config = DuplicateConfig()
    # more confident keypoints wins, whatever the confidence or the order
    assert duplicate_of(same, [30, 40], [0.9, 0.2], [0, 1], config).tolist() == [1, -1]
    # same count: the higher mean confidence
    assert duplicate_of(same, [40, 40], [0.5, 0.6], [0, 1], config).tolist() == [1, -1]
    # a full tie: the lower sample_idx, wherever it sits
    assert duplicate_of(same, [40, 40], [0.5, 0.5], [7, 3], config).tolist() == [1, -1]


def test_three_way_overlaps():
    config = DuplicateConfig(0.7)
    # three copies of one person: one kept, both others point at it
    assert duplicate_of(np.ones((3, 3)), [50, 60, 40], [0.5] * 3, [0, 1, 2], config).tolist() == [
        1,
        -1,
        1,
    ]
    # a chain: a ~ b and b ~ c, but a !~ c. a is the best: b is its duplicate, c stays (a
    # duplicate never marks others), as in oks_nms
    chain = np.array([[1.0, 0.8, 0.1], [0.8, 1.0, 0.8], [0.1, 0.8, 1.0]])
    assert duplicate_of(chain, [60, 50, 40], [0.5] * 3, [0, 1, 2], config).tolist() == [-1, 0, -1]
    # b best: both a and c are its duplicates
    assert duplicate_of(chain, [50, 60, 40], [0.5] * 3, [0, 1, 2], config).tolist() == [1, -1, 1]


def _spin_like_person(shift: float = 0.0, rng_seed: int = 0) -> np.ndarray:
    """A plausible whole-body pose (body, face, hands) about 200 px tall, moved by ``shift``."""
    rng = np.random.default_rng(rng_seed)
    person = np.zeros((137, 3))
    person[:25, :2] = rng.uniform([100, 50], [180, 250], (25, 2))
    person[67:137, :2] = rng.uniform([130, 50], [150, 75], (70, 2))
    person[25:67, :2] = rng.uniform([90, 140], [190, 170], (42, 2))
    person[:, 2] = 0.9
    person[:, 0] += shift
    return person


def test_find_duplicates_groups_by_image_and_names_the_kept_row():
    person = _spin_like_person()
    jittered = person.copy()
    jittered[:, :2] += np.random.default_rng(1).normal(0, 0.5, (137, 2))
    head_only = person.copy()
    head_only[25:67, 2] = 0.0  # hands not found in a head-and-shoulders box
    head_only[8:25, 2] = 0.0  # nor the legs
    other = _spin_like_person(shift=120.0)  # a second person beside the first
    elsewhere = person.copy()  # same pixels, another image: never compared
    keypoints = np.stack([person, jittered, head_only, other, elsewhere])
    keypoints[1, :, 2] = 0.8  # the jittered copy: same count, lower confidence
    images = ["a.jpg", "a.jpg", "a.jpg", "a.jpg", "b.jpg"]
    confident = confident_mask(keypoints, SelectionConfig())
    found = find_duplicates(
        keypoints, confident, images, np.ones(5, bool), np.arange(10, 15), DuplicateConfig()
    )
    assert found.owner.tolist() == [-1, 0, 0, -1, -1]
    assert found.oks[1] > 0.9 and found.oks[2] > 0.9 and np.isnan(found.oks[[0, 3, 4]]).all()
    # rows that are no candidates (no keypoints) take no part
    found = find_duplicates(
        keypoints,
        confident,
        images,
        np.array([False, True, True, True, True]),
        np.arange(5),
        DuplicateConfig(),
    )
    assert found.owner.tolist() == [-1, -1, 1, -1, -1]


def test_config_rejects_thresholds_outside_0_1():
    for bad in (0.0, -0.1, 1.5, float("nan"), True):
        with pytest.raises(ValueError, match="oks_threshold"):
            DuplicateConfig(bad)
    assert DuplicateConfig(1.0).oks_threshold == 1.0


def test_the_decision_does_not_depend_on_row_order():
    person = _spin_like_person()
    copies = np.stack(
        [person, person, person + np.array([0.3, -0.2, 0.0]), _spin_like_person(150.0)]
    )
    copies[:, :, 2] = 0.9  # a full tie on count and confidence: sample_idx decides
    sample_idx = np.array([7, 3, 5, 9])
    confident = confident_mask(copies, SelectionConfig())
    base = find_duplicates(
        copies, confident, ["x"] * 4, np.ones(4, bool), sample_idx, DuplicateConfig()
    )
    assert base.owner.tolist() == [1, -1, 1, -1]  # sample 3 is kept
    for order in ([3, 2, 1, 0], [2, 0, 3, 1]):
        found = find_duplicates(
            copies[order],
            confident[order],
            ["x"] * 4,
            np.ones(4, bool),
            sample_idx[order],
            DuplicateConfig(),
        )
        owner_samples = [sample_idx[order][o] if o >= 0 else -1 for o in found.owner]
        expected = [sample_idx[base.owner[i]] if base.owner[i] >= 0 else -1 for i in order]
        assert owner_samples == expected
        assert np.array_equal(found.oks[np.argsort(order)], base.oks, equal_nan=True)


def test_a_whole_body_beats_a_closer_view_with_more_hand_and_face_points():
    oks = np.ones((2, 2))
    config = DuplicateConfig(0.7)
    # row 0: head-and-shoulders view, 103 confident (few body); row 1: whole body, 93
    owner = duplicate_of(oks, [103, 93], [0.9, 0.9], [0, 1], config, n_body_confident=[9, 23])
    assert owner.tolist() == [1, -1]
    # through find_duplicates: the body count comes from the confident mask
    whole = _spin_like_person()
    whole[25:67, 2] = 0.0  # its hands were not found
    close = _spin_like_person()
    close[8:25, 2] = 0.0  # legs missing, hands and face found
    keypoints = np.stack([close, whole])
    confident = confident_mask(keypoints, SelectionConfig())
    assert confident[0].sum() > confident[1].sum()
    found = find_duplicates(
        keypoints, confident, ["a.jpg"] * 2, np.ones(2, bool), np.arange(2), DuplicateConfig()
    )
    assert found.owner.tolist() == [1, -1]
