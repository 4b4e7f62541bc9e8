"""ExPose's curated-fits layout: ``train.npz`` plus one vertex file per row.

What ExPose's loader (vchoutas/expose ``expose/data/datasets/curated_fittings.py``; FuRPE
reads the same file) does with it, and so what is written here (M rows, row order =
increasing ``sample_idx``):

* ``img_fns`` (M,) bytes, UTF-8 image paths (absolute; the loader does
  ``np.asarray(..., dtype=np.string_)`` then ``.decode('utf-8')``);
* ``betas`` (M, 10), ``expression`` (M, 10) float32;
* ``pose`` (M, 55, 3) float32 axis-angle: global orient, body joints 1..21, jaw, left eye, right
  eye, left hand 15, right hand 15 (55 joints: the loader's ``eye_offset`` is 2). Hands are
  ABSOLUTE finger rotations: ExPose feeds them to ``smplx.SMPLXLayer``, which adds no mean
  (mmhuman3d PR #301: the flag does nothing in the Layer classes). FuRPE's loader adds the mean
  to its own mean-relative hands for the same reason, and builds the curated fits' meshes with
  the Layer directly (see also vchoutas/expose issue #28);
* ``keypoints2D`` (M, 137, 3) float32 OpenPose-137 ``(x, y, confidence)`` in image pixels
  (ExPose's ``openpose25+hands+face``). ExPose decides hand and head presence from these
  confidences, so a suppressed part's keypoints get confidence 0 (its pose stays the store's
  neutral value: the mean hand, zero jaw and expression);
* ``dset_name`` (M,) bytes: with it, the loader reads ``vertices/train/<dset_name>_<i:06d>.npy``
  (10475, 3) float32 metres for row ``i``, written here from exactly the row's ``pose``,
  ``betas`` and ``expression`` (``transl`` zero, ExPose's fits carry none);
* extra keys ExPose ignores: ``sample_idx`` (M,) int64, and with ``--all`` ``valid`` (M,) bool
  and ``part_valid`` (M, 4) bool: ExPose has no per-row mask, rows with ``valid`` False hold
  NaN (and NaN vertices) and must be filtered out before training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from furpe_label.storage.exports.conventions import (
    export_keypoints,
    hands_relative_to_mean,
    zero_missing_part_confidences,
)
from furpe_label.storage.exports.files import save_npy, save_npz
from furpe_label.storage.exports.run_rows import RunRows
from furpe_label.storage.exports.smplx_mesh import SmplxMesh
from furpe_label.storage.path_text import path_bytes

__all__ = ["EXPOSE_POSE_ORDER", "write_expose"]

EXPOSE_POSE_ORDER = (
    ("global_orient", 1),
    ("body_pose", 21),
    ("jaw_pose", 1),
    ("leye_pose", 1),
    ("reye_pose", 1),
    ("left_hand_pose", 15),
    ("right_hand_pose", 15),
)
"""The joints of ExPose's ``pose`` (55, 3), in order: (store field, joints)."""

SPLIT = "train"
_READ = (*(name for name, _ in EXPOSE_POSE_ORDER), "betas", "expression", "keypoints2d")
_VERTICES = 10475


def _pose(labels: dict[str, np.ndarray]) -> np.ndarray:
    """(B, 55, 3) float32 ExPose pose from the store's fields."""
    count = len(labels["global_orient"])
    return np.concatenate(
        [labels[name].reshape(count, joints, 3) for name, joints in EXPOSE_POSE_ORDER], axis=1
    ).astype(np.float32)


def _vertices(labels: dict[str, np.ndarray], mesh: SmplxMesh) -> np.ndarray:
    """(B, 10475, 3) float32 vertices of the rows' exported parameters (NaN rows stay NaN)."""
    count = len(labels["global_orient"])
    out = np.full((count, _VERTICES, 3), np.nan, np.float32)
    names = [name for name, _ in EXPOSE_POSE_ORDER] + ["betas", "expression"]
    finite = np.ones(count, bool)
    for name in names:
        finite &= np.isfinite(labels[name].reshape(count, -1)).all(axis=1)
    if finite.any():
        params = {name: labels[name][finite] for name in names}
        for i, side in enumerate(("left_hand_pose", "right_hand_pose")):
            params[side] = hands_relative_to_mean(params[side], mesh.hand_mean[i])
        out[finite], _ = mesh.forward(params)
    return out


def write_expose(
    rows: RunRows, dest: Path, mesh: SmplxMesh, dataset: str, include_all: bool
) -> RunRows:
    """Write ``train.npz`` and the vertex files of ``rows`` under ``dest``; returns ``rows``."""
    poses, betas, expression, keypoints = [], [], [], []
    vertex_folder = dest / "vertices" / SPLIT
    dset_name = dataset.replace("/", "_")
    for positions in rows.batches():
        labels = rows.read(_READ, positions)
        poses.append(_pose(labels))
        betas.append(labels["betas"].astype(np.float32))
        expression.append(labels["expression"].astype(np.float32))
        points = export_keypoints(labels["keypoints2d"], "expose")
        keypoints.append(zero_missing_part_confidences(points, rows.part_valid[positions]))
        for offset, vertices in enumerate(_vertices(labels, mesh)):
            save_npy(vertex_folder / f"{dset_name}_{positions.start + offset:06d}.npy", vertices)
    count = len(rows)
    arrays = {
        "img_fns": np.array([path_bytes(p) for p in rows.image_path], dtype=np.bytes_),
        "betas": np.concatenate(betas) if betas else np.zeros((0, 10), np.float32),
        "expression": np.concatenate(expression) if expression else np.zeros((0, 10), np.float32),
        "pose": np.concatenate(poses) if poses else np.zeros((0, 55, 3), np.float32),
        "keypoints2D": np.concatenate(keypoints)
        if keypoints
        else np.zeros((0, 137, 3), np.float32),
        "dset_name": np.array([dset_name.encode()] * count, dtype=np.bytes_),
        "sample_idx": rows.sample_idx.astype(np.int64),
    }
    if include_all:
        arrays["valid"] = rows.valid.astype(bool)
        arrays["part_valid"] = rows.part_valid.astype(bool)
    save_npz(dest / f"{SPLIT}.npz", arrays)
    return rows
