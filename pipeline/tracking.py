"""Link the people of a video's frames into tracks: one ``track_id`` per person over time.

The simplest form of ByteTrack's / PHALP's association, deterministic: the frames of each video
are visited in order and the people of a frame are matched one-to-one to the live tracks by
maximum total similarity (:func:`scipy.optimize.linear_sum_assignment`, the Hungarian method),
each pair gated:

* **similarity**: the object keypoint similarity (OKS, as
  :func:`~furpe_label.selection.duplicates.pairwise_oks` defines it) when both the track's last
  person and the new one have at least :attr:`TrackingConfig.min_shared_keypoints` keypoints
  confident in both (a pair of people whose keypoints disagree is then no match, however much
  their boxes overlap), else the IoU of the track's *predicted* box and the new box, for a box
  whose height is within ``max_height_ratio`` of the track's last (a tall box around a group, or
  a HOG box over a walker, can overlap a smaller person's box by IoU 0.4: on ``vtest.avi``'s
  frames 220-225 a 239-px box at the top right handed its track to a 107-px man walking below);
* **prediction**: a track's box moves with the constant velocity of its box centre measured
  between its last two matches (zero after its first); its keypoints are shifted the same way;
* **gate**: a pair counts only when its similarity reaches ``min_oks`` (OKS) or ``min_iou``
  (IoU); Hungarian maximises the sum over gated pairs, so it never trades a gated match away;
* **gap**: a track not matched in a frame stays alive for up to ``max_missed_frames`` frames of
  its video (counted in the manifest's frames of that video, so ``frame_step`` does not change
  it) and can be matched again after the gap; later it ends;
* **new ids**: each unmatched person starts a new track.

**Determinism.** Track ids are consecutive from ``first_id``, in the order the tracks start:
videos by path, frames by ``frame_index``, the people of a frame by their box (x, y, w, h) and
then keypoints. No input row order, worker count or shard plan enters, so the same boxes give
the same ids in every run; similarities are rounded to :data:`SIMILARITY_DECIMALS` decimals
before the assignment and compared to the gates with that rounding, so float summation order
cannot flip a match, and equal totals are resolved the same way by the assignment's fixed
(track id, person) order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
from scipy.optimize import linear_sum_assignment

from furpe_label.pipeline.track_matching import (
    SIMILARITY_DECIMALS,
    Track,
    TrackingConfig,
    similarity,
)
from furpe_label.selection.oks import OPENPOSE137_SIGMAS
from furpe_label.storage.manifest import column_array

__all__ = ["SIMILARITY_DECIMALS", "TrackingConfig", "link_tracks", "with_track_ids"]


def _frame_order(boxes: np.ndarray, keypoints: np.ndarray | None) -> np.ndarray:
    """The people of one frame in a row-order-free order: by box (x, y, w, h), then by the
    sums of their keypoints' x, y and confidence."""
    keys = [boxes[:, i] for i in range(4)]
    if keypoints is not None:
        keys += [np.nansum(keypoints[..., i], axis=1) for i in range(3)]
    return np.lexsort(keys[::-1])


class _VideoLinker:
    """Links the frames of one video; hands out ids from a shared counter."""

    def __init__(self, config: TrackingConfig, next_id: int) -> None:
        self.config = config
        self.next_id = next_id
        self.live: list[Track] = []

    def frame(self, position: int, boxes: np.ndarray, keypoints: np.ndarray | None) -> np.ndarray:
        """Track ids (D,) of one frame's people (boxes (D, 4), keypoints (D, K, 3) or None)."""
        limit = self.config.max_missed_frames + 1
        self.live = [t for t in self.live if position - t.position <= limit]
        ids = np.full(len(boxes), -1, np.int64)
        if self.live and len(boxes):
            scores = similarity(self.live, boxes, keypoints, position, self.config)
            rows, cols = linear_sum_assignment(scores, maximize=True)
            for t, d in zip(rows, cols, strict=True):
                if scores[t, d] > 0.0:
                    self._update(self.live[t], position, boxes[d], keypoints, d)
                    ids[d] = self.live[t].track_id
        for d in np.flatnonzero(ids < 0):
            points = None if keypoints is None else keypoints[d].copy()
            track = Track(self.next_id, boxes[d].copy(), points, np.zeros(2), position)
            self.live.append(track)
            ids[d] = self.next_id
            self.next_id += 1
        self.live.sort(key=lambda t: t.track_id)
        return ids

    @staticmethod
    def _update(track: Track, position: int, box: np.ndarray, keypoints, d: int) -> None:
        centre = box[:2] + box[2:] / 2
        old_centre = track.box[:2] + track.box[2:] / 2
        track.velocity = (centre - old_centre) / (position - track.position)
        track.box = box.copy()
        track.keypoints = None if keypoints is None else keypoints[d].copy()
        track.position = position


def link_tracks(
    videos: Sequence[str | None],
    frame_index: Sequence[int | None] | np.ndarray,
    boxes: np.ndarray,
    keypoints: np.ndarray | None = None,
    config: TrackingConfig | None = None,
    first_id: int = 0,
) -> np.ndarray:
    """Track ids of the person rows of videos (see the module docstring).

    Args:
        videos: (N,) video path of each row; None for a row of no video (a still image).
        frame_index: (N,) 0-based frame of each video row (ignored where ``videos`` is None).
        boxes: (N, 4) person boxes, pixel xywh; a row with a non-finite value or a side <= 0
            has no person (it still counts as a frame of its video for the gap).
        keypoints: optional (N, 137, 3) OpenPose-137 pixel ``(x, y, confidence)`` (NaN:
            none); used for OKS where both sides have enough confident points.
        config: the gates (default :class:`TrackingConfig`).
        first_id: the first id handed out.

    Returns:
        (N,) int64 track ids >= ``first_id``, -1 for rows of no video or with no box.

    Raises:
        ValueError: mismatched lengths or shapes, or a video row without a frame index.
    """
    config = config or TrackingConfig()
    count = len(videos)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4) if count else np.zeros((0, 4))
    frames = list(frame_index)
    if len(frames) != count or len(boxes) != count:
        raise ValueError(
            f"videos ({count}), frame_index ({len(frames)}) and boxes ({len(boxes)}) "
            "must have one entry per row"
        )
    if keypoints is not None:
        keypoints = np.asarray(keypoints, np.float64)
        if keypoints.shape != (count, len(OPENPOSE137_SIGMAS), 3):
            raise ValueError(f"keypoints must be (N={count}, 137, 3), got {keypoints.shape}")
    has_person = np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
    by_video: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for row, video in enumerate(videos):
        if video is None:
            continue
        if frames[row] is None:
            raise ValueError(f"row {row}: video {video} without a frame index")
        by_video[str(video)][int(frames[row])].append(row)
    ids = np.full(count, -1, np.int64)
    next_id = int(first_id)
    for video in sorted(by_video):
        linker = _VideoLinker(config, next_id)
        for position, frame in enumerate(sorted(by_video[video])):
            rows = np.array([r for r in by_video[video][frame] if has_person[r]], np.int64)
            if rows.size == 0:
                continue
            points = None if keypoints is None else keypoints[rows]
            rows = rows[_frame_order(boxes[rows], points)]
            points = None if keypoints is None else keypoints[rows]
            ids[rows] = linker.frame(position, boxes[rows], points)
        next_id = linker.next_id
    return ids


def with_track_ids(table: pa.Table, config: TrackingConfig | None = None) -> pa.Table:
    """The manifest with ``track_id`` set for the person rows of its videos.

    Rows whose ``track_id`` the dataset gives (PoseTrack) keep it; the other video rows with a
    box are linked by :func:`link_tracks` on their boxes and, where the manifest has them,
    their ``keypoints2d``, with ids after the largest given one, so ids are unique in the
    manifest. Rows of still images and rows without a box keep a null ``track_id``.

    Args:
        table: a manifest (``storage.manifest``), e.g. after the person pre-pass.
        config: the gates (default :class:`TrackingConfig`).
    """
    given = table.column("track_id").to_numpy(zero_copy_only=False)
    given = np.where(np.isfinite(given.astype(np.float64)), given, -1).astype(np.int64)
    videos = table.column("video_path").to_pylist()
    untracked = [None if given[row] >= 0 else video for row, video in enumerate(videos)]
    if not any(video is not None for video in untracked):
        return table
    boxes, _ = column_array(table, "box_xywh")
    keypoints, has_keypoints = column_array(table, "keypoints2d")
    linked = link_tracks(
        untracked,
        table.column("frame_index").to_pylist(),
        boxes,
        keypoints if has_keypoints.any() else None,
        config,
        first_id=int(given.max(initial=-1)) + 1,
    )
    track_id = np.where(given >= 0, given, linked)
    position = table.schema.get_field_index("track_id")
    values = pa.array(track_id, pa.int64(), mask=track_id < 0)
    return table.set_column(position, table.schema.field(position), values)
