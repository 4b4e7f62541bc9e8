"""Before sharding: find the people of manifest rows that name none, one row per person.

The label store has one row per person instance and its size is fixed before the first shard
runs, so rows whose dataset gives no person box (image folders, videos, the demo samples) are
expanded here: each such image (or video frame) is decoded once, :func:`find_people` gives its
people (OpenPose JSON when the row has one, else OpenCV's detectors, else the whole image), and
the row becomes one row per person with its box and ``person_idx``. A row whose image cannot be
decoded or whose people cannot be found stays a single row with no box: the run then gives it
its named reason (nothing disappears). ``sample_idx`` is renumbered 0..N-1 afterwards. Last,
the person rows of each video are linked into tracks (``track_id``, :mod:`.tracking`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import pyarrow as pa

from furpe_label.pipeline.decode import (
    DEFAULT_LIMITS,
    Decoded,
    DecodeLimits,
    decode_image,
    decode_video_frames,
)
from furpe_label.pipeline.person_finder import find_people
from furpe_label.pipeline.progress import Progress, as_progress
from furpe_label.pipeline.tracking import with_track_ids
from furpe_label.storage.path_text import text_to_path

__all__ = ["expand_people"]

logger = logging.getLogger(__name__)


def _decoded_frames(
    table: pa.Table, rows: list[int], limits: DecodeLimits
) -> Iterable[tuple[int, Decoded]]:
    """(row, decoded image) for each row, decoding every image / video once, videos in order."""
    images = table.column("image_path").to_pylist()
    videos = table.column("video_path").to_pylist()
    frames = table.column("frame_index").to_pylist()
    by_video: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if images[row] is not None:
            yield row, decode_image(text_to_path(images[row]), limits)
        else:
            by_video[videos[row]][int(frames[row])].append(row)
    for video, wanted in by_video.items():
        for frame, decoded in decode_video_frames(text_to_path(video), list(wanted), limits):
            for row in wanted[frame]:
                yield row, decoded


def expand_people(
    table: pa.Table, limits: DecodeLimits = DEFAULT_LIMITS, progress: bool | Progress = True
) -> pa.Table:
    """The manifest with every box-less row replaced by one row per person found.

    Args:
        table: a manifest (``storage.manifest``); rows with ``box_xywh`` null are expanded,
            except those with an ``input_reason`` (a file outside the root, an invalid given
            box): they are never opened and keep their reason.
        limits: accepted image sides (as the run decodes them).
        progress: where the bar goes (:func:`~furpe_label.pipeline.progress.as_progress`).

    Returns:
        The expanded manifest, row order kept (the people of one image in place of its row,
        ordered by box x), ``sample_idx`` = 0..N-1, ``track_id`` set for video rows.
    """
    no_box = ~table.column("box_xywh").is_valid().to_numpy(zero_copy_only=False)
    named = table.column("input_reason").is_valid().to_numpy(zero_copy_only=False)
    missing = np.flatnonzero(no_box & ~named)
    if missing.size == 0:
        return with_track_ids(table)
    openpose = table.column("openpose_json").to_pylist()
    found: dict[int, np.ndarray] = {}
    bar = as_progress(progress).bar(len(missing), desc="finding people", unit="images")
    for row, decoded in _decoded_frames(table, missing.tolist(), limits):
        bar.update(1)
        if decoded.image is None:
            continue  # the shard run decodes it again and records the reason
        own = openpose[row]
        people = find_people(decoded.image, None if own is None else text_to_path(own))
        if people.failure is None and len(people.boxes):
            found[row] = people.boxes[np.argsort(people.boxes[:, 0], kind="stable")]
        else:
            logger.info("row %d: no people found (%s %s)", row, people.failure, people.detail)
    bar.close()
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
