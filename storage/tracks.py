"""The tracks of a label store: the rows of one person over a video's frames, in frame order.

A row's ``track_id`` (label array, -1: none) comes from the manifest (the dataset's tracks, or
the person pre-pass's linking, :mod:`furpe_label.pipeline.tracking`). Store rows are in
manifest order (video path, frame index, person), so the rows of one track sorted by
``sample_idx`` are in frame order. A track may skip frames (a person missed by the detector for
a few frames): :attr:`Track.frame` gives each row's frame number (the manifest's
``frame_index``, or ``frame`` for image sequences) so a model can see the gaps.

What a temporal trainer gets (:meth:`~furpe_label.storage.reader.LabelDataset.tracks`): every
row of each track, kept or not, with the selection's ``valid`` mask, so a dropped label is a
masked frame rather than a silently shorter clip; and each row's position in the dataset (-1
where the dataset does not index it: ``kept_only`` and not kept).
:class:`~furpe_label.storage.samplers.TrackClipSampler` cuts them into clips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Track", "group_tracks"]


@dataclass(frozen=True)
class Track:
    """One person over a video.

    Attributes:
        track_id: the id (>= 0).
        sample_idx: (T,) int64 store rows of the track, increasing (frame order).
        valid: (T,) bool, kept by the selection (the store's ``valid``).
        positions: (T,) int64 dataset position of each row, -1 where the dataset has none.
        frame: (T,) int64 frame number of each row in its video, -1 where unknown.
    """

    track_id: int
    sample_idx: np.ndarray
    valid: np.ndarray
    positions: np.ndarray
    frame: np.ndarray

    def __len__(self) -> int:
        return len(self.sample_idx)


def group_tracks(
    track_id: np.ndarray,
    valid: np.ndarray,
    dataset_rows: np.ndarray,
    min_valid: int = 1,
    frames: np.ndarray | None = None,
) -> list[Track]:
    """The tracks of a store, by increasing ``track_id``.

    Args:
        track_id: (N,) int64 per store row (-1: no track).
        valid: (N,) bool per store row.
        dataset_rows: (len,) increasing store rows a dataset indexes (its ``sample_idx``).
        min_valid: leave out tracks with fewer kept rows than this.
        frames: (N,) int64 frame number per store row (-1: unknown); default all unknown.

    Raises:
        ValueError: shapes that differ, or ``dataset_rows`` not increasing.
    """
    track_id = np.asarray(track_id, np.int64)
    valid = np.asarray(valid, bool)
    dataset_rows = np.asarray(dataset_rows, np.int64)
    frames = np.full(track_id.shape, -1, np.int64) if frames is None else np.asarray(frames)
    if track_id.shape != valid.shape or track_id.shape != frames.shape or track_id.ndim != 1:
        raise ValueError(
            f"track_id {track_id.shape}, valid {valid.shape} and frames {frames.shape} "
            "must be (N,) each"
        )
    if dataset_rows.size and np.any(np.diff(dataset_rows) <= 0):
        raise ValueError("dataset_rows must be strictly increasing")
    position_of = np.full(len(track_id), -1, np.int64)
    position_of[dataset_rows] = np.arange(len(dataset_rows))
    rows = np.flatnonzero(track_id >= 0)
    if rows.size == 0:
        return []
    order = rows[np.argsort(track_id[rows], kind="stable")]  # by id, then store row
    ids, starts = np.unique(track_id[order], return_index=True)
    tracks = []
    for track, members in zip(ids.tolist(), np.split(order, starts[1:]), strict=True):
        if int(valid[members].sum()) < min_valid:
            continue
        tracks.append(Track(track, members, valid[members], position_of[members], frames[members]))
    return tracks
