"""Whole-body 2D keypoint detectors producing OpenPose-137 (see ``base`` and ``factory``), and
person boxes from OpenCV's detectors for images whose dataset gives none (``person_boxes``)."""

from furpe_label.experts.detectors.base import KeypointDetector, PersonKeypoints
from furpe_label.experts.detectors.factory import BACKENDS, create_detector

__all__ = ["BACKENDS", "KeypointDetector", "PersonKeypoints", "create_detector"]
