"""Test doubles: the shipped tiny clips (six frames each) with a header claiming more frames.

* :func:`avi_claiming`: ``vtest_tiny.avi`` (Motion-JPEG) with its stream header's ``dwLength``
  (the ``strh`` chunk, what FFmpeg reports as the frame count) and the main header's
  ``dwTotalFrames`` (``avih``) set to ``frames``;
* :func:`mp4_claiming`: ``vtest_tiny.mp4`` (MPEG-4 Part 2) with the sample count of its one
  time-to-sample entry (``stts``) set to ``frames``.

The frame data is untouched: six frames still decode.
"""

from __future__ import annotations

import struct
from pathlib import Path

from tests.support.real_data import SHIPPED

TINY_AVI = SHIPPED / "opencv_samples" / "vtest_tiny.avi"
TINY_MP4 = SHIPPED / "opencv_samples" / "vtest_tiny.mp4"
TINY_FRAMES = 6


def avi_claiming(path: Path, frames: int) -> Path:
    data = bytearray(TINY_AVI.read_bytes())
    main = data.find(b"avih")
    stream = data.find(b"strh")
    struct.pack_into("<I", data, main + 8 + 16, frames)  # dwTotalFrames
    struct.pack_into("<I", data, stream + 8 + 32, frames)  # dwLength
    path.write_bytes(bytes(data))
    return path


def mp4_claiming(path: Path, frames: int) -> Path:
    data = bytearray(TINY_MP4.read_bytes())
    table = data.find(b"stts")
    entries, count, _ = struct.unpack_from(">III", data, table + 8)
    assert entries == 1 and count == TINY_FRAMES, "the seed clip changed"
    struct.pack_into(">I", data, table + 12, frames)  # the entry's sample count
    path.write_bytes(bytes(data))
    return path
