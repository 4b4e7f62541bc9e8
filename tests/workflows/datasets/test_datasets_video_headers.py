"""The ``video`` dataset makes rows only for frames that decode: a damaged header claiming
thousands of frames gives the real frames' rows, a warning naming both numbers and a count
of the missing frames in the manifest's ``skipped``."""

from __future__ import annotations

import logging
import shutil

from furpe_label.workflows.datasets import ADAPTERS
from furpe_label.workflows.datasets.video import HEADER_FRAMES_MISSING
from tests.support.doubles.damaged_video_headers import (
    TINY_AVI,
    TINY_FRAMES,
    avi_claiming,
    mp4_claiming,
)


def test_a_damaged_header_makes_rows_only_for_frames_that_decode(tmp_path, caplog):
    root = tmp_path / "videos"
    root.mkdir()
    avi_claiming(root / "damaged.avi", 5000)
    mp4_claiming(root / "damaged.mp4", 3000)
    shutil.copy(TINY_AVI, root / "intact.avi")
    adapter = ADAPTERS["video"](root=root)
    with caplog.at_level(logging.WARNING):
        table = adapter.build_manifest()
    videos = [path.rsplit("/", 1)[-1] for path in table.column("video_path").to_pylist()]
    assert {name: videos.count(name) for name in set(videos)} == {
        "damaged.avi": TINY_FRAMES,
        "damaged.mp4": TINY_FRAMES,
        "intact.avi": TINY_FRAMES,
    }
    assert adapter.info()["skipped"] == {HEADER_FRAMES_MISSING: 5000 + 3000 - 2 * TINY_FRAMES}
    warnings = [r.getMessage() for r in caplog.records if "header claims" in r.getMessage()]
    assert len(warnings) == 2
    assert any("damaged.avi: the header claims 5000 frames, only 6 decode" in w for w in warnings)
