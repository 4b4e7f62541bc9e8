"""Keypoint conventions (one table, converted in one place) and fast OpenPose-137 of SMPL-X."""

from __future__ import annotations

from furpe_label.experts.keypoints.conventions import (
    KEYPOINT_NAMES,
    OPENPOSE137_PARTS,
    convert,
    mapping,
)
from furpe_label.experts.keypoints.fast_openpose import OpenPoseFromSMPLX

__all__ = ["KEYPOINT_NAMES", "OPENPOSE137_PARTS", "OpenPoseFromSMPLX", "convert", "mapping"]
