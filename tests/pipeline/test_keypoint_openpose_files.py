"""The keypoint stage on malformed OpenPose files: every row gets ``keypoints_file_invalid``
with the file and its problem in the detail, both for rows with a box (the detector reads the
file) and for rows the person pre-pass left without one (not a misleading
``no_person_in_box``)."""

from __future__ import annotations

import numpy as np

from furpe_label.experts.vocabulary import Reason
from furpe_label.pipeline.keypoint_stage import KeypointSource, detect_keypoints
from tests.support.openpose_files import write_malformed

IMAGE = np.zeros((240, 160, 3), np.uint8)


def _detect(folder, written, boxes: np.ndarray):
    names = sorted(written)
    source = KeypointSource("openpose-json", str(folder))
    try:
        return names, detect_keypoints(
            source,
            [IMAGE] * len(names),
            np.arange(len(names)),
            boxes,
            [Reason.OK] * len(names),
            openpose_files=[str(written[name][0]) for name in names],
            image_names=[f"{name}.jpg" for name in names],
        )
    finally:
        source.close()


def test_rows_with_a_box_name_the_file_and_its_problem(tmp_path):
    written = write_malformed(tmp_path)
    boxes = np.tile([10.0, 10.0, 100.0, 200.0], (len(written), 1))
    names, found = _detect(tmp_path, written, boxes)
    for row, name in enumerate(names):
        path, problem = written[name]
        assert found.failure[row] is Reason.KEYPOINTS_FILE_INVALID, (name, found.failure[row])
        assert str(path) in found.detail[row] and problem in found.detail[row], found.detail[row]


def test_rows_left_without_a_box_name_the_file_and_its_problem(tmp_path):
    written = write_malformed(tmp_path)
    names, found = _detect(tmp_path, written, np.full((len(written), 4), np.nan))
    for row, name in enumerate(names):
        path, problem = written[name]
        assert found.failure[row] is Reason.KEYPOINTS_FILE_INVALID, (name, found.failure[row])
        assert str(path) in found.detail[row] and problem in found.detail[row], found.detail[row]
