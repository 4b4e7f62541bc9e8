"""A shard's inputs: its manifest rows, decoded chunk by chunk (each image once per chunk).

Rows of one image are adjacent in the manifest, so :meth:`ShardInputs.chunks` cuts the shard at
image boundaries into chunks of about ``chunk_rows`` rows; a chunk's images are decoded together
(video frames in order, one sequential pass per video) and released before the next chunk, so a
worker holds at most one chunk of pixels whatever the shard size.

**Whole images.** Shards are fixed row ranges, so one image's people (the person pre-pass
writes them as adjacent rows) may straddle two shards. Decisions among the people of one image
(one candidate per person, :mod:`furpe_label.selection.duplicates`; the OpenPose-file people
matched one-to-one to the image's boxes) need all of them, so :func:`read_shard_inputs` also
reads the rows of the shard's first and last image that lie in the neighbouring shards
(:attr:`ShardInputs.own` marks the shard's own rows). Both shards then detect and decide on the
same rows and reach the same decision; only the own rows go on to the experts and are written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from furpe_label.experts.vocabulary import Reason
from furpe_label.pipeline.decode import Decoded, DecodeLimits, decode_image, decode_video_frames
from furpe_label.storage.manifest import column_array, read_manifest
from furpe_label.storage.path_text import text_to_path

__all__ = ["DEFAULT_CHUNK_ROWS", "DecodedChunk", "ShardInputs", "read_shard_inputs"]

DEFAULT_CHUNK_ROWS = 256
"""Person instances decoded and run through keypoints + experts at once."""


@dataclass
class DecodedChunk:
    """Rows ``rows`` of the shard's inputs with their images.

    Attributes:
        rows: (M,) int64 row positions in :attr:`ShardInputs.table`.
        own: (M,) bool: the row is one of the shard's own rows (see :attr:`ShardInputs.own`).
        images: decoded images (H, W, 3) uint8 RGB, None where decoding failed.
        image_index: (M,) int64 row -> index into ``images``.
        failure: M :class:`Reason` from decoding (``OK`` where the image is usable).
        detail: M free-text strings beside the reasons.
    """

    rows: np.ndarray
    own: np.ndarray
    images: list[np.ndarray | None]
    image_index: np.ndarray
    failure: list[Reason]
    detail: list[str]


@dataclass
class ShardInputs:
    """N manifest rows: a shard's own rows, plus (from :func:`read_shard_inputs`) the rows of
    its first and last image that lie outside it.

    Attributes:
        table: the manifest rows (pyarrow), ``sample_idx`` ascending.
        boxes: (N, 4) float64 person boxes, pixel xywh (NaN: none).
        names: N image names (image path, or ``video#frame``).
        limits: accepted image sides.
        own: the positions of the shard's own rows (a contiguous slice of the N; None: all).
    """

    table: pa.Table
    boxes: np.ndarray
    names: list[str]
    limits: DecodeLimits
    own: slice | None = None

    def __len__(self) -> int:
        return self.table.num_rows

    def own_bounds(self) -> tuple[int, int]:
        """``(start, stop)`` positions of the shard's own rows."""
        start, stop, _ = (self.own or slice(None)).indices(len(self))
        return start, stop

    def own_rows(self) -> ShardInputs:
        """The shard's own rows only (what its stages after the keypoint stage see)."""
        start, stop = self.own_bounds()
        return ShardInputs(
            table=self.table.slice(start, stop - start),
            boxes=self.boxes[start:stop],
            names=self.names[start:stop],
            limits=self.limits,
        )

    def float_column(self, name: str) -> np.ndarray:
        """A float array column, NaN in null rows (see ``storage.manifest.column_array``)."""
        return column_array(self.table, name)[0]

    def chunks(self, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[DecodedChunk]:
        """Decoded chunks of about ``chunk_rows`` rows, never splitting an image's rows."""
        start, count = 0, len(self)
        while start < count:
            stop = min(start + chunk_rows, count)
            while stop < count and self.names[stop] == self.names[stop - 1]:
                stop += 1
            yield self._decode(np.arange(start, stop))
            start = stop

    def _decode(self, rows: np.ndarray) -> DecodedChunk:
        """Decode the chunk's images; a row with a manifest ``input_reason`` keeps that reason
        and its file is not opened for it (only for other rows of the same image, if any)."""
        videos = self.table.column("video_path").to_pylist()
        frames = self.table.column("frame_index").to_pylist()
        named = self.table.column("input_reason").to_pylist()
        named_detail = self.table.column("input_detail").to_pylist()
        keys = [self.names[row] for row in rows]
        unique = list(dict.fromkeys(keys))
        decoded: dict[str, Decoded] = {}
        wanted: dict[str, list[int]] = {}
        for row in rows:
            if named[row] is not None:
                continue
            if videos[row] is None:
                name = self.names[row]
                if name not in decoded:
                    decoded[name] = decode_image(text_to_path(name), self.limits)
            else:
                wanted.setdefault(videos[row], []).append(int(frames[row]))
        for video, video_frames in wanted.items():
            for frame, result in decode_video_frames(
                text_to_path(video), video_frames, self.limits
            ):
                decoded[f"{video}#{frame}"] = result
        position = {key: index for index, key in enumerate(unique)}
        start, stop = self.own_bounds()
        given = [
            Decoded.failed(Reason(named[row]), named_detail[row] or "")
            if named[row] is not None
            else decoded[key]
            for row, key in zip(rows, keys, strict=True)
        ]
        return DecodedChunk(
            rows=rows,
            own=(rows >= start) & (rows < stop),
            images=[decoded[key].image if key in decoded else None for key in unique],
            image_index=np.array([position[key] for key in keys], dtype=np.int64),
            failure=[result.reason for result in given],
            detail=[result.detail for result in given],
        )


_NAME_COLUMNS = ("sample_idx", "image_path", "video_path", "frame_index")
_EDGE_WINDOW = 64
"""Rows read at a time while looking for where the shard's edge images end."""


def _image_names(table: pa.Table) -> list[str]:
    """Each row's image key: the image path, or ``video#frame``."""
    return [
        image if image is not None else f"{video}#{frame}"
        for image, video, frame in zip(
            table.column("image_path").to_pylist(),
            table.column("video_path").to_pylist(),
            table.column("frame_index").to_pylist(),
            strict=True,
        )
    ]


def _names_of(manifest_path: Path, start: int, stop: int) -> list[str]:
    """Image keys of rows ``start..stop-1`` (fewer at the manifest's end), in row order."""
    table = read_manifest(manifest_path, columns=_NAME_COLUMNS, rows=(start, stop))
    return _image_names(table.sort_by("sample_idx"))


def _whole_images(manifest_path: Path, start: int, stop: int) -> tuple[int, int]:
    """``(lo, hi)``: rows ``start..stop-1`` grown to every row of their first and last image."""
    if stop <= start:
        return start, stop
    first = _names_of(manifest_path, start, start + 1)[0]
    lo = start
    while lo > 0:
        names = _names_of(manifest_path, max(0, lo - _EDGE_WINDOW), lo)
        same = len(names) - next((i + 1 for i in range(len(names))[::-1] if names[i] != first), 0)
        lo -= same
        if same < len(names):
            break
    last = _names_of(manifest_path, stop - 1, stop)[0]
    hi = stop
    while True:
        names = _names_of(manifest_path, hi, hi + _EDGE_WINDOW)
        same = next((i for i, name in enumerate(names) if name != last), len(names))
        hi += same
        if same < _EDGE_WINDOW:
            break
    return lo, hi


def read_shard_inputs(
    manifest_path: Path, start: int, stop: int, limits: DecodeLimits
) -> ShardInputs:
    """Rows ``start..stop-1`` of the manifest (:attr:`ShardInputs.own`) plus the rows of their
    first and last image outside them (see the module docstring); nothing decoded yet."""
    lo, hi = _whole_images(manifest_path, start, stop)
    table = read_manifest(manifest_path, rows=(lo, hi)).sort_by("sample_idx")
    if table.num_rows != hi - lo:
        raise ValueError(f"manifest rows {lo}..{hi - 1}: found {table.num_rows} rows")
    boxes = column_array(table, "box_xywh")[0].astype(np.float64)
    own = slice(start - lo, stop - lo)
    return ShardInputs(table=table, boxes=boxes, names=_image_names(table), limits=limits, own=own)
