"""mmhuman3d's HumanData ``.npz`` layout (``mmhuman3d/data/data_structures/human_data.py``).

``HumanData.dump`` writes ``np.savez_compressed`` of its dict plus ``__key_strict__``,
``__temporal_len__`` and ``__keypoints_compressed__``; dicts (``smpl``, ``smplx``, ``meta``,
``misc``, ``cam_param``) become 0-d object arrays, read here with the project's restricted
unpickler only. Keys used:

* ``image_path`` (N,) str, relative to the dataset root; ``bbox_xywh`` (N, 5) px (5th column a
  confidence / valid flag; <= 0 means no box) or (N, 4).
* ``keypoints3d`` (N, K, 4) + ``keypoints3d_mask`` (K,) + ``keypoints3d_convention``: the 3D
  joints (metres, root-centred in mmhuman3d's converters). With ``__keypoints_compressed__``
  the file keeps only the K' masked-in joints; they are zero-padded back to K here.
* ``keypoints2d`` (N, K, 3) + mask + convention: used when the convention is
  ``openpose_137`` (already OpenPose-137), ``coco_wholebody``, ``human_data`` (190 points, the
  convention mmhuman3d writes by default and ``export --format humandata`` writes) or ``smplx``
  (its first 144 points); the last two go to OpenPose-137 by the export's own table, so an
  export reads back as it was written (the two OpenPose pupils, which ``human_data`` lacks,
  come back as missing).
* ``smpl``: ``global_orient`` (N, 3), ``body_pose`` (N, 23, 3) or (N, 69), ``betas``.
* ``smplx``: ``global_orient``, ``body_pose`` (N, 21, 3), ``jaw_pose``, ``leye_pose``,
  ``reye_pose``, ``left_hand_pose`` / ``right_hand_pose`` (N, 15, 3), ``betas``,
  ``expression``; ``misc['flat_hand_mean']`` (when present) says whether hand poses are
  absolute.

The 3D joints keep mmhuman3d's convention; ``joints3d_convention`` is
``"mmhuman3d:<name>"`` (e.g. ``mmhuman3d:human_data``, 190 joints of which the mask selects the
dataset's own).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES
from furpe_label.storage.exports.humandata_keypoints import (
    HUMAN_DATA_POINTS,
    openpose137_from_human_data,
)
from furpe_label.storage.manifest import ColumnValues
from furpe_label.storage.manifest_columns import JOINTS_ROOT_RELATIVE, KEYPOINTS_ANNOTATION
from furpe_label.workflows.datasets.boxes import checked_boxes
from furpe_label.workflows.datasets.keypoints import named_to_openpose137
from furpe_label.workflows.datasets.readers import (
    DatasetError,
    as_array,
    person_indices,
    require_keys,
    resolve_under,
    strings,
)

_HUMAN_DATA_ORDER = {"human_data": HUMAN_DATA_POINTS, "smplx": 144}
"""Conventions in ``human_data`` order -> their point count (SMPL-X's are its first 144)."""
_SMPL_SHAPES = {"global_orient": (3,), "body_pose": (23, 3)}
_SMPLX_SHAPES = {
    "global_orient": (3,),
    "body_pose": (21, 3),
    "jaw_pose": (3,),
    "leye_pose": (3,),
    "reye_pose": (3,),
    "left_hand_pose": (15, 3),
    "right_hand_pose": (15, 3),
}


def _item(value: Any) -> Any:
    """0-d arrays (strings, bools written by ``np.savez``) -> their Python value."""
    return value.item() if isinstance(value, np.ndarray) and value.shape == () else value


def _keypoints(data: dict, key: str, n: int, channels: int, path: Path) -> np.ndarray:
    """(N, K, C) keypoints, zero-padded back to K when the file is mask-compressed."""
    values = as_array(data[key], (n, -1, channels), f"{path}: {key}")
    mask_key = f"{key}_mask"
    if mask_key not in data:
        return values
    mask = np.asarray(data[mask_key]).reshape(-1) > 0
    if bool(_item(data.get("__keypoints_compressed__", False))) and values.shape[1] != len(mask):
        if values.shape[1] != mask.sum():
            raise DatasetError(
                f"{path}: {key} has {values.shape[1]} joints, mask selects {int(mask.sum())}"
            )
        full = np.zeros((n, len(mask), channels))
        full[:, mask] = values
        values = full
    if values.shape[1] != len(mask):
        raise DatasetError(f"{path}: {mask_key} has {len(mask)} entries for {values.shape[1]}")
    values[:, ~mask] = 0.0
    return values


def _body_model(data: dict, key: str, shapes: dict, n: int, path: Path) -> dict[str, np.ndarray]:
    params = data[key]
    if not isinstance(params, dict):
        raise DatasetError(f"{path}: {key} is not a dict of parameter arrays")
    out = {}
    for name, shape in shapes.items():
        if name not in params:
            continue
        where = f"{path}: {key}.{name}"
        value = np.asarray(params[name])
        if value.ndim == 0 or value.shape[0] != n:
            raise DatasetError(f"{where}: expected {n} rows, got shape {value.shape}")
        size = int(np.prod(shape))
        out[name] = as_array(value.reshape(n, -1), (n, size), where).reshape(n, *shape)
    for name in ("betas", "expression"):
        if name in params:
            out[name] = as_array(params[name], (n, -1), f"{path}: {key}.{name}")
    return out


def humandata_columns(data: dict, path: Path, root: Path) -> dict[str, ColumnValues]:
    """Manifest columns of a loaded HumanData npz (``path`` only names the file in errors)."""
    require_keys(data, ("image_path", "bbox_xywh"), str(path))
    image_paths = [
        resolve_under(root, p) for p in strings(data["image_path"], f"{path}: image_path")
    ]
    n = len(image_paths)
    boxes = as_array(data["bbox_xywh"], (n, -1), f"{path}: bbox_xywh")
    if boxes.shape[1] not in (4, 5):
        raise DatasetError(f"{path}: bbox_xywh must be (N, 4) or (N, 5), got {boxes.shape}")
    box = boxes[:, :4].copy()
    # mmhuman3d writes [0, 0, 0, 0, 0] for "no box": a flag <= 0 (or, without the flag
    # column, all zeros) means the people are found at run time; any other box is given.
    given = boxes[:, 4] > 0 if boxes.shape[1] == 5 else np.any(box != 0, axis=1)
    box[~given] = np.nan

    def where(row: int) -> str:
        return f"{path}: bbox_xywh row {row}"

    columns: dict[str, ColumnValues] = {
        "image_path": image_paths,
        "person_idx": person_indices(image_paths),
        **checked_boxes(box, given, where),
    }
    if "keypoints3d" in data:
        joints = _keypoints(data, "keypoints3d", n, 4, path)
        convention = str(_item(data.get("keypoints3d_convention", "human_data")))
        columns["joints3d"] = joints
        columns["joints3d_convention"] = [f"mmhuman3d:{convention}"] * n
        columns["joints3d_frame"] = [JOINTS_ROOT_RELATIVE] * n
    if "keypoints2d" in data:
        columns.update(_wholebody_keypoints(data, n, path))
    if "smpl" in data:
        smpl = _body_model(data, "smpl", _SMPL_SHAPES, n, path)
        columns.update({f"smpl_{k}": v for k, v in smpl.items() if k != "expression"})
    if "smplx" in data:
        columns.update(
            {f"smplx_{k}": v for k, v in _body_model(data, "smplx", _SMPLX_SHAPES, n, path).items()}
        )
        misc = _item(data.get("misc", {}))
        flat = misc.get("flat_hand_mean") if isinstance(misc, dict) else None
        columns["gt_hands_relative_to_mean"] = [None if flat is None else not bool(flat)] * n
    return columns


def _wholebody_keypoints(data: dict, n: int, path: Path) -> dict[str, ColumnValues]:
    """2D keypoints when their convention is OpenPose-137, COCO-WholeBody, human_data or
    SMPL-X, else nothing."""
    convention = str(_item(data.get("keypoints2d_convention", "human_data")))
    if convention not in ("openpose_137", "coco_wholebody", *_HUMAN_DATA_ORDER):
        return {}
    points = _keypoints(data, "keypoints2d", n, 3, path)
    if convention in _HUMAN_DATA_ORDER:
        if points.shape[1] != _HUMAN_DATA_ORDER[convention]:
            raise DatasetError(
                f"{path}: {convention} keypoints2d have {points.shape[1]} joints, expected "
                f"{_HUMAN_DATA_ORDER[convention]}"
            )
        keypoints = openpose137_from_human_data(points)
    elif convention == "openpose_137":
        if points.shape[1] != 137:
            raise DatasetError(f"{path}: openpose_137 keypoints2d have {points.shape[1]} joints")
        keypoints = points.astype(np.float32)
    else:
        names = KEYPOINT_NAMES["coco_wholebody133"]
        if points.shape[1] != len(names):
            raise DatasetError(f"{path}: coco_wholebody keypoints2d have {points.shape[1]}")
        keypoints = named_to_openpose137(points, names)
    return {"keypoints2d": keypoints, "keypoints2d_source": [KEYPOINTS_ANNOTATION] * n}


def humandata_cameras(data: dict, subject_camera: list[tuple[str, str] | None], path: Path) -> dict:
    """Per-row camera columns from HumanData's ``cam_param`` (mmhuman3d's Human3.6M converter).

    ``cam_param`` maps ``(subject, camera_id)`` to a CameraParameter dict: ``in_mat`` (3x3 K),
    ``rotation_mat`` (world->camera R), ``translation`` (metres). Rows whose key is missing
    get nulls; a camera whose matrices are not numbers of the right shape raises
    :class:`DatasetError` naming ``path`` and the camera.
    """
    params = _item(data.get("cam_param"))
    n = len(subject_camera)
    focal, centre = np.full((n, 2), np.nan), np.full((n, 2), np.nan)
    rotation, translation = np.full((n, 3, 3), np.nan), np.full((n, 3), np.nan)
    if isinstance(params, dict):
        for i, key in enumerate(subject_camera):
            cam = params.get(key) if key is not None else None
            if not isinstance(cam, dict) or "in_mat" not in cam:
                continue
            where = f"{path}: cam_param[{key!r}]"
            k = as_array(cam["in_mat"], (3, 3), f"{where}.in_mat")
            focal[i], centre[i] = (k[0, 0], k[1, 1]), (k[0, 2], k[1, 2])
            if "rotation_mat" in cam and "translation" in cam:
                rotation[i] = as_array(cam["rotation_mat"], (3, 3), f"{where}.rotation_mat")
                translation[i] = as_array(cam["translation"], (3,), f"{where}.translation")
    return {
        "focal": focal,
        "principal_point": centre,
        "cam_rotation": rotation,
        "cam_translation": translation,
    }
