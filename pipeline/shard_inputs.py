"""A shard's inputs: its manifest rows, decoded chunk by chunk (each image once per chunk).

Rows of one image are adjacent in the manifest, so :meth:`ShardInputs.chunks` cuts the shard at
image boundaries into chunks of about ``chunk_rows`` rows; a chunk's images are decoded together
(video frames in order, one sequential pass per video) and released before the next chunk, so a
worker holds at most one chunk of pixels whatever the shard size.
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

__all__ = ["DEFAULT_CHUNK_ROWS", "DecodedChunk", "ShardInputs", "read_shard_inputs"]

DEFAULT_CHUNK_ROWS = 256
"""Person instances decoded and run through keypoints + experts at once."""


@dataclass
class DecodedChunk:
    """Rows ``rows`` of the shard with their images.

    Attributes:
        rows: (M,) int64 row positions in the shard.
        images: decoded images (H, W, 3) uint8 RGB, None where decoding failed.
        image_index: (M,) int64 row -> index into ``images``.
        failure: M :class:`Reason` from decoding (``OK`` where the image is usable).
        detail: M free-text strings beside the reasons.
    """

    rows: np.ndarray
    images: list[np.ndarray | None]
    image_index: np.ndarray
    failure: list[Reason]
    detail: list[str]


@dataclass
class ShardInputs:
    """N manifest rows of one shard.

    Attributes:
        table: the manifest rows (pyarrow), ``sample_idx`` ascending.
        boxes: (N, 4) float64 person boxes, pixel xywh (NaN: none).
        names: N image names (image path, or ``video#frame``).
        limits: accepted image sides.
    """

    table: pa.Table
    boxes: np.ndarray
    names: list[str]
    limits: DecodeLimits

    def __len__(self) -> int:
        return self.table.num_rows

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
        videos = self.table.column("video_path").to_pylist()
        frames = self.table.column("frame_index").to_pylist()
        keys = [self.names[row] for row in rows]
        unique = list(dict.fromkeys(keys))
        decoded: dict[str, Decoded] = {}
        wanted: dict[str, list[int]] = {}
        for row in rows:
            if videos[row] is None:
                name = self.names[row]
                if name not in decoded:
                    decoded[name] = decode_image(name, self.limits)
            else:
                wanted.setdefault(videos[row], []).append(int(frames[row]))
        for video, video_frames in wanted.items():
            for frame, result in decode_video_frames(video, video_frames, self.limits):
                decoded[f"{video}#{frame}"] = result
        position = {key: index for index, key in enumerate(unique)}
        return DecodedChunk(
            rows=rows,
            images=[decoded[key].image for key in unique],
            image_index=np.array([position[key] for key in keys], dtype=np.int64),
            failure=[decoded[key].reason for key in keys],
            detail=[decoded[key].detail for key in keys],
        )


def read_shard_inputs(
    manifest_path: Path, start: int, stop: int, limits: DecodeLimits
) -> ShardInputs:
    """Rows ``start..stop-1`` of the manifest (nothing decoded yet)."""
    table = read_manifest(manifest_path, rows=(start, stop)).sort_by("sample_idx")
    if table.num_rows != stop - start:
        raise ValueError(f"manifest rows {start}..{stop - 1}: found {table.num_rows} rows")
    names = [
        image if image is not None else f"{video}#{frame}"
        for image, video, frame in zip(
            table.column("image_path").to_pylist(),
            table.column("video_path").to_pylist(),
            table.column("frame_index").to_pylist(),
            strict=True,
        )
    ]
    boxes = column_array(table, "box_xywh")[0].astype(np.float64)
    return ShardInputs(table=table, boxes=boxes, names=names, limits=limits)
