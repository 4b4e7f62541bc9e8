"""Keypoint conventions: one name table per convention, converted in one place.

Every convention is a tuple of canonical point names (``KEYPOINT_NAMES``). Two conventions
share a point when they use the same name; a short explicit alias table (``ALIASES``) adds the
documented equivalences whose names differ (e.g. the SMPL-X pelvis joint is OpenPose's
MidHip, as in SMPLify-X and SPIN). Canonical names are the ``smplx`` package's joint names
(smplx/joint_names.py) wherever SMPL-X has the point — so the ``smplx`` convention is exactly
the package's output order — and descriptive names elsewhere.

Conventions (counts):
  openpose137         body 25 [0:25], left hand 21 [25:46], right hand 21 [46:67], face 70
                      [67:137] = 68 dlib-order landmarks + right pupil (68) + left pupil (69)
  openpose25, openpose_face70, openpose_hand21 (one hand, no side)
  coco_wholebody133   body 17, feet 6, face 68, left hand 21, right hand 21
  mediapipe_pose33, mediapipe_hand21 (one hand, OpenPose hand order),
  mediapipe_face468, mediapipe_face478 (468 + 10 iris points)
  smplx (127: 55 joints + 21 vertex keypoints + 51 face landmarks), smplx144 (+17 contour)
  h36m17              Human3.6M dataset order (right leg 1-3, as the H36M annotations)
  h36m17_spin         SPIN's J_regressor_h36m output order (left leg 1-3)
  spin24              SPIN's 24 ground-truth joints (constants.JOINT_NAMES[25:])

One-hand conventions carry no side: place them with ``OPENPOSE137_PARTS`` (same order).
"""

from __future__ import annotations

import functools

import numpy as np
from smplx.joint_names import JOINT_NAMES as _SMPLX_JOINT_NAMES

from furpe_label.experts.keypoints.tables_mediapipe import MEDIAPIPE_POSE33, mediapipe_face_names

_FINGERS = ("thumb", "index", "middle", "ring", "pinky")


def _hand(prefix: str) -> tuple[str, ...]:
    """21 hand points, OpenPose order: root (wrist), then per finger 3 joints and the tip.

    Joint names are smplx's (``left_index1``..``3``; the tip is ``left_index``)."""
    names = [f"{prefix}hand_root"]
    for finger in _FINGERS:
        names += [f"{prefix}{finger}{k}" for k in (1, 2, 3)] + [f"{prefix}{finger}"]
    return tuple(names)


# dlib/OpenPose 68 face landmarks in their order: the 17 contour points, then the 51 inner
# points. smplx lists the 51 first (joints 76..126) and the contour after (127..143).
_FACE68 = tuple(_SMPLX_JOINT_NAMES[127:144]) + tuple(_SMPLX_JOINT_NAMES[76:127])
_FACE70 = (*_FACE68, "right_pupil", "left_pupil")

_OPENPOSE25 = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "mid_hip",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
    "left_big_toe",
    "left_small_toe",
    "left_heel",
    "right_big_toe",
    "right_small_toe",
    "right_heel",
)
_COCO17 = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
# COCO-WholeBody feet 17-22: left big toe, left small toe, left heel, then the right ones.
_COCO_FEET = (
    "left_big_toe",
    "left_small_toe",
    "left_heel",
    "right_big_toe",
    "right_small_toe",
    "right_heel",
)
# Human3.6M: H36M 8 (thorax) is SPIN's "Neck (LSP)" and H36M 0 its "Pelvis (MPII)" slot
# (SPIN constants H36M_TO_J17 vs J24_TO_J17); jaw/head/spine are SPIN's "(H36M)" joints.
_H36M_MID = ("spine_h36m", "thorax_h36m", "jaw_h36m", "head_h36m")
_H36M_ARMS = (
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
)
_RIGHT_LEG = ("right_hip", "right_knee", "right_ankle")
_LEFT_LEG = ("left_hip", "left_knee", "left_ankle")
_SPIN24 = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "neck_lsp",
    "head_top",
    "pelvis_mpii",
    "thorax_mpii",
    "spine_h36m",
    "jaw_h36m",
    "head_h36m",
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
)

KEYPOINT_NAMES: dict[str, tuple[str, ...]] = {
    "openpose137": _OPENPOSE25 + _hand("left_") + _hand("right_") + _FACE70,
    "openpose25": _OPENPOSE25,
    "openpose_face70": _FACE70,
    "openpose_hand21": _hand(""),
    "coco_wholebody133": _COCO17 + _COCO_FEET + _FACE68 + _hand("left_") + _hand("right_"),
    "mediapipe_pose33": MEDIAPIPE_POSE33,
    "mediapipe_hand21": _hand(""),
    "mediapipe_face468": mediapipe_face_names(_FACE68, with_iris=False),
    "mediapipe_face478": mediapipe_face_names(_FACE68, with_iris=True),
    "smplx": tuple(_SMPLX_JOINT_NAMES[:127]),
    "smplx144": tuple(_SMPLX_JOINT_NAMES[:144]),
    "h36m17": ("pelvis_h36m", *_RIGHT_LEG, *_LEFT_LEG, *_H36M_MID, *_H36M_ARMS),
    "h36m17_spin": ("pelvis_h36m", *_LEFT_LEG, *_RIGHT_LEG, *_H36M_MID, *_H36M_ARMS),
    "spin24": _SPIN24,
}

OPENPOSE137_PARTS: dict[str, slice] = {
    "body": slice(0, 25),
    "left_hand": slice(25, 46),
    "right_hand": slice(46, 67),
    "face": slice(67, 137),
}

# Fallback sources for a destination name the source convention lacks, in preference order.
ALIASES: dict[str, tuple[str, ...]] = {
    # SMPL(-X) pelvis joint = OpenPose MidHip (SMPLify-X smpl_to_openpose, SPIN JOINT_MAP).
    "mid_hip": ("pelvis",),
    "pelvis": ("mid_hip",),
    # Hand keypoint 0 is the wrist (SMPLify-X feeds the smplx wrist to body and hand slots).
    "left_hand_root": ("left_wrist",),
    "right_hand_root": ("right_wrist",),
    "left_wrist": ("left_hand_root",),
    "right_wrist": ("right_hand_root",),
    # SPIN's evaluation pairs H36M joints with its 24 joints (H36M_TO_J17 / J24_TO_J17).
    "neck_lsp": ("thorax_h36m",),
    "thorax_h36m": ("neck_lsp",),
    "pelvis_mpii": ("pelvis_h36m",),
    "pelvis_h36m": ("pelvis_mpii",),
    # Approximate: MediaPipe's foot index is the tip of the foot (big-toe side).
    "left_big_toe": ("left_foot_index",),
    "right_big_toe": ("right_foot_index",),
    "left_foot_index": ("left_big_toe",),
    "right_foot_index": ("right_big_toe",),
}

# OpenPose points that OpenPose itself defines as midpoints; filled in ``convert`` when the
# source lacks them but has both ends.
_DERIVED: dict[str, tuple[str, str]] = {
    "neck": ("left_shoulder", "right_shoulder"),
    "mid_hip": ("left_hip", "right_hip"),
}
_DERIVED_FOR = frozenset({"openpose25", "openpose137"})


def _names(convention: str) -> tuple[str, ...]:
    try:
        return KEYPOINT_NAMES[convention]
    except KeyError:
        known = ", ".join(sorted(KEYPOINT_NAMES))
        raise ValueError(f"unknown keypoint convention {convention!r}; known: {known}") from None


def _check_tables() -> None:
    """Raise ValueError if a convention repeats a name (name matching needs unique names)."""
    for convention, names in KEYPOINT_NAMES.items():
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"convention {convention!r} repeats names {dupes}")


_check_tables()


@functools.cache
def _mapping_cached(src: str, dst: str) -> tuple[np.ndarray, np.ndarray]:
    src_index = {name: i for i, name in enumerate(_names(src))}
    src_idx: list[int] = []
    dst_idx: list[int] = []
    for j, name in enumerate(_names(dst)):
        for candidate in (name, *ALIASES.get(name, ())):
            if candidate in src_index:
                src_idx.append(src_index[candidate])
                dst_idx.append(j)
                break
    pair = np.asarray(src_idx, dtype=np.int64), np.asarray(dst_idx, dtype=np.int64)
    for array in pair:
        array.setflags(write=False)
    return pair


def mapping(src: str, dst: str) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays ``(src_idx, dst_idx)``, both (M,) int64, read-only and cached.

    ``dst[..., dst_idx, :] = src[..., src_idx, :]`` copies every point the two conventions
    share (same name, else the first alias the source has). A source index may repeat (the
    SMPL-X wrist feeds OpenPose's body wrist and hand root). Derived points (OpenPose neck and
    mid-hip as midpoints) are not index copies; ``convert`` adds them.
    """
    return _mapping_cached(src, dst)


def convert(
    points: np.ndarray, src: str, dst: str, *, has_confidence: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Re-order keypoints from convention ``src`` to ``dst``.

    Args:
        points: (..., K_src, C) keypoints, e.g. (N, 133, 3) pixels + confidence, or
            (B, 144, 3) metres.
        has_confidence: whether the last channel is a confidence; default: C is 3 or 4
            (``x, y, conf`` / ``x, y, z, conf``). Pass ``False`` for bare 3D points.

    Returns:
        (..., K_dst, C) keypoints, same dtype, 0 (so confidence 0) where ``dst`` has no
        counterpart; and the (K_dst,) bool mask of filled entries. For an OpenPose ``dst``,
        neck / mid-hip missing from ``src`` are the midpoint of the shoulders / hips when
        ``src`` has both (confidence: the smaller of the two).
    """
    points = np.asarray(points)
    src_names, dst_names = _names(src), _names(dst)
    if points.ndim < 2 or points.shape[-2] != len(src_names):
        raise ValueError(
            f"{src} has {len(src_names)} keypoints; got points of shape {points.shape}"
        )
    channels = points.shape[-1]
    if has_confidence is None:
        has_confidence = channels in (3, 4)
    out = np.zeros((*points.shape[:-2], len(dst_names), channels), dtype=points.dtype)
    mask = np.zeros(len(dst_names), dtype=bool)
    src_idx, dst_idx = mapping(src, dst)
    out[..., dst_idx, :] = points[..., src_idx, :]
    mask[dst_idx] = True
    if dst in _DERIVED_FOR:
        src_index = {name: i for i, name in enumerate(src_names)}
        for name, (end_a, end_b) in _DERIVED.items():
            j = dst_names.index(name)
            if mask[j] or end_a not in src_index or end_b not in src_index:
                continue
            a, b = points[..., src_index[end_a], :], points[..., src_index[end_b], :]
            out[..., j, :] = (a + b) / 2
            if has_confidence:
                out[..., j, -1] = np.minimum(a[..., -1], b[..., -1])
            mask[j] = True
    return out, mask
