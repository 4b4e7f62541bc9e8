"""A shard's inputs: its manifest rows, each image (or video frame) decoded once.

Rows of one image are adjacent in the manifest, so a shard decodes every image once and the
expert stage sees all persons of an image together. Video rows are decoded in frame order,
one sequential pass per video.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from furpe_label.experts.vocabulary import Reason
from furpe_label.pipeline.decode import DecodeLimits, decode_image, decode_video_frames
from furpe_label.storage.manifest import column_array, read_manifest

__all__ = ["ShardInputs", "read_shard_inputs"]


@dataclass
class ShardInputs:
    """N manifest rows of one shard and their decoded images.

    Attributes:
        table: the manifest rows (pyarrow), ``sample_idx`` ascending.
        images: decoded images (H, W, 3) uint8 RGB, None where decoding failed.
        image_index: (N,) int64 row -> index into ``images``.
        failure: N :class:`Reason` from decoding (``OK`` where the image is usable).
        detail: N free-text strings beside the reasons.
        boxes: (N, 4) float64 person boxes, pixel xywh (NaN: none).
        names: N image names (image path, or ``video#frame``) for the audit.
    """

    table: pa.Table
    images: list[np.ndarray | None]
    image_index: np.ndarray
    failure: list[Reason]
    detail: list[str]
    boxes: np.ndarray
    names: list[str]

    def __len__(self) -> int:
        return self.table.num_rows

    def float_column(self, name: str) -> np.ndarray:
        """A float array column, NaN in null rows (see ``storage.manifest.column_array``)."""
        return column_array(self.table, name)[0]


def read_shard_inputs(manifest_path, start: int, stop: int, limits: DecodeLimits) -> ShardInputs:
    """Read rows ``start..stop-1`` of the manifest and decode their images."""
    table = read_manifest(manifest_path, rows=(start, stop))
    table = table.sort_by("sample_idx")
    count = table.num_rows
    if count != stop - start:
        raise ValueError(f"manifest rows {start}..{stop - 1}: found {count} rows")
    image_paths = table.column("image_path").to_pylist()
    video_paths = table.column("video_path").to_pylist()
    frames = table.column("frame_index").to_pylist()
    keys = [
        ("image", path) if path is not None else ("video", f"{video}#{frame}")
        for path, video, frame in zip(image_paths, video_paths, frames, strict=True)
    ]
    unique = list(dict.fromkeys(keys))
    position = {key: index for index, key in enumerate(unique)}
    decoded: dict[tuple[str, str], object] = {}
    for kind, path in unique:
        if kind == "image":
            decoded[(kind, path)] = decode_image(path, limits)
    wanted: dict[str, list[int]] = {}
    for row, (kind, _) in enumerate(keys):
        if kind == "video":
            wanted.setdefault(video_paths[row], []).append(int(frames[row]))
    for video, video_frames in wanted.items():
        for frame, result in decode_video_frames(video, video_frames, limits):
            decoded[("video", f"{video}#{frame}")] = result
    images = [decoded[key].image for key in unique]
    failure = [decoded[key].reason for key in keys]
    detail = [decoded[key].detail for key in keys]
    boxes = column_array(table, "box_xywh")[0].astype(np.float64)
    return ShardInputs(
        table=table,
        images=images,
        image_index=np.array([position[key] for key in keys], dtype=np.int64),
        failure=failure,
        detail=detail,
        boxes=boxes,
        names=[path for _, path in keys],
    )
