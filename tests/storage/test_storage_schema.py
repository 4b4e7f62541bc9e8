"""The schema table: complete, consistent with the vocabulary and with smplx's forward."""

from __future__ import annotations

import inspect

import pytest
import smplx

from furpe_label.experts.vocabulary import Part, Reason, Stage
from furpe_label.storage.schema import (
    AUDIT_FIELDS,
    LABEL_FIELDS,
    SMPLX_PARAMS,
    TIMED_STAGES,
    audit_field,
    label_field,
    label_fields,
    schema_json,
)


def test_smplx_parameters_are_forward_keywords_with_smplx_shapes():
    keywords = set(inspect.signature(smplx.SMPLX.forward).parameters)
    assert set(SMPLX_PARAMS) <= keywords
    shapes = {name: label_field(name).shape for name in SMPLX_PARAMS}
    assert shapes["body_pose"] == (21, 3)  # smplx.SMPLX.NUM_BODY_JOINTS
    assert shapes["left_hand_pose"] == shapes["right_hand_pose"] == (15, 3)
    assert smplx.SMPLX.NUM_BODY_JOINTS == 21 and smplx.SMPLX.NUM_HAND_JOINTS == 15
    assert all(label_field(n).unit == "rad" for n in SMPLX_PARAMS if n.endswith(("pose", "orient")))
    assert label_field("transl").unit == "m"


@pytest.mark.parametrize("stem", ["box", "feature", "feature_pooled"])
def test_per_part_label_fields_follow_the_part_order(stem):
    names = [f.name for f in LABEL_FIELDS if f.name.startswith(f"{stem}_")]
    if stem == "feature":
        names = [n for n in names if not n.startswith("feature_pooled_")]
    assert names == [f"{stem}_{part.value}" for part in Part]


def test_audit_categories_come_from_the_vocabulary():
    assert audit_field("drop_reason").categories == tuple(r.value for r in Reason)
    assert [audit_field(f"status_{p.value}").categories for p in Part] == [
        tuple(r.value for r in Reason)
    ] * 4
    assert audit_field("suppressed_parts").categories == tuple(p.value for p in Part)
    assert [f"seconds_{s.name.lower()}" for s in TIMED_STAGES] == [
        f.name for f in AUDIT_FIELDS if f.group == "time"
    ]
    assert Stage.KEPT not in TIMED_STAGES
    assert [f.name for f in AUDIT_FIELDS if f.partition] == ["dataset"]


def test_every_field_is_described():
    for field in (*LABEL_FIELDS, *AUDIT_FIELDS):
        assert field.meaning and field.unit is not None and field.group, field.name
        assert "{part}" not in field.meaning, field.name
    features = [f for f in LABEL_FIELDS if f.group == "feature"]
    assert {f.dtype for f in features} == {"float16"}
    assert {f.shape for f in features if not f.optional} == {(1024,)}
    assert {f.shape for f in features if f.optional} == {(2048,)}


def test_json_description_and_lookups():
    described = schema_json(label_fields(["feature_pooled_body"]))
    names = [d["name"] for d in described]
    assert "feature_pooled_body" in names and "feature_pooled_face" not in names
    body = next(d for d in described if d["name"] == "body_pose")
    assert body == {
        "name": "body_pose",
        "dtype": "float32",
        "shape": [21, 3],
        "unit": "rad",
        "meaning": label_field("body_pose").meaning,
        "group": "smplx",
    }
    with pytest.raises(KeyError, match="unknown label field 'pose'"):
        label_field("pose")
    with pytest.raises(KeyError, match="unknown audit column"):
        audit_field("reason")
