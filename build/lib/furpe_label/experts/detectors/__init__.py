"""Whole-body 2D keypoint detectors producing OpenPose-137 (see ``base`` and ``factory``)."""

from furpe_label.experts.detectors.base import KeypointDetector, PersonKeypoints
from furpe_label.experts.detectors.factory import BACKENDS, create_detector

__all__ = ["BACKENDS", "KeypointDetector", "PersonKeypoints", "create_detector"]
