"""MediaPipe keypoint tables (pose 33, face mesh 468/478) used by ``conventions``.

Sides are the subject's (MediaPipe's ``LEFT_*`` is the person's left, as in COCO/OpenPose).
Names are the canonical names of ``conventions``: a MediaPipe point that is the same
anatomical point as another convention's gets that convention's name; the others get
``mediapipe_*`` names and map to nothing.
"""

from __future__ import annotations

# BlazePose 33 (mediapipe.solutions.pose.PoseLandmark order). Eye corners and mouth corners
# are the dlib-68 points of the same meaning (smplx face names: ``*_eye4`` inner corner,
# ``*_eye1`` outer corner, ``*_mouth_1`` mouth corner), as mmhuman3d's "mediapipe_body"
# convention does. The pinky/index/thumb points of the pose model are coarse hand-direction
# points, not finger joints, so they stay unmapped. ``*_foot_index`` is the tip of the foot.
MEDIAPIPE_POSE33: tuple[str, ...] = (
    "nose",
    "left_eye4",
    "left_eye",
    "left_eye1",
    "right_eye4",
    "right_eye",
    "right_eye1",
    "left_ear",
    "right_ear",
    "left_mouth_1",
    "right_mouth_1",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "mediapipe_left_pinky",
    "mediapipe_right_pinky",
    "mediapipe_left_index",
    "mediapipe_right_index",
    "mediapipe_left_thumb",
    "mediapipe_right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)

# MediaPipe face-mesh vertex for each of the 68 dlib/OpenPose face landmarks (dlib order:
# contour 0-16, brows 17-26, nose 27-35, eyes 36-47, outer lips 48-59, inner lips 60-67).
# Source: the ``landmark_points_68`` table of bytedance/LatentSync
# (latentsync/utils/image_processor.py, Apache-2.0), the single-vertex MediaPipe->68 table
# that is widely reused (face_alignment-compatible order). One vertex per landmark, so the
# conversion is a pure index copy.
MEDIAPIPE_FACE68_VERTICES: tuple[int, ...] = (
    162,
    234,
    93,
    58,
    172,
    136,
    149,
    148,
    152,
    377,
    378,
    365,
    397,
    288,
    323,
    454,
    389,
    71,
    63,
    105,
    66,
    107,
    336,
    296,
    334,
    293,
    301,
    168,
    197,
    5,
    4,
    75,
    97,
    2,
    326,
    305,
    33,
    160,
    158,
    133,
    153,
    144,
    362,
    385,
    387,
    263,
    373,
    380,
    61,
    39,
    37,
    0,
    267,
    269,
    291,
    405,
    314,
    17,
    84,
    181,
    78,
    82,
    13,
    312,
    308,
    317,
    14,
    87,
)

# Iris centres of the refined 478-point mesh. mediapipe's face_mesh_connections puts the ring
# 469-472 in FACEMESH_RIGHT_IRIS (beside the right eye 33/133) and 474-477 in
# FACEMESH_LEFT_IRIS (beside 263/362), so centre 468 is the right pupil and 473 the left.
MEDIAPIPE_RIGHT_IRIS_CENTER = 468
MEDIAPIPE_LEFT_IRIS_CENTER = 473


def mediapipe_face_names(face68: tuple[str, ...], with_iris: bool) -> tuple[str, ...]:
    """468 (or 478 with iris) names: the 68 dlib vertices named as ``face68``, pupils as
    ``right_pupil`` / ``left_pupil``, every other vertex ``mediapipe_face_<i>``."""
    count = 478 if with_iris else 468
    names = [f"mediapipe_face_{i}" for i in range(count)]
    for name, vertex in zip(face68, MEDIAPIPE_FACE68_VERTICES, strict=True):
        names[vertex] = name
    if with_iris:
        names[MEDIAPIPE_RIGHT_IRIS_CENTER] = "right_pupil"
        names[MEDIAPIPE_LEFT_IRIS_CENTER] = "left_pupil"
    return tuple(names)
