"""openpose-json backend: the real SPIN fixture, 0.x / 1.x layouts, COCO-18, matching, scales."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from furpe_label.experts.detectors import create_detector
from furpe_label.experts.detectors.openpose_format import (
    OpenPoseFormatError,
    candidate_files,
    read_openpose_json,
)
from tests.support.openpose_files import malformed_openpose_files, write_malformed
from tests.support.real_data import SPIN_EXAMPLE

REAL = SPIN_EXAMPLE


@pytest.fixture(scope="module")
def real_image() -> np.ndarray:
    image = cv2.imread(str(REAL / "im1010.jpg"))
    return np.ascontiguousarray(image[..., ::-1])


def _real_box() -> np.ndarray:
    return np.array([json.loads((REAL / "im1010_bbox.json").read_text())["bbox"]], float)


def test_real_openpose_1_2_file_exact_values(real_image):
    with create_detector("openpose-json", folder=REAL) as detector:
        (row,) = detector.detect(real_image, _real_box(), image_id=str(REAL / "im1010.jpg"))
    assert row.ok and row.detector == "openpose-json" and row.detector_version == "openpose 1.2"
    kps = row.keypoints
    np.testing.assert_allclose(kps[0], [66.4171, 47.0342, 0.614349], rtol=1e-6)  # nose
    np.testing.assert_allclose(kps[1], [78.5691, 57.8892, 0.628322], rtol=1e-6)  # neck
    assert not kps[3].any() and not kps[4].any()  # right elbow, wrist undetected
    np.testing.assert_allclose(kps[24], [34.8817, 157.153, 0.490182], rtol=1e-6)  # right heel
    np.testing.assert_allclose(kps[25], [76.6547, 100.644, 0.0328468], rtol=1e-6)  # left hand 0
    assert kps[25:46, 2].max() == pytest.approx(0.281847)
    assert not kps[46:67].any()  # right hand all zero in the file
    assert not kps[67:].any()  # face all zero in the file -> zero confidence
    assert not kps[17].any() and (kps[:25, 2] > 0).sum() == 22  # right ear missing too


def _flat(n: int, x0: float, y0: float, conf: float = 0.8) -> list[float]:
    out: list[float] = []
    for i in range(n):
        out += [x0 + 3.0 * i, y0 + 4.0 * i, conf]
    return out


def _write(folder: Path, name: str, people: list[dict], version: float | str = 1.3) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps({"version": version, "people": people}))


IMAGE = np.zeros((400, 300, 3), np.uint8)


def test_version_0_layout_with_empty_face_and_hands(tmp_path):
    person = {
        "pose_keypoints": _flat(25, 50, 60),
        "face_keypoints": [],
        "hand_left_keypoints": _flat(21, 40, 150, 0.5),
        "hand_right_keypoints": [],
    }
    _write(tmp_path, "frame_keypoints.json", [person], version=0.1)
    detector = create_detector("openpose-json", folder=tmp_path)
    (row,) = detector.detect(IMAGE, np.array([[30, 40, 120, 200.0]]), image_id="frame.png")
    assert row.ok and row.detector_version == "openpose 0.1"
    np.testing.assert_allclose(row.keypoints[:25], np.reshape(_flat(25, 50, 60), (25, 3)))
    np.testing.assert_allclose(row.keypoints[25:46], np.reshape(_flat(21, 40, 150, 0.5), (21, 3)))
    assert not row.keypoints[46:].any()


def test_version_1_layout_and_clipped_confidence(tmp_path):
    person = {
        "pose_keypoints_2d": _flat(25, 50, 60, 1.02),
        "face_keypoints_2d": _flat(70, 60, 70, 0.6),
        "hand_left_keypoints_2d": [],
        "hand_right_keypoints_2d": _flat(21, 90, 150, 0.4),
    }
    _write(tmp_path, "frame.json", [person])
    detector = create_detector("openpose-json", folder=tmp_path)
    (row,) = detector.detect(IMAGE, np.array([[30, 40, 120, 200.0]]), image_id="frame")
    assert row.ok
    assert np.all(row.keypoints[:25, 2] == 1.0)  # 1.02 clipped
    np.testing.assert_allclose(row.keypoints[67:], np.reshape(_flat(70, 60, 70, 0.6), (70, 3)))
    np.testing.assert_allclose(row.keypoints[46:67], np.reshape(_flat(21, 90, 150, 0.4), (21, 3)))
    assert not row.keypoints[25:46].any()


def test_coco18_body_becomes_body25(tmp_path):
    coco = np.reshape(_flat(18, 50, 60), (18, 3))
    _write(tmp_path, "c_keypoints.json", [{"pose_keypoints": coco.ravel().tolist()}], 0.2)
    (row,) = create_detector("openpose-json", folder=tmp_path).detect(
        IMAGE, np.array([[30, 40, 150, 200.0]]), image_id="c.jpg"
    )
    body = row.keypoints[:25]
    np.testing.assert_allclose(body[:8], coco[:8])  # nose .. left wrist unchanged
    np.testing.assert_allclose(body[9:19], coco[8:18])  # right hip .. left ear shift by one
    np.testing.assert_allclose(body[8, :2], (coco[8, :2] + coco[11, :2]) / 2)  # mid-hip
    assert not body[19:].any()  # no feet in COCO-18


def test_several_people_matched_to_boxes(tmp_path):
    left = {"pose_keypoints_2d": _flat(25, 20, 30)}  # spans x 20..92, y 30..126
    right = {"pose_keypoints_2d": _flat(25, 180, 40)}  # spans x 180..252
    _write(tmp_path, "two_keypoints.json", [right, left])
    boxes = np.array([[10, 20, 100, 120], [170, 30, 100, 120], [0, 300, 50, 50], [0, 0, 0, 5]])
    rows = create_detector("openpose-json", folder=tmp_path).detect(IMAGE, boxes, image_id="two")
    assert rows[0].keypoints[0, 0] == pytest.approx(20) and rows[0].ok
    assert rows[1].keypoints[0, 0] == pytest.approx(180) and rows[1].ok
    assert rows[2].failure == "no_person_in_box"
    assert rows[3].failure == "invalid_box"


def test_normalised_coordinates_auto_and_explicit(tmp_path):
    pixels = np.reshape(_flat(25, 50, 60), (25, 3))
    norm = pixels.copy()
    norm[:, 0] /= IMAGE.shape[1] - 1  # OpenPose --keypoint_scale 3 divides by (W - 1, H - 1)
    norm[:, 1] /= IMAGE.shape[0] - 1
    _write(tmp_path, "n.json", [{"pose_keypoints_2d": norm.ravel().tolist()}])
    box = np.array([[30, 40, 120, 200.0]])
    (auto,) = create_detector("openpose-json", folder=tmp_path).detect(IMAGE, box, image_id="n")
    np.testing.assert_allclose(auto.keypoints[:25], pixels, rtol=1e-5)
    explicit = create_detector("openpose-json", folder=tmp_path, coordinates="zero_to_one")
    np.testing.assert_allclose(
        explicit.detect(IMAGE, box, image_id="n")[0].keypoints[:25], pixels, rtol=1e-5
    )
    # The image size is needed for normalised coordinates.
    assert explicit.detect(None, box, image_id="n")[0].failure == "image_unreadable"
    signed = pixels.copy()
    signed[:, :2] = norm[:, :2] * 2 - 1
    _write(tmp_path, "s.json", [{"pose_keypoints_2d": signed.ravel().tolist()}])
    pm1 = create_detector("openpose-json", folder=tmp_path, coordinates="minus_one_to_one")
    np.testing.assert_allclose(
        pm1.detect(IMAGE, box, image_id="s")[0].keypoints[:25], pixels, rtol=1e-5
    )
    # Pixel coordinates are never mistaken for normalised ones, and need no image.
    _write(tmp_path, "p.json", [{"pose_keypoints_2d": pixels.ravel().tolist()}])
    (row,) = create_detector("openpose-json", folder=tmp_path).detect(None, box, image_id="p")
    np.testing.assert_allclose(row.keypoints[:25], pixels, rtol=1e-6)
    with pytest.raises(ValueError, match="coordinates"):
        create_detector("openpose-json", folder=tmp_path, coordinates="net")


def test_failures_are_named_rows(tmp_path):
    _write(tmp_path, "bad_len.json", [{"pose_keypoints_2d": [1.0] * 30}])
    (tmp_path / "garbage.json").write_text("{not json")
    _write(tmp_path, "nobody.json", [])
    detector = create_detector("openpose-json", folder=tmp_path)
    box = np.array([[0, 0, 50, 50.0], [10, 10, 20, 20]])
    assert [r.failure for r in detector.detect(IMAGE, box)] == ["image_id_missing"] * 2
    assert detector.detect(IMAGE, box, image_id="absent")[0].failure == "keypoints_file_missing"
    assert detector.detect(IMAGE, box, image_id="bad_len")[0].failure == "keypoints_file_invalid"
    assert detector.detect(IMAGE, box, image_id="garbage")[0].failure == "keypoints_file_invalid"
    assert detector.detect(IMAGE, box, image_id="nobody")[1].failure == "no_person_in_box"
    assert detector.detect(IMAGE, np.zeros((0, 4)), image_id="nobody") == []
    with pytest.raises(FileNotFoundError):
        create_detector("openpose-json", folder=tmp_path / "missing")


def test_file_lookup_order_and_subfolders(tmp_path):
    names = [p.relative_to(tmp_path).as_posix() for p in candidate_files(tmp_path, "S1/a.b_1.jpg")]
    assert names[:3] == ["S1/a.b_1_keypoints.json", "S1/a.b_1_openpose.json", "S1/a.b_1.json"]
    assert names[3:] == ["a.b_1_keypoints.json", "a.b_1_openpose.json", "a.b_1.json"]
    # A stem with dots keeps them (H36M names): only image suffixes are stripped.
    assert candidate_files(tmp_path, "S1_Directions_1.54138969_000001")[2].name == (
        "S1_Directions_1.54138969_000001.json"
    )
    shutil.copy(REAL / "im1010_openpose.json", tmp_path / "im1010_openpose.json")
    _write(tmp_path, "im1010_keypoints.json", [])  # OpenPose's own naming wins
    detector = create_detector("openpose-json", folder=tmp_path)
    assert detector.find_file("im1010.jpg") == tmp_path / "im1010_keypoints.json"


@pytest.mark.parametrize("name", sorted(malformed_openpose_files()))
def test_a_malformed_file_is_a_named_row_with_the_file_and_its_problem(tmp_path, name):
    written = write_malformed(tmp_path)
    path, problem = written[name]
    detector = create_detector("openpose-json", folder=tmp_path)
    rows = detector.detect(IMAGE, np.array([[0, 0, 50, 50.0], [10, 10, 20, 20]]), image_id=name)
    assert [row.failure for row in rows] == ["keypoints_file_invalid"] * 2
    assert str(path) in rows[0].detail and problem in rows[0].detail, rows[0].detail


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    os.mkfifo(tmp_path / "fifo_keypoints.json")
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            read_openpose_json(tmp_path / "fifo_keypoints.json")
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(60)  # a bound on a hang, not a timing check: reading a FIFO blocks forever
    assert outcome, "reading the FIFO blocked (no writer will ever come)"
    assert isinstance(outcome[0], OpenPoseFormatError) and "not a regular file" in str(outcome[0])
