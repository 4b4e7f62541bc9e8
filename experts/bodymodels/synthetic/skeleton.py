"""Kinematic trees of the official models and the designed rest skeleton of the synthetic family.

Conventions of the public models: T-pose, y up, the body faces +z, metres; the subject's left
side is +x. Joint orders are those of the ``smplx`` package (SMPL-X: 0-21 body, 22 jaw,
23/24 left/right eye, 25-39 left hand, 40-54 right hand, each hand as index, middle, pinky,
ring, thumb with 3 joints each; MANO: wrist then the same 15 finger joints; FLAME: global,
neck, jaw, left eye, right eye).
"""

from __future__ import annotations

import numpy as np

SMPLX_PARENTS = np.array(
    [
        *(-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15),
        *(20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38),
        *(21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53),
    ],
    dtype=np.int64,
)
"""(55,) parent of each SMPL-X joint, -1 for the root."""

SMPL_PARENTS = np.array(
    [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21],
    dtype=np.int64,
)
"""(24,) parent of each SMPL joint (22/23 are the left/right hand)."""

MANO_PARENTS = np.array([-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14], dtype=np.int64)
"""(16,) parent of each MANO joint: wrist, index1-3, middle1-3, pinky1-3, ring1-3, thumb1-3."""

FLAME_PARENTS = np.array([-1, 0, 1, 1, 1], dtype=np.int64)
"""(5,) parent of each FLAME joint: global, neck, jaw, left eye, right eye."""

JAW, LEFT_EYE, RIGHT_EYE = 22, 23, 24
LEFT_HAND_JOINTS = tuple(range(25, 40))
RIGHT_HAND_JOINTS = tuple(range(40, 55))
FINGERS = ("index", "middle", "pinky", "ring", "thumb")
"""Finger order of the SMPL-X / MANO hand joints."""

MANO_FROM_SMPLX = {"right": (21, *RIGHT_HAND_JOINTS), "left": (20, *LEFT_HAND_JOINTS)}
"""SMPL-X joint of each MANO joint (MANO joint 0 = the SMPL-X wrist)."""

FLAME_FROM_SMPLX = (12, 15, JAW, LEFT_EYE, RIGHT_EYE)
"""SMPL-X joint of each FLAME joint: FLAME's root sits on SMPL-X's neck joint, FLAME's
neck joint on SMPL-X's head joint."""

SMPL_FROM_SMPLX = tuple(range(22))
"""SMPL joints 0..21 are SMPL-X joints 0..21 (identical regressors on shared vertices)."""

KINTREE_ROOT = 4294967295
"""Parent entry of the root in the official kintree tables (uint32 -1)."""


def kintree_table(parents: np.ndarray) -> np.ndarray:
    """(2, J) int64 table as in the official files: parents (root 2**32-1) over joint ids."""
    table = np.stack([parents.astype(np.int64), np.arange(len(parents), dtype=np.int64)])
    table[0, 0] = KINTREE_ROOT
    return table


def mirror_points(points: np.ndarray) -> np.ndarray:
    """(..., 3) points reflected through the sagittal plane x = 0."""
    out = np.array(points, dtype=np.float64, copy=True)
    out[..., 0] *= -1.0
    return out


# --------------------------------------------------------------------------------------------
# Designed rest skeleton (metres). Only the left side is listed; the right is its mirror.
# The final joints are regressed from the mesh (rings built around these points).
# --------------------------------------------------------------------------------------------
FLOOR_Y = -1.13
"""Height of the soles (y, metres); the crown is at about +0.57 (1.70 m tall)."""

HEAD_CENTER = np.array([0.0, 0.455, 0.02])
HEAD_RADII = np.array([0.078, 0.115, 0.10])
"""Centre and semi-axes (x, y, z) of the head ellipsoid the face is carved on (metres)."""

PELVIS = np.array([0.0, -0.24, 0.0])
HIP_L = np.array([0.09, -0.32, 0.0])
KNEE_L = np.array([0.095, -0.72, 0.01])
ANKLE_L = np.array([0.095, -1.045, -0.03])
FOOT_L = np.array([0.10, -1.105, 0.10])
TOE_TIP_L = np.array([0.10, -1.118, 0.162])
SPINE_Y = (-0.13, 0.01, 0.07)
NECK = np.array([0.0, 0.28, -0.005])
HEAD = np.array([0.0, 0.355, 0.0])
JAW_POINT = np.array([0.0, 0.432, 0.0])
COLLAR_L = np.array([0.075, 0.195, -0.005])
SHOULDER_L = np.array([0.19, 0.215, -0.01])
ELBOW_L = np.array([0.44, 0.205, -0.025])
WRIST_L = np.array([0.70, 0.205, -0.02])
