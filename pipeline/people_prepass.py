"""Before sharding: find the people of manifest rows that name none, one row per person.

The label store has one row per person instance and its size is fixed before the first shard
runs, so rows whose dataset gives no person box (image folders, videos, the demo samples) are
expanded here: each such image (or video frame) is decoded once, :func:`find_people` gives its
people (OpenPose JSON when the row has one, else OpenCV's detectors, else the whole image), and
the row becomes one row per person with its box and ``person_idx``. A row whose image cannot be
decoded or whose people cannot be found stays a single row with no box: the run then gives it
its named reason (nothing disappears). ``sample_idx`` is renumbered 0..N-1 afterwards.

The finding runs in chunks (:mod:`.prepass_tasks`): on the run's executor as one task per chunk
with its results kept in ``OUT/people_prepass/`` (a resumed run redoes only the missing
chunks), or here. :func:`expand_people` then assembles the expanded table of all chunks in one
place, in manifest (image, then video and frame) order, before renumbering. Last,
the person rows of each video are linked into tracks (``track_id``, :mod:`.tracking`).
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa

from furpe_label.pipeline.decode import DEFAULT_LIMITS, DecodeLimits
from furpe_label.pipeline.executors import ShardExecutor
from furpe_label.pipeline.prepass_tasks import (
    FRAMES_PER_CHUNK,
    IMAGES_PER_CHUNK,
    find_people_in_chunks,
    plan_chunks,
)
from furpe_label.pipeline.progress import Progress, as_progress
from furpe_label.pipeline.tracking import with_track_ids
from furpe_label.storage.run_dir import RunDir

__all__ = ["expand_people"]

logger = logging.getLogger(__name__)


def expand_people(
    table: pa.Table,
    limits: DecodeLimits = DEFAULT_LIMITS,
    progress: bool | Progress = True,
    executor: ShardExecutor | None = None,
    run_dir: RunDir | None = None,
    chunk_sizes: tuple[int, int] = (IMAGES_PER_CHUNK, FRAMES_PER_CHUNK),
) -> pa.Table:
    """The manifest with every box-less row replaced by one row per person found.

    Args:
        table: a manifest (``storage.manifest``); rows with ``box_xywh`` null are expanded,
            except those with an ``input_reason`` (a file outside the root, an invalid given
            box): they are never opened and keep their reason.
        limits: accepted image sides (as the run decodes them).
        progress: where the bar goes (:func:`~furpe_label.pipeline.progress.as_progress`).
        executor, run_dir: run the pre-pass chunks as tasks on ``executor`` with their results
            kept in ``run_dir`` (resumable), or (both None) here.
        chunk_sizes: still images, video frames per chunk (the result does not depend on them).

    Returns:
        The expanded manifest, row order kept (the people of one image in place of its row,
        ordered by box x), ``sample_idx`` = 0..N-1, ``track_id`` set for video rows.
    """
    no_box = ~table.column("box_xywh").is_valid().to_numpy(zero_copy_only=False)
    named = table.column("input_reason").is_valid().to_numpy(zero_copy_only=False)
    missing = np.flatnonzero(no_box & ~named)
    if missing.size == 0:
        return with_track_ids(table)
    plan = plan_chunks(table, missing, *chunk_sizes)
    people = find_people_in_chunks(plan, limits, as_progress(progress), executor, run_dir)
    found = {row: boxes for row, boxes in people.items() if boxes is not None}
    take: list[int] = []
    boxes: list[list[float] | None] = []
    person_idx: list[int | None] = []
    old_boxes = table.column("box_xywh").to_pylist()
    old_person = table.column("person_idx").to_pylist()
    for row in range(table.num_rows):
        if row in found:
            for index, box in enumerate(found[row]):
                take.append(row)
                boxes.append([float(v) for v in box])
                person_idx.append(index)
        else:
            take.append(row)
            boxes.append(old_boxes[row])
            person_idx.append(old_person[row])
    expanded = table.take(pa.array(take, pa.int64()))
    for name, values in (("box_xywh", boxes), ("person_idx", person_idx)):
        position = expanded.schema.get_field_index(name)
        field = expanded.schema.field(position)
        expanded = expanded.set_column(position, field, pa.array(values, type=field.type))
    position = expanded.schema.get_field_index("sample_idx")
    renumbered = pa.array(np.arange(expanded.num_rows, dtype=np.int64))
    expanded = expanded.set_column(position, expanded.schema.field(position), renumbered)
    return with_track_ids(expanded.replace_schema_metadata(table.schema.metadata))
