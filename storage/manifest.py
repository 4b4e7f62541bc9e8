"""Build, write and read the manifest (``OUT/manifest.parquet``).

One row per person instance; the columns, units and path rules are in
:mod:`furpe_label.storage.manifest_columns`. Rows are sorted by the image (or video and frame)
they come from, then by ``person_idx``, so rows sharing an image are adjacent and a shard decodes
each image once; ``sample_idx`` is then the row number, 0..N-1.

The table metadata key ``furpe_label.manifest`` holds a JSON object: ``format_version``, and
whatever the adapter recorded (dataset name, root, annotation files).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from furpe_label.selection.fields import Field
from furpe_label.storage.manifest_columns import COLUMNS_BY_NAME, arrow_type, manifest_schema
from furpe_label.storage.path_text import display_text, path_to_text

MANIFEST_FILENAME = "manifest.parquet"
METADATA_KEY = b"furpe_label.manifest"
FORMAT_VERSION = 1

ColumnValues = np.ndarray | Sequence[Any]


class ManifestError(ValueError):
    """A manifest file or table that does not follow the manifest schema."""


def _float_column(column: Field, values: ColumnValues, n: int) -> pa.Array:
    """(N, *shape) floats -> nested lists; all-NaN rows become null."""
    array = np.asarray(values, dtype=np.float32)
    fixed = tuple(d for d in column.shape if d is not None)
    body = array.shape[2:] if column.shape[0] is None else array.shape[1:]
    if array.ndim != len(column.shape) + 1 or array.shape[0] != n or body != fixed:
        raise ValueError(
            f"column {column.name}: expected shape (N={n}, {column.shape}), got {array.shape}"
        )
    flat_rows = array.reshape(n, -1)
    null = np.all(np.isnan(flat_rows), axis=1) if flat_rows.shape[1] else np.zeros(n, bool)
    nested: pa.Array = pa.array(array.reshape(-1), type=pa.float32())
    count = array.size
    for dim in reversed(array.shape[1:]):
        count //= dim
        offsets = pa.array(np.arange(count + 1, dtype=np.int32) * dim)
        mask = pa.array(null) if count == n else None
        nested = pa.ListArray.from_arrays(offsets, nested, mask=mask)
    return nested


PATH_COLUMNS = ("image_path", "video_path", "openpose_json")
"""String columns holding file paths, stored as path text (:mod:`.path_text`)."""


def _text_values(column: Field, values: ColumnValues) -> list:
    """Strings that UTF-8 can hold: path text for the path columns, other strings with any
    undecodable byte of a file name written as ``\\xHH``."""
    encode = path_to_text if column.name in PATH_COLUMNS else display_text
    return [None if v is None else encode(v) if isinstance(v, str) else v for v in values]


def _column_array(column: Field, values: ColumnValues, n: int) -> pa.Array:
    if column.dtype == "float32" and column.shape:
        return _float_column(column, values, n)
    if column.dtype == "string" and not isinstance(values, np.ndarray):
        values = _text_values(column, values)
    if isinstance(values, np.ndarray) and values.dtype.kind == "f" and column.dtype != "float32":
        raise ValueError(f"column {column.name}: {column.dtype} values given as floats")
    array = pa.array(
        values.tolist() if isinstance(values, np.ndarray) else list(values), type=arrow_type(column)
    )
    if len(array) != n:
        raise ValueError(f"column {column.name}: {len(array)} values for {n} rows")
    return array


def build_manifest_table(
    columns: Mapping[str, ColumnValues], info: Mapping[str, Any] | None = None
) -> pa.Table:
    """Assemble a manifest table from per-row column values, sorted, with ``sample_idx``.

    Args:
        columns: column name -> N values. Float array columns take an (N, *shape) array
            (all-NaN rows = null); scalar columns take a sequence or 1-D array (None = null).
            Every name must be a manifest column other than ``sample_idx``; columns left out
            are all null. ``dataset`` is required.
        info: JSON-serialisable facts to record in the table metadata (dataset, root, ...).

    Returns:
        The table with every manifest column, rows sorted by image / video + frame /
        person_idx, ``sample_idx`` = 0..N-1 in that order.

    Raises:
        ValueError: an unknown column, a wrong shape or length, a row with neither or both of
            image_path / video_path, or a null in a required column.
    """
    n = _row_count(columns)
    order = _sort_order(columns, n)
    if not np.array_equal(order, np.arange(n)):
        columns = {name: _permute(values, order) for name, values in columns.items()}
    table = manifest_rows(columns)
    schema = table.schema
    table = table.set_column(0, schema.field("sample_idx"), pa.array(np.arange(n, dtype=np.int64)))
    return table.replace_schema_metadata(manifest_metadata(info))


def manifest_metadata(info: Mapping[str, Any] | None) -> dict[bytes, bytes]:
    """The table metadata recording ``info`` (see the module docstring)."""
    metadata = {"format_version": FORMAT_VERSION, **dict(info or {})}
    return {METADATA_KEY: json.dumps(metadata).encode()}


def _row_count(columns: Mapping[str, ColumnValues]) -> int:
    unknown = sorted(set(columns) - set(COLUMNS_BY_NAME) | ({"sample_idx"} & set(columns)))
    if unknown:
        raise ValueError(f"not manifest columns (or set by the builder): {unknown}")
    if "dataset" not in columns:
        raise ValueError("the 'dataset' column is required")
    return len(columns["dataset"])


def manifest_rows(columns: Mapping[str, ColumnValues]) -> pa.Table:
    """The rows of ``columns`` as a manifest-schema table, in the order given, checked as in
    :func:`build_manifest_table`; ``sample_idx`` is 0 (the caller numbers the rows)."""
    n = _row_count(columns)
    schema = manifest_schema()
    arrays = []
    for field in schema:
        column = COLUMNS_BY_NAME[field.name]
        if field.name == "sample_idx":
            arrays.append(pa.array(np.zeros(n, np.int64)))
        elif field.name in columns:
            arrays.append(_column_array(column, columns[field.name], n))
        else:
            arrays.append(pa.nulls(n, type=field.type))
    table = pa.Table.from_arrays(arrays, schema=schema)
    _check_rows(table)
    return table


def _check_rows(table: pa.Table) -> None:
    has_image = table.column("image_path").is_valid()
    has_video = table.column("video_path").is_valid()
    both_or_none = pc.equal(has_image, has_video)
    if pc.any(both_or_none).as_py():
        row = int(np.flatnonzero(both_or_none.to_numpy(zero_copy_only=False))[0])
        raise ValueError(f"row {row}: exactly one of image_path / video_path must be given")
    video_without_frame = pc.and_(has_video, pc.invert(table.column("frame_index").is_valid()))
    if pc.any(video_without_frame).as_py():
        raise ValueError("a video row needs frame_index")
    for field in table.schema:
        if not COLUMNS_BY_NAME[field.name].nullable and table.column(field.name).null_count:
            raise ValueError(f"column {field.name} is required in every row")


def _sort_order(columns: Mapping[str, ColumnValues], n: int) -> np.ndarray:
    """Row order putting the rows of one image (or video frame) together, in person order
    (a stable sort on image or video path, frame_index, person_idx)."""
    keys = {}
    for name in ("image_path", "video_path", "frame_index", "person_idx"):
        column = COLUMNS_BY_NAME[name]
        keys[name] = (
            _column_array(column, columns[name], n)
            if name in columns
            else pa.nulls(n, type=arrow_type(column))
        )
    table = pa.table(
        {
            "media": pc.coalesce(keys["image_path"], keys["video_path"]),
            "frame_index": keys["frame_index"],
            "person_idx": keys["person_idx"],
        }
    )
    sort_keys = [("media", "ascending"), ("frame_index", "ascending"), ("person_idx", "ascending")]
    return pc.sort_indices(table, sort_keys=sort_keys).to_numpy()


def _permute(values: ColumnValues, order: np.ndarray) -> ColumnValues:
    if isinstance(values, np.ndarray):
        return values[order]
    values = list(values)
    return [values[i] for i in order]


def manifest_info(table: pa.Table) -> dict[str, Any]:
    """The JSON metadata recorded by :func:`build_manifest_table`."""
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    return json.loads(raw) if raw else {}


def write_manifest(table: pa.Table, out_dir: Path, row_group_size: int | None = None) -> Path:
    """Write ``out_dir/manifest.parquet`` (temporary name, then an atomic rename).

    ``row_group_size``: rows per Parquet row group; equal to the shard size it lets a shard task
    read its rows alone (:func:`read_manifest` ``rows``). Default: pyarrow's.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / MANIFEST_FILENAME
    tmp = out_dir / f".{MANIFEST_FILENAME}.{os.getpid()}.tmp"
    pq.write_table(table, tmp, row_group_size=row_group_size)
    os.replace(tmp, path)
    return path


def _schema_problems(schema: pa.Schema) -> list[str]:
    expected = manifest_schema()
    problems = []
    for field in expected:
        if field.name not in schema.names:
            problems.append(f"missing column {field.name}")
        elif not schema.field(field.name).type.equals(field.type):
            got = schema.field(field.name).type
            problems.append(f"column {field.name} is {got}, expected {field.type}")
    return problems + [f"unexpected column {n}" for n in schema.names if n not in expected.names]


def read_manifest(
    path: Path, columns: Sequence[str] | None = None, rows: tuple[int, int] | None = None
) -> pa.Table:
    """Read a manifest (a file, or a run folder holding ``manifest.parquet``) and check it.

    Args:
        path: the file or the run folder.
        columns: read only these columns (default: all, in schema order).
        rows: read only ``start <= sample_idx < stop`` (row groups outside are skipped).

    Raises:
        ManifestError: the file is missing, not Parquet, or its columns differ from the schema
            (each missing, unexpected or mistyped column is named).
        ValueError: ``columns`` names a column the manifest does not have.
    """
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_FILENAME
    if not path.is_file():
        raise ManifestError(f"{path}: manifest file not found")
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise ManifestError(f"{path}: not a readable Parquet file ({err})") from err
    problems = _schema_problems(schema)
    if problems:
        raise ManifestError(f"{path}: not a furpe-label manifest: " + "; ".join(problems))
    names = list(columns) if columns is not None else manifest_schema().names
    unknown = [name for name in names if name not in COLUMNS_BY_NAME]
    if unknown:
        raise ValueError(f"not manifest columns: {unknown}")
    filters = None
    if rows is not None:
        filters = [("sample_idx", ">=", rows[0]), ("sample_idx", "<", rows[1])]
    try:
        return pq.read_table(path, columns=names, filters=filters)
    except (pa.ArrowInvalid, OSError) as err:
        raise ManifestError(f"{path}: cannot be read ({err})") from err


def _flatten_values(array: pa.Array) -> pa.Array:
    while pa.types.is_list(array.type) or pa.types.is_fixed_size_list(array.type):
        array = array.flatten()
    return array


def column_array(table: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A float array column as numpy.

    Returns:
        (values, valid): values (N, *shape) float32 with NaN in null rows; valid (N,) bool.
        For a variable first dimension (``joints3d``), every non-null row must have the same
        length J; values is then (N, J, 4).

    Raises:
        ValueError: not a float array column, or rows of different lengths.
    """
    column = COLUMNS_BY_NAME[name]
    if column.dtype != "float32" or not column.shape:
        raise ValueError(f"{name} is not a float array column")
    array = table.column(name).combine_chunks()
    valid = array.is_valid().to_numpy(zero_copy_only=False)
    n = len(array)
    fixed = tuple(d for d in column.shape if d is not None)
    if column.shape[0] is None:
        lengths = pc.fill_null(pc.list_value_length(array), 0).to_numpy(zero_copy_only=False)
        sizes = set(lengths[valid].tolist())
        if len(sizes) > 1:
            raise ValueError(f"{name}: rows of different lengths {sorted(sizes)}")
        fixed = (sizes.pop() if sizes else 0, *fixed)
    out = np.full((n, *fixed), np.nan, np.float32)
    flat = _flatten_values(array).to_numpy(zero_copy_only=False)  # flatten skips null rows
    if flat.size != int(valid.sum()) * int(np.prod(fixed)):
        raise ValueError(f"{name}: stored rows do not have the shape {fixed}")
    out[valid] = flat.reshape(-1, *fixed)
    return out, valid
