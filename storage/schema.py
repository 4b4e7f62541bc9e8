"""The single source of names, dtypes, shapes, units and meanings for what a run stores.

Two tables of :class:`Field`:

- :data:`LABEL_FIELDS`: the arrays of ``OUT/labels.zarr``. Each array has shape
  ``(N_inputs, *field.shape)``, is indexed by ``sample_idx`` and has the numpy ``dtype``
  named here. Float arrays are NaN and bool arrays False where nothing was written.
- :data:`AUDIT_FIELDS`: the columns of the Parquet audit (one row per input person instance).
  ``dtype`` is a logical type (see :data:`AUDIT_DTYPES`); ``category`` columns are
  dictionary-encoded with a fixed set of allowed values (``categories``), taken from
  :class:`~furpe_label.experts.vocabulary.Reason`, :class:`~furpe_label.experts.vocabulary.Part`
  or :class:`~furpe_label.experts.vocabulary.Stage` (by :attr:`~.Stage.label`).

Per-part names end with the :class:`Part` value (``box_left_hand``, ``status_face``), generated
from the enum so the four parts always appear in ``part_valid`` order. Adding a field or column
is one line in a table below; the label store, the audit writer, the reader, the exports and
the report iterate the tables and need no change.

Conventions (also written into the store's attributes, :data:`CONVENTIONS`): axis-angle
rotations in radians, ``smplx`` parameter names and joint order, hand poses as absolute finger
rotations (``flat_hand_mean=True``), metres in 3D, pixels of the original image in 2D,
OpenPose-137 keypoint order, boxes as pixel ``xywh``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from furpe_label.experts.vocabulary import Part, Stage
from furpe_label.selection.columns import DECISION_COLUMNS, METRIC_COLUMNS
from furpe_label.selection.fields import AUDIT_DTYPES, LABEL_DTYPES, Field
from furpe_label.selection.fields import REASONS as _REASONS
from furpe_label.selection.fields import per_part as _per_part

__all__ = [
    "AUDIT_DTYPES",
    "AUDIT_FIELDS",
    "CONVENTIONS",
    "LABEL_DTYPES",
    "LABEL_FIELDS",
    "SCHEMA_VERSION",
    "SMPLX_PARAMS",
    "TIMED_STAGES",
    "Field",
    "audit_field",
    "label_field",
    "label_fields",
    "schema_json",
]

SCHEMA_VERSION = 2
"""Bumped whenever a field is renamed or changes dtype, shape or unit."""


def _selection_fields() -> tuple[Field, ...]:
    """The selection's scores (always stored, for the what-if) and per-step decisions, as the
    selection's one column table (:mod:`furpe_label.selection.columns`) defines them, each
    grouped under its step."""
    return (*METRIC_COLUMNS.values(), *DECISION_COLUMNS.values())


_PARTS = tuple(part.value for part in Part)
_PART_ORDER = ", ".join(_PARTS)
_RAD = "rad"
_F32 = "float32"

LABEL_FIELDS: tuple[Field, ...] = (
    Field("valid", "bool", (), "1", "kept by the three-step selection (else see the audit's "
          "drop_reason)", "mask"),
    Field("part_valid", "bool", (4,), "1", f"per-part label usable, columns {_PART_ORDER} "
          "(False: suppressed or the sample dropped)", "mask"),
    Field("global_orient", _F32, (3,), _RAD, "SMPL-X root (pelvis) rotation, axis-angle, in "
          "the body camera's frame", "smplx"),
    Field("body_pose", _F32, (21, 3), _RAD, "SMPL-X body joints 1..21 (smplx order), axis-angle "
          "relative to the parent", "smplx"),
    Field("jaw_pose", _F32, (3,), _RAD, "SMPL-X jaw rotation, axis-angle", "smplx"),
    Field("leye_pose", _F32, (3,), _RAD, "SMPL-X left eye rotation, axis-angle", "smplx"),
    Field("reye_pose", _F32, (3,), _RAD, "SMPL-X right eye rotation, axis-angle", "smplx"),
    Field("left_hand_pose", _F32, (15, 3), _RAD, "SMPL-X left finger joints, ABSOLUTE "
          "axis-angle rotations (flat_hand_mean=True meaning), smplx order", "smplx"),
    Field("right_hand_pose", _F32, (15, 3), _RAD, "SMPL-X right finger joints, ABSOLUTE "
          "axis-angle rotations (flat_hand_mean=True meaning), smplx order", "smplx"),
    Field("betas", _F32, (10,), "1", "SMPL-X shape coefficients after the SMPL->SMPL-X transfer",
          "smplx"),
    Field("expression", _F32, (10,), "1", "SMPL-X expression = the first 10 FLAME expression "
          "coefficients of the face expert", "smplx"),
    Field("transl", _F32, (3,), "m", "SMPL-X translation, added to every vertex", "smplx"),
    Field("transfer_error_mm", _F32, (), "mm", "mean vertex error of the SMPL->SMPL-X shape "
          "transfer fit", "expert"),
    Field("flame_expression", _F32, (50,), "1", "all 50 FLAME expression coefficients of the "
          "face expert", "expert"),
    Field("deca_head_rotation", _F32, (3,), _RAD, "face expert's head (neck) rotation, "
          "axis-angle, kept for the audit (the label keeps the body expert's neck by default)",
          "expert"),
    Field("camera", _F32, (3,), "1", "weak-perspective [s, tx, ty] in the body crop's "
          "normalised [-1, 1] frame: x = s * (X[:2] + [tx, ty])", "camera"),
    Field("keypoints2d", _F32, (137, 3), "px, px, 1", "detected OpenPose-137 keypoints (x, y, "
          "confidence), original-image pixels", "keypoints"),
    Field("keypoints2d_proj", _F32, (137, 2), "px", "OpenPose-137 keypoints of the labelled "
          "SMPL-X projected with the step-3 camera, original-image pixels", "keypoints"),
    *_per_part("box", _F32, (4,), "px", "realised {part} crop box xywh, original-image pixels "
               "(NaN: no crop)", "box"),
    *_per_part("feature", "float16", (1024,), "1", "{part} expert head feature for feature "
               "distillation", "feature"),
    *_per_part("feature_pooled", "float16", (2048,), "1", "{part} expert pooled ResNet-50 "
               "feature", "feature", optional=True),
)  # fmt: skip

TIMED_STAGES: tuple[Stage, ...] = tuple(stage for stage in Stage if stage is not Stage.KEPT)
"""Stages with a ``seconds_<stage>`` audit column (names lower-case)."""

_STAGES = tuple(stage.label for stage in Stage)

AUDIT_FIELDS: tuple[Field, ...] = (
    Field("sample_idx", "int64", (), "", "row of the manifest and of every labels.zarr array",
          "id"),
    Field("dataset", "string", (), "", "dataset adapter name (hive partition dataset=<name>)",
          "id", partition=True),
    Field("subject", "string", (), "", "subject id where the dataset has one", "id",
          nullable=True),
    Field("sequence", "string", (), "", "sequence / video id where the dataset has one", "id",
          nullable=True),
    Field("frame", "int64", (), "", "frame number in the sequence", "id", nullable=True),
    Field("image_path", "string", (), "", "image (or video) file, as in the manifest", "id"),
    Field("person_idx", "int32", (), "", "person instance in the image, manifest order", "id"),
    Field("shard", "int32", (), "", "shard (task) that labelled the row", "id"),
    *_selection_fields(),
    *_per_part("crop_side_px", _F32, (), "px", "{part} crop box: longer side", "crop",
               nullable=True),
    *_per_part("crop_outside_fraction", _F32, (), "1", "{part} crop box: fraction of its area "
               "outside the image", "crop", nullable=True),
    *_per_part("crop_keypoints_inside", "int16", (), "1", "{part} crop box: confident part "
               "keypoints inside it", "crop", nullable=True),
    *_per_part("expert_detail", "string", (), "", "free text beside the {part}'s crop / expert "
               "reason (exception message)", "step2", nullable=True),
    Field("drop_stage", "category", (), "", "the run's stage that dropped the row: input "
          "(reading), keypoints (detection, step 1), experts (crops, experts, step 2), fusion, "
          "reprojection (step 3); kept when kept", "decision", categories=_STAGES),
    Field("drop_step", "int8", (), "", "FuRPE's selection step that dropped the row: 1 "
          "keypoint confidence, 2 expert validity, 3 reprojection (null when kept or dropped "
          "outside the three steps: input, detection, fusion)", "decision", nullable=True),
    Field("drop_reason", "category", (), "", "why the row was dropped (ok when kept)",
          "decision", categories=_REASONS),
    Field("drop_detail", "string", (), "", "free text beside drop_reason (exception message, "
          "file name)", "decision", nullable=True),
    Field("suppressed_parts", "list<category>", (), "", "parts whose labels were suppressed in "
          "a kept row", "decision", categories=_PARTS),
    *(Field(f"seconds_{stage.name.lower()}", _F32, (), "s", f"this row's share of the "
            f"{stage.name.lower()} stage's wall time", "time") for stage in TIMED_STAGES),
    Field("gt_mpjpe_mm", _F32, (), "mm", "label error against the dataset's 3D ground truth, "
          "mean per-joint position error", "truth", nullable=True),
    Field("gt_pa_mpjpe_mm", _F32, (), "mm", "label error against the dataset's 3D ground "
          "truth after Procrustes alignment", "truth", nullable=True),
)  # fmt: skip

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
    "missing_values": "NaN for float arrays, False for bool arrays",
}

_LABELS = {f.name: f for f in LABEL_FIELDS}
_AUDIT = {f.name: f for f in AUDIT_FIELDS}

def label_field(name: str) -> Field:
    """The label array called ``name`` (KeyError lists the known names)."""
    try:
        return _LABELS[name]
    except KeyError:
        raise KeyError(f"unknown label field {name!r}; known: {sorted(_LABELS)}") from None

def audit_field(name: str) -> Field:
    """The audit column called ``name`` (KeyError lists the known names)."""
    try:
        return _AUDIT[name]
    except KeyError:
        raise KeyError(f"unknown audit column {name!r}; known: {sorted(_AUDIT)}") from None

def label_fields(optional: Iterable[str] = ()) -> tuple[Field, ...]:
    """Every required label field plus the named optional ones, in table order."""
    wanted = set(optional)
    for name in wanted:
        if not label_field(name).optional:
            raise ValueError(f"{name!r} is always stored; name only optional fields")
    return tuple(f for f in LABEL_FIELDS if not f.optional or f.name in wanted)

def schema_json(fields: Iterable[Field]) -> list[dict[str, Any]]:
    """JSON-able list of field descriptions."""
    return [f.to_json() for f in fields]

def _check_tables() -> None:
    for table, dtypes in ((LABEL_FIELDS, LABEL_DTYPES), (AUDIT_FIELDS, AUDIT_DTYPES)):
        names = [f.name for f in table]
        if len(names) != len(set(names)):
            raise RuntimeError(f"duplicate field names in the schema: {names}")
        for f in table:
            if f.dtype not in dtypes:
                raise RuntimeError(f"{f.name}: dtype {f.dtype!r} not in {sorted(dtypes)}")
            if ("category" in f.dtype) != bool(f.categories):
                raise RuntimeError(f"{f.name}: categories go with category dtypes only")

_check_tables()
