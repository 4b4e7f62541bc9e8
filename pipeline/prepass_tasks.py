"""The person pre-pass as tasks: manifest rows without a box, cut into chunks, run anywhere.

:func:`plan_chunks` cuts the rows that need people found into chunks: still images in manifest
order, ``images_per_chunk`` images a chunk; each video's wanted frames in ascending order,
``frames_per_chunk`` frames a chunk (a chunk decodes its frame range after one seek, so a
video's frames spread over the workers). :func:`find_chunk_people` finds the people of one
chunk. :func:`find_people_in_chunks` runs every chunk: in this process without files, or, given
an executor and the run folder, as one task per chunk (Dask: on the run's cluster) whose result
is written to ``OUT/people_prepass/<chunk>.parquet`` (:mod:`furpe_label.storage.prepass_files`),
so a resumed pre-pass redoes only the chunks without a result. Chunks depend on the manifest
and the chunk sizes only, never on the workers, and each image's people depend on the image
only, so the people found are the same however many workers ran them.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from furpe_label.pipeline.decode import Decoded, DecodeLimits, decode_image, decode_video_frames
from furpe_label.pipeline.executors import ShardExecutor
from furpe_label.pipeline.person_finder import find_people
from furpe_label.pipeline.progress import Progress
from furpe_label.storage.path_text import text_to_path
from furpe_label.storage.prepass_files import (
    PLAN_SCHEMA,
    read_chunk_people,
    read_plan_chunk,
    write_chunk_people,
    write_parquet_atomic,
)
from furpe_label.storage.run_dir import RunDir

__all__ = [
    "FRAMES_PER_CHUNK",
    "IMAGES_PER_CHUNK",
    "PrepassError",
    "PrepassTask",
    "find_chunk_people",
    "find_people_in_chunks",
    "plan_chunks",
]

logger = logging.getLogger(__name__)

IMAGES_PER_CHUNK = 32
"""Still images per pre-pass chunk (about 30 s of OpenCV detection on one core)."""
FRAMES_PER_CHUNK = 128
"""Video frames per pre-pass chunk (one seek, then sequential decoding)."""

People = dict[int, np.ndarray | None]
"""Manifest row -> (P, 4) float32 pixel xywh boxes sorted by x, or None (nobody found)."""


class PrepassError(RuntimeError):
    """Pre-pass chunks that failed after their retries (the finished ones are kept)."""


def plan_chunks(
    table: pa.Table,
    rows: np.ndarray,
    images_per_chunk: int = IMAGES_PER_CHUNK,
    frames_per_chunk: int = FRAMES_PER_CHUNK,
) -> pa.Table:
    """The pre-pass chunks of manifest ``rows`` (see the module docstring).

    Args:
        table: the manifest as the adapter built it.
        rows: (R,) int64 positions in ``table`` of the rows to find people for.

    Returns:
        A table of :data:`~furpe_label.storage.prepass_files.PLAN_SCHEMA`: image chunks first
        (manifest order), then each video's frame ranges (videos in order of first row);
        within a chunk rows are in manifest order. Chunk ids are 0..C-1.
    """
    if images_per_chunk < 1 or frames_per_chunk < 1:
        raise ValueError("images and frames per chunk must be >= 1")
    images = table.column("image_path").to_pylist()
    videos = table.column("video_path").to_pylist()
    frames = table.column("frame_index").to_pylist()
    chunk_of: dict[int, int] = {}
    image_chunk: dict[str, int] = {}
    video_frames: dict[str, dict[int, list[int]]] = {}
    for row in (int(r) for r in rows):
        if images[row] is not None:
            if images[row] not in image_chunk:
                image_chunk[images[row]] = len(image_chunk) // images_per_chunk
            chunk_of[row] = image_chunk[images[row]]
        else:
            video_frames.setdefault(videos[row], {}).setdefault(int(frames[row]), []).append(row)
    next_chunk = -(-len(image_chunk) // images_per_chunk)
    for wanted in video_frames.values():
        for position, frame in enumerate(sorted(wanted)):
            for row in wanted[frame]:
                chunk_of[row] = next_chunk + position // frames_per_chunk
        next_chunk += -(-len(wanted) // frames_per_chunk)
    ordered = sorted(chunk_of, key=lambda row: (chunk_of[row], row))
    take = pa.array(ordered, pa.int64())
    columns = {name: table.column(name).take(take) for name in PLAN_SCHEMA.names[2:]}
    chunk = pa.array([chunk_of[row] for row in ordered], pa.int32())
    return pa.table({"chunk": chunk, "row": take, **columns}, schema=PLAN_SCHEMA)


def _decoded(plan: pa.Table, limits: DecodeLimits) -> Iterator[tuple[int, Decoded]]:
    """(row, decoded image) of each plan row: every image and video frame decoded once."""
    rows = plan.column("row").to_pylist()
    images = plan.column("image_path").to_pylist()
    videos = plan.column("video_path").to_pylist()
    frames = plan.column("frame_index").to_pylist()
    done: dict[str, Decoded] = {}
    wanted: dict[str, dict[int, list[int]]] = {}
    for row, image, video, frame in zip(rows, images, videos, frames, strict=True):
        if image is not None:
            if image not in done:  # the rows of an image are adjacent
                done = {image: decode_image(text_to_path(image), limits)}
            yield row, done[image]
        else:
            wanted.setdefault(video, {}).setdefault(int(frame), []).append(row)
    for video, by_frame in wanted.items():
        for frame, decoded in decode_video_frames(text_to_path(video), list(by_frame), limits):
            for row in by_frame[frame]:
                yield row, decoded


def find_chunk_people(plan: pa.Table, limits: DecodeLimits) -> People:
    """The people of every row of one chunk's ``plan`` rows (:func:`find_people`)."""
    openpose = dict(
        zip(plan.column("row").to_pylist(), plan.column("openpose_json").to_pylist(), strict=True)
    )
    found: People = {}
    for row, decoded in _decoded(plan, limits):
        found[row] = None
        if decoded.image is None:
            continue  # the shard run decodes it again and records the reason
        own = openpose[row]
        people = find_people(decoded.image, None if own is None else text_to_path(own))
        if people.failure is None and len(people.boxes):
            found[row] = people.boxes[np.argsort(people.boxes[:, 0], kind="stable")]
        else:
            logger.info("row %d: no people found (%s %s)", row, people.failure, people.detail)
    return found


@dataclass(frozen=True)
class PrepassTask:
    """The picklable task a worker runs: ``task(chunk_id)`` finds the chunk's people, writes
    ``OUT/people_prepass/<chunk>.parquet`` and returns the number of rows it did."""

    out: str
    limits: DecodeLimits
    task_name = "people"
    needs_gpu = False

    def __call__(self, chunk_id: int) -> int:
        run_dir = RunDir(self.out)
        plan = read_plan_chunk(run_dir.prepass_plan, chunk_id)
        found = find_chunk_people(plan, self.limits)
        write_chunk_people(run_dir.prepass_chunk(chunk_id), plan, found, run_dir.journal)
        return plan.num_rows


def _chunk_bounds(plan: pa.Table) -> Mapping[int, tuple[int, int]]:
    """chunk id -> ``(start, stop)`` positions of its rows in ``plan`` (sorted by chunk)."""
    chunks = plan.column("chunk").to_numpy()
    starts = np.flatnonzero(np.diff(chunks, prepend=-1))
    bounds = np.append(starts, len(chunks)).tolist()
    return {int(chunks[a]): (a, b) for a, b in itertools.pairwise(bounds)}


def find_people_in_chunks(
    plan: pa.Table,
    limits: DecodeLimits,
    progress: Progress,
    executor: ShardExecutor | None = None,
    run_dir: RunDir | None = None,
) -> People:
    """The people of every planned row, chunk by chunk (see the module docstring).

    Args:
        plan: :func:`plan_chunks`'s table.
        executor, run_dir: run the chunks as tasks writing their results in ``run_dir``
            (both given), or here without files (both None).

    Raises:
        PrepassError: chunks that failed on the executor (named with their errors).
    """
    by_chunk = {chunk: plan.slice(a, b - a) for chunk, (a, b) in _chunk_bounds(plan).items()}
    if executor is None or run_dir is None:
        bar = progress.bar(plan.num_rows, desc="finding people", unit="images")
        found: People = {}
        for chunk in by_chunk.values():
            found.update(find_chunk_people(chunk, limits))
            bar.update(chunk.num_rows)
        bar.close()
        return found
    write_parquet_atomic(plan, run_dir.prepass_plan, run_dir.journal)
    found = {}
    pending = []
    for chunk_id, chunk in by_chunk.items():
        stored = read_chunk_people(run_dir.prepass_chunk(chunk_id), chunk)
        if stored is None:
            pending.append(chunk_id)
        else:
            found.update(stored)
    todo = sum(by_chunk[chunk_id].num_rows for chunk_id in pending)
    done = f", {len(by_chunk) - len(pending)} already done" if len(pending) < len(by_chunk) else ""
    where = getattr(executor, "where", "")
    progress.phase(
        f"finding people in {todo} images ({len(pending)} chunk(s){done}) {where}".rstrip()
    )
    bar = progress.bar(todo, desc="finding people", unit="images")
    failed: dict[int, str] = {}
    for outcome in executor.run(PrepassTask(str(run_dir.root), limits), pending):
        if not outcome.ok:
            failed[outcome.shard_id] = outcome.error or "unknown error"
            continue
        bar.update(by_chunk[outcome.shard_id].num_rows)
    bar.close()
    if failed:
        listed = "; ".join(f"chunk {chunk}: {error}" for chunk, error in sorted(failed.items()))
        raise PrepassError(
            f"person pre-pass: {len(failed)} chunk(s) failed ({listed}); rerun the same "
            "command to retry them (the finished chunks are kept)"
        )
    for chunk_id in pending:
        stored = read_chunk_people(run_dir.prepass_chunk(chunk_id), by_chunk[chunk_id])
        if stored is None:
            raise PrepassError(f"person pre-pass: chunk {chunk_id} reported done but no result")
        found.update(stored)
    return found
