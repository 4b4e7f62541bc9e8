"""Rotations (on roma, SPIN's 6D included), kinematics (Rodrigues, forward kinematics,
joint-regressor folding), cameras and crop transforms."""

from __future__ import annotations

from furpe_label.experts.geometry.cameras import D2SCamera, PerspectiveCamera, WeakPerspectiveCamera
from furpe_label.experts.geometry.rotations import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    rot6d_to_matrix,
)

__all__ = [
    "D2SCamera",
    "PerspectiveCamera",
    "WeakPerspectiveCamera",
    "axis_angle_to_matrix",
    "matrix_to_axis_angle",
    "rot6d_to_matrix",
]
