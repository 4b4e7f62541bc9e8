"""Fusion inputs and outputs: reading the expert stage's records, refusals, row bookkeeping."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.fusion.config import FusionConfig
from furpe_label.experts.fusion.fuse import fuse_parts
from furpe_label.experts.fusion.inputs import fused_array, usable_parts
from furpe_label.experts.records import (
    BodyParams,
    ExpertRecord,
    FaceParams,
    HandParams,
)
from furpe_label.experts.vocabulary import Part, Reason
from tests.support.doubles.simulated_part_outputs import simulated_part_outputs
from tests.support.fusion_support import load_fusion_models


@pytest.fixture(scope="module")
def models(synthetic_models_dir, tmp_path_factory):
    return load_fusion_models(synthetic_models_dir, tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def inputs(models):
    return simulated_part_outputs(models.rig, 6, seed=3)


def _record(part: Part, params) -> ExpertRecord:
    rows = len(getattr(params, fields(params)[0].name))
    camera = np.tile(np.array([[0.9, 0.01, -0.02]], np.float32), (rows, 1))
    feature = np.zeros((rows, 2048), np.float16)
    return ExpertRecord(part, "double", params, camera, feature, "0")


def _nan_rows(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    out = values.astype(np.float32).copy()
    out[~keep] = np.nan
    return out


def _stage_output(records: dict[Part, ExpertRecord]) -> ExpertOutputs:
    out = ExpertOutputs.empty(6, [Reason.OK] * 6)
    out.records.update(records)
    return out


def test_fusion_reads_row_aligned_records_and_the_usable_mask(inputs):
    parts, _ = inputs
    present = np.zeros((6, 4), bool)
    present[[0, 2, 3, 5], 0] = True
    present[[2, 5], 1] = True
    present[3, 2] = present[4, 3] = True
    zeros = np.zeros
    hands = HandParams(  # one FrankMocap record holding both sides, NaN where absent
        np.where(
            present[:, 2:3], parts.left_hand_pose, _nan_rows(parts.right_hand_pose, present[:, 3])
        ),
        zeros((6, 10), np.float32),
        present[:, 2] | ~present[:, 3],
    )
    records = {
        Part.BODY: _record(
            Part.BODY,
            BodyParams(_nan_rows(parts.body_rotmats, present[:, 0]), zeros((6, 10), np.float32)),
        ),
        Part.FACE: _record(
            Part.FACE,
            FaceParams(
                zeros((6, 100), np.float32),
                _nan_rows(parts.face_expression, present[:, 1]),
                _nan_rows(parts.face_pose, present[:, 1]),
                zeros((6, 50), np.float32),
                zeros((6, 9, 3), np.float32),
            ),
        ),
        Part.LEFT_HAND: _record(Part.LEFT_HAND, hands),
        Part.RIGHT_HAND: _record(Part.RIGHT_HAND, hands),
    }
    usable = present.copy()
    usable[5, Part.FACE.column] = False
    out = _stage_output(records)
    np.testing.assert_array_equal(usable_parts(out, usable), usable)
    body_rotmats = fused_array(out, Part.BODY, "rotmats")
    body_camera = fused_array(out, Part.BODY, "camera")
    left, right = (fused_array(out, hand, "pose") for hand in (Part.LEFT_HAND, Part.RIGHT_HAND))
    np.testing.assert_array_equal(body_rotmats[0], parts.body_rotmats[0])
    np.testing.assert_array_equal(body_camera[0], np.float32([0.9, 0.01, -0.02]))
    np.testing.assert_array_equal(left[3], parts.left_hand_pose[3])
    np.testing.assert_array_equal(right[4], parts.right_hand_pose[4])
    face_pose = fused_array(out, Part.FACE, "pose")
    assert np.isnan(body_rotmats[1]).all() and np.isnan(face_pose[0]).all()
    without_face = _stage_output({Part.BODY: records[Part.BODY]})
    assert not usable_parts(without_face, usable)[:, 1:].any()
    swapped = usable.copy()
    swapped[3, Part.RIGHT_HAND.column] = True  # row 3 holds a left hand
    with pytest.raises(ValueError, match="right_hand: usable rows hold hands of the other"):
        usable_parts(_stage_output({Part.RIGHT_HAND: records[Part.RIGHT_HAND]}), swapped)
    with pytest.raises(TypeError, match="unexpected BodyParams"):
        usable_parts(_stage_output({Part.FACE: records[Part.BODY]}), usable)
    short = _stage_output({Part.BODY: records[Part.BODY].take(slice(0, 4))})
    with pytest.raises(ValueError, match="record has 4 rows, expected 6"):
        usable_parts(short, usable)
    with pytest.raises(ValueError, match="marked usable but hold NaN"):
        usable_parts(_stage_output({Part.BODY: records[Part.BODY]}), np.ones((6, 4), bool))


def test_inputs_refuse_bad_shapes_and_non_finite_usable_rows(inputs):
    parts, _ = inputs
    with pytest.raises(ValueError, match=r"FaceParams\.expression has shape \(6, 10\)"):
        _ = replace(parts, face_expression=np.zeros((6, 10), np.float32)).outputs
    with pytest.raises(ValueError, match="usable must be a"):
        usable_parts(parts.outputs, np.ones((6, 4), np.int8))
    hands = parts.right_hand_pose.copy()
    hands[4, 7] = np.nan
    with pytest.raises(ValueError, match=r"right_hand_pose: rows \[4\]"):
        usable_parts(replace(parts, right_hand_pose=hands).outputs)


def test_fuse_refuses_betas_of_the_wrong_size_or_not_finite(models, inputs):
    parts, betas = inputs
    with pytest.raises(ValueError, match=r"betas must have shape \(6, 10\)"):
        fuse_parts(parts.outputs, betas[:, :8], models.rig)
    bad = betas.copy()
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match=r"not finite in rows \[2\]"):
        fuse_parts(parts.outputs, bad, models.rig)


def test_without_a_body_no_part_is_placed(models, inputs):
    parts, betas = inputs
    valid = np.ones((6, 4), bool)
    valid[[1, 4], Part.BODY.column] = False
    rotmats = parts.body_rotmats.copy()
    rotmats[[1, 4]] = np.nan
    betas = betas.copy()
    betas[[1, 4]] = np.nan
    masked = replace(parts, part_valid=valid, body_rotmats=rotmats)
    fused = fuse_parts(masked.outputs, betas, models.rig, FusionConfig(head_from_face=True))
    assert not fused.part_valid[[1, 4]].any() and fused.part_valid[[0, 2, 3, 5]].all()
    assert fused.hand_suppressed[[1, 4]].all() and not fused.hand_suppressed[[0, 2, 3, 5]].any()
    for name, value in fused.smplx_params().items():
        assert np.isfinite(value).all(), name
    assert not fused.body_pose[[1, 4]].any() and not fused.betas[[1, 4]].any()
    assert not fused.camera[[1, 4]].any() and not fused.jaw_pose[[1, 4]].any()
    np.testing.assert_allclose(fused.left_hand_pose[1], models.rig.left_hand_mean.numpy())


def test_outputs_are_float32_row_aligned_and_take_rows(models, inputs):
    parts, betas = inputs
    fused = fuse_parts(parts.outputs, betas, models.rig, FusionConfig(wrist="copy-paste"))
    shapes = {
        "global_orient": (6, 3),
        "body_pose": (6, 21, 3),
        "betas": (6, 10),
        "jaw_pose": (6, 3),
        "left_hand_pose": (6, 15, 3),
        "expression": (6, 10),
        "flame_expression": (6, 50),
        "camera": (6, 3),
        "part_valid": (6, 4),
        "hand_suppressed": (6, 2),
        "wrist_twist_excess_rad": (6, 2),
    }
    for name, shape in shapes.items():
        value = getattr(fused, name)
        assert value.shape == shape, name
        assert value.dtype == (
            np.bool_ if name in ("part_valid", "hand_suppressed") else np.float32
        ), name
    np.testing.assert_array_equal(fused.camera, parts.body_camera)
    np.testing.assert_array_equal(fused.betas, betas)
    assert len(fused) == 6 and fused.wrist_rule == "copy-paste"
    part = fused.take(np.array([4, 1]))
    assert len(part) == 2 and part.wrist_rule == "copy-paste"
    np.testing.assert_array_equal(part.body_pose, fused.body_pose[[4, 1]])
