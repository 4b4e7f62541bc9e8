"""Tiny annotation files in each dataset's official layout, written by the tests.

Each writer follows the public producer of the layout (named in its docstring) and returns the
values it wrote so tests can compare the manifest against them.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np


def write_image(path: Path, height: int = 48, width: int = 64, value: int = 128) -> Path:
    """A small real image file (PNG or JPEG by suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full((height, width, 3), value, np.uint8)
    image[height // 4 : 3 * height // 4, width // 3 : 2 * width // 3] = 255 - value
    assert cv2.imwrite(str(path), image)
    return path


def write_spin_npz(path: Path, rng: np.random.Generator, with_smpl: bool = False) -> dict:
    """SPIN ``h36m_train.npz`` (datasets/preprocess/h36m_train.py) + optional SMPL keys."""
    names = np.array(
        [
            "images/S1_Directions_1.54138969_000001.jpg",
            "images/S1_Directions_1.54138969_000006.jpg",
            "images/S5_Walking.60457274_000011.jpg",
        ]
    )
    n = len(names)
    data = {
        "imgname": names,
        "center": rng.uniform(300, 700, (n, 2)),
        "scale": rng.uniform(1.5, 3.0, n),
        "part": np.concatenate([rng.uniform(0, 1000, (n, 24, 2)), np.ones((n, 24, 1))], -1),
        "S": np.concatenate([rng.normal(0, 0.3, (n, 24, 3)), rng.integers(0, 2, (n, 24, 1))], -1),
        "openpose": np.concatenate(
            [rng.uniform(0, 1000, (n, 25, 2)), rng.uniform(0, 1, (n, 25, 1))], -1
        ),
    }
    data["openpose"][1] = 0.0  # no OpenPose match for this person
    if with_smpl:
        data["pose"] = rng.normal(0, 0.2, (n, 72))
        data["shape"] = rng.normal(0, 1, (n, 10))
        data["has_smpl"] = np.array([1.0, 0.0, 1.0])
    np.savez(path, **data)
    return data


def write_humandata_npz(path: Path, rng: np.random.Generator) -> dict:
    """mmhuman3d ``HumanData.dump``: savez_compressed, dicts as 0-d objects, compressed kps."""
    n, k = 2, 190
    mask = np.zeros(k, np.uint8)
    mask[[0, 3, 7, 20, 45]] = 1
    full = np.zeros((n, k, 4))
    full[:, mask == 1] = np.concatenate(
        [rng.normal(0, 0.3, (n, 5, 3)), np.ones((n, 5, 1))], axis=-1
    )
    data = {
        "__key_strict__": False,
        "__temporal_len__": n,
        "__keypoints_compressed__": True,
        "image_path": [
            "S9/images/S9_Eating.55011271/S9_Eating.55011271_000001.jpg",
            "S9/images/S9_Eating.55011271/S9_Eating.55011271_000006.jpg",
        ],
        "bbox_xywh": np.array([[10.0, 20.0, 300.0, 400.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0]]),
        "keypoints3d": full[:, mask == 1],
        "keypoints3d_mask": mask,
        "keypoints3d_convention": "human_data",
        "config": "h36m",
        "smpl": {
            "body_pose": rng.normal(0, 0.2, (n, 23, 3)),
            "global_orient": rng.normal(0, 0.2, (n, 3)),
            "betas": rng.normal(0, 1, (n, 10)),
        },
        "cam_param": {
            ("S9", "55011271"): {
                "name": "S9_55011271",
                "H": 1000,
                "W": 1000,
                "in_mat": [[1149.7, 0.0, 508.8], [0.0, 1147.6, 508.1], [0.0, 0.0, 1.0]],
                "rotation_mat": np.eye(3).tolist(),
                "translation": [0.1, 0.2, 5.5],
            }
        },
        "meta": {"gender": ["male", "male"]},
    }
    np.savez_compressed(path, **data)
    return {"keypoints3d_full": full, "mask": mask, **data}


def write_h36m_json(folder: Path, subject: int = 1) -> dict:
    """The COCO-style trio (NeuralAnnot / I2L-MeshNet): data, camera and joint_3d files."""
    folder.mkdir(parents=True, exist_ok=True)
    seq = f"s_{subject:02d}_act_02_subact_01_ca_01"
    images = [
        {
            "id": i,
            "file_name": f"{seq}/{seq}_{frame + 1:06d}.jpg",
            "width": 1000,
            "height": 1002,
            "subject": subject,
            "action_name": "Directions",
            "action_idx": 2,
            "subaction_idx": 1,
            "cam_idx": 1,
            "frame_idx": frame,
        }
        for i, frame in enumerate((0, 5))
    ]
    annotations = [
        {
            "id": i,
            "image_id": i,
            "bbox": [100.0 + i, 150.0, 300.0, 600.0],
            "keypoints_vis": [1] * 17,
        }
        for i in range(2)
    ]
    angle = 0.3
    rotation = [[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]]
    camera = {
        "1": {
            "R": rotation,
            "t": [-100.0, 200.0, 5000.0],
            "f": [1145.0, 1144.0],
            "c": [512.5, 515.4],
        }
    }
    joints = {
        "2": {"1": {str(f): (np.arange(51).reshape(17, 3) * 10.0 + f).tolist() for f in (0, 5)}}
    }
    stem = folder / f"Human36M_subject{subject}"
    Path(f"{stem}_data.json").write_text(json.dumps({"images": images, "annotations": annotations}))
    Path(f"{stem}_camera.json").write_text(json.dumps(camera))
    Path(f"{stem}_joint_3d.json").write_text(json.dumps(joints))
    return {"camera": camera["1"], "joints": joints, "images": images, "annotations": annotations}


def write_coco_wholebody(path: Path) -> dict:
    """COCO-WholeBody v1.0: body / foot / face / hand keypoints and part boxes."""
    rng = np.random.default_rng(3)

    def kps(count: int, labelled: bool = True) -> list[float]:
        points = np.concatenate([rng.uniform(10, 600, (count, 2)), np.full((count, 1), 2.0)], 1)
        if not labelled:
            points[:] = 0.0
        return points.reshape(-1).tolist()

    person = {
        "id": 11,
        "image_id": 1,
        "category_id": 1,
        "iscrowd": 0,
        "bbox": [50.0, 60.0, 200.0, 400.0],
        "keypoints": kps(17),
        "foot_kpts": kps(6),
        "face_kpts": kps(68),
        "lefthand_kpts": kps(21),
        "righthand_kpts": kps(21, labelled=False),
        "face_box": [100.0, 70.0, 40.0, 50.0],
        "lefthand_box": [60.0, 300.0, 30.0, 30.0],
        "righthand_box": [0.0, 0.0, 0.0, 0.0],
        "face_valid": True,
        "lefthand_valid": True,
        "righthand_valid": False,
        "foot_valid": True,
    }
    crowd = {"id": 12, "image_id": 1, "category_id": 1, "iscrowd": 1, "bbox": [0, 0, 10, 10]}
    data = {
        "images": [{"id": 1, "file_name": "000000000001.jpg", "width": 640, "height": 480}],
        "annotations": [person, crowd],
        "categories": [{"id": 1, "name": "person"}],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return person
