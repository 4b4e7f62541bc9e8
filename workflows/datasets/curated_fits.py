"""``curated-fits``: ExPose's curated SMPL-X fits (``train.npz`` / ``val.npz``, vchoutas/expose).

Keys (N rows): ``img_fns`` (N,) image paths, ``betas`` (N, 10), ``expression`` (N, 10),
``keypoints2D`` (N, 137, 3) OpenPose-137 (the OpenPose detections the fits used; negative
confidences are set to 0 as ExPose's loader does), ``pose`` (N, 55, 3) axis-angle: global,
body 21, jaw, left eye, right eye, left hand 15, right hand 15 — or (N, 53, 3) without the eyes.
Optional ``is_right``, ``dset_name``, ``indices`` are not used.

Hand poses are stored as in the file: ExPose's SMPL-X uses ``flat_hand_mean=False``, so they
are relative to the mean hand (``gt_hands_relative_to_mean`` = true).

Image paths: a relative ``img_fns`` entry is under ``--root``; an absolute one is kept when the
file exists, else ``--root/<basename>`` (the released files hold the authors' absolute paths).
The person box surrounds the confident keypoints (body > 0.1, hands > 0.2, face > 0.4, ExPose's
thresholds), enlarged 1.2x as ExPose's ``body_dset_factor``; null with fewer than 2 keypoints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from furpe_label.experts.keypoints.conventions import OPENPOSE137_PARTS
from furpe_label.storage.manifest import ColumnValues
from furpe_label.storage.manifest_columns import KEYPOINTS_OPENPOSE
from furpe_label.workflows.datasets.base import DatasetAdapter
from furpe_label.workflows.datasets.boxes import checked_boxes
from furpe_label.workflows.datasets.keypoints import keypoint_boxes
from furpe_label.workflows.datasets.readers import (
    DatasetError,
    as_array,
    load_npz,
    person_indices,
    require_keys,
    strings,
)

_THRESHOLDS = {"body": 0.1, "left_hand": 0.2, "right_hand": 0.2, "face": 0.4}


def _image_path(name: str, root: Path) -> str:
    path = Path(name)
    if not path.is_absolute():
        return str((root / path).absolute())
    return str(path if path.exists() else (root / path.name).absolute())


def _confident(keypoints: np.ndarray) -> np.ndarray:
    """Keypoints with each part's ExPose threshold applied (below -> confidence 0)."""
    out = keypoints.copy()
    for part, threshold in _THRESHOLDS.items():
        conf = out[:, OPENPOSE137_PARTS[part], 2]
        conf[conf < threshold] = 0.0
        out[:, OPENPOSE137_PARTS[part], 2] = conf
    return out


class CuratedFitsAdapter(DatasetAdapter):
    """ExPose curated fits: SMPL-X parameters as ground truth, OpenPose-137 keypoints."""

    name = "curated-fits"
    has_ground_truth = True
    gives_boxes = True
    official_files = ("train.npz", "curated_fits/train.npz", "val.npz", "curated_fits/val.npz")

    def read_columns(self) -> dict[str, ColumnValues]:
        root = self.require_root()
        path = self.annotation_files()[0]
        data = load_npz(path)
        require_keys(data, ("img_fns", "betas", "expression", "keypoints2D", "pose"), str(path))
        image_paths = [
            _image_path(name, root) for name in strings(data["img_fns"], f"{path}: img_fns")
        ]
        n = len(image_paths)
        pose = as_array(data["pose"], (n, -1, 3), f"{path}: pose")
        if pose.shape[1] not in (53, 55):
            raise DatasetError(f"{path}: pose must be (N, 55, 3) or (N, 53, 3), got {pose.shape}")
        eyes = pose.shape[1] == 55
        hands = 25 if eyes else 23
        keypoints = as_array(data["keypoints2D"], (n, 137, 3), f"{path}: keypoints2D")
        keypoints[..., 2] = np.clip(keypoints[..., 2], 0.0, None)
        columns: dict[str, ColumnValues] = {
            "image_path": image_paths,
            "person_idx": person_indices(image_paths),
            **checked_boxes(keypoint_boxes(_confident(keypoints), 0.0, 1.2), np.zeros(n, bool)),
            "smplx_global_orient": pose[:, 0],
            "smplx_body_pose": pose[:, 1:22],
            "smplx_jaw_pose": pose[:, 22],
            "smplx_left_hand_pose": pose[:, hands : hands + 15],
            "smplx_right_hand_pose": pose[:, hands + 15 : hands + 30],
            "smplx_betas": as_array(data["betas"], (n, -1), f"{path}: betas"),
            "smplx_expression": as_array(data["expression"], (n, -1), f"{path}: expression"),
            "gt_hands_relative_to_mean": [True] * n,
            "keypoints2d": keypoints,
            "keypoints2d_source": [KEYPOINTS_OPENPOSE] * n,
        }
        if eyes:
            columns["smplx_leye_pose"] = pose[:, 23]
            columns["smplx_reye_pose"] = pose[:, 24]
        return columns
