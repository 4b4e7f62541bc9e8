"""Arm-swap scores that see swaps the whole-limb reprojection ratio misses.

A body network that swaps its left and right arms and mirrors them gives a plausible pose:
every joint stays inside its range, and the arms stay on their own side of the body. Two
things still tell the swap from the pose as labelled (the legs have their own score,
:mod:`furpe_label.selection.limb_swap_likelihood`):

* **the 2D bones** (``arms_swap_bone_gain``): the body expert's rotation errors add up along
  each arm (collar, shoulder, elbow: the wrist keypoint carries the error of every joint
  above it), so the keypoint *positions* of a correct label scatter far more than the
  detector's noise and a swap drowns in that scatter. Each *bone* (the 2D vector from a joint's
  keypoint to its child's: shoulder -> elbow, elbow -> wrist) carries far less of it. The
  score is the bones' mean distance to the detected bones as labelled minus the same with the
  arms exchanged left <-> right and mirrored
  (:func:`~furpe_label.selection.signal_scores.swap_limbs`), in the normalised body crop
  (units per bone; distances, not squares, so that one outlying detection does not decide).
  A bone counts where both its keypoints are confident.
* **the hands' rotations** (``arms_swap_hand_gain_rad``): the hand expert sees the hand, so
  its global rotation tells which way the forearm points in 3D, depth included, which no 2D
  keypoint shows. Per hand with an output, the angle between the body expert's global elbow
  rotation and the hand expert's hand rotation (the wrist's own turn in between, small) as
  labelled minus the same with the arms exchanged; the mean over the hands. The elbow, not the
  body's wrist: a body network sees no hand, so its wrist rotation is noise.

Both are positive where the swap explains the evidence better; NaN where not computed.
"""

from __future__ import annotations

import numpy as np
import torch

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.geometry.kinematics import global_rotations
from furpe_label.experts.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES
from furpe_label.experts.vocabulary import Part

__all__ = [
    "ARM_BONES",
    "MIN_BONES",
    "arms_swap_bone_gain",
    "arms_swap_hand_gain",
    "bone_distance",
]

_NAMES = KEYPOINT_NAMES["openpose137"]


def _bones(pairs: tuple[tuple[str, str], ...]) -> np.ndarray:
    return np.array(
        [
            [_NAMES.index(f"{side}_{a}"), _NAMES.index(f"{side}_{b}")]
            for side in ("left", "right")
            for a, b in pairs
        ]
    )


ARM_BONES = _bones((("shoulder", "elbow"), ("elbow", "wrist")))
"""(4, 2) OpenPose-137 (parent, child) keypoints of the arms' bones, left then right."""
MIN_BONES = 2
"""The arms enter ``arms_swap_bone_gain`` with at least this many confident bones."""
_ELBOWS = (18, 19)  # SMPL-X joints: left, right elbow
_HANDS = (Part.LEFT_HAND, Part.RIGHT_HAND)
_MIRROR = np.array([1.0, -1.0, -1.0])
_ARM_JOINTS = ((13, 14), (16, 17), (18, 19), (20, 21))  # collars, shoulders, elbows, wrists


def bone_distance(
    points: np.ndarray, detected: np.ndarray, use: np.ndarray, bones: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Summed distance of 2D bone vectors to the detected ones, and how many bones count.

    Args:
        points, detected: (N, K, 2) projected and detected keypoints (one frame, any unit).
        use: (N, K) bool, the confident finite keypoints.
        bones: (B, 2) keypoint indices (parent, child).

    Returns:
        (N,) ``sum_b |(p_child - p_parent) - (d_child - d_parent)|`` over the bones whose two
        keypoints are used (points' unit), and (N,) int the number of those bones.
    """
    parent, child = bones[:, 0], bones[:, 1]
    counted = use[:, parent] & use[:, child]
    residual = (points[:, child] - points[:, parent]) - (detected[:, child] - detected[:, parent])
    distance = np.where(counted, np.linalg.norm(np.nan_to_num(residual), axis=-1), 0.0)
    return distance.sum(1), counted.sum(1)


def arms_swap_bone_gain(
    labelled: np.ndarray, swapped: np.ndarray, detected: np.ndarray, use: np.ndarray
) -> np.ndarray:
    """(N,) float32 ``arms_swap_bone_gain`` (module docstring), normalised crop units.

    Args:
        labelled, swapped: (N, 137, 2) projected keypoints of the label and of its arms'
            swap, normalised body crop (NaN where not projected).
        detected: (N, 137, 2) detected keypoints, normalised body crop.
        use: (N, 137) bool, the confident detections.
    """
    use = use & np.isfinite(detected).all(-1)
    use &= np.isfinite(labelled).all(-1) & np.isfinite(swapped).all(-1)
    before, count = bone_distance(labelled, detected, use, ARM_BONES)
    after, _ = bone_distance(swapped, detected, use, ARM_BONES)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count >= MIN_BONES, (before - after) / count, np.nan).astype(np.float32)


def _elbow_globals(local: torch.Tensor, parents: torch.Tensor) -> torch.Tensor:
    """(N, 2, 3, 3) global rotations of the elbows from (N, 22, 3, 3) local rotations."""
    return global_rotations(local, parents[:22])[:, list(_ELBOWS)]


def arms_swap_hand_gain(experts: ExpertOutputs, rig) -> np.ndarray:
    """(N,) float32 ``arms_swap_hand_gain_rad`` (module docstring), radians.

    Args:
        experts: the expert outputs (the body's SMPL rotation matrices, the hands' global
            rotations ``pose[:, :3]``, camera frame); NaN where the body or both hands lack one.
        rig: the SMPL-X rig (its ``parents``).
    """
    n = len(experts)
    rotmats = np.asarray(experts.record(Part.BODY).params.rotmats, np.float64)[:, :22]
    body_ok = np.isfinite(rotmats).all(axis=(1, 2, 3))
    local = torch.as_tensor(np.where(body_ok[:, None, None, None], rotmats, np.eye(3)))
    rotvecs = matrix_to_axis_angle(local).numpy()
    swapped = rotvecs.copy()
    for left, right in _ARM_JOINTS:
        swapped[:, [left, right]] = rotvecs[:, [right, left]] * _MIRROR
    elbows = {
        "labelled": _elbow_globals(local, rig.parents),
        "swapped": _elbow_globals(axis_angle_to_matrix(torch.as_tensor(swapped)), rig.parents),
    }
    total, count = np.zeros(n), np.zeros(n, int)
    for side, hand in enumerate(_HANDS):
        pose = np.asarray(experts.record(hand).params.pose, np.float64)[:, :3]
        ok = body_ok & np.isfinite(pose).all(1)
        rotation = axis_angle_to_matrix(torch.as_tensor(np.where(ok[:, None], pose, 0.0)))
        angles = [
            matrix_to_axis_angle(elbows[k][:, side].transpose(-1, -2) @ rotation).norm(dim=-1)
            for k in ("labelled", "swapped")
        ]
        total += np.where(ok, (angles[0] - angles[1]).numpy(), 0.0)
        count += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan).astype(np.float32)
