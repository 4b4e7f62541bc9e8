"""What-if from stored scores equals a fresh run; the combined outcome; the stored table."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from furpe_label.experts.geometry.cameras import WeakPerspectiveCamera
from furpe_label.experts.vocabulary import Part, Reason, Stage
from furpe_label.selection import (
    BodyCropFrame,
    SelectionConfig,
    SelectionDecisions,
    SelectionMetrics,
    combine,
    decide,
    part_status,
    score_keypoints,
    score_reprojection,
    score_validity,
    what_if,
)
from tests.support.doubles.expert_outputs import expert_outputs
from tests.support.selection_data import keypoint_layer, plausible_smplx_params

N = 48
CONFIG_A = SelectionConfig(max_mse=2e-4)
CONFIG_B = SelectionConfig(
    min_count=40,
    hand_max_abs=2.9,
    betas_max_abs=2.0,
    hand_min_keypoints=10,
    max_mse=30.0,
    mse_frame="px",
)


@pytest.fixture(scope="module")
def world(synthetic_models_dir):
    """N people with varied keypoint confidence, expert outputs and detection errors."""
    layer = keypoint_layer(synthetic_models_dir)
    rng = np.random.default_rng(11)
    params = plausible_smplx_params(N, seed=4)
    cam = np.stack([rng.uniform(0.8, 1.1, N), rng.normal(0, 0.1, N), rng.normal(0, 0.1, N)], 1)
    camera = WeakPerspectiveCamera(torch.as_tensor(cam, dtype=torch.float32))
    side = rng.uniform(200, 600, N)
    affine = np.zeros((N, 2, 3))
    affine[:, 0, 0] = affine[:, 1, 1] = 224 / side
    affine[:, :, 2] = 111.5 - rng.uniform(300, 700, (N, 2)) * (224 / side)[:, None]
    frame = BodyCropFrame(affine)
    with torch.no_grad():
        points, _ = layer(**{k: torch.as_tensor(v) for k, v in params.items()})
    keypoints = np.zeros((N, 137, 3))
    keypoints[..., :2] = frame.norm_to_image(camera.project(points).double().numpy())
    keypoints[..., :2] += rng.normal(0, 1, (N, 137, 2)) * rng.uniform(0.5, 8, (N, 1, 1))
    keypoints[rng.random(N) < 0.3, 25:46, :2] += 60.0  # some wrong left hands
    keypoints[..., 2] = rng.uniform(0.0, 1.0, (N, 137)) ** rng.uniform(0.2, 6, (N, 1))
    for row, count in enumerate((8, 11, 12, 13, 30, 45)):  # around both min_count values
        keypoints[row, :, 2] = 0.0
        keypoints[row, rng.choice(137, count, replace=False), 2] = 0.9
    outputs = expert_outputs(
        N,
        body_rotmats=Rotation.random(N * 24, random_state=2).as_matrix().reshape(N, 24, 3, 3),
        body_betas=rng.normal(0, 1.2, (N, 10)),
        face_pose=rng.normal(0, 0.1, (N, 6)),
        face_expression=rng.normal(0, 1, (N, 50)),
        face_shape=rng.normal(0, 1, (N, 100)),
        left_hand_pose=rng.normal(0, 0.9, (N, 48)),
        right_hand_pose=rng.normal(0, 0.9, (N, 48)),
        reasons=np.where(rng.random((N, 4)) < 0.05, Reason.EMPTY_BOX, Reason.OK),
    )
    hand_mean = rng.uniform(-0.5, 0.5, (2, 45))
    return layer, params, camera, frame, keypoints, outputs, hand_mean


def _fresh_run(world, config, step3_rows=None):
    """All three scorers with ``config`` (step 3 on the parts valid after step 2)."""
    layer, params, camera, frame, keypoints, outputs, hand_mean = world
    step1 = score_keypoints(keypoints, config)
    step2 = score_validity(outputs, keypoints, hand_mean, config)
    valid = part_status(step2, config) == Reason.OK
    step3, _ = score_reprojection(
        layer, params, camera, frame, keypoints, valid, config, rows=step3_rows
    )
    no_track = {"temporal_accel_rad": np.full(len(keypoints), np.nan, np.float32)}
    return SelectionMetrics({**step1, **step2, **step3, **no_track}, config.scoring_parameters())


def test_what_if_equals_a_fresh_run(world):
    metrics_a, metrics_b = _fresh_run(world, CONFIG_A), _fresh_run(world, CONFIG_B)
    fresh_a, fresh_b = decide(metrics_a, CONFIG_A), decide(metrics_b, CONFIG_B)
    replayed = what_if(metrics_a, CONFIG_B)
    assert replayed.same_decisions(fresh_b)
    outcome, expected = combine(replayed), combine(fresh_b)
    for name in ("drop_stage", "drop_step", "drop_reason", "part_valid"):
        np.testing.assert_array_equal(getattr(outcome, name), getattr(expected, name))
    assert what_if(metrics_b, CONFIG_A).same_decisions(fresh_a)
    # not vacuous: every step decides differently under A and B for some rows
    assert (fresh_a.keep_step1 != fresh_b.keep_step1).any()
    for part in (Part.BODY, Part.LEFT_HAND, Part.RIGHT_HAND):  # the face has no keep threshold
        column = part.column
        assert (fresh_a.part_status[:, column] != fresh_b.part_status[:, column]).any(), part
    assert (fresh_a.step3_status != fresh_b.step3_status).any()
    assert (metrics_a["reproj_mse_px"] != metrics_b["reproj_mse_px"]).any()  # suppression
    drops = combine(fresh_a).drop_stage
    assert {Stage.KEPT, Stage.KEYPOINTS, Stage.EXPERTS, Stage.REPROJECTION} <= set(drops.tolist())
    # the stored overall values are the ones decide recomputes for the same config
    for name in ("reproj_mse_px", "reproj_mse_norm", "reproj_mean_px", "reproj_rms_norm"):
        np.testing.assert_allclose(metrics_a[name], fresh_a.reprojection[name], rtol=1e-6)


def test_what_if_survives_the_arrow_round_trip(world):
    metrics = _fresh_run(world, CONFIG_A)
    table = metrics.to_arrow()
    assert str(table.schema.field("expert_reason_face").type).startswith("dictionary")
    restored = SelectionMetrics.from_arrow(table)
    assert restored.scoring == metrics.scoring
    assert what_if(restored, CONFIG_B).same_decisions(what_if(metrics, CONFIG_B))


def test_what_if_refuses_new_confidence_thresholds(world):
    metrics = _fresh_run(world, CONFIG_A)
    with pytest.raises(ValueError, match=r"\['hand_threshold'\]"):
        what_if(metrics, SelectionConfig(hand_threshold=0.3))


def test_rows_never_scored_by_step3_are_reported(world):
    kept_by_a = combine(decide(_fresh_run(world, CONFIG_A), CONFIG_A))
    reached_step3 = kept_by_a.kept | (kept_by_a.drop_stage == Stage.REPROJECTION)
    metrics = _fresh_run(world, CONFIG_A, step3_rows=reached_step3)
    loose = SelectionConfig(min_count=1, hand_min_keypoints=0, betas_max_abs=10.0, max_mse=2e-4)
    outcome = combine(what_if(metrics, loose))
    fresh = combine(decide(_fresh_run(world, loose), loose))
    unknown = outcome.drop_reason == Reason.NOT_SCORED
    assert unknown.any() and (outcome.drop_stage[unknown] == Stage.REPROJECTION).all()
    assert (outcome.drop_step[unknown] == 3).all()
    assert not reached_step3[unknown].any()
    known = ~unknown
    np.testing.assert_array_equal(outcome.drop_reason[known], fresh.drop_reason[known])


def test_combine_order_and_part_valid():
    status = np.full((6, 4), Reason.OK, dtype=object)
    status[2, Part.BODY.column] = Reason.ZERO_AREA
    status[3, Part.LEFT_HAND.column] = Reason.HAND_INVISIBLE
    status[0, Part.BODY.column] = Reason.NON_FINITE_OUTPUT  # row 0 is dropped earlier anyway
    step3 = np.array([Reason.OK] * 5 + [Reason.REPROJECTION_ERROR], dtype=object)
    decisions = SelectionDecisions(
        np.array([True, False, True, True, True, True]),
        status,
        step3,
        {},
        np.full(6, Reason.OK, dtype=object),
    )
    inputs = np.array(["image_unreadable", "ok", "ok", "ok", "ok", "ok"], dtype=object)
    outcome = combine(decisions, inputs)
    assert outcome.drop_stage.tolist() == [
        Stage.INPUT,
        Stage.KEYPOINTS,
        Stage.EXPERTS,
        Stage.KEPT,
        Stage.KEPT,
        Stage.REPROJECTION,
    ]
    assert outcome.drop_step.tolist() == [0, 1, 2, 0, 0, 3]  # FuRPE's steps only
    columns = outcome.audit_columns()
    assert columns["drop_stage"] == [
        "input",
        "keypoints",
        "experts",
        "kept",
        "kept",
        "reprojection",
    ]
    assert columns["drop_step"] == [None, 1, 2, None, None, 3]
    assert columns["drop_reason"][:2] == ["image_unreadable", "few_confident_keypoints"]
    assert outcome.drop_reason.tolist() == [
        Reason.IMAGE_UNREADABLE,
        Reason.FEW_CONFIDENT_KEYPOINTS,
        Reason.ZERO_AREA,
        Reason.OK,
        Reason.OK,
        Reason.REPROJECTION_ERROR,
    ]
    assert outcome.part_valid.tolist() == [[False] * 4] * 3 + [
        [True, True, False, True],
        [True] * 4,
    ] + [[False] * 4]
    detection = combine(decisions, np.array(["no_person_in_box"] + ["ok"] * 5))
    assert detection.drop_stage[0] == Stage.KEYPOINTS
    assert detection.drop_step[0] == 0  # detection is not FuRPE's step 1
    with pytest.raises(ValueError, match="later stages"):
        combine(decisions, np.array(["reprojection_error"] + ["ok"] * 5))
