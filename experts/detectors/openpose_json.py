"""``openpose-json`` backend: read precomputed OpenPose output folders.

One JSON file per image (see :mod:`.openpose_format` for the layouts, versions and coordinate
modes understood). The file is found from the ``image_id`` passed to ``detect`` (the image's
path or stem): ``<stem>_keypoints.json``, ``<stem>_openpose.json`` or ``<stem>.json`` in the
folder. All people of the file are matched one-to-one to the dataset's person boxes (IoU of the
keypoint box with the person box, or the fraction of confident keypoints inside it; see
:func:`.boxes.match_people_to_boxes`). Failures per box:

* ``image_id_missing``: ``detect`` was called without ``image_id``.
* ``keypoints_file_missing``: no JSON file for the image.
* ``keypoints_file_invalid``: unreadable file, not JSON, an unknown keypoint layout, or a value
  that is not a finite number (the row's ``detail`` names the file and the problem).
* ``image_unreadable``: normalised coordinates but no usable image to take the size from.
* ``invalid_box``: a non-finite or empty box.
* ``no_person_in_box``: no person of the file matched this box (or the file lists nobody).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from furpe_label.experts.detectors.base import (
    DetectorBase,
    PersonKeypoints,
    as_boxes,
    box_is_valid,
    image_problem,
)
from furpe_label.experts.detectors.boxes import match_people_to_boxes
from furpe_label.experts.detectors.openpose_format import (
    COORDINATE_MODES,
    OpenPoseFormatError,
    candidate_files,
    detect_coordinates,
    read_openpose_json,
    to_pixels,
)
from furpe_label.experts.vocabulary import Reason

LOG = logging.getLogger(__name__)

READER_VERSION = "1"


class OpenPoseJsonDetector(DetectorBase):
    """Keypoints from an OpenPose JSON output folder.

    Args:
        folder: directory holding the per-image JSON files.
        coordinates: "auto" (default), "pixels", "zero_to_one" or "minus_one_to_one" (OpenPose
            ``--keypoint_scale`` 0, 3, 4); see :mod:`.openpose_format`.
        min_conf: confidence above which a keypoint counts for matching people to boxes.
        min_iou: IoU of keypoint box and person box that admits a match.
        min_containment: fraction of confident keypoints inside the box that admits a match.
    """

    name = "openpose-json"

    def __init__(
        self,
        folder: str | Path,
        coordinates: str = "auto",
        min_conf: float = 0.1,
        min_iou: float = 0.3,
        min_containment: float = 0.6,
    ) -> None:
        if coordinates not in COORDINATE_MODES:
            raise ValueError(f"coordinates must be one of {COORDINATE_MODES}, got {coordinates!r}")
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError(f"OpenPose JSON folder {self.folder} does not exist")
        self.coordinates = coordinates
        self.min_conf = min_conf
        self.min_iou = min_iou
        self.min_containment = min_containment

    @property
    def version(self) -> str:
        return f"openpose-json-reader {READER_VERSION} (coordinates={self.coordinates})"

    def find_file(self, image_id: str) -> Path | None:
        """The JSON file of ``image_id`` (path or stem), or ``None``."""
        for path in candidate_files(self.folder, image_id):
            if path.is_file():
                return path
        return None

    def _fail_all(self, n: int, reason: str, detail: str = "") -> list[PersonKeypoints]:
        return [self.failed(reason, detail) for _ in range(n)]

    def detect(
        self, image: np.ndarray | None, boxes: np.ndarray, *, image_id: str | None = None
    ) -> list[PersonKeypoints]:
        """One OpenPose-137 row per (P, 4) pixel-xywh box; see the module docstring.

        ``image`` ((H, W, 3) uint8) is only used for its size with normalised coordinates.
        """
        boxes = as_boxes(boxes)
        if image_id is None:
            return self._fail_all(len(boxes), Reason.IMAGE_ID_MISSING)
        path = self.find_file(str(image_id))
        if path is None:
            LOG.debug("no OpenPose JSON for %s in %s", image_id, self.folder)
            return self._fail_all(
                len(boxes), Reason.KEYPOINTS_FILE_MISSING, f"no OpenPose JSON for {image_id}"
            )
        try:
            people, file_version = read_openpose_json(path)
        except (OSError, OpenPoseFormatError) as err:
            LOG.warning("unusable OpenPose JSON: %s", err)
            problem = str(err) if isinstance(err, OpenPoseFormatError) else f"{path}: {err}"
            return self._fail_all(len(boxes), Reason.KEYPOINTS_FILE_INVALID, problem)
        mode = self.coordinates if self.coordinates != "auto" else detect_coordinates(people)
        image_hw = None if image_problem(image) else image.shape[:2]  # type: ignore[union-attr]
        if mode != "pixels" and image_hw is None:
            return self._fail_all(len(boxes), Reason.IMAGE_UNREADABLE)
        people = [to_pixels(p, mode, image_hw) for p in people]
        valid = [box_is_valid(b) for b in boxes]
        matched = match_people_to_boxes(
            people,
            boxes[np.array(valid, bool)] if any(valid) else np.zeros((0, 4)),
            self.min_conf,
            self.min_iou,
            self.min_containment,
        )
        version = f"openpose {file_version}"
        rows: list[PersonKeypoints] = []
        matched_iter = iter(matched)
        for is_valid in valid:
            if not is_valid:
                rows.append(PersonKeypoints.failed(self.name, version, Reason.INVALID_BOX))
                continue
            index = next(matched_iter)
            if index is None:
                rows.append(PersonKeypoints.failed(self.name, version, Reason.NO_PERSON))
            else:
                rows.append(PersonKeypoints(people[index].astype(np.float32), self.name, version))
        return rows
