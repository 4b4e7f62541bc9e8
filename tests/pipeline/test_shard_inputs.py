"""A shard reads every row of the images it touches: its own rows plus the rows of its first
and last image that lie in the neighbouring shards (one image's people straddle shards)."""

from __future__ import annotations

import numpy as np
import pytest

from furpe_label.pipeline import shard_inputs
from furpe_label.pipeline.decode import DecodeLimits
from furpe_label.pipeline.shard_inputs import read_shard_inputs
from furpe_label.storage.manifest import build_manifest_table, write_manifest

PEOPLE = {"a.jpg": 3, "b.jpg": 11, "c.jpg": 1, "d.jpg": 2}
"""Rows per image, in manifest order: a 0-2, b 3-13, c 14, d 15-16; plus two video frames."""


@pytest.fixture()
def manifest(tmp_path, monkeypatch):
    monkeypatch.setattr(shard_inputs, "_EDGE_WINDOW", 4)  # b spans several search windows
    images = [f"/data/{name}" for name, count in PEOPLE.items() for _ in range(count)]
    persons = [k for count in PEOPLE.values() for k in range(count)]
    videos = [None] * len(images) + ["/data/v.mp4"] * 3
    frames = [None] * len(images) + [0, 0, 1]
    table = build_manifest_table(
        {
            "dataset": ["test"] * len(videos),
            "image_path": images + [None] * 3,
            "video_path": videos,
            "frame_index": frames,
            "person_idx": [*persons, 0, 1, 0],
            "box_xywh": np.tile([1.0, 2.0, 30.0, 60.0], (len(videos), 1)),
        }
    )
    return write_manifest(table, tmp_path, row_group_size=4)


@pytest.mark.parametrize(
    ("start", "stop", "whole"),
    [
        (0, 2, (0, 3)),  # a's third person lies in the next shard
        (2, 4, (0, 14)),  # a's first two and b's other ten
        (5, 7, (3, 14)),  # inside b: all of b
        (13, 16, (3, 17)),  # b, c, d
        (14, 15, (14, 15)),  # c alone: nothing to add
        (16, 18, (15, 19)),  # d's first person, the frame 0 of the video
        (19, 20, (19, 20)),  # frame 1 of the video
    ],
)
def test_a_shard_reads_its_edge_images_whole(manifest, start, stop, whole):
    inputs = read_shard_inputs(manifest, start, stop, DecodeLimits())
    lo, hi = whole
    assert inputs.table.column("sample_idx").to_pylist() == list(range(lo, hi))
    assert inputs.own_bounds() == (start - lo, stop - lo)
    own = inputs.own_rows()
    assert own.table.column("sample_idx").to_pylist() == list(range(start, stop))
    assert own.names == inputs.names[start - lo : stop - lo] and len(own.boxes) == stop - start
    assert own.own_bounds() == (0, stop - start)
