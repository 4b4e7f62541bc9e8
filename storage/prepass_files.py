"""The person pre-pass's files under ``OUT/people_prepass/`` (a resumable pre-pass).

::

    OUT/people_prepass/plan.parquet          which manifest rows each chunk holds
    OUT/people_prepass/<chunk:05d>.parquet   the people found in one chunk (written last)

The plan has one row per manifest row without a person box: ``chunk`` (int32), ``row`` (int64,
the row's position in the manifest as the dataset adapter built it), ``image_path``,
``video_path``, ``frame_index``, ``openpose_json`` (as in the manifest). A chunk file has one
row per planned row of its chunk, in plan order: ``row`` and ``boxes`` (a list of ``[x, y, w,
h]`` float32 pixel boxes, the image's people; null where none could be found), beside each
row's ``input`` (its image, or video and frame, and its OpenPose file). A chunk is done exactly
when its file exists and lists the rows and inputs the plan gives it (a dataset folder that
changed since is redone); every file is written to a
hidden temporary name and renamed into place, so a killed task leaves no half file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from furpe_label.storage.run_journal import RunJournal

__all__ = [
    "PLAN_SCHEMA",
    "read_chunk_people",
    "read_plan_chunk",
    "write_chunk_people",
    "write_parquet_atomic",
]

PLAN_SCHEMA = pa.schema(
    [
        pa.field("chunk", pa.int32(), nullable=False),
        pa.field("row", pa.int64(), nullable=False),
        pa.field("image_path", pa.string()),
        pa.field("video_path", pa.string()),
        pa.field("frame_index", pa.int64()),
        pa.field("openpose_json", pa.string()),
    ]
)
"""Columns of ``plan.parquet``."""

_PEOPLE_SCHEMA = pa.schema(
    [
        pa.field("row", pa.int64(), nullable=False),
        pa.field("input", pa.string(), nullable=False),
        pa.field("boxes", pa.list_(pa.list_(pa.float32()))),
    ]
)


def _inputs(plan: pa.Table) -> list[str]:
    """Each plan row's input: ``image`` or ``video#frame``, then ``|openpose file``."""
    return [
        f"{image if image is not None else f'{video}#{frame}'}|{openpose or ''}"
        for image, video, frame, openpose in zip(
            *(plan.column(name).to_pylist() for name in PLAN_SCHEMA.names[2:]), strict=True
        )
    ]


def write_parquet_atomic(table: pa.Table, path: Path, journal: RunJournal | None = None) -> None:
    """Write ``table`` to ``path`` via a hidden temporary file in the same folder + rename (the
    temporary name recorded in the run's ``journal`` first, so a killed run's leftover is
    removed on resume)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = journal.temp_name(path) if journal else path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_plan_chunk(plan: Path, chunk_id: int) -> pa.Table:
    """The plan rows of one chunk, in plan order."""
    return pq.read_table(plan, filters=[("chunk", "=", int(chunk_id))]).sort_by("row")


def write_chunk_people(
    path: Path,
    plan: pa.Table,
    found: Mapping[int, np.ndarray | None],
    journal: RunJournal | None = None,
) -> None:
    """Write one chunk's people.

    Args:
        plan: the chunk's plan rows (:data:`PLAN_SCHEMA`), in plan order.
        found: row -> (P, 4) float32 pixel xywh boxes (P >= 1), or None (nobody found).
    """
    rows = plan.column("row").to_pylist()
    boxes = [None if found[row] is None else found[row].tolist() for row in rows]
    table = pa.table(
        {"row": pa.array(rows, pa.int64()), "input": _inputs(plan), "boxes": pa.array(boxes)},
        schema=_PEOPLE_SCHEMA,
    )
    write_parquet_atomic(table, path, journal)


def read_chunk_people(path: Path, plan: pa.Table) -> dict[int, np.ndarray | None] | None:
    """One chunk's people as written by :func:`write_chunk_people`, or None when the file is
    missing, unreadable or lists other rows or inputs than the chunk's ``plan`` rows (then the
    chunk is redone).

    Returns:
        row -> (P, 4) float32 pixel xywh, or None where nobody was found.
    """
    try:
        table = pq.read_table(path)
    except (FileNotFoundError, pa.ArrowInvalid, OSError):
        return None
    rows = plan.column("row").to_numpy()
    if (
        not table.schema.equals(_PEOPLE_SCHEMA)
        or not np.array_equal(table.column("row").to_numpy(), rows)
        or table.column("input").to_pylist() != _inputs(plan)
    ):
        return None
    counts = pc.fill_null(pc.list_value_length(table.column("boxes")), 0).to_numpy()
    flat = pc.list_flatten(pc.list_flatten(table.column("boxes"))).to_numpy()
    boxes = np.asarray(flat, np.float32).reshape(-1, 4)
    starts = np.concatenate([[0], np.cumsum(counts)])
    return {
        int(row): (boxes[starts[i] : starts[i + 1]] if counts[i] else None)
        for i, row in enumerate(rows)
    }
