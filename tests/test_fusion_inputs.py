"""Fusion inputs and outputs: scattering expert records into rows, refusals, row bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

from furpe_label.experts.fusion.fuse import FusionConfig, fuse_parts
from furpe_label.experts.fusion.inputs import PartOutputs
from furpe_label.experts.networks.records import (
    BodyParams,
    ExpertRecord,
    FaceParams,
    HandParams,
)
from furpe_label.experts.networks.records import Part as ExpertPart
from furpe_label.experts.vocabulary import Part
from tests.doubles.simulated_part_outputs import simulated_part_outputs
from tests.fusion_support import load_fusion_models


@pytest.fixture(scope="module")
def models(synthetic_models_dir, tmp_path_factory):
    return load_fusion_models(synthetic_models_dir, tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def inputs(models):
    return simulated_part_outputs(models.rig, 6, seed=3)


def _record(part: ExpertPart, params, rows: int) -> ExpertRecord:
    camera = np.tile(np.array([[0.9, 0.01, -0.02]], np.float32), (rows, 1))
    return ExpertRecord(part, "double", params, camera, np.zeros((rows, 2048), np.float16), "0")


def test_from_records_scatters_rows_and_marks_missing_ones(inputs):
    parts, _ = inputs
    body_rows, face_rows, left_rows = np.array([0, 2, 3, 5]), np.array([2, 5]), np.array([3])
    records = {
        Part.BODY: (body_rows, _record(ExpertPart.BODY, BodyParams(
            parts.body_rotmats[body_rows], np.zeros((4, 10), np.float32)), 4)),
        Part.FACE: (face_rows, _record(ExpertPart.FACE, FaceParams(
            np.zeros((2, 100), np.float32), parts.face_expression[face_rows],
            parts.face_pose[face_rows], np.zeros((2, 50), np.float32),
            np.zeros((2, 9, 3), np.float32)), 2)),
        Part.LEFT_HAND: (left_rows, _record(ExpertPart.HAND, HandParams(
            parts.left_hand_pose[left_rows], np.zeros((1, 10), np.float32),
            np.array([True])), 1)),
    }  # fmt: skip
    usable = np.ones((6, 4), bool)
    usable[5, Part.FACE.column] = False
    out = PartOutputs.from_records(6, records, usable)
    expected = np.zeros((6, 4), bool)
    expected[body_rows, 0] = True
    expected[2, 1] = True
    expected[3, 2] = True
    np.testing.assert_array_equal(out.part_valid, expected)
    np.testing.assert_array_equal(out.body_rotmats[body_rows], parts.body_rotmats[body_rows])
    np.testing.assert_array_equal(out.body_camera[body_rows[0]], np.float32([0.9, 0.01, -0.02]))
    np.testing.assert_array_equal(out.left_hand_pose[3], parts.left_hand_pose[3])
    assert np.isnan(out.body_rotmats[1]).all() and np.isnan(out.right_hand_pose).all()
    with pytest.raises(ValueError, match="other side"):
        PartOutputs.from_records(6, {Part.RIGHT_HAND: records[Part.LEFT_HAND]})
    with pytest.raises(TypeError, match="unexpected BodyParams"):
        PartOutputs.from_records(6, {Part.FACE: records[Part.BODY]})
    with pytest.raises(ValueError, match="2 rows for 4 outputs"):
        PartOutputs.from_records(6, {Part.BODY: (face_rows, records[Part.BODY][1])})


def test_inputs_refuse_bad_shapes_and_non_finite_usable_rows(inputs):
    parts, _ = inputs
    fields = parts.__dict__
    with pytest.raises(ValueError, match=r"face_expression must be a \(6, \(50,\)\)"):
        PartOutputs(**{**fields, "face_expression": np.zeros((6, 10), np.float32)})
    with pytest.raises(ValueError, match="part_valid must be a"):
        PartOutputs(**{**fields, "part_valid": np.ones((6, 4), np.int8)})
    hands = parts.right_hand_pose.copy()
    hands[4, 7] = np.nan
    with pytest.raises(ValueError, match=r"right_hand_pose: rows \[4\]"):
        PartOutputs(**{**fields, "right_hand_pose": hands})


def test_fuse_refuses_betas_of_the_wrong_size_or_not_finite(models, inputs):
    parts, betas = inputs
    with pytest.raises(ValueError, match=r"betas must have shape \(6, 10\)"):
        fuse_parts(parts, betas[:, :8], models.rig)
    bad = betas.copy()
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match=r"not finite in rows \[2\]"):
        fuse_parts(parts, bad, models.rig)


def test_without_a_body_no_part_is_placed(models, inputs):
    parts, betas = inputs
    valid = np.ones((6, 4), bool)
    valid[[1, 4], Part.BODY.column] = False
    rotmats = parts.body_rotmats.copy()
    rotmats[[1, 4]] = np.nan
    betas = betas.copy()
    betas[[1, 4]] = np.nan
    masked = PartOutputs(**{**parts.__dict__, "part_valid": valid, "body_rotmats": rotmats})
    fused = fuse_parts(masked, betas, models.rig, FusionConfig(head_from_face=True))
    assert not fused.part_valid[[1, 4]].any() and fused.part_valid[[0, 2, 3, 5]].all()
    assert fused.hand_suppressed[[1, 4]].all() and not fused.hand_suppressed[[0, 2, 3, 5]].any()
    for name, value in fused.smplx_params().items():
        assert np.isfinite(value).all(), name
    assert not fused.body_pose[[1, 4]].any() and not fused.betas[[1, 4]].any()
    assert not fused.camera[[1, 4]].any() and not fused.jaw_pose[[1, 4]].any()
    np.testing.assert_allclose(fused.left_hand_pose[1], models.rig.left_hand_mean.numpy())


def test_outputs_are_float32_row_aligned_and_take_rows(models, inputs):
    parts, betas = inputs
    fused = fuse_parts(parts, betas, models.rig, FusionConfig(wrist="copy-paste"))
    shapes = {"global_orient": (6, 3), "body_pose": (6, 21, 3), "betas": (6, 10),
              "jaw_pose": (6, 3), "left_hand_pose": (6, 15, 3), "expression": (6, 10),
              "flame_expression": (6, 50), "camera": (6, 3), "part_valid": (6, 4),
              "hand_suppressed": (6, 2), "wrist_twist_excess_rad": (6, 2)}  # fmt: skip
    for name, shape in shapes.items():
        value = getattr(fused, name)
        assert value.shape == shape, name
        assert value.dtype == (np.bool_ if name in ("part_valid", "hand_suppressed")
                               else np.float32), name  # fmt: skip
    np.testing.assert_array_equal(fused.camera, parts.body_camera)
    np.testing.assert_array_equal(fused.betas, betas)
    assert len(fused) == 6 and fused.wrist_rule == "copy-paste"
    part = fused.take(np.array([4, 1]))
    assert len(part) == 2 and part.wrist_rule == "copy-paste"
    np.testing.assert_array_equal(part.body_pose, fused.body_pose[[4, 1]])
