"""Tiny files in the OCHuman, PoseTrack, EFT and ExPose curated-fits layouts (see
:mod:`tests.support.dataset_fixtures` for the others)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# OCHuman's ochuman.json lists its own keypoint_names; the adapter reads them by name.
OCHUMAN_NAMES = [
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "head",
    "neck",
    "right_ear",
    "left_ear",
    "nose",
    "right_eye",
    "left_eye",
]


def write_ochuman(path: Path) -> dict:
    """Native ``ochuman.json``: images with nested annotations, bbox x1 y1 x2 y2, 19 keypoints."""
    keypoints = []
    for k, _name in enumerate(OCHUMAN_NAMES):
        keypoints += [100.0 + 5 * k, 50.0 + 10 * k, 3 if k % 4 == 0 else 1]
    keypoints[3 * 5 + 2] = 0  # left_wrist missing
    data = {
        "keypoint_names": OCHUMAN_NAMES,
        "keypoint_visible": {"missing": 0, "vis": 1, "self_occluded": 2, "others_occluded": 3},
        "images": [
            {
                "image_id": "005051",
                "file_name": "005051.jpg",
                "height": 480,
                "width": 640,
                "annotations": [
                    {
                        "bbox": [90.0, 40.0, 260.0, 300.0],
                        "keypoints": keypoints,
                        "segms": None,
                        "max_iou": 0.71,
                    },
                    {
                        "bbox": [300.0, 30.0, 420.0, 330.0],
                        "keypoints": None,
                        "segms": None,
                        "max_iou": 0.71,
                    },
                ],
            }
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return data


POSETRACK_NAMES = [
    "nose",
    "head_bottom",
    "head_top",
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
]


def write_posetrack(path: Path, video: str = "000001_bonn_train") -> dict:
    """A PoseTrack21 ``posetrack_data/train/<video>.json`` (PoseTrack18 format)."""
    images = [
        {
            "is_labeled": True,
            "nframes": 3,
            "frame_id": 10000010000 + f,
            "id": 10000010000 + f,
            "vid_id": "000001",
            "file_name": f"images/train/{video}/{f:06d}.jpg",
            "has_labeled_person": True,
            "ignore_regions_x": [],
            "ignore_regions_y": [],
        }
        for f in range(3)
    ]
    keypoints = np.zeros((17, 3))
    keypoints[:, 0] = np.linspace(200, 300, 17)
    keypoints[:, 1] = np.linspace(100, 400, 17)
    keypoints[[0, 5, 6, 11, 12], 2] = 1
    annotations = [
        {
            "bbox": [190.0, 90.0, 120.0, 320.0],
            "bbox_head": [195.0, 90.0, 20.0, 25.0],
            "category_id": 1,
            "image_id": 10000010002,
            "id": 1,
            "keypoints": keypoints.ravel().tolist(),
            "person_id": 1024,
            "track_id": 0,
        },
        {
            "category_id": 1,
            "image_id": 10000010002,
            "id": 2,
            "keypoints": keypoints.ravel().tolist(),
            "person_id": 1025,
            "track_id": 1,
        },
        {
            "category_id": 1,
            "image_id": 10000010001,
            "id": 3,
            "keypoints": [0.0] * 51,
            "person_id": 1026,
            "track_id": 2,
        },
    ]
    data = {
        "images": images,
        "annotations": annotations,
        "categories": [
            {
                "supercategory": "person",
                "id": 1,
                "name": "person",
                "keypoints": POSETRACK_NAMES,
                "skeleton": [],
            }
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return data


def write_eft(path: Path, rng: np.random.Generator) -> dict:
    """An EFT fitting file (facebookresearch/eft): ``{"ver", "data": [...]}``."""
    from scipy.spatial.transform import Rotation

    rotvecs = rng.normal(0, 0.4, (2, 24, 3))
    fits = []
    for i in range(2):
        keypoints = np.zeros((49, 3))
        if i == 0:
            keypoints[:25] = np.concatenate(
                [rng.uniform(0, 600, (25, 2)), np.full((25, 1), 0.8)], 1
            )
        fits.append(
            {
                "parm_pose": Rotation.from_rotvec(rotvecs[i]).as_matrix().tolist(),
                "parm_shape": rng.normal(0, 1, 10).tolist(),
                "parm_cam": [0.9, 0.01, -0.02],
                "bbox_scale": 1.75 + i,
                "bbox_center": [320.0, 240.0 + i],
                "imageName": "train2014/COCO_train2014_000000000036.jpg",
                "annotId": 500 + i,
                "gt_keypoint_2d": keypoints.tolist(),
                "joint_validity_openpose18": [1] * 18,
                "smpltype": "smpl",
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"ver": 0.1, "data": fits}))
    return {"rotvecs": rotvecs, "fits": fits}


def write_expose_npz(path: Path, rng: np.random.Generator, image_dir: Path) -> dict:
    """ExPose curated fits ``train.npz``: img_fns, betas, expression, keypoints2D, pose (55)."""
    n = 2
    keypoints = np.concatenate(
        [rng.uniform(50, 400, (n, 137, 2)), rng.uniform(0.0, 1.0, (n, 137, 1))], -1
    )
    keypoints[1, :, 2] = -1.0  # ExPose marks missing keypoints with negative confidence
    data = {
        "img_fns": np.array([str(image_dir / "a.jpg"), "relative/b.jpg"]),
        "betas": rng.normal(0, 1, (n, 10)),
        "expression": rng.normal(0, 1, (n, 10)),
        "keypoints2D": keypoints,
        "pose": rng.normal(0, 0.2, (n, 55, 3)),
        "is_right": np.array([True, False]),
        "dset_name": np.array(["coco", "mpii"]),
    }
    np.savez(path, **data)
    return data
