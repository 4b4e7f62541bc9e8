"""Tracks in the label store: LabelDataset.tracks() and TrackClipSampler."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.manifest import build_manifest_table, write_manifest
from furpe_label.storage.reader import LabelDataset
from furpe_label.storage.samplers import TrackClipSampler
from furpe_label.storage.tracks import group_tracks
from tests.support.storage_data import label_rows

N = 20


@pytest.fixture
def store_path(tmp_path):
    """20 rows; track_id r % 3 for rows 0..14, -1 after; valid: r % 3 != 0 (label_rows), so
    every row of track 0 is dropped."""
    path = tmp_path / "labels.zarr"
    store = LabelStore.create(path, N, shard_size=8, chunk_size=4)
    for shard_id in store.plan.ids():
        rows = label_rows(store.fields, *store.plan.bounds(shard_id))
        idx = np.arange(*store.plan.bounds(shard_id))
        rows["track_id"] = np.where(idx < 15, idx % 3, -1)
        store.write_shard(shard_id, rows)
    return path


def test_unwritten_rows_have_no_track(tmp_path):
    store = LabelStore.create(tmp_path / "labels.zarr", 10, shard_size=8, chunk_size=4)
    assert store.array("track_id").dtype == np.int64
    assert (store.array("track_id")[:] == -1).all()


def test_tracks_hold_every_row_in_frame_order_with_the_kept_mask(store_path):
    everything = LabelDataset(store_path, kept_only=False)
    tracks = everything.tracks()
    assert [t.track_id for t in tracks] == [1, 2]  # track 0 has no kept row
    assert tracks[0].sample_idx.tolist() == [1, 4, 7, 10, 13]
    assert tracks[0].valid.all() and tracks[0].positions.tolist() == [1, 4, 7, 10, 13]
    with_dropped = everything.tracks(min_valid=0)
    assert [t.track_id for t in with_dropped] == [0, 1, 2]
    assert not with_dropped[0].valid.any() and len(with_dropped[0]) == 5
    kept = LabelDataset(store_path, kept_only=True).tracks(min_valid=0)
    assert kept[0].positions.tolist() == [-1] * 5  # the dataset does not index dropped rows
    assert kept[1].positions.tolist() == [0, 2, 4, 6, 8]  # positions of rows 1, 4, 7, 10, 13
    assert (LabelDataset(store_path).sample_idx[kept[1].positions] == kept[1].sample_idx).all()
    assert (tracks[0].frame == -1).all()  # no manifest next to the store


def test_track_frames_come_from_the_run_manifest(store_path):
    videos = [f"/v{r:03d}.mp4" if r < 15 else None for r in range(N)]  # sorted in row order
    table = build_manifest_table(
        {
            "dataset": ["d"] * N,
            "video_path": videos,
            "image_path": [f"/w{r:03d}.jpg" if v is None else None for r, v in enumerate(videos)],
            "frame_index": [None if v is None else 10 * (r // 3) for r, v in enumerate(videos)],
            "frame": [None if v is None else 0 for v in videos],
        }
    )
    assert table.column("video_path").to_pylist() == videos
    write_manifest(table, store_path.parent)
    tracks = LabelDataset(store_path, kept_only=False).tracks()
    assert tracks[0].frame.tolist() == [0, 10, 20, 30, 40]  # rows 1, 4, 7, 10, 13


def test_clips_cut_tracks_into_consecutive_rows_and_load_as_batches(store_path):
    dataset = LabelDataset(store_path, kept_only=False)
    tracks = dataset.tracks(min_valid=0)
    sampler = TrackClipSampler(tracks, clip_length=2, shuffle=False)
    assert list(sampler) == [[1, 4], [7, 10], [2, 5], [8, 11]]  # track 0: no kept row
    overlapping = TrackClipSampler(tracks, 4, stride=1, min_valid=0, shuffle=False)
    assert list(overlapping)[:2] == [[0, 3, 6, 9], [3, 6, 9, 12]] and len(overlapping) == 6
    long = TrackClipSampler(tracks, 9, shuffle=False)
    assert list(long) == [[1, 4, 7, 10, 13], [2, 5, 8, 11, 14]]
    assert len(TrackClipSampler(tracks, 9, drop_short=True)) == 0
    shuffled = TrackClipSampler(tracks, 2, seed=1)
    shuffled.set_epoch(3)
    assert sorted(shuffled) == sorted(sampler)
    batches = list(DataLoader(dataset, batch_sampler=sampler))
    assert batches[0]["sample_idx"].tolist() == [1, 4]
    assert batches[0]["body_pose"].shape == (2, 21, 3) and batches[0]["valid"].dtype == torch.bool
    kept = LabelDataset(store_path).tracks()
    assert list(TrackClipSampler(kept, 2, shuffle=False)) == [[0, 2], [4, 6], [1, 3], [5, 7]]
    with pytest.raises(ValueError, match="clip_length and stride must be >= 1"):
        TrackClipSampler(tracks, 0)


def test_grouping_checks_its_input():
    assert group_tracks(np.full(3, -1), np.ones(3, bool), np.arange(3)) == []
    with pytest.raises(ValueError, match="must be \\(N,\\) each"):
        group_tracks(np.zeros(3), np.ones(2, bool), np.arange(3))
    with pytest.raises(ValueError, match="strictly increasing"):
        group_tracks(np.zeros(3), np.ones(3, bool), np.array([2, 1]))
