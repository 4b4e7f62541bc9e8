"""The store's OpenPose-137 keypoints in mmhuman3d's 190-point ``human_data`` convention.

mmhuman3d's ``HumanImageDataset`` converts ``keypoints2d`` with
``convert_kps(src=keypoints2d_convention, dst='human_data')`` style calls that expect the
190 ``HUMAN_DATA`` points (mmhuman3d/core/conventions/keypoints_mapping/human_data.py), and
SMPLer-X's ``HumanDataset.load_data`` indexes ``keypoints2d[:, SMPLX_137_MAPPING]`` with
indices into that same order (its first 144 points are the SMPL-X joints + keypoints, "same
mapping for 144->137 and 190->137"). So one array in ``human_data`` order serves both.

:data:`OPENPOSE137_TO_HUMAN_DATA` is mmhuman3d's own name matching
(``get_mapping('openpose_137', 'human_data')``, exact names) for 125 of the 137 points, plus
the 10 eyebrow points, which mmhuman3d spells ``right_eye_brow_k`` in ``openpose_137`` and
``right_eyebrow_k`` in ``human_data`` (the same dlib landmarks 17-26). The two OpenPose
pupils (``*_eyeball_unused`` in mmhuman3d) have no ``human_data`` point and are left out.
As in mmhuman3d, the OpenPose body points go to the SMPL-X joint slots of the same name
(``pelvis`` = OpenPose MidHip, hips, knees, ...), the OpenPose hand roots to
``left_wrist_openpose`` / ``right_wrist_openpose``.
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.keypoints.smplx_openpose import smplx_to_openpose137
from furpe_label.experts.vocabulary import Part

__all__ = [
    "HUMAN_DATA_CONVENTION",
    "HUMAN_DATA_POINTS",
    "OPENPOSE137_TO_HUMAN_DATA",
    "human_data_keypoints",
    "human_data_mask",
    "openpose137_from_human_data",
]

HUMAN_DATA_CONVENTION = "human_data"
"""mmhuman3d's name of the convention (``keypoints2d_convention``)."""
HUMAN_DATA_POINTS = 190
"""Number of points in mmhuman3d's ``human_data`` convention."""

_SMPLX_POINTS = 144
"""SMPL-X's joints with the face contour: the first 144 ``human_data`` points."""
_LEFT_WRIST_OPENPOSE = 160
_RIGHT_WRIST_OPENPOSE = 157
"""``human_data`` keeps OpenPose's hand roots apart from the SMPL-X wrist joints (20, 21)."""


def _openpose137_to_human_data() -> np.ndarray:
    """``human_data``'s first 144 points are the SMPL-X joints with the face contour, so the
    map is SMPLify-X's SMPL-X -> OpenPose-137 table, with the hand roots moved to their own
    ``*_wrist_openpose`` points and the pupils (no SMPL-X point) unmapped."""
    index, mapped = smplx_to_openpose137(use_face_contour=True)
    out = np.where(mapped, index, -1)
    out[Part.LEFT_HAND.keypoint_slice.start] = _LEFT_WRIST_OPENPOSE
    out[Part.RIGHT_HAND.keypoint_slice.start] = _RIGHT_WRIST_OPENPOSE
    out.setflags(write=False)
    return out


OPENPOSE137_TO_HUMAN_DATA = _openpose137_to_human_data()
"""(137,) int64: the ``human_data`` index of each OpenPose-137 point, -1 where it has none."""


def _parts() -> dict[Part, np.ndarray]:
    """Part -> the ``human_data`` indices its OpenPose-137 points land on."""
    out = {}
    for part in Part:
        targets = OPENPOSE137_TO_HUMAN_DATA[part.keypoint_slice]
        out[part] = targets[targets >= 0]
    return out


HUMAN_DATA_PART_POINTS = _parts()
"""Part -> (K_part,) int64 ``human_data`` indices written from that part's keypoints."""


def human_data_keypoints(openpose137: np.ndarray) -> np.ndarray:
    """OpenPose-137 ``(x, y, confidence)`` -> ``human_data`` order.

    Args:
        openpose137: (B, 137, 3) float32 pixels and confidence, finite (missing = zeros).

    Returns:
        (B, 190, 3) float32; points without an OpenPose source are ``(0, 0, 0)``.
    """
    points = np.asarray(openpose137, dtype=np.float32)
    if points.ndim != 3 or points.shape[1:] != (137, 3):
        raise ValueError(f"expected (B, 137, 3) OpenPose-137 keypoints, got {points.shape}")
    out = np.zeros((len(points), HUMAN_DATA_POINTS, 3), np.float32)
    has = OPENPOSE137_TO_HUMAN_DATA >= 0
    out[:, OPENPOSE137_TO_HUMAN_DATA[has]] = points[:, has]
    return out


def openpose137_from_human_data(points: np.ndarray) -> np.ndarray:
    """Inverse of :func:`human_data_keypoints`: ``human_data`` (190) or SMPL-X (its first 144
    points) order -> OpenPose-137.

    Args:
        points: (B, K, C) with K 190 or 144, any channels (pixels + confidence, metres + ...).

    Returns:
        (B, 137, C) float32; the two OpenPose pupils (no ``human_data`` point) are zeros.
    """
    values = np.asarray(points, dtype=np.float32)
    if values.ndim != 3 or values.shape[1] not in (HUMAN_DATA_POINTS, _SMPLX_POINTS):
        raise ValueError(f"expected (B, 190 or 144, C) human_data points, got {values.shape}")
    table = OPENPOSE137_TO_HUMAN_DATA
    if values.shape[1] == _SMPLX_POINTS:  # SMPL-X order: the hand roots are its wrist joints
        index, mapped = smplx_to_openpose137(use_face_contour=True)
        table = np.where(mapped, index, -1)
    out = np.zeros((len(values), 137, values.shape[2]), np.float32)
    has = table >= 0
    out[:, has] = values[:, table[has]]
    return out


def human_data_mask(parts: frozenset[Part] | set[Part] = frozenset(Part)) -> np.ndarray:
    """(190,) uint8 ``keypoints2d_mask``: 1 on the points written from ``parts``' keypoints."""
    mask = np.zeros(HUMAN_DATA_POINTS, np.uint8)
    for part in parts:
        mask[HUMAN_DATA_PART_POINTS[part]] = 1
    return mask
