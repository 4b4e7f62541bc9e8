"""The manifest's columns: one table of names, types, per-row shapes, units and meanings
(:class:`~furpe_label.selection.fields.Field` s of group ``manifest``).

The manifest (``OUT/manifest.parquet``) has one row per person instance to label. This module is
the single source of its column names; :mod:`furpe_label.storage.manifest` builds, writes and
reads tables with exactly these columns.

Conventions:

* ``image_path``, ``video_path`` and ``openpose_json`` are **absolute** paths (resolved when the
  manifest is built), so a shard task needs nothing but the manifest row to find its input and
  the dataset root may be read from any working directory; moving the dataset means rebuilding
  the manifest. The adapter's ``root`` is recorded in the table metadata for reference. They
  are *path text* (:mod:`furpe_label.storage.path_text`): a file name that is not UTF-8 is
  stored losslessly (``\\xHH`` per undecodable byte, a backslash doubled); code that opens
  one calls ``text_to_path`` first.
* A row has ``image_path`` (a still image) or ``video_path`` + ``frame_index`` (a frame of a
  video), never both.
* ``person_idx`` null (and ``box_xywh`` null) means the dataset names no person for this image
  or frame: the people are found at run time (:mod:`furpe_label.pipeline.person_finder`).
* ``track_id`` is one id per person over the frames of one video, unique in the manifest:
  the dataset's own (PoseTrack, renumbered per sequence) or, for video rows, the person
  pre-pass's linking of the boxes frame to frame (:mod:`furpe_label.pipeline.tracking`).
* Float arrays: a row whose values are all NaN is stored as null ("unknown").
* ``input_reason`` (a :class:`~furpe_label.experts.vocabulary.Reason` value) is set when
  reading the annotations already decided the row cannot be labelled (``outside_root``: its
  file leaves the dataset root; ``invalid_box``: the box the dataset gives is invalid, and its
  box is null). Such a row is kept (nothing disappears) but its file is never opened: the
  person pre-pass skips it and the run records the reason with ``input_detail``.
* Boxes are pixel ``xywh`` (top-left x, y, width, height) of the original image; 3D is metres;
  rotations are axis-angle radians except ``cam_rotation`` (a 3x3 matrix).
"""

from __future__ import annotations

import pyarrow as pa

from furpe_label.selection.fields import Field


def _column(
    name: str,
    dtype: str,
    shape: tuple[int | None, ...] = (),
    unit: str = "",
    meaning: str = "",
    required: bool = False,
) -> Field:
    """One manifest column: a :class:`Field` of group ``manifest``.

    ``dtype`` is the element type ("int64", "int32", "string", "bool" or "float32"); ``shape``
    the per-row array shape, () for a scalar, ``None`` as the first entry for a variable length
    (the same within one manifest, e.g. the number of 3D joints); ``required``: non-null in
    every row.
    """
    return Field(name, dtype, shape, unit, meaning, "manifest", nullable=not required)


_ELEMENT_TYPES = {
    "int64": pa.int64(),
    "int32": pa.int32(),
    "string": pa.string(),
    "bool": pa.bool_(),
    "float32": pa.float32(),
}


def arrow_type(column: Field) -> pa.DataType:
    """The Arrow type of a manifest column: nested lists of the element type for arrays.

    Variable-size lists even for fixed shapes: Parquet readers (pyarrow 25 included) fail
    on fixed-size lists that contain nulls. The shapes are checked when a manifest is
    built and when a column is read back (:func:`.manifest.column_array`).
    """
    element = _ELEMENT_TYPES[column.dtype]
    for _ in column.shape:
        element = pa.list_(element)
    return element


def _smplx_pose(name: str, shape: tuple[int, ...], what: str) -> Field:
    return _column(f"smplx_{name}", "float32", shape, "rad", f"ground-truth SMPL-X {what}")


MANIFEST_COLUMNS: tuple[Field, ...] = (
    _column("sample_idx", "int64", (), "", "row index 0..N-1 (label store index)", True),
    _column("dataset", "string", (), "", "adapter name", True),
    _column("image_path", "string", (), "", "absolute path of a still image"),
    _column("video_path", "string", (), "", "absolute path of a video file"),
    _column("frame_index", "int64", (), "", "0-based frame of video_path to decode"),
    _column("sequence", "string", (), "", "sequence / video / camera-view id"),
    _column("frame", "int64", (), "", "the dataset's own frame number in the sequence"),
    _column("subject", "string", (), "", "subject id (e.g. S1)"),
    _column("person_idx", "int32", (), "", "person in the image as the dataset lists it"),
    _column(
        "track_id",
        "int64",
        (),
        "",
        "the person over a video's frames: the dataset's track (PoseTrack) or the pre-pass's "
        "linking (pipeline.tracking); unique in the manifest; null: no video or no box",
    ),
    _column("box_xywh", "float32", (4,), "px", "person box; null: find people at run"),
    _column("box_face", "float32", (4,), "px", "ground-truth face box"),
    _column("box_lhand", "float32", (4,), "px", "ground-truth left-hand box"),
    _column("box_rhand", "float32", (4,), "px", "ground-truth right-hand box"),
    _column("focal", "float32", (2,), "px", "camera focal length (fx, fy)"),
    _column("principal_point", "float32", (2,), "px", "camera principal point (cx, cy)"),
    _column("cam_rotation", "float32", (3, 3), "", "world->camera rotation R"),
    _column("cam_translation", "float32", (3,), "m", "world->camera translation t"),
    _column("joints3d", "float32", (None, 4), "m", "3D joints x, y, z + validity (0/1)"),
    _column("joints3d_convention", "string", (), "", "keypoint convention of joints3d"),
    _column("joints3d_frame", "string", (), "", "'camera' or 'root_relative'"),
    _column("smpl_global_orient", "float32", (3,), "rad", "ground-truth SMPL root"),
    _column("smpl_body_pose", "float32", (23, 3), "rad", "ground-truth SMPL joints 1..23"),
    _column("smpl_betas", "float32", (None,), "", "ground-truth SMPL shape"),
    _smplx_pose("global_orient", (3,), "root rotation"),
    _smplx_pose("body_pose", (21, 3), "body joints 1..21"),
    _smplx_pose("jaw_pose", (3,), "jaw"),
    _smplx_pose("leye_pose", (3,), "left eye"),
    _smplx_pose("reye_pose", (3,), "right eye"),
    _smplx_pose("left_hand_pose", (15, 3), "left fingers"),
    _smplx_pose("right_hand_pose", (15, 3), "right fingers"),
    _column("smplx_betas", "float32", (None,), "", "ground-truth SMPL-X shape"),
    _column("smplx_expression", "float32", (None,), "", "ground-truth SMPL-X expression"),
    _column(
        "gt_hands_relative_to_mean",
        "bool",
        (),
        "",
        "true: smplx_*_hand_pose are relative to the mean hand (flat_hand_mean=False)",
    ),
    _column(
        "gt_weak_camera", "float32", (3,), "", "ground-truth fit's [s, tx, ty] in the box crop"
    ),
    _column("keypoints2d", "float32", (137, 3), "px", "OpenPose-137 x, y, confidence"),
    _column("keypoints2d_source", "string", (), "", "'annotation' or 'openpose'"),
    _column("openpose_json", "string", (), "", "absolute path of an OpenPose JSON file"),
    _column(
        "input_reason",
        "string",
        (),
        "",
        "reason named while reading the annotations (outside_root, invalid_box): the row is "
        "kept and its file never opened; null: none",
    ),
    _column("input_detail", "string", (), "", "what input_reason is about: file, row, values"),
)

COLUMNS_BY_NAME: dict[str, Field] = {c.name: c for c in MANIFEST_COLUMNS}

KEYPOINTS_ANNOTATION = "annotation"
KEYPOINTS_OPENPOSE = "openpose"
JOINTS_CAMERA = "camera"
JOINTS_ROOT_RELATIVE = "root_relative"


def manifest_schema() -> pa.Schema:
    """The Arrow schema of a manifest (without the table metadata)."""
    return pa.schema(
        [pa.field(c.name, arrow_type(c), nullable=c.nullable) for c in MANIFEST_COLUMNS]
    )
