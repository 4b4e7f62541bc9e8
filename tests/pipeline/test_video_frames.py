"""Video frames are counted so that a damaged header cannot inflate them: real clips give
exactly their frames, a header claiming thousands gives the frames that decode."""

from __future__ import annotations

import pytest

from furpe_label.pipeline.video_frames import FrameCount, frame_count
from tests.support.doubles.damaged_video_headers import (
    TINY_FRAMES,
    avi_claiming,
    mp4_claiming,
)
from tests.support.real_data import SHIPPED

REAL_CLIPS = {
    "vtest_tiny.avi": 6,
    "vtest_tiny.mp4": 6,
    "vtest_frames.avi": 4,
    "vtest_crop12.mp4": 12,
}


@pytest.mark.parametrize(("name", "frames"), sorted(REAL_CLIPS.items()))
def test_real_clips_give_exactly_their_frames(name, frames):
    assert frame_count(SHIPPED / "opencv_samples" / name) == FrameCount(frames, frames)


@pytest.mark.parametrize("write", [avi_claiming, mp4_claiming], ids=["avi", "mp4"])
def test_a_header_claiming_thousands_of_frames_gives_the_frames_that_decode(tmp_path, write):
    path = write(tmp_path / f"clip.{write.__name__[:3]}", 5000)
    found = frame_count(path)
    assert found == FrameCount(TINY_FRAMES, 5000)
    assert found.missing == 5000 - TINY_FRAMES


def test_no_frames_from_what_is_not_a_video(tmp_path):
    (tmp_path / "text.avi").write_text("not a video")
    assert frame_count(tmp_path / "text.avi") == FrameCount(0, 0)
    assert frame_count(tmp_path / "absent.avi") == FrameCount(0, 0)
    assert FrameCount(0, 0).missing == 0 and FrameCount(3, 0).missing == 0
