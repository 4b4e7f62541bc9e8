"""The columns of the Parquet audit (:data:`AUDIT_FIELDS`, one row per input person instance);
looked up through :mod:`furpe_label.storage.schema`."""

from __future__ import annotations

from furpe_label.experts.vocabulary import Part, Stage
from furpe_label.selection.columns import DECISION_COLUMNS, METRIC_COLUMNS
from furpe_label.selection.fields import REASONS as _REASONS
from furpe_label.selection.fields import Field
from furpe_label.selection.fields import per_part as _per_part

__all__ = ["AUDIT_FIELDS", "TIMED_STAGES"]

_PARTS = tuple(part.value for part in Part)
_PART_ORDER = ", ".join(_PARTS)
_RAD = "rad"
_F32 = "float32"


def _selection_fields() -> tuple[Field, ...]:
    """The selection's scores (always stored, for the what-if) and per-step decisions, as the
    selection's one column table (:mod:`furpe_label.selection.columns`) defines them, each
    grouped under its step."""
    return (*METRIC_COLUMNS.values(), *DECISION_COLUMNS.values())


TIMED_STAGES: tuple[Stage, ...] = tuple(stage for stage in Stage if stage is not Stage.KEPT)
"""Stages with a ``seconds_<stage>`` audit column (names lower-case)."""

_STAGES = tuple(stage.label for stage in Stage)

AUDIT_FIELDS: tuple[Field, ...] = (
    Field(
        "sample_idx", "int64", (), "", "row of the manifest and of every labels.zarr array", "id"
    ),
    Field(
        "dataset",
        "string",
        (),
        "",
        "dataset adapter name (hive partition dataset=<name>)",
        "id",
        partition=True,
    ),
    Field("subject", "string", (), "", "subject id where the dataset has one", "id", nullable=True),
    Field(
        "sequence",
        "string",
        (),
        "",
        "sequence / video id where the dataset has one",
        "id",
        nullable=True,
    ),
    Field("frame", "int64", (), "", "frame number in the sequence", "id", nullable=True),
    Field("image_path", "string", (), "", "image (or video) file, as in the manifest", "id"),
    Field("person_idx", "int32", (), "", "person instance in the image, manifest order", "id"),
    Field(
        "track_id",
        "int64",
        (),
        "",
        "the person over the frames of a video (the manifest's track_id); null: no track",
        "id",
        nullable=True,
    ),
    Field("shard", "int32", (), "", "shard (task) that labelled the row", "id"),
    *_selection_fields(),
    *_per_part(
        "crop_side_px", _F32, (), "px", "{part} crop box: longer side", "crop", nullable=True
    ),
    *_per_part(
        "crop_keypoints_inside",
        "int16",
        (),
        "1",
        "{part} crop box: confident part keypoints inside it",
        "crop",
        nullable=True,
    ),
    *_per_part(
        "expert_detail",
        "string",
        (),
        "",
        "free text beside the {part}'s crop / expert reason (exception message)",
        "step2",
        nullable=True,
    ),
    Field(
        "drop_stage",
        "category",
        (),
        "",
        "the run's stage that dropped the row: input "
        "(reading), keypoints (detection, step 1), experts (crops, experts, step 2), fusion, "
        "reprojection (step 3), temporal (the temporal rule on video tracks); kept when kept",
        "decision",
        categories=_STAGES,
    ),
    Field(
        "drop_step",
        "int8",
        (),
        "",
        "FuRPE's selection step that dropped the row: 1 "
        "keypoint confidence, 2 expert validity, 3 reprojection (null when kept or dropped "
        "outside the three steps: input, detection, fusion)",
        "decision",
        nullable=True,
    ),
    Field(
        "drop_reason",
        "category",
        (),
        "",
        "why the row was dropped (ok when kept)",
        "decision",
        categories=_REASONS,
    ),
    Field(
        "drop_detail",
        "string",
        (),
        "",
        "free text beside drop_reason (exception message, file name)",
        "decision",
        nullable=True,
    ),
    Field(
        "suppressed_parts",
        "list<category>",
        (),
        "",
        "parts whose labels were suppressed in a kept row",
        "decision",
        categories=_PARTS,
    ),
    *(
        Field(
            f"seconds_{stage.name.lower()}",
            _F32,
            (),
            "s",
            f"this row's share of the {stage.name.lower()} stage's wall time",
            "time",
        )
        for stage in TIMED_STAGES
    ),
    Field(
        "gt_mpjpe_mm",
        _F32,
        (),
        "mm",
        "label error against the dataset's 3D ground truth, mean per-joint position error "
        "(hip-centred): of the stored label where kept, of the candidate label (every finite "
        "part fused, as step 3 scored it) where dropped after fusion; null where the row did "
        "not reach fusion or has no ground truth",
        "truth",
        nullable=True,
    ),
    Field(
        "gt_pa_mpjpe_mm",
        _F32,
        (),
        "mm",
        "label error against the dataset's 3D ground truth after Procrustes alignment: of "
        "the stored label where kept, of the candidate label where dropped after fusion; "
        "null where the row did not reach fusion or has no ground truth",
        "truth",
        nullable=True,
    ),
)
