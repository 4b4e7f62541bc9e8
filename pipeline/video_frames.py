"""How many frames of a video can be had, in a way a damaged header cannot inflate.

The container's frame count (``cv2.CAP_PROP_FRAME_COUNT``: an AVI's stream length, an MP4's
sample table) is only what the header says: one flipped byte can make a six-frame clip claim
thousands of frames, and every claimed frame would become a manifest row that then fails.
So the claim is checked before it is used:

1. the frame the header names last (``claimed - 1``) is sought and decoded (a seek plus one
   decode: about 0.04 s for OpenCV's 795-frame ``vtest.avi``, against 0.65 s to decode all);
   when it decodes, the claim stands;
2. otherwise (the claim is false, or the container says nothing, or the codec cannot seek
   there) the frames are decoded from the start and counted, up to the claim: the count is
   the frames that decode.

:class:`FrameCount` keeps both numbers, so a caller can name the difference (the ``video``
dataset logs a warning and counts the frames claimed but not there among its skipped rows).
Only a regular file is handed to the decoder (:func:`~furpe_label.experts.input_files.
input_file_problem`): a FIFO would block it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2

from furpe_label.experts.input_files import input_file_problem

__all__ = ["FrameCount", "frame_count"]


@dataclass(frozen=True)
class FrameCount:
    """The frames of one video.

    Attributes:
        frames: frames that can be decoded, 0..frames-1 (0: not a video, or no frame decodes).
        claimed: frames the container's header claims (0 when it says nothing).
    """

    frames: int
    claimed: int

    @property
    def missing(self) -> int:
        """Frames the header claims that are not there (0 for an honest header)."""
        return max(self.claimed - self.frames, 0) if self.claimed else 0


def _decodes_at(capture: cv2.VideoCapture, index: int) -> bool:
    """Seek ``capture`` to frame ``index`` and decode it; False when it is not there."""
    if index > 0:
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        if int(capture.get(cv2.CAP_PROP_POS_FRAMES)) != index:
            return False
    if not capture.grab():
        return False
    ok, image = capture.retrieve()
    return bool(ok) and image is not None


def _decoded_from_start(path: Path, limit: int | None) -> int:
    """Frames decoded from the start until the stream ends (or ``limit`` are found)."""
    capture = cv2.VideoCapture(str(path))
    try:
        count = 0
        while (limit is None or count < limit) and capture.grab():
            count += 1
        return count
    finally:
        capture.release()


def frame_count(path: str | Path) -> FrameCount:
    """The frames of ``path`` (see the module docstring); ``FrameCount(0, 0)`` for a file that
    is not a regular file or cannot be opened as a video."""
    path = Path(path)
    if input_file_problem(path) is not None:
        return FrameCount(0, 0)
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            return FrameCount(0, 0)
        claimed = max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
        if claimed > 0 and _decodes_at(capture, claimed - 1):
            return FrameCount(claimed, claimed)
    finally:
        capture.release()
    return FrameCount(_decoded_from_start(path, claimed or None), claimed)
