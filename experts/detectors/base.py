"""The keypoint-detector protocol: an image and person boxes in, OpenPose-137 per person out.

Every backend (MediaPipe, OpenPose JSON folders, mmpose, openpifpaf) implements
:class:`KeypointDetector`. ``detect`` returns exactly one :class:`PersonKeypoints` per input box,
in box order. Bad input (an unreadable image, a degenerate box, a missing JSON file, no person
found) never raises out of ``detect``: the row carries a named ``failure`` reason and all-zero
keypoints, so the pipeline can write an audit row for every sample.

OpenPose-137 layout (``furpe_label.experts.keypoints.conventions.OPENPOSE137_PARTS``): body 25,
left hand 21, right hand 21, face 70 (68 + 2 pupils). Coordinates are pixels of the original
image (x right, y down, pixel centres at integer coordinates as OpenPose writes them), the third
column a confidence in [0, 1]; a keypoint that was not detected is (0, 0, 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

import numpy as np

from furpe_label.experts.vocabulary import Reason

NUM_KEYPOINTS = 137

# The reasons a detector row can fail with (members of the project's one Reason enum).
FAILURE_REASONS = frozenset(
    {
        Reason.IMAGE_UNREADABLE,
        Reason.INVALID_BOX,
        Reason.NO_PERSON,
        Reason.IMAGE_ID_MISSING,
        Reason.KEYPOINTS_FILE_MISSING,
        Reason.KEYPOINTS_FILE_INVALID,
        Reason.BACKEND_ERROR,
    }
)


def _frozen_array(value: np.ndarray | None, shape: tuple[int, int], name: str) -> None:
    if value is None:
        return
    if value.shape != shape or value.dtype != np.float32:
        raise ValueError(f"{name} must be float32 {shape}, got {value.dtype} {value.shape}")
    value.setflags(write=False)


@dataclass(frozen=True)
class PersonKeypoints:
    """Whole-body 2D keypoints of one person box.

    Attributes:
        keypoints: (137, 3) float32 OpenPose-137 (x, y) in pixels of the original image and a
            confidence in [0, 1]; undetected keypoints are all zero.
        detector: backend name, e.g. "mediapipe".
        detector_version: backend/model version string recorded with the labels.
        failure: ``None`` when the person was processed, else one of ``FAILURE_REASONS``
            (keypoints are then all zero); a :class:`Reason` member.
        world_landmarks: optional (33, 3) float32 MediaPipe pose world landmarks, metres,
            origin at the hip centre (x right, y down, z towards the camera is negative).
        left_hand_world_landmarks: optional (21, 3) float32 MediaPipe hand world landmarks of
            the person's left hand, metres, origin at the hand's geometric centre.
        right_hand_world_landmarks: optional (21, 3) float32, the same for the right hand.
        detail: free text beside a ``failure`` (the file and its problem), else "".
    """

    keypoints: np.ndarray
    detector: str
    detector_version: str
    failure: Reason | None = None
    world_landmarks: np.ndarray | None = None
    left_hand_world_landmarks: np.ndarray | None = None
    right_hand_world_landmarks: np.ndarray | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        _frozen_array(self.keypoints, (NUM_KEYPOINTS, 3), "keypoints")
        _frozen_array(self.world_landmarks, (33, 3), "world_landmarks")
        _frozen_array(self.left_hand_world_landmarks, (21, 3), "left_hand_world_landmarks")
        _frozen_array(self.right_hand_world_landmarks, (21, 3), "right_hand_world_landmarks")
        if self.failure is not None:
            if self.failure not in FAILURE_REASONS:
                raise ValueError(f"unknown failure reason {self.failure!r}")
            object.__setattr__(self, "failure", Reason(self.failure))

    @property
    def ok(self) -> bool:
        """True when the person was processed (no failure reason)."""
        return self.failure is None

    @classmethod
    def failed(
        cls, detector: str, detector_version: str, reason: str, detail: str = ""
    ) -> PersonKeypoints:
        """A row with all-zero (137, 3) keypoints, the named failure ``reason`` and ``detail``."""
        zeros = np.zeros((NUM_KEYPOINTS, 3), np.float32)
        return cls(zeros, detector, detector_version, reason, detail=detail)


@runtime_checkable
class KeypointDetector(Protocol):
    """Images + person boxes in, one OpenPose-137 row per box out.

    ``detect(image, boxes)``:
        image: (H, W, 3) uint8 RGB array of the whole original image.
        boxes: (P, 4) float person boxes, pixel ``xywh`` (top-left x, y, width, height) of that
            image.
        image_id: optional keyword: the path (or stem) the image was read from; backends that
            read precomputed outputs (``openpose-json``) need it, others ignore it.
        returns: ``list[PersonKeypoints]`` of length P, in box order.

    Only a ``boxes`` argument that cannot be read as (P, 4) raises ``ValueError`` (a caller bug);
    every data problem becomes a row with a ``failure`` reason.
    """

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def detect(
        self, image: np.ndarray | None, boxes: np.ndarray, *, image_id: str | None = None
    ) -> list[PersonKeypoints]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class DetectorBase:
    """Plumbing shared by the backends: the name/version pair that every output row carries,
    failure rows, and context-manager use (``with create_detector(...) as d:``).

    Subclasses set the class attribute ``name`` and an instance ``version`` (or property).
    """

    name: str = ""
    version: str = ""

    def failed(self, reason: str, detail: str = "") -> PersonKeypoints:
        """A failure row of this detector with the named ``reason`` (and ``detail``)."""
        return PersonKeypoints.failed(self.name, self.version, reason, detail)

    def unusable_image_rows(
        self, image: np.ndarray | None, boxes: np.ndarray
    ) -> list[PersonKeypoints] | None:
        """One failure row per (P, 4) box when ``image`` is not an (H, W, 3) uint8 image, else
        None (the image can be run)."""
        problem = image_problem(image)
        return None if problem is None else [self.failed(problem) for _ in boxes]

    def close(self) -> None:
        """Release backend resources; the default has none."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def as_boxes(boxes: np.ndarray) -> np.ndarray:
    """Read person boxes as (P, 4) float64 pixel xywh; ``ValueError`` if not (P, 4)-shaped."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 4), np.float64)
    if arr.ndim == 1 and arr.shape[0] == 4:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"boxes must have shape (P, 4) pixel xywh, got {arr.shape}")
    return arr


def box_is_valid(box: np.ndarray) -> bool:
    """True for a finite (4,) xywh box with positive width and height."""
    return bool(np.all(np.isfinite(box)) and box[2] > 0 and box[3] > 0)


def image_problem(image: np.ndarray | None) -> str | None:
    """``Reason.IMAGE_UNREADABLE`` unless ``image`` is a non-empty (H, W, 3) uint8 array."""
    if not isinstance(image, np.ndarray):
        return Reason.IMAGE_UNREADABLE
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        return Reason.IMAGE_UNREADABLE
    if image.shape[0] < 2 or image.shape[1] < 2:
        return Reason.IMAGE_UNREADABLE
    return None
