"""Writing a manifest from blocks of rows, and reading it back a row group at a time.

:func:`write_manifest_blocks` gives the same file as :func:`.manifest.build_manifest_table` +
writing, without ever holding the whole table: each block of rows (a dataset adapter reads its
annotation file block by block) is converted and appended to a hidden staging Parquet file;
only the sort keys of every row stay in memory (the image or video path and the frame with
their sort order: about 100-200 bytes a row, 0.2 GB at 10^6 rows); then the sorted manifest is
written row group by row group, each gathered from the staging row groups that hold its rows
(one or two when the annotation file is nearly in order, as datasets are).
:func:`iter_row_groups` and :func:`media_counts` read a written manifest back a row group at a time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from furpe_label.storage.manifest import ColumnValues, manifest_metadata, manifest_rows

__all__ = ["iter_row_groups", "manifest_row_group_rows", "media_counts", "write_manifest_blocks"]

ROW_GROUP_ROWS = 10_240
"""Manifest rows per Parquet row group (then rounded to whole shards)."""


def manifest_row_group_rows(shard_size: int) -> int:
    """Rows per manifest row group for a run: whole shards, at least about 4096 rows, so a
    shard task reads its rows from one or two row groups."""
    return shard_size * max(1, -(-min(ROW_GROUP_ROWS, 4096) // shard_size))


def _keys(table: pa.Table) -> pa.Table:
    return pa.table(
        {
            "media": pc.coalesce(table.column("image_path"), table.column("video_path")),
            "frame_index": table.column("frame_index"),
            "person_idx": table.column("person_idx"),
        }
    )


def _person_ranks(keys: pa.Table) -> np.ndarray:
    """For rows sorted by media and frame: each row's index among the rows of its image."""
    media = keys.column("media").combine_chunks()
    frame = pc.fill_null(keys.column("frame_index"), -1).combine_chunks()
    n = len(media)
    if n == 0:
        return np.zeros(0, np.int32)
    new = np.ones(n, bool)
    if n > 1:
        same_media = pc.equal(media.slice(1), media.slice(0, n - 1))
        same_frame = pc.equal(frame.slice(1), frame.slice(0, n - 1))
        new[1:] = ~pc.and_(same_media, same_frame).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    return (np.arange(n) - starts[group]).astype(np.int32)


def write_manifest_blocks(
    blocks: Iterable[Mapping[str, ColumnValues]],
    path: Path,
    info: Callable[[], Mapping[str, Any]],
    row_group_rows: int = ROW_GROUP_ROWS,
) -> int:
    """Write the manifest of the rows of ``blocks`` to ``path`` (atomically); its row count.

    Args:
        blocks: manifest columns of consecutive rows (as :func:`.manifest.build_manifest_table`
            takes them). Without a ``person_idx`` column, the rows of each image (video frame)
            are numbered 0, 1, ... in the order given (SPIN's layout: one row per person).
        info: called after the last block: the facts for the table metadata.
        row_group_rows: rows per row group of the written file.

    Returns:
        N, the number of rows; 0 writes nothing.
    """
    path = Path(path)
    staging = path.with_name(f".{path.name}.blocks.{os.getpid()}.tmp")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        keys, offsets, numbered = _stage(blocks, staging)
        n = int(offsets[-1])
        if n == 0:
            return 0
        order = pc.sort_indices(
            keys, sort_keys=[(name, "ascending") for name in keys.column_names]
        ).to_numpy()
        ranks = None if numbered else _person_ranks(keys.take(order))
        del keys
        schema = pq.read_schema(staging).with_metadata(manifest_metadata(info()))
        strings = [f.name for f in schema if pa.types.is_string(f.type)]
        with pq.ParquetWriter(tmp, schema, compression="zstd", use_dictionary=strings) as writer:
            source = _RowGroups(staging, offsets)
            for start in range(0, n, row_group_rows):
                stop = min(start + row_group_rows, n)
                table = source.gather(order[start:stop])
                if ranks is not None:
                    position = table.schema.get_field_index("person_idx")
                    ranked = pa.array(ranks[start:stop], pa.int32())
                    table = table.set_column(position, table.schema.field(position), ranked)
                sample_idx = pa.array(np.arange(start, stop, dtype=np.int64))
                table = table.set_column(0, table.schema.field(0), sample_idx)
                writer.write_table(table.replace_schema_metadata(schema.metadata))
        os.replace(tmp, path)
        return n
    finally:
        staging.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)


def _stage(
    blocks: Iterable[Mapping[str, ColumnValues]], staging: Path
) -> tuple[pa.Table, np.ndarray, bool]:
    """Write the blocks to ``staging`` (one row group each) and keep their sort keys.

    Returns (keys of every row, row offsets of the row groups (G + 1,), whether the blocks
    gave ``person_idx``)."""
    keys: list[pa.Table] = []
    offsets = [0]
    numbered = True
    writer = None
    try:
        for block in blocks:
            numbered = "person_idx" in block
            table = manifest_rows(block)
            if table.num_rows == 0:
                continue
            if writer is None:  # a scratch file: written and read once, fast over small
                writer = pq.ParquetWriter(
                    staging, table.schema, compression="none", use_dictionary=False
                )
            writer.write_table(table, row_group_size=table.num_rows)
            key = _keys(table)
            if not numbered:
                key = key.drop_columns(["person_idx"])
            keys.append(key)
            offsets.append(offsets[-1] + table.num_rows)
            del table, block
    finally:
        if writer is not None:
            writer.close()
    empty = pa.table({"media": pa.array([], pa.string())})
    return (pa.concat_tables(keys) if keys else empty), np.array(offsets), numbered


class _RowGroups:
    """Rows of the staging file gathered by position, a source row group read at a time (the
    last few are kept: consecutive output groups of a nearly ordered file share them)."""

    KEPT = 4

    def __init__(self, path: Path, offsets: np.ndarray) -> None:
        self.file = pq.ParquetFile(path)
        self.offsets = offsets
        self._kept: dict[int, pa.Table] = {}

    def _group(self, index: int) -> pa.Table:
        if index not in self._kept:
            if len(self._kept) >= self.KEPT:
                self._kept.pop(next(iter(self._kept)))
            self._kept[index] = self.file.read_row_group(index)
        return self._kept[index]

    def gather(self, positions: np.ndarray) -> pa.Table:
        """The rows at ``positions`` (staging row numbers), in that order: slices of runs of
        consecutive rows, or (rows in no order) one ``take`` per source row group."""
        groups = np.searchsorted(self.offsets, positions, side="right") - 1
        breaks = np.flatnonzero((np.diff(positions) != 1) | (np.diff(groups) != 0)) + 1
        if len(breaks) < max(1, len(positions) // 64):
            starts = np.concatenate([[0], breaks])
            stops = np.concatenate([breaks, [len(positions)]])
            return pa.concat_tables(
                self._group(int(groups[a])).slice(
                    int(positions[a] - self.offsets[groups[a]]), int(b - a)
                )
                for a, b in zip(starts, stops, strict=True)
            )
        pieces, where = [], []
        for group in np.unique(groups):
            mine = np.flatnonzero(groups == group)
            local = positions[mine] - self.offsets[group]
            pieces.append(self._group(int(group)).take(pa.array(local)))
            where.append(mine)
        table = pa.concat_tables(pieces)
        back = np.empty(len(positions), np.int64)
        back[np.concatenate(where)] = np.arange(len(positions))
        return table.take(pa.array(back))


def iter_row_groups(path: Path, columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
    """The manifest at ``path`` a row group at a time (only ``columns``, default all)."""
    file = pq.ParquetFile(path)
    for index in range(file.num_row_groups):
        yield file.read_row_group(index, columns=list(columns) if columns else None)


def media_counts(path: Path) -> tuple[int, int]:
    """(distinct still images, distinct video frames) of a written manifest (sorted: the rows
    of one image or frame are adjacent, so only the previous row is remembered)."""
    images = frames = 0
    previous: tuple | None = None
    for table in iter_row_groups(path, ("image_path", "video_path", "frame_index")):
        for key in zip(*(table.column(i).to_pylist() for i in range(3)), strict=True):
            if key != previous:
                images += key[0] is not None
                frames += key[0] is None
                previous = key
    return images, frames
