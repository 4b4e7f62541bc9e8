"""SMPL-X joints -> OpenPose-137, exactly as SMPLify-X maps them.

``smplx.SMPLX(...)(...).joints`` has 127 points (144 with ``use_face_contour=True``):
55 skeleton joints, 21 vertex keypoints (nose, eyes, ears, big/small toes, heels, 10 finger
tips) and 51 face landmarks (+17 contour). SMPLify-X (vchoutas/smplify-x,
smplifyx/utils.py ``smpl_to_openpose(model_type='smplx', use_hands=True, use_face=True,
use_face_contour=..., openpose_format='coco25')``) gives, per OpenPose keypoint, the smplx
joint that models it, in the order body 25, left hand 21, right hand 21, face 51 (+17
contour appended last, because its ``read_keypoints`` moves OpenPose's contour to the end).

The 137 OpenPose slots are filled from that list as follows:
  [0:25]    body    <- SMPLify-X entries 0..24 (neck = smplx neck joint 12, mid-hip = pelvis 0,
                       nose/eyes/ears/feet = smplx vertex keypoints 55..65)
  [25:67]   hands   <- entries 25..66 (hand root = smplx wrist 20/21; finger joints 25..54;
                       tips = vertex keypoints 66..75)
  [67:84]   face contour 0..16   <- smplx 127..143 when ``use_face_contour``, else unmapped
  [84:135]  face 17..67          <- smplx 76..126 (the 51 static landmarks)
  [135:137] pupils               unmapped (SMPL-X has no pupil point)
"""

from __future__ import annotations

import numpy as np
import torch

# SMPLify-X's smpl_to_openpose(model_type='smplx', openpose_format='coco25') body/hand tables.
_BODY = (
    55,
    12,
    17,
    19,
    21,
    16,
    18,
    20,
    0,
    2,
    5,
    8,
    1,
    4,
    7,
    56,
    57,
    58,
    59,
    60,
    61,
    62,
    63,
    64,
    65,
)
_LEFT_HAND = (20, 37, 38, 39, 66, 25, 26, 27, 67, 28, 29, 30, 68, 34, 35, 36, 69, 31, 32, 33, 70)
_RIGHT_HAND = (21, 52, 53, 54, 71, 40, 41, 42, 72, 43, 44, 45, 73, 49, 50, 51, 74, 46, 47, 48, 75)
_FACE_START = 76  # first of the 51 static landmarks in smplx's joints output
_NUM_STATIC_FACE = 51
_NUM_CONTOUR = 17
_FACE_SLOT = 67  # first face slot in OpenPose-137


def num_smplx_joints(use_face_contour: bool) -> int:
    """Number of points in ``smplx.SMPLX`` joints output: 127, or 144 with the contour."""
    return _FACE_START + _NUM_STATIC_FACE + (_NUM_CONTOUR if use_face_contour else 0)


def smplifyx_joint_map(use_face_contour: bool) -> np.ndarray:
    """SMPLify-X's own list: (118,) or (135,) int64 smplx joint indices, in SMPLify-X order.

    Body 25, left hand 21, right hand 21, face landmarks 17..67, then (with contour) face
    landmarks 0..16 — the order of SMPLify-X's keypoint arrays, not OpenPose's.
    """
    face = np.arange(_FACE_START, num_smplx_joints(use_face_contour), dtype=np.int64)
    return np.concatenate([np.asarray(_BODY + _LEFT_HAND + _RIGHT_HAND, dtype=np.int64), face])


def smplx_to_openpose137(use_face_contour: bool) -> tuple[np.ndarray, np.ndarray]:
    """Indices into smplx joints for each OpenPose-137 slot, and which slots have one.

    Returns:
        (137,) int64 smplx joint index per slot (0 where unmapped) and (137,) bool mask.
    """
    smplifyx = smplifyx_joint_map(use_face_contour)
    index = np.zeros(137, dtype=np.int64)
    mask = np.zeros(137, dtype=bool)
    n_body_hands = len(_BODY) + len(_LEFT_HAND) + len(_RIGHT_HAND)
    index[:n_body_hands] = smplifyx[:n_body_hands]
    inner = slice(_FACE_SLOT + _NUM_CONTOUR, _FACE_SLOT + _NUM_CONTOUR + _NUM_STATIC_FACE)
    index[inner] = smplifyx[n_body_hands : n_body_hands + _NUM_STATIC_FACE]
    mask[: inner.stop] = True
    if use_face_contour:
        contour = slice(_FACE_SLOT, _FACE_SLOT + _NUM_CONTOUR)
        index[contour] = smplifyx[n_body_hands + _NUM_STATIC_FACE :]
    else:
        mask[_FACE_SLOT : _FACE_SLOT + _NUM_CONTOUR] = False
    index.setflags(write=False)
    mask.setflags(write=False)
    return index, mask


def smplx_joints_to_openpose137(
    joints: torch.Tensor, use_face_contour: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 127 or 144, 3) smplx joints (metres) -> (B, 137, 3) OpenPose-137 (0 where
    unmapped) and the (137,) bool mask."""
    expected = num_smplx_joints(use_face_contour)
    if joints.shape[-2] != expected:
        raise ValueError(f"expected {expected} smplx joints, got shape {tuple(joints.shape)}")
    index, mask = smplx_to_openpose137(use_face_contour)
    mask_t = torch.tensor(mask, device=joints.device)
    out = joints[..., torch.tensor(index, device=joints.device), :]
    return torch.where(mask_t[:, None], out, torch.zeros_like(out)), mask_t
