"""SPIN's preprocessed ``.npz`` layout (nkolot/SPIN, ``datasets/preprocess/*.py``).

Keys (N rows, one per person instance; several rows may share an image):

* ``imgname`` (N,) str: image path relative to the dataset root.
* ``center`` (N, 2) px and ``scale`` (N,): the person box is the square of side ``200 * scale``
  centred on ``center`` (``scale`` = box / 200; SPIN's h36m_train uses 0.9 * the mask box's
  larger side, mpi_inf_3dhp 1.2 * the keypoint box's larger side).
* optional ``S`` (N, 24, 4): 3D joints in SPIN's 24-joint order (convention ``spin24``), metres,
  root-centred, 4th column = valid.
* optional ``openpose`` (N, 25, 3): OpenPose BODY_25 detections matched to the person
  (all zero where none matched).
* optional ``pose`` (N, 72) SMPL axis-angle, ``shape`` (N, 10), ``has_smpl`` (N,).
* ``part`` (N, 24, 3) ground-truth 2D joints and other keys (``maskname``, ``gender``...) are
  not used here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from furpe_label.storage.manifest import ColumnValues
from furpe_label.storage.manifest_columns import JOINTS_ROOT_RELATIVE, KEYPOINTS_OPENPOSE
from furpe_label.workflows.datasets.boxes import checked_boxes
from furpe_label.workflows.datasets.keypoints import body25_to_openpose137
from furpe_label.workflows.datasets.readers import (
    as_array,
    center_scale_to_xywh,
    person_indices,
    require_keys,
    resolve_under,
    strings,
)

NameParser = Callable[[str], tuple[str | None, str | None, int | None]]
"""imgname -> (subject, sequence, frame), None where the name does not say."""

# frame numbers of at most 12 digits: a longer one is no frame number (and would not fit int64)
_H36M_NAME = re.compile(r"(S\d+)_([^/]+)\.(\d+)_(\d{1,12})\.\w+$")
_3DHP_TRAIN_NAME = re.compile(r"(S\d+)/(Seq\d+)/imageFrames/(video_\d+)/frame_(\d{1,12})\.\w+$")
_3DHP_TEST_NAME = re.compile(r"(TS\d+)/imageSequence/img_(\d{1,12})\.\w+$")


def parse_h36m_name(imgname: str) -> tuple[str | None, str | None, int | None]:
    """``images/S1_Directions_1.54138969_000001.jpg`` -> (S1, S1_Directions_1.54138969, 1)."""
    match = _H36M_NAME.search(imgname)
    if match is None:
        return None, None, None
    subject, action, camera, frame = match.groups()
    return subject, f"{subject}_{action}.{camera}", int(frame)


def parse_3dhp_name(imgname: str) -> tuple[str | None, str | None, int | None]:
    """``S1/Seq1/imageFrames/video_0/frame_000001.jpg`` -> (S1, S1/Seq1/video_0, 1); the test
    set's ``.../TS1/imageSequence/img_000001.jpg`` -> (TS1, TS1, 1)."""
    match = _3DHP_TRAIN_NAME.search(imgname)
    if match is not None:
        subject, seq, video, frame = match.groups()
        return subject, f"{subject}/{seq}/{video}", int(frame)
    match = _3DHP_TEST_NAME.search(imgname)
    if match is not None:
        return match.group(1), match.group(1), int(match.group(2))
    return None, None, None


def is_spin_npz(data: dict) -> bool:
    """True for SPIN's layout (it names images ``imgname``; HumanData uses ``image_path``)."""
    return "imgname" in data


def spin_columns(
    data: dict, path: Path, root: Path, parse_name: NameParser
) -> dict[str, ColumnValues]:
    """Manifest columns of a loaded SPIN npz (``path`` only names the file in errors)."""
    require_keys(data, ("imgname", "center", "scale"), str(path))
    names = strings(data["imgname"], f"{path}: imgname")
    n = len(names)
    center = as_array(data["center"], (n, 2), f"{path}: center")
    scale = as_array(data["scale"], (n,), f"{path}: scale").reshape(n)
    image_paths = [resolve_under(root, name) for name in names]
    parsed = [parse_name(name) for name in names]

    def where(row: int) -> str:
        return f"{path}: row {row} (center {center[row].tolist()}, scale {scale[row]:.6g})"

    columns: dict[str, ColumnValues] = {
        "image_path": image_paths,
        "person_idx": person_indices(image_paths),
        **checked_boxes(center_scale_to_xywh(center, scale), np.ones(n, bool), where),
        "subject": [p[0] for p in parsed],
        "sequence": [p[1] for p in parsed],
        "frame": [p[2] for p in parsed],
    }
    if "S" in data:
        columns["joints3d"] = as_array(data["S"], (n, 24, 4), f"{path}: S")
        columns["joints3d_convention"] = ["spin24"] * n
        columns["joints3d_frame"] = [JOINTS_ROOT_RELATIVE] * n
    if "openpose" in data:
        body = as_array(data["openpose"], (n, 25, 3), f"{path}: openpose")
        keypoints = body25_to_openpose137(body)
        detected = keypoints[..., 2].max(axis=1) > 0
        keypoints[~detected] = np.nan
        columns["keypoints2d"] = keypoints
        columns["keypoints2d_source"] = [KEYPOINTS_OPENPOSE if d else None for d in detected]
    if "pose" in data and "shape" in data:
        pose = as_array(data["pose"], (n, 72), f"{path}: pose").reshape(n, 24, 3)
        betas = as_array(data["shape"], (n, -1), f"{path}: shape")
        has_smpl = np.ones(n, bool)
        if "has_smpl" in data:
            has_smpl = as_array(data["has_smpl"], (n,), f"{path}: has_smpl") > 0
        pose[~has_smpl] = np.nan
        betas[~has_smpl] = np.nan
        columns["smpl_global_orient"] = pose[:, 0]
        columns["smpl_body_pose"] = pose[:, 1:]
        columns["smpl_betas"] = betas
    return columns
