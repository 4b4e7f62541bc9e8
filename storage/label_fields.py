"""The arrays of ``OUT/labels.zarr`` (:data:`LABEL_FIELDS`) and the conventions the store's
attributes carry (:data:`CONVENTIONS`); looked up through :mod:`furpe_label.storage.schema`."""

from __future__ import annotations

from typing import Any

from furpe_label.experts.vocabulary import Part
from furpe_label.selection.fields import Field
from furpe_label.selection.fields import per_part as _per_part

__all__ = ["CONVENTIONS", "LABEL_FIELDS", "SMPLX_PARAMS"]

_PARTS = tuple(part.value for part in Part)
_PART_ORDER = ", ".join(_PARTS)
_RAD = "rad"
_F32 = "float32"

LABEL_FIELDS: tuple[Field, ...] = (
    Field(
        "valid",
        "bool",
        (),
        "1",
        "kept by the three-step selection (else see the audit's drop_reason)",
        "mask",
    ),
    Field(
        "part_valid",
        "bool",
        (4,),
        "1",
        f"per-part label usable, columns {_PART_ORDER} (False: suppressed or the sample dropped)",
        "mask",
    ),
    Field(
        "global_orient",
        _F32,
        (3,),
        _RAD,
        "SMPL-X root (pelvis) rotation, axis-angle, in the body camera's frame",
        "smplx",
    ),
    Field(
        "body_pose",
        _F32,
        (21, 3),
        _RAD,
        "SMPL-X body joints 1..21 (smplx order), axis-angle relative to the parent",
        "smplx",
    ),
    Field("jaw_pose", _F32, (3,), _RAD, "SMPL-X jaw rotation, axis-angle", "smplx"),
    Field("leye_pose", _F32, (3,), _RAD, "SMPL-X left eye rotation, axis-angle", "smplx"),
    Field("reye_pose", _F32, (3,), _RAD, "SMPL-X right eye rotation, axis-angle", "smplx"),
    Field(
        "left_hand_pose",
        _F32,
        (15, 3),
        _RAD,
        "SMPL-X left finger joints, ABSOLUTE "
        "axis-angle rotations (flat_hand_mean=True meaning), smplx order",
        "smplx",
    ),
    Field(
        "right_hand_pose",
        _F32,
        (15, 3),
        _RAD,
        "SMPL-X right finger joints, ABSOLUTE "
        "axis-angle rotations (flat_hand_mean=True meaning), smplx order",
        "smplx",
    ),
    Field(
        "betas",
        _F32,
        (10,),
        "1",
        "SMPL-X shape coefficients after the SMPL->SMPL-X transfer",
        "smplx",
    ),
    Field(
        "expression",
        _F32,
        (10,),
        "1",
        "SMPL-X expression = the first 10 FLAME expression coefficients of the face expert",
        "smplx",
    ),
    Field("transl", _F32, (3,), "m", "SMPL-X translation, added to every vertex", "smplx"),
    Field(
        "transfer_error_mm",
        _F32,
        (),
        "mm",
        "mean vertex error of the SMPL->SMPL-X shape transfer fit",
        "expert",
    ),
    Field(
        "flame_expression",
        _F32,
        (50,),
        "1",
        "all 50 FLAME expression coefficients of the face expert",
        "expert",
    ),
    Field(
        "deca_head_rotation",
        _F32,
        (3,),
        _RAD,
        "face expert's head (neck) rotation, "
        "axis-angle, kept for the audit (the label keeps the body expert's neck by default)",
        "expert",
    ),
    Field(
        "camera",
        _F32,
        (3,),
        "1",
        "weak-perspective [s, tx, ty] in the body crop's "
        "normalised [-1, 1] frame: x = s * (X[:2] + [tx, ty])",
        "camera",
    ),
    Field(
        "keypoints2d",
        _F32,
        (137, 3),
        "px, px, 1",
        "detected OpenPose-137 keypoints (x, y, confidence), original-image pixels",
        "keypoints",
    ),
    Field(
        "keypoints2d_proj",
        _F32,
        (137, 2),
        "px",
        "OpenPose-137 keypoints of the labelled "
        "SMPL-X projected with the step-3 camera, original-image pixels",
        "keypoints",
    ),
    Field(
        "track_id",
        "int64",
        (),
        "",
        "the person over the frames of a video (the manifest's track_id; -1: no track), "
        "for every row, kept or not",
        "track",
    ),
    *_per_part(
        "box",
        _F32,
        (4,),
        "px",
        "realised {part} crop box xywh, original-image pixels (NaN: no crop)",
        "box",
    ),
    *_per_part(
        "feature",
        "float16",
        (1024,),
        "1",
        "{part} expert head feature for feature distillation",
        "feature",
    ),
    *_per_part(
        "feature_pooled",
        "float16",
        (2048,),
        "1",
        "{part} expert pooled ResNet-50 feature",
        "feature",
        optional=True,
    ),
)

SMPLX_PARAMS: tuple[str, ...] = tuple(f.name for f in LABEL_FIELDS if f.group == "smplx")
"""The ``smplx`` forward keyword arguments the store holds (shapes per :data:`LABEL_FIELDS`)."""

CONVENTIONS: dict[str, Any] = {
    "rotations": "axis-angle, radians",
    "parameter_names": "smplx package (SMPLX.forward keyword arguments)",
    "flat_hand_mean": True,
    "hand_pose": "absolute finger rotations (flat_hand_mean=True meaning), never PCA",
    "units_3d": "metres",
    "units_2d": "pixels of the original image",
    "keypoints2d": "OpenPose-137: body 25, left hand 21, right hand 21, face 70 (68 + 2 pupils)",
    "boxes": "xywh, pixels of the original image",
    "part_order": list(_PARTS),
    "missing_values": "NaN for float arrays, False for bool arrays, -1 for track_id",
}
