"""A manifest written block by block equals the one built whole; row groups read back."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from furpe_label.storage.manifest import build_manifest_table, read_manifest
from furpe_label.storage.manifest_stream import (
    iter_row_groups,
    manifest_row_group_rows,
    media_counts,
    write_manifest_blocks,
)
from furpe_label.workflows.datasets.readers import person_indices


def _columns(n: int, seed: int = 0) -> dict:
    """Rows in no order: images shared by several rows, video frames, boxes, 3D joints."""
    rng = np.random.default_rng(seed)
    image = [f"/data/img{k:03d}.jpg" for k in rng.integers(0, n // 3, n)]
    video = rng.random(n) < 0.3
    joints = rng.normal(size=(n, 24, 4)).astype(np.float32)
    joints[rng.random(n) < 0.2] = np.nan
    return {
        "dataset": ["d"] * n,
        "image_path": [None if v else p for v, p in zip(video, image, strict=True)],
        "video_path": ["/data/clip.avi" if v else None for v in video],
        "frame_index": [
            int(k) if v else None for v, k in zip(video, rng.integers(0, 9, n), strict=True)
        ],
        "box_xywh": rng.normal(size=(n, 4)),
        "joints3d": joints,
        "subject": [f"S{k}" for k in rng.integers(0, 5, n)],
    }


def _blocks(columns: dict, size: int):
    n = len(columns["dataset"])
    for start in range(0, n, size):
        yield {name: values[start : start + size] for name, values in columns.items()}


@pytest.mark.parametrize("numbered", [True, False])
def test_blocks_give_the_manifest_built_whole(tmp_path, numbered):
    columns = _columns(101)
    media = [
        i if i is not None else f"{v}#{f}"
        for i, v, f in zip(
            columns["image_path"], columns["video_path"], columns["frame_index"], strict=True
        )
    ]
    whole = {**columns, "person_idx": person_indices(media)}
    expected = build_manifest_table(whole, {"dataset": "d", "files": 3})
    given = whole if numbered else columns
    path = tmp_path / "manifest.parquet"
    count = write_manifest_blocks(
        _blocks(given, 7), path, lambda: {"dataset": "d", "files": 3}, row_group_rows=10
    )
    assert count == 101
    assert pq.ParquetFile(path).num_row_groups == 11
    whole_file = tmp_path / "whole" / "manifest.parquet"
    whole_file.parent.mkdir()
    pq.write_table(expected, whole_file)  # what the driver wrote before, in one piece
    assert read_manifest(path).equals(read_manifest(whole_file), check_metadata=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.parquet", "whole"]
    images = {p for p in columns["image_path"] if p is not None}
    frames = {f for f, v in zip(columns["frame_index"], columns["video_path"], strict=True) if v}
    assert media_counts(path) == (len(images), len(frames))
    groups = list(iter_row_groups(path, ["sample_idx"]))
    assert np.concatenate([g.column(0).to_numpy() for g in groups]).tolist() == list(range(101))


def test_no_rows_write_nothing(tmp_path):
    path = tmp_path / "manifest.parquet"
    assert write_manifest_blocks(iter(()), path, dict) == 0
    assert not list(tmp_path.iterdir())


def test_row_groups_hold_whole_shards():
    assert manifest_row_group_rows(10_240) == 10_240
    assert manifest_row_group_rows(3) % 3 == 0 and manifest_row_group_rows(3) >= 4096
