"""Human3.6M's COCO-style JSON annotations (the NeuralAnnot / I2L-MeshNet / OSX release).

Per subject S, three files side by side in ``annotations/``:

* ``Human36M_subject{S}_data.json``: ``images`` (``id``, ``file_name`` relative to
  ``images/``, ``width``, ``height``, ``subject``, ``action_idx``, ``subaction_idx``,
  ``cam_idx``, ``frame_idx``) and ``annotations`` (``id``, ``image_id``, ``bbox`` pixel xywh,
  ``keypoints_vis``).
* ``Human36M_subject{S}_camera.json``: ``{cam_idx: {"R": 3x3, "t": 3 (mm), "f": [fx, fy],
  "c": [cx, cy]}}``, world -> camera ``X_cam = R X + t``.
* ``Human36M_subject{S}_joint_3d.json``: ``{action_idx: {subaction_idx: {frame_idx: 17 x 3}}}``
  world coordinates in mm, Human3.6M's 17-joint order (convention ``h36m17``).

The manifest gets the real intrinsics (``focal``, ``principal_point``), the extrinsics
(``cam_rotation``, ``cam_translation`` in metres) and the joints in camera coordinates, metres.
Images are ``<root>/images/<file_name>``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from furpe_label.storage.manifest import ColumnValues
from furpe_label.storage.manifest_columns import JOINTS_CAMERA
from furpe_label.workflows.datasets.boxes import checked_boxes
from furpe_label.workflows.datasets.coco_json import CocoPerson, coco_annotations
from furpe_label.workflows.datasets.json_fields import identifier, integer, member
from furpe_label.workflows.datasets.readers import (
    DatasetError,
    as_array,
    load_json,
    require_keys,
    resolve_under,
)

LOG = logging.getLogger(__name__)

_DATA_NAME = re.compile(r"^Human36M_subject(\d+)_data\.json$")
_IMAGE_KEYS = ("id", "file_name", "subject", "action_idx", "subaction_idx", "cam_idx", "frame_idx")


def _cameras(path: Path) -> dict[str, dict[str, np.ndarray]]:
    data = load_json(path)
    if not isinstance(data, dict) or not data:
        raise DatasetError(f"{path}: expected {{cam_idx: {{R, t, f, c}}}}")
    cameras = {}
    for cam_idx, cam in data.items():
        where = f"{path}: camera {cam_idx}"
        require_keys(cam, ("R", "t", "f", "c"), where)
        cameras[str(cam_idx)] = {
            "R": as_array(cam["R"], (3, 3), f"{where}: R"),
            "t": as_array(cam["t"], (3,), f"{where}: t").reshape(3) / 1000.0,
            "f": as_array(cam["f"], (2,), f"{where}: f").reshape(2),
            "c": as_array(cam["c"], (2,), f"{where}: c").reshape(2),
        }
    return cameras


def _sibling(data_file: Path, suffix: str) -> Path:
    match = _DATA_NAME.match(data_file.name)
    if match is None:
        raise DatasetError(
            f"{data_file}: expected the name Human36M_subject<S>_data.json (its camera and "
            "joint files are found from it)"
        )
    path = data_file.with_name(f"Human36M_subject{match.group(1)}_{suffix}.json")
    if not path.is_file():
        raise DatasetError(f"{path}: missing (needed beside {data_file.name})")
    return path


def _joints(table: object, keys: tuple[str, str, str], where: str) -> np.ndarray | None:
    """(17, 3) world mm of (action, subaction, frame), or None when the file has no entry."""
    action, subaction, frame = keys
    try:
        value = table[action][subaction][frame]  # type: ignore[index]
    except (KeyError, TypeError, IndexError):
        return None
    return as_array(value, (17, 3), f"{where}: frame {frame}")


def _image_fields(found: CocoPerson) -> tuple[str, str, str, str, int]:
    """(subject, action, subaction, camera, frame) of the annotation's image, typed."""
    image, place = found.image, found.image_place
    subject, action, subaction, camera = (
        str(identifier(image, key, place))
        for key in ("subject", "action_idx", "subaction_idx", "cam_idx")
    )
    return subject, action, subaction, camera, integer(image, "frame_idx", place)


def h36m_json_columns(data_files: list[Path], root: Path) -> dict[str, ColumnValues]:
    """Manifest columns of one or more subjects' data files (camera / joint files beside)."""
    rows: dict[str, list] = {
        k: []
        for k in (
            "image_path",
            "subject",
            "sequence",
            "frame",
            "person_idx",
            "box_xywh",
            "focal",
            "principal_point",
            "cam_rotation",
            "cam_translation",
            "joints3d",
        )
    }
    missing_joints = 0
    wheres: list[str] = []
    for data_file in data_files:
        cameras = _cameras(_sibling(data_file, "camera"))
        joint_file = _sibling(data_file, "joint_3d")
        joint_table = load_json(joint_file)
        data = load_json(data_file)
        for found in coco_annotations(data, data_file, _IMAGE_KEYS):
            where = found.where
            box = as_array(member(found.ann, "bbox", found.place), (4,), f"{where}: bbox")
            subject, action, subaction, camera, frame = _image_fields(found)
            cam = cameras.get(camera)
            if cam is None:
                raise DatasetError(f"{where}: camera {camera} not in the camera file")
            world = _joints(joint_table, (action, subaction, str(frame)), str(joint_file))
            if world is None:
                missing_joints += 1
                joints = np.full((17, 4), np.nan)
            else:
                joints = np.concatenate(
                    [(world @ cam["R"].T) / 1000.0 + cam["t"], np.ones((17, 1))], axis=1
                )
            rows["image_path"].append(resolve_under(root / "images", found.file_name))
            rows["subject"].append(f"S{subject}")
            rows["sequence"].append(str(Path(found.file_name).parent))
            rows["frame"].append(frame)
            rows["person_idx"].append(found.person)
            rows["box_xywh"].append(box)
            wheres.append(where)
            rows["focal"].append(cam["f"])
            rows["principal_point"].append(cam["c"])
            rows["cam_rotation"].append(cam["R"])
            rows["cam_translation"].append(cam["t"])
            rows["joints3d"].append(joints)
    if missing_joints:
        LOG.warning("Human3.6M: %d annotations have no entry in the joint_3d files", missing_joints)
    n = len(rows["image_path"])
    if n == 0:
        return {"image_path": []}
    columns: dict[str, ColumnValues] = {k: v for k, v in rows.items()}
    for key in (
        "focal",
        "principal_point",
        "cam_rotation",
        "cam_translation",
        "joints3d",
    ):
        columns[key] = np.asarray(rows[key], np.float64) if n else np.zeros((0,))
    boxes = np.asarray(rows["box_xywh"], np.float64).reshape(n, 4)
    columns.update(checked_boxes(boxes, np.ones(n, bool), lambda row: f"{wheres[row]}.bbox"))
    columns["joints3d_convention"] = ["h36m17"] * n
    columns["joints3d_frame"] = [JOINTS_CAMERA] * n
    return columns
