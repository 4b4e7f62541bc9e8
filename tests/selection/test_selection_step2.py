"""Selection step 2: every validity rule at its boundary, the rule order and the reasons."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.vocabulary import Part, Reason
from furpe_label.selection import SelectionConfig, part_status, score_validity
from furpe_label.selection.step2_validity import hand_visibility_indices
from tests.support.doubles.expert_outputs import expert_outputs

OK = Reason.OK
HAND_MEAN = np.random.default_rng(5).uniform(-0.6, 0.9, (2, 45)).astype(np.float32)
HAND_MEAN[0, 7] = -0.375  # on the float32 grid near 3.15, so both sides of the limit are reachable


def _outputs(n: int, **overrides) -> ExpertOutputs:
    rng = np.random.default_rng(0)
    fields = {
        "body_rotmats": Rotation.random(n * 24, random_state=1).as_matrix().reshape(n, 24, 3, 3),
        "body_betas": rng.normal(0, 1, (n, 10)).clip(-2.5, 2.5),
        "face_pose": rng.normal(0, 0.1, (n, 6)),
        "face_expression": rng.normal(0, 1, (n, 50)),
        "face_shape": rng.normal(0, 1, (n, 100)),
        "left_hand_pose": rng.normal(0, 0.2, (n, 48)),
        "right_hand_pose": rng.normal(0, 0.2, (n, 48)),
        "reasons": np.full((n, 4), "ok", dtype=object),
    }
    fields.update(overrides)
    return expert_outputs(n, **fields)


def _body(out: ExpertOutputs):
    return out.record(Part.BODY).params


def _pose(out: ExpertOutputs, hand: Part) -> np.ndarray:
    return out.record(hand).params.pose


def _visible_keypoints(n: int) -> np.ndarray:
    kp = np.zeros((n, 137, 3))
    kp[..., 2] = 0.9
    return kp


def _status(outputs, kp=None, config=None):
    config = config or SelectionConfig()
    kp = _visible_keypoints(len(outputs)) if kp is None else kp
    return part_status(score_validity(outputs, kp, HAND_MEAN, config), config)


def test_clean_outputs_are_all_ok():
    assert (_status(_outputs(5)) == OK).all()


def test_betas_boundary_is_strictly_greater_than_3():
    out = _outputs(4)
    _body(out).betas[0, 3] = 3.0
    _body(out).betas[1, 3] = -3.0
    _body(out).betas[2, 3] = np.nextafter(np.float32(3.0), np.float32(4.0))  # scores are float32
    _body(out).betas[3, 9] = -3.2
    body = _status(out)[:, Part.BODY.column]
    assert body.tolist() == [OK, OK, Reason.OUT_OF_RANGE, Reason.OUT_OF_RANGE]


def test_body_matrices_that_are_not_rotations_are_out_of_range():
    out = _outputs(3)
    _body(out).rotmats[0, 5] *= 1.01  # scaled
    _body(out).rotmats[1, 7] = -_body(out).rotmats[1, 7]  # reflection: det -1
    _body(out).rotmats[2, 7] += 1e-4  # float noise of a 6D->matrix conversion
    body = _status(out)[:, Part.BODY.column]
    assert body.tolist() == [Reason.OUT_OF_RANGE, Reason.OUT_OF_RANGE, OK]


def _relative_for(target: np.float32, mean: np.float32) -> np.float32:
    """A float32 relative pose whose float32 sum with ``mean`` is exactly ``target``."""
    relative = np.float32(target - mean)
    for _ in range(64):
        total = np.float32(relative + mean)
        if total == target:
            return relative
        relative = np.nextafter(relative, np.float32(np.inf if total < target else -np.inf))
    raise AssertionError("no float32 value hits the target")


def test_hand_range_boundary_is_3_15_in_float32_after_adding_the_mean():
    out = _outputs(5)
    # absolute = relative + mean in float32; aim at exactly float32(3.15) and the value below
    limit = np.float32(3.15)
    below = np.nextafter(limit, np.float32(0))
    mean = HAND_MEAN[0, 7]
    _pose(out, Part.LEFT_HAND)[0, 3 + 7] = _relative_for(limit, mean)
    _pose(out, Part.LEFT_HAND)[1, 3 + 7] = _relative_for(below, mean)
    _pose(out, Part.LEFT_HAND)[2, 3 + 7] = _relative_for(-limit, mean)
    _pose(out, Part.LEFT_HAND)[3, 0] = 3.3  # the hand's global rotation is not range-checked
    _pose(out, Part.RIGHT_HAND)[4, 3 + 44] = 10.0
    absolute = _pose(out, Part.LEFT_HAND)[:3, 3 + 7].astype(np.float32) + mean
    assert absolute.tolist() == [limit, below, -limit]
    status = _status(out)
    assert status[:, Part.LEFT_HAND.column].tolist() == [
        Reason.OUT_OF_RANGE,
        OK,
        Reason.OUT_OF_RANGE,
        OK,
        OK,
    ]
    assert status[:, Part.RIGHT_HAND.column].tolist() == [OK] * 4 + [Reason.OUT_OF_RANGE]
    assert (status[:, Part.BODY.column] == OK).all()  # a bad hand only suppresses the hand


def test_hand_visibility_counts_the_body_wrist_and_needs_more_than_8():
    assert hand_visibility_indices(Part.LEFT_HAND).tolist() == [7, *range(26, 46)]
    assert hand_visibility_indices(Part.RIGHT_HAND).tolist() == [4, *range(47, 67)]
    kp = np.zeros((4, 137, 3))
    kp[:, 26:34, 2] = 0.2  # 8 finger points exactly at the hand threshold
    kp[1, 7, 2] = 0.2  # + the body's left wrist: 9
    kp[2, 25, 2] = 1.0  # + the hand's own root: not counted by FuRPE's loader -> 8
    kp[3, 7, 2] = 0.19  # the wrist is thresholded at the hand threshold -> 8
    config = SelectionConfig()
    scores = score_validity(_outputs(4), kp, HAND_MEAN, config)
    assert scores["n_visible_kp_left_hand"].tolist() == [8, 9, 8, 8]
    left = part_status(scores, config)[:, Part.LEFT_HAND.column]
    assert left.tolist() == [
        Reason.HAND_INVISIBLE,
        OK,
        Reason.HAND_INVISIBLE,
        Reason.HAND_INVISIBLE,
    ]
    relaxed = part_status(scores, SelectionConfig(hand_min_keypoints=7))[:, Part.LEFT_HAND.column]
    assert (relaxed == OK).all()
    assert (part_status(scores, config)[:, Part.RIGHT_HAND.column] == Reason.HAND_INVISIBLE).all()


def test_non_finite_outputs_and_upstream_reasons_take_precedence():
    out = _outputs(5)
    out.record(Part.FACE).params.expression[0, 3] = np.nan
    _body(out).betas[1, 0] = np.inf
    _pose(out, Part.LEFT_HAND)[2] = np.nan  # NaN with an upstream reason: the upstream reason wins
    out.reason[2, Part.LEFT_HAND.column] = Reason.EMPTY_BOX
    _pose(out, Part.RIGHT_HAND)[3, 5] = np.nan  # non-finite beats invisible
    _body(out).betas[4] = np.nan
    out.reason[4, Part.BODY.column] = Reason.EXPERT_DISABLED
    kp = _visible_keypoints(5)
    kp[3, 46:67, 2] = 0.0
    config = SelectionConfig()
    scores = score_validity(out, kp, HAND_MEAN, config)
    status = part_status(scores, config)
    assert status[0].tolist() == [OK, Reason.NON_FINITE_OUTPUT, OK, OK]
    assert status[1].tolist() == [Reason.NON_FINITE_OUTPUT, OK, OK, OK]
    assert status[2].tolist() == [OK, OK, Reason.EMPTY_BOX, OK]
    assert status[3].tolist() == [OK, OK, OK, Reason.NON_FINITE_OUTPUT]
    assert status[4].tolist() == [Reason.EXPERT_DISABLED, OK, OK, OK]
    # non_finite_* is only set where the expert gave an output
    assert scores["non_finite_left_hand"].tolist() == [False] * 5
    assert scores["non_finite_body"].tolist() == [False, True, False, False, False]


def test_crop_camera_is_checked_with_its_part():
    cameras = np.ones((2, 4, 3))
    cameras[1, Part.FACE.column, 0] = np.nan
    status = _status(_outputs(2, cameras=cameras))
    assert status[:, Part.FACE.column].tolist() == [OK, Reason.NON_FINITE_OUTPUT]


def test_rows_not_scored_are_marked():
    config = SelectionConfig()
    out = _outputs(3)
    scores = score_validity(
        out, _visible_keypoints(3), HAND_MEAN, config, rows=np.array([True, False, True])
    )
    status = part_status(scores, config)
    assert (status[1] == Reason.NOT_SCORED).all() and (status[[0, 2]] == OK).all()


def test_bad_inputs_are_refused_with_names():
    with pytest.raises(ValueError, match=r"BodyParams\.betas"):
        _outputs(3, body_betas=np.zeros((3, 11)))
    with pytest.raises(ValueError, match="expert_reasons: 'fine' is not a Reason"):
        score_validity(
            _outputs(2, reasons=np.full((2, 4), "fine", dtype=object)),
            _visible_keypoints(2),
            HAND_MEAN,
            SelectionConfig(),
        )
    with pytest.raises(ValueError, match="hand_mean"):
        score_validity(_outputs(2), _visible_keypoints(2), np.zeros(45), SelectionConfig())
    with pytest.raises(ValueError, match="keypoint rows"):
        score_validity(_outputs(2), _visible_keypoints(3), HAND_MEAN, SelectionConfig())
