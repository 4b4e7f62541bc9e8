"""The Parquet audit: one row per input person instance, one file per shard.

Layout (hive-partitioned by dataset, deterministic names)::

    OUT/audit/dataset=<name>/part-<shard:05d>.parquet

Columns, types and meanings come from :data:`~furpe_label.storage.schema.AUDIT_FIELDS`; the
partition key ``dataset`` is in the folder name, not in the files. ``category`` columns
(per-part status, ``drop_reason``, ``drop_stage``) are dictionary-encoded with the full, fixed
dictionary of their enum (:class:`~furpe_label.experts.vocabulary.Reason`, or
:class:`~furpe_label.experts.vocabulary.Stage` by label) in enum order, so every file has the
same dictionary. A file is written to a hidden temporary name in the same folder and renamed,
so readers never see a partial file (duckdb, pandas / pyarrow and dask ignore the hidden name).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from furpe_label.experts.vocabulary import Stage
from furpe_label.storage.run_journal import RunJournal
from furpe_label.storage.schema import AUDIT_FIELDS, Field

__all__ = [
    "AUDIT_PARTITION",
    "audit_file",
    "audit_schema",
    "audit_table",
    "read_audit",
    "read_audit_parts",
    "stored_stages",
    "write_audit_shard",
]

AUDIT_PARTITION = next(f.name for f in AUDIT_FIELDS if f.partition)
"""The hive partition key ("dataset")."""

_FILE_FIELDS = tuple(f for f in AUDIT_FIELDS if not f.partition)
_DATASET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_CATEGORY_INDEX = pa.int8()


def _arrow_type(field: Field) -> pa.DataType:
    if field.dtype == "category":
        return pa.dictionary(_CATEGORY_INDEX, pa.string())
    if field.dtype == "list<category>":
        return pa.list_(pa.string())
    return pa.string() if field.dtype == "string" else pa.from_numpy_dtype(np.dtype(field.dtype))


def audit_schema() -> pa.Schema:
    """Arrow schema of an audit file (every column but the partition key; units, meanings)."""
    return pa.schema(
        [
            pa.field(f.name, _arrow_type(f), f.nullable, {"unit": f.unit, "meaning": f.meaning})
            for f in _FILE_FIELDS
        ]
    )


def _text(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _null_mask(values: Sequence[Any]) -> np.ndarray:
    return np.array([v is None for v in values], dtype=bool)


def _column(field: Field, values: Any, rows: int) -> pa.Array:
    """Validate and convert one column's values (sequence or array of ``rows``) to Arrow."""
    if isinstance(values, np.ndarray) and values.dtype != object:
        items: Sequence[Any] = values
        nulls = np.zeros(len(values), bool)
    else:
        items = [_text(v) for v in values]
        nulls = _null_mask(items)
    if len(items) != rows:
        raise ValueError(f"audit column {field.name} has {len(items)} rows, expected {rows}")
    if nulls.any() and not field.nullable:
        raise ValueError(
            f"audit column {field.name} may not be null (rows {np.flatnonzero(nulls)[:5]})"
        )
    if field.dtype == "category":
        lookup = {name: i for i, name in enumerate(field.categories)}
        bad = sorted(
            {str(v) for v, null in zip(items, nulls, strict=True) if not null and v not in lookup}
        )
        if bad:
            raise ValueError(
                f"audit column {field.name}: unknown values {bad}; allowed {list(field.categories)}"
            )
        indices = [None if null else lookup[v] for v, null in zip(items, nulls, strict=True)]
        return pa.DictionaryArray.from_arrays(
            pa.array(indices, _CATEGORY_INDEX), pa.array(field.categories, pa.string())
        )
    if field.dtype == "list<category>":
        lists = [[_text(p) for p in v] for v in items]
        bad = sorted({p for v in lists for p in v if p not in field.categories})
        if bad:
            raise ValueError(
                f"audit column {field.name}: unknown values {bad}; allowed {list(field.categories)}"
            )
        return pa.array(lists, pa.list_(pa.string()))
    arrow_type = _arrow_type(field)
    if pa.types.is_integer(arrow_type) and not nulls.all():
        present = np.asarray([v for v, null in zip(items, nulls, strict=True) if not null])
        if present.size and not np.array_equal(present, np.round(present.astype(np.float64))):
            raise ValueError(f"audit column {field.name} needs whole numbers")
    try:
        return pa.array(items, arrow_type, mask=nulls if nulls.any() else None)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise ValueError(f"audit column {field.name}: {error}") from error


def audit_table(columns: Mapping[str, Any]) -> pa.Table:
    """Validated Arrow table of one shard's audit rows.

    Args:
        columns: audit column name -> values (numpy array or sequence, one per row; ``None``
            for null). Every non-nullable column is required; nullable ones may be left out
            (all null). ``category`` values are Reason/Part members or their strings.
    """
    if AUDIT_PARTITION in columns:
        raise ValueError(
            f"{AUDIT_PARTITION!r} is the partition key: pass it as the dataset argument"
        )
    known = {f.name for f in _FILE_FIELDS}
    unknown = sorted(set(columns) - known)
    missing = [f.name for f in _FILE_FIELDS if not f.nullable and f.name not in columns]
    if unknown or missing:
        raise ValueError(f"audit columns: missing {missing}, unknown {unknown}")
    rows = len(columns["sample_idx"])
    arrays = [
        _column(f, columns[f.name], rows) if f.name in columns else pa.nulls(rows, _arrow_type(f))
        for f in _FILE_FIELDS
    ]
    return pa.Table.from_arrays(arrays, schema=audit_schema())


def audit_file(audit_root: str | os.PathLike[str], dataset: str, shard_id: int) -> Path:
    """``audit_root/dataset=<dataset>/part-<shard:05d>.parquet``."""
    if not _DATASET_NAME.fullmatch(dataset):
        raise ValueError(f"dataset name {dataset!r} must match {_DATASET_NAME.pattern}")
    if shard_id < 0:
        raise ValueError(f"shard id must be >= 0, got {shard_id}")
    return Path(audit_root) / f"{AUDIT_PARTITION}={dataset}" / f"part-{shard_id:05d}.parquet"


def write_audit_shard(
    audit_root: str | os.PathLike[str],
    dataset: str,
    shard_id: int,
    columns: Mapping[str, Any] | pa.Table,
    journal: RunJournal | None = None,
) -> Path:
    """Write one shard's audit rows atomically; returns the file.

    ``columns`` as for :func:`audit_table`, or a table it made; the temporary name is
    recorded in the run's ``journal`` first, when given.
    """
    table = columns if isinstance(columns, pa.Table) else audit_table(columns)
    if not table.schema.equals(audit_schema(), check_metadata=True):
        raise ValueError("the audit table does not have the schema's columns and types")
    path = audit_file(audit_root, dataset, shard_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = journal.temp_name(path) if journal else path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_audit(audit_root: str | os.PathLike[str]) -> pa.Table:
    """Every audit file under ``audit_root`` as one table, ``dataset`` column included."""
    partitioning = pads.partitioning(pa.schema([(AUDIT_PARTITION, pa.string())]), flavor="hive")
    dataset = pads.dataset(
        Path(audit_root),
        format="parquet",
        partitioning=partitioning,
        schema=audit_schema().append(pa.field(AUDIT_PARTITION, pa.string())),
    )
    return dataset.to_table()


def read_audit_parts(files: Sequence[str | os.PathLike[str]], dataset: str) -> pa.Table:
    """The audit files ``files`` (parts of one dataset partition, e.g. the complete shards
    of a run) as one table in the given order, ``dataset`` column included."""
    schema = audit_schema()
    if files:
        table = pads.dataset([str(f) for f in files], format="parquet", schema=schema).to_table()
    else:
        table = schema.empty_table()
    column = pa.array([dataset] * table.num_rows, pa.string())
    return table.append_column(pa.field(AUDIT_PARTITION, pa.string()), column)


_STAGE_BY_LABEL = {stage.label: int(stage) for stage in Stage}


def stored_stages(table: pa.Table) -> np.ndarray:
    """(N,) int8 :class:`~furpe_label.experts.vocabulary.Stage` values of an audit table's
    ``drop_stage`` names (0 = kept), for code that compares stages."""
    labels = table.column("drop_stage").cast(pa.string()).to_pylist()
    return np.fromiter((_STAGE_BY_LABEL[label] for label in labels), np.int8, len(labels))
