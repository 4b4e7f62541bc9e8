"""Joint limits that need no download: loose anatomical ranges, and the finger frames of MANO.

SMPLify's priors (a Gaussian mixture learned from CMU mocap, SPIN's knee/elbow angle prior)
come from data the project cannot ship. The fitters instead combine a pull toward the mean
(or an init record) with these limits, penalised by a one-sided quadratic outside the range.

Body (SMPL, :data:`SMPL_JOINT_NAMES` 1..23): per joint, a range for each axis-angle
component in the joint's local frame (SMPL's rest frame: x to the subject's left, y up, z
forward). Signs follow SMPLify's angle prior: knees bend with positive x, the left elbow
with negative y, the right elbow with positive y. Ranges are written for the left side and
the spine; the right side is their mirror image (x kept, y and z negated). They are loose
(the aim is to forbid the impossible: knees bending forward, elbows backward, heads turned
past the shoulder), so plausible poses pay nothing.

Hands (MANO): finger rotations are decomposed in an anatomical frame per joint, derived from
the model itself: the bone direction (twist axis), the palm normal (abduction axis) and
their cross product (flexion axis), signed so that the model's mean hand (a relaxed, curled
hand) has positive flexion.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "SMPL_JOINT_NAMES",
    "finger_frames",
    "finger_limits",
    "smpl_body_limits",
]

SMPL_JOINT_NAMES = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
)

# (x range, y range, z range), radians, for the left side and the spine.
_BODY_RANGES: dict[str, tuple[tuple[float, float], ...]] = {
    "spine1": ((-0.5, 0.9), (-0.6, 0.6), (-0.5, 0.5)),
    "spine2": ((-0.5, 0.9), (-0.6, 0.6), (-0.5, 0.5)),
    "spine3": ((-0.5, 0.9), (-0.6, 0.6), (-0.5, 0.5)),
    "neck": ((-0.7, 0.9), (-1.0, 1.0), (-0.6, 0.6)),
    "head": ((-0.6, 0.7), (-0.8, 0.8), (-0.5, 0.5)),
    "left_hip": ((-2.4, 0.8), (-0.9, 0.9), (-0.6, 1.4)),
    "left_knee": ((-0.1, 2.7), (-0.4, 0.4), (-0.3, 0.3)),
    "left_ankle": ((-0.8, 0.9), (-0.6, 0.6), (-0.5, 0.5)),
    "left_foot": ((-0.6, 0.6), (-0.3, 0.3), (-0.3, 0.3)),
    "left_collar": ((-0.5, 0.5), (-0.5, 0.5), (-0.4, 0.7)),
    "left_shoulder": ((-1.7, 1.7), (-2.4, 1.2), (-1.9, 1.6)),
    "left_elbow": ((-1.6, 1.6), (-2.7, 0.1), (-0.4, 0.4)),
    "left_wrist": ((-1.3, 1.3), (-1.0, 1.0), (-1.2, 1.0)),
    "left_hand": ((-0.6, 0.6), (-0.6, 0.6), (-0.6, 0.6)),
}

# Finger joints (MCP, PIP, DIP): (flexion, abduction, twist) ranges, radians; the thumb,
# whose MANO frames are far from anatomical axes, only gets wide ranges.
_FINGER_RANGES = (
    ((-0.35, 1.75), (-0.45, 0.45), (-0.35, 0.35)),
    ((-0.10, 1.95), (-0.15, 0.15), (-0.25, 0.25)),
    ((-0.10, 1.60), (-0.15, 0.15), (-0.25, 0.25)),
)
_THUMB_RANGE = ((-0.8, 1.6), (-1.0, 1.0), (-1.0, 1.0))
_THUMB_JOINTS = (13, 14, 15)  # MANO joint order: index 1-3, middle 4-6, pinky 7-9, ring 10-12


def smpl_body_limits() -> tuple[torch.Tensor, torch.Tensor]:
    """(69,) lower and (69,) upper bounds of SMPL's body pose (joints 1..23 x axis-angle xyz),
    radians."""
    low = np.zeros((23, 3))
    high = np.zeros((23, 3))
    for joint, name in enumerate(SMPL_JOINT_NAMES[1:]):
        side_name = name.replace("right_", "left_")
        ranges = np.asarray(_BODY_RANGES[side_name])  # (3, 2)
        if name.startswith("right_"):  # mirror: y and z change sign, so their ranges flip
            ranges = ranges.copy()
            ranges[1:] = -ranges[1:, ::-1]
        low[joint], high[joint] = ranges[:, 0], ranges[:, 1]
    return torch.tensor(low.reshape(-1), dtype=torch.float32), torch.tensor(
        high.reshape(-1), dtype=torch.float32
    )


def finger_frames(
    joints: np.ndarray, parents: np.ndarray, tips: np.ndarray, mean_pose: np.ndarray
) -> np.ndarray:
    """Anatomical frames of MANO's 15 finger joints in the rest pose.

    Args:
        joints: (16, 3) rest joints, metres (MANO order: wrist, index 1-3, middle 1-3,
            pinky 1-3, ring 1-3, thumb 1-3).
        parents: (16,) parent of each joint.
        tips: (5, 3) fingertip points, metres, in thumb, index, middle, ring, pinky order.
        mean_pose: (15, 3) the model's mean finger rotations (axis-angle), used for the sign
            of the flexion axis.

    Returns:
        (15, 3, 3) rows = unit flexion, abduction and twist axes of joints 1..15.
    """
    tip_of_chain = {1: tips[1], 4: tips[2], 7: tips[4], 10: tips[3], 13: tips[0]}
    palm = np.cross(joints[1] - joints[0], joints[7] - joints[0])
    palm /= np.linalg.norm(palm)
    frames = np.zeros((15, 3, 3))
    for joint in range(1, 16):
        children = np.flatnonzero(parents == joint)
        start = joint - (joint - 1) % 3
        child = joints[children[0]] if len(children) else tip_of_chain[start]
        bone = child - joints[joint]
        bone /= np.linalg.norm(bone)
        flexion = np.cross(bone, palm)
        flexion /= np.linalg.norm(flexion)
        frames[joint - 1] = [flexion, np.cross(flexion, bone), bone]
    fingers = [j - 1 for j in range(1, 16) if j not in _THUMB_JOINTS]
    mean_flexion = np.einsum("jk,jk->j", frames[fingers, 0], mean_pose[fingers])
    if mean_flexion.sum() < 0:
        frames[:, :2] *= -1  # flip flexion (and abduction, keeping a right-handed frame)
    return frames


def finger_limits() -> tuple[torch.Tensor, torch.Tensor]:
    """(15, 3) lower and upper bounds of (flexion, abduction, twist) per MANO finger joint."""
    low = np.zeros((15, 3))
    high = np.zeros((15, 3))
    for joint in range(1, 16):
        ranges = _THUMB_RANGE if joint in _THUMB_JOINTS else _FINGER_RANGES[(joint - 1) % 3]
        low[joint - 1] = [r[0] for r in ranges]
        high[joint - 1] = [r[1] for r in ranges]
    return torch.tensor(low, dtype=torch.float32), torch.tensor(high, dtype=torch.float32)
