"""The keypoint stage of a shard: decoded images + person boxes -> OpenPose-137 per instance.

Three sources, chosen by the run (``RunConfig.detector``):

* ``mediapipe`` (default, offline): the detector runs on each image once with all its boxes;
* ``openpose-json``: each row's ``openpose_json`` file (or ``RunConfig.openpose``'s folder
  searched by the image's name), the person matched to the row's box;
* ``ground-truth``: the dataset's own whole-body keypoints (manifest ``keypoints2d``).

Every instance ends with keypoints or a named :class:`Reason` (+ detail); nothing raises.
:func:`~furpe_label.pipeline.whole_person_stage.keep_whole_persons` then grows (once) or drops
the boxes that cut their person, and :func:`mark_duplicate_people` keeps one candidate per
person among the rows of each image
(:mod:`furpe_label.selection.duplicates`); the others end with ``duplicate_person``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from furpe_label.experts.detectors import KeypointDetector, create_detector
from furpe_label.experts.vocabulary import Reason
from furpe_label.pipeline.config import KEYPOINT_SOURCES
from furpe_label.pipeline.person_finder import find_people
from furpe_label.selection.config import SelectionConfig
from furpe_label.selection.duplicates import DuplicateConfig, find_duplicates
from furpe_label.selection.step1_keypoints import confident_mask

__all__ = [
    "KeypointSource",
    "ShardKeypoints",
    "concat_keypoints",
    "detect_keypoints",
    "mark_duplicate_people",
]

N_KEYPOINTS = 137


@dataclass
class ShardKeypoints:
    """Keypoints of N instances.

    Attributes:
        keypoints: (N, 137, 3) float32 OpenPose-137 ``(x, y, conf)``, pixels (0 where none).
        failure: N :class:`Reason` (``OK`` where keypoints exist).
        detail: N strings beside the reasons.
        world_landmarks: (N, 33, 3) float32 MediaPipe pose world landmarks, metres (NaN: none).
        detector: "name version" of the source.
    """

    keypoints: np.ndarray
    failure: list[Reason]
    detail: list[str]
    world_landmarks: np.ndarray
    detector: str

    @classmethod
    def empty(cls, count: int, failure: Sequence[Reason], detector: str) -> ShardKeypoints:
        return cls(
            keypoints=np.zeros((count, N_KEYPOINTS, 3), np.float32),
            failure=list(failure),
            detail=[""] * count,
            world_landmarks=np.full((count, 33, 3), np.nan, np.float32),
            detector=detector,
        )

    def take(self, rows: np.ndarray) -> ShardKeypoints:
        """The instances ``rows`` ((M,) int positions or (N,) bool mask), in that order."""
        index = np.arange(len(self.failure))[rows]
        return ShardKeypoints(
            keypoints=self.keypoints[index],
            failure=[self.failure[i] for i in index],
            detail=[self.detail[i] for i in index],
            world_landmarks=self.world_landmarks[index],
            detector=self.detector,
        )


def concat_keypoints(pieces: Sequence[ShardKeypoints]) -> ShardKeypoints:
    """The keypoints of consecutive row blocks as one."""
    return ShardKeypoints(
        keypoints=np.concatenate([p.keypoints for p in pieces]),
        failure=[f for p in pieces for f in p.failure],
        detail=[d for p in pieces for d in p.detail],
        world_landmarks=np.concatenate([p.world_landmarks for p in pieces]),
        detector=pieces[0].detector if pieces else "",
    )


class KeypointSource:
    """One worker's keypoint source (the detector is created once and reused).

    Args:
        name: ``mediapipe``, ``openpose-json`` or ``ground-truth``.
        openpose_folder: for ``openpose-json`` rows without their own file path.
    """

    def __init__(self, name: str, openpose_folder: str | None = None) -> None:
        if name not in KEYPOINT_SOURCES:
            raise ValueError(f"unknown keypoint source {name!r}")
        self.name = name
        self.openpose_folder = openpose_folder
        self._detectors: dict[str, KeypointDetector] = {}

    def detector(self, folder: str | None = None) -> KeypointDetector:
        """The detector for OpenPose files in ``folder`` (or MediaPipe), created once."""
        key = folder or ""
        if key not in self._detectors:
            if self.name == "mediapipe":
                self._detectors[key] = create_detector("mediapipe")
            else:
                self._detectors[key] = create_detector("openpose-json", folder=folder)
        return self._detectors[key]

    @property
    def version(self) -> str:
        if self.name == "ground-truth":
            return "ground-truth annotations"
        if self.name == "openpose-json":
            return "openpose-json (precomputed OpenPose files)"
        detector = self.detector()
        return f"{detector.name} {detector.version}"

    def close(self) -> None:
        for detector in self._detectors.values():
            detector.close()
        self._detectors.clear()


def detect_keypoints(
    source: KeypointSource,
    images: Sequence[np.ndarray | None],
    image_index: np.ndarray,
    boxes: np.ndarray,
    failure: Sequence[Reason],
    gt_keypoints: np.ndarray | None = None,
    openpose_files: Sequence[str | None] | None = None,
    image_names: Sequence[str] | None = None,
) -> ShardKeypoints:
    """Keypoints of N instances (see the module docstring).

    Args:
        source: the worker's keypoint source.
        images: decoded images (None where decoding failed).
        image_index: (N,) index into ``images`` per instance.
        boxes: (N, 4) float person boxes, pixel xywh (NaN where the dataset and the person
            finder gave none).
        failure: N reasons from decoding (``OK`` where the image is usable).
        gt_keypoints: (N, 137, 3) the dataset's keypoints (NaN rows: none), for
            ``ground-truth``.
        openpose_files: N OpenPose JSON paths (or None), for ``openpose-json``.
        image_names: N image paths / names (the JSON file is searched by the image's stem).
    """
    count = len(image_index)
    out = ShardKeypoints.empty(count, failure, source.name)
    no_box = ~np.isfinite(boxes).all(axis=1)
    for row in np.flatnonzero(no_box):
        if out.failure[row] is Reason.OK:
            own = openpose_files[row] if openpose_files is not None else None
            image = images[int(image_index[row])]
            out.failure[row], out.detail[row] = _why_no_box(image, own)
    usable = np.array([f is Reason.OK for f in out.failure], dtype=bool)
    if source.name == "ground-truth":
        _from_ground_truth(out, usable, gt_keypoints)
        return out
    groups: dict[tuple[int, str | None], list[int]] = defaultdict(list)
    for row in np.flatnonzero(usable):
        folder = None
        if source.name == "openpose-json":
            own = openpose_files[row] if openpose_files is not None else None
            folder = str(Path(own).parent) if own else source.openpose_folder
        groups[(int(image_index[row]), folder)].append(int(row))
    for (image_id, folder), rows in groups.items():
        if source.name == "openpose-json" and folder is None:
            for row in rows:
                out.failure[row] = Reason.KEYPOINTS_FILE_MISSING
                out.detail[row] = "no OpenPose JSON file or folder for this image"
            continue
        name = None if image_names is None else Path(image_names[rows[0]]).name
        people = source.detector(folder).detect(
            images[image_id], boxes[rows].astype(np.float64), image_id=name
        )
        for row, person in zip(rows, people, strict=True):
            out.keypoints[row] = person.keypoints
            if not person.ok:
                out.failure[row] = person.failure
                out.detail[row] = person.detail or person.detector
            elif person.world_landmarks is not None:
                out.world_landmarks[row] = person.world_landmarks
    out.detector = source.version
    return out


def _why_no_box(image: np.ndarray | None, openpose_file: str | None) -> tuple[Reason, str]:
    """Why the person pre-pass gave a row no box: its OpenPose file's problem (missing,
    malformed: the file and the problem) or nobody found."""
    if openpose_file is not None and image is not None:
        found = find_people(image, openpose_file)
        if found.failure is not None:
            return found.failure, found.detail
    return Reason.NO_PERSON, "no person box was found"


def _from_ground_truth(
    out: ShardKeypoints, usable: np.ndarray, gt_keypoints: np.ndarray | None
) -> None:
    for row in np.flatnonzero(usable):
        values = None if gt_keypoints is None else gt_keypoints[row]
        if values is None or not np.isfinite(values).all():
            out.failure[row] = Reason.KEYPOINTS_FILE_MISSING
            out.detail[row] = "the dataset has no whole-body keypoints for this instance"
            continue
        out.keypoints[row] = values
    out.detector = "ground-truth annotations"


def mark_duplicate_people(
    keypoints: ShardKeypoints,
    images: Sequence[str],
    sample_idx: np.ndarray,
    selection: SelectionConfig,
    config: DuplicateConfig,
) -> np.ndarray:
    """One candidate per person: rows of one image whose keypoints agree (OKS) are one person;
    all but the most complete get ``duplicate_person`` (in place, detail naming the kept row).

    Args:
        keypoints: N instances; only those with keypoints (``failure`` OK) take part.
        images: N image keys (image path or ``video#frame``): every row of each image.
        sample_idx: (N,) int64 the rows' ``sample_idx``.
        selection: step 1's confidence thresholds (which keypoints are confident).
        config: the OKS threshold.

    Returns:
        (N,) bool: the rows marked now.
    """
    reached = np.array([why is Reason.OK for why in keypoints.failure], dtype=bool)
    confident = confident_mask(keypoints.keypoints, selection)
    found = find_duplicates(
        keypoints.keypoints, confident, images, reached, np.asarray(sample_idx), config
    )
    for row in np.flatnonzero(found.mask):
        keypoints.failure[row] = Reason.DUPLICATE_PERSON
        kept = int(sample_idx[found.owner[row]])
        keypoints.detail[row] = f"same person as sample {kept} (OKS {found.oks[row]:.3f})"
    return found.mask
