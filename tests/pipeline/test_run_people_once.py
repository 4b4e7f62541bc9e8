"""Each person once, on a real street video: ``furpe-label run`` on the 12 frames of OpenCV's
``vtest.avi`` in ``tests/data/opencv_samples/vtest_crop12.mp4`` (cropped, 2x).

People counted by eye on every frame (drawn with the run's boxes, outcomes and meshes): a man
standing at the left, a man half hidden behind the sign post, a man in black walking across,
a couple walking at the top right, and in frames 0-3 a man cut by the right edge: 6, 6, 6, 6,
then 5 people. In frames 0, 3 and 8 the person finder boxes both of the couple, one box
reaching into the other's; MediaPipe's pose followed the man in red in both boxes, so the
woman's row ended as a ``duplicate_person`` of his and she got no label.
"""

from __future__ import annotations

import numpy as np
import pytest

from furpe_label.selection.config import SelectionConfig
from furpe_label.selection.duplicates import pairwise_oks
from furpe_label.selection.step1_keypoints import confident_mask
from furpe_label.storage.manifest import column_array, read_manifest
from tests.support.pipeline_support import audit_frame, store_arrays

pytestmark = pytest.mark.slow

VISIBLE = [6, 6, 6, 6, 5, 5, 5, 5, 5, 5, 5, 5]  # people per frame, counted by eye


def test_each_person_of_a_real_street_video_gets_at_most_one_label(crop12_run):
    out = crop12_run
    manifest = read_manifest(out)
    frames = np.array(manifest.column("frame_index").to_pylist())
    audit = audit_frame(out).sort_values("sample_idx")
    kept = (audit["drop_stage"].astype(str) == "kept").to_numpy()
    keypoints = store_arrays(out)["keypoints2d"].astype(np.float64)
    confident = confident_mask(np.nan_to_num(keypoints), SelectionConfig())
    for frame, visible in enumerate(VISIBLE):
        rows = np.flatnonzero((frames == frame) & kept)
        assert len(rows) <= visible, (frame, len(rows))
        oks = pairwise_oks(keypoints[rows], confident[rows])
        np.fill_diagonal(oks, 0.0)
        assert oks.max(initial=0.0) < 0.5, (frame, oks)  # kept labels are distinct people
    assert (audit["drop_reason"].astype(str) != "duplicate_person").all()

    boxes = column_array(manifest, "box_xywh")[0]
    torso = keypoints[:, [2, 5, 9, 12], :2].mean(axis=1)  # shoulders and hips
    couple = kept & (torso[:, 0] > 300) & (torso[:, 1] < 200)
    for frame in (0, 3, 8):  # both of the couple, each on the person of the row's box
        rows = np.flatnonzero(couple & (frames == frame))
        assert len(rows) == 2, (frame, boxes[frames == frame])
        low, high = boxes[rows, :2], boxes[rows, :2] + boxes[rows, 2:]
        assert ((torso[rows] >= low) & (torso[rows] <= high)).all()
