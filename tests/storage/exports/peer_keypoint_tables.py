"""Keypoint tables transcribed from the peers' sources, for checking the HumanData export.

- ``HUMAN_DATA``: open-mmlab/mmhuman3d @ 8c95747175f8,
  mmhuman3d/core/conventions/keypoints_mapping/human_data.py (190 names, in order);
- ``OPENPOSE_137``: same commit, keypoints_mapping/openpose.py ``OPENPOSE_137_KEYPOINTS``;
- ``SMPLX_137_MAPPING``: caizhongang/SMPLer-X @ d3e3c10f4821, data/humandata.py
  (``HumanDataset.SMPLX_137_MAPPING``, "same mapping for 144->137 and 190->137").
"""

_HUMAN_DATA_NAMES = """
pelvis left_hip right_hip spine_1 left_knee right_knee spine_2 left_ankle right_ankle
spine_3 left_foot right_foot neck left_collar right_collar head left_shoulder right_shoulder
left_elbow right_elbow left_wrist right_wrist jaw left_eyeball right_eyeball left_index_1
left_index_2 left_index_3 left_middle_1 left_middle_2 left_middle_3 left_pinky_1
left_pinky_2 left_pinky_3 left_ring_1 left_ring_2 left_ring_3 left_thumb_1 left_thumb_2
left_thumb_3 right_index_1 right_index_2 right_index_3 right_middle_1 right_middle_2
right_middle_3 right_pinky_1 right_pinky_2 right_pinky_3 right_ring_1 right_ring_2
right_ring_3 right_thumb_1 right_thumb_2 right_thumb_3 nose right_eye left_eye right_ear
left_ear left_bigtoe left_smalltoe left_heel right_bigtoe right_smalltoe right_heel
left_thumb left_index left_middle left_ring left_pinky right_thumb right_index right_middle
right_ring right_pinky right_eyebrow_1 right_eyebrow_2 right_eyebrow_3 right_eyebrow_4
right_eyebrow_5 left_eyebrow_5 left_eyebrow_4 left_eyebrow_3 left_eyebrow_2 left_eyebrow_1
nosebridge_1 nosebridge_2 nosebridge_3 nosebridge_4 right_nose_2 right_nose_1 nose_middle
left_nose_1 left_nose_2 right_eye_1 right_eye_2 right_eye_3 right_eye_4 right_eye_5
right_eye_6 left_eye_4 left_eye_3 left_eye_2 left_eye_1 left_eye_6 left_eye_5 right_mouth_1
right_mouth_2 right_mouth_3 mouth_top left_mouth_3 left_mouth_2 left_mouth_1 left_mouth_5
left_mouth_4 mouth_bottom right_mouth_4 right_mouth_5 right_lip_1 right_lip_2 lip_top
left_lip_2 left_lip_1 left_lip_3 lip_bottom right_lip_3 right_contour_1 right_contour_2
right_contour_3 right_contour_4 right_contour_5 right_contour_6 right_contour_7
right_contour_8 contour_middle left_contour_8 left_contour_7 left_contour_6 left_contour_5
left_contour_4 left_contour_3 left_contour_2 left_contour_1 right_hip_extra left_hip_extra
neck_extra headtop pelvis_extra thorax_extra spine_extra jaw_extra head_extra nose_openpose
neck_openpose right_shoulder_openpose right_elbow_openpose right_wrist_openpose
left_shoulder_openpose left_elbow_openpose left_wrist_openpose pelvis_openpose
right_hip_openpose right_knee_openpose right_ankle_openpose left_hip_openpose
left_knee_openpose left_ankle_openpose right_eye_openpose left_eye_openpose
right_ear_openpose left_ear_openpose left_bigtoe_openpose left_smalltoe_openpose
left_heel_openpose right_bigtoe_openpose right_smalltoe_openpose right_heel_openpose
spine_4_3dhp left_clavicle_3dhp right_clavicle_3dhp left_hand_3dhp right_hand_3dhp
left_toe_3dhp right_toe_3dhp head_h36m headtop_h36m head_bottom_pt left_hand right_hand
"""
HUMAN_DATA = tuple(_HUMAN_DATA_NAMES.split())

_OPENPOSE_137_NAMES = """
nose neck right_shoulder right_elbow right_wrist left_shoulder left_elbow left_wrist pelvis
right_hip right_knee right_ankle left_hip left_knee left_ankle right_eye left_eye right_ear
left_ear left_bigtoe left_smalltoe left_heel right_bigtoe right_smalltoe right_heel
left_wrist_openpose left_thumb_1 left_thumb_2 left_thumb_3 left_thumb left_index_1
left_index_2 left_index_3 left_index left_middle_1 left_middle_2 left_middle_3 left_middle
left_ring_1 left_ring_2 left_ring_3 left_ring left_pinky_1 left_pinky_2 left_pinky_3
left_pinky right_wrist_openpose right_thumb_1 right_thumb_2 right_thumb_3 right_thumb
right_index_1 right_index_2 right_index_3 right_index right_middle_1 right_middle_2
right_middle_3 right_middle right_ring_1 right_ring_2 right_ring_3 right_ring right_pinky_1
right_pinky_2 right_pinky_3 right_pinky right_contour_1 right_contour_2 right_contour_3
right_contour_4 right_contour_5 right_contour_6 right_contour_7 right_contour_8
contour_middle left_contour_8 left_contour_7 left_contour_6 left_contour_5 left_contour_4
left_contour_3 left_contour_2 left_contour_1 right_eye_brow_1 right_eye_brow_2
right_eye_brow_3 right_eye_brow_4 right_eye_brow_5 left_eye_brow_5 left_eye_brow_4
left_eye_brow_3 left_eye_brow_2 left_eye_brow_1 nosebridge_1 nosebridge_2 nosebridge_3
nosebridge_4 right_nose_2 right_nose_1 nose_middle left_nose_1 left_nose_2 right_eye_1
right_eye_2 right_eye_3 right_eye_4 right_eye_5 right_eye_6 left_eye_4 left_eye_3 left_eye_2
left_eye_1 left_eye_6 left_eye_5 right_mouth_1 right_mouth_2 right_mouth_3 mouth_top
left_mouth_3 left_mouth_2 left_mouth_1 left_mouth_5 left_mouth_4 mouth_bottom right_mouth_4
right_mouth_5 right_lip_1 right_lip_2 lip_top left_lip_2 left_lip_1 left_lip_3 lip_bottom
right_lip_3 right_eyeball_unused left_eyeball_unused
"""
OPENPOSE_137 = tuple(_OPENPOSE_137_NAMES.split())

SMPLX_137_MAPPING = (
    0,
    1,
    2,
    4,
    5,
    7,
    8,
    12,
    16,
    17,
    18,
    19,
    20,
    21,
    60,
    61,
    62,
    63,
    64,
    65,
    59,
    58,
    57,
    56,
    55,
    37,
    38,
    39,
    66,
    25,
    26,
    27,
    67,
    28,
    29,
    30,
    68,
    34,
    35,
    36,
    69,
    31,
    32,
    33,
    70,
    52,
    53,
    54,
    71,
    40,
    41,
    42,
    72,
    43,
    44,
    45,
    73,
    49,
    50,
    51,
    74,
    46,
    47,
    48,
    75,
    22,
    15,
    56,
    57,
    76,
    77,
    78,
    79,
    80,
    81,
    82,
    83,
    84,
    85,
    86,
    87,
    88,
    89,
    90,
    91,
    92,
    93,
    94,
    95,
    96,
    97,
    98,
    99,
    100,
    101,
    102,
    103,
    104,
    105,
    106,
    107,
    108,
    109,
    110,
    111,
    112,
    113,
    114,
    115,
    116,
    117,
    118,
    119,
    120,
    121,
    122,
    123,
    124,
    125,
    126,
    127,
    128,
    129,
    130,
    131,
    132,
    133,
    134,
    135,
    136,
    137,
    138,
    139,
    140,
    141,
    142,
    143,
)
