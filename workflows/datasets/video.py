"""``video``: a video file, or every video under a folder; each frame is a sample.

Rows: ``video_path`` (absolute), ``frame_index`` (0-based frame to decode), ``frame`` (the same
number), ``sequence`` (the video's path relative to the root without its suffix, or its stem).
People in each frame are found at run time (``person_idx`` / ``box_xywh`` null). The frames are
those that decode (:func:`furpe_label.pipeline.video_frames.frame_count`): the container's count
when its last claimed frame decodes, else the frames decoded from the start; a header that
claims more frames than decode (a damaged file) gives rows only for those that do, with a
warning naming the video and both numbers, and the frames claimed but absent are counted in
``skipped`` (``frames_claimed_by_header_not_decodable``: manifest metadata, ``check``). A video
that cannot be opened keeps one row (frame 0) so the run reports it (``frame_unreadable``); so
does a video that leaves the root (a symlink pointing out: ``outside_root``, its frames not even
counted). ``frame_step`` takes every k-th frame.
"""

from __future__ import annotations

import logging
from pathlib import Path

from furpe_label.pipeline.video_frames import FrameCount, frame_count
from furpe_label.storage.manifest import ColumnValues
from furpe_label.workflows.datasets.base import DatasetAdapter
from furpe_label.workflows.datasets.containment import RootResolver
from furpe_label.workflows.datasets.image_folder import scan_files
from furpe_label.workflows.datasets.readers import DatasetError

LOG = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
HEADER_FRAMES_MISSING = "frames_claimed_by_header_not_decodable"
"""The ``skipped`` key counting frames a damaged header claims that do not decode."""


class VideoAdapter(DatasetAdapter):
    """Frames of one video or of a folder of videos."""

    name = "video"
    has_ground_truth = False
    gives_boxes = False
    annotation_kind = "none"

    def __init__(
        self,
        root: Path | str | None = None,
        annotations: Path | str | None = None,
        frame_step: int = 1,
    ) -> None:
        super().__init__(root, annotations)
        if frame_step < 1:
            raise DatasetError(f"frame_step must be >= 1, got {frame_step}")
        self.frame_step = frame_step

    def videos(self) -> list[Path]:
        """The video files: the root itself, or those under it."""
        root = self.require_root()
        if root.is_file():
            return [root]
        videos, others = scan_files(root, VIDEO_SUFFIXES)
        if others:
            self.skipped["not_a_video_file_name"] += others
        if not videos:
            raise DatasetError(f"{root}: no video files ({', '.join(VIDEO_SUFFIXES)})")
        return videos

    def read_columns(self) -> dict[str, ColumnValues]:
        root = self.require_root()
        rows: dict[str, list] = {"video_path": [], "frame_index": [], "frame": [], "sequence": []}
        resolver = RootResolver(root)
        for video in self.videos():
            if not self.allow_outside_root and not resolver.inside(resolver.resolve(str(video))):
                found = FrameCount(0, 0)  # a symlink out of the root: one row, not opened
            else:
                found = frame_count(video)
            if found.missing:
                LOG.warning(
                    "%s: the header claims %d frames, only %d decode (rows for those only)",
                    video,
                    found.claimed,
                    found.frames,
                )
                self.skipped[HEADER_FRAMES_MISSING] += found.missing
            count = found.frames
            if count == 0:
                LOG.warning("%s: cannot be opened or has no frames; one row kept", video)
            frames = range(0, max(count, 1), self.frame_step)
            sequence = (
                video.stem if root.is_file() else str(video.relative_to(root).with_suffix(""))
            )
            self.used_files.append(video)
            rows["video_path"] += [str(video.absolute())] * len(frames)
            rows["frame_index"] += list(frames)
            rows["frame"] += list(frames)
            rows["sequence"] += [sequence] * len(frames)
        return rows

    def info(self) -> dict:
        return {**super().info(), "frame_step": self.frame_step}
