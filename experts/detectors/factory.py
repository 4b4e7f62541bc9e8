"""``create_detector(name, **options)``: the explicit table of keypoint-detector backends.

=================  ==========================================================================
name               backend (options are its constructor's keyword arguments)
=================  ==========================================================================
``mediapipe``      :class:`.mediapipe_detector.MediaPipeDetector` (default; offline, in the wheel)
``openpose-json``  :class:`.openpose_json.OpenPoseJsonDetector` (``folder=...`` required)
``mmpose``         :class:`.mmpose_detector.MMPoseDetector` (``config=``, ``checkpoint=``; extra
                   ``furpe-label[mmpose]``)
``openpifpaf``     :class:`.openpifpaf_detector.OpenPifPafDetector` (``checkpoint=``; extra
                   ``furpe-label[openpifpaf]``, AGPL-3.0)
=================  ==========================================================================

Backend modules are imported only when their backend is created, so a missing optional extra
fails with its install hint at creation time and never at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from furpe_label.experts.detectors.base import KeypointDetector

DEFAULT_DETECTOR = "mediapipe"


def _mediapipe(**options: Any) -> KeypointDetector:
    from furpe_label.experts.detectors.mediapipe_detector import MediaPipeDetector

    return MediaPipeDetector(**options)


def _openpose_json(**options: Any) -> KeypointDetector:
    from furpe_label.experts.detectors.openpose_json import OpenPoseJsonDetector

    return OpenPoseJsonDetector(**options)


def _mmpose(**options: Any) -> KeypointDetector:
    from furpe_label.experts.detectors.mmpose_detector import MMPoseDetector

    return MMPoseDetector(**options)


def _openpifpaf(**options: Any) -> KeypointDetector:
    from furpe_label.experts.detectors.openpifpaf_detector import OpenPifPafDetector

    return OpenPifPafDetector(**options)


BACKENDS: dict[str, Callable[..., KeypointDetector]] = {
    "mediapipe": _mediapipe,
    "openpose-json": _openpose_json,
    "mmpose": _mmpose,
    "openpifpaf": _openpifpaf,
}


def create_detector(name: str = DEFAULT_DETECTOR, **options: Any) -> KeypointDetector:
    """Create the keypoint detector ``name`` (a key of ``BACKENDS``) with ``options``.

    Raises:
        ValueError: unknown backend name.
        ImportError: an optional backend whose extra is not installed (message names it).
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown keypoint detector {name!r}; known: {', '.join(BACKENDS)}")
    return BACKENDS[name](**options)
