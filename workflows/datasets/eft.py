"""``eft``: Exemplar Fine-Tuning pseudo-ground-truth SMPL fits (facebookresearch/eft).

An EFT file (``COCO2014-All-ver01.json``, ``COCO2014-Part-ver01.json``,
``COCO2014-Val-ver10.json``, ``MPII_ver01.json``, ``LSPet_ver01.json``) is
``{"ver": ..., "data": [...]}``, one entry per person:

* ``imageName``: the image; EFT's own viewer opens ``<img_dir>/<basename(imageName)>``, so
  images are ``<root>/<basename>`` with ``--root`` the image folder (e.g. ``coco/train2014``).
* ``bbox_center`` (2) px, ``bbox_scale``: SPIN's box, side ``200 * bbox_scale``.
* ``parm_pose`` (24, 3, 3) SMPL rotation matrices (global first), ``parm_shape`` (10),
  ``parm_cam`` (3) weak-perspective [s, tx, ty] of the 224 x 224 box crop.
* optional ``gt_keypoint_2d`` (49, 3) in SPIN's order: OpenPose BODY_25 first (used as
  ``keypoints2d`` when any is detected), then SPIN's 24 annotated joints.

``--annotations`` names the EFT file (or it is found under ``--root`` by the names above).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from furpe_label.storage.manifest import ColumnValues
from furpe_label.storage.manifest_columns import KEYPOINTS_OPENPOSE
from furpe_label.workflows.datasets.base import DatasetAdapter
from furpe_label.workflows.datasets.boxes import checked_boxes
from furpe_label.workflows.datasets.json_fields import Place, as_object, member, objects, text
from furpe_label.workflows.datasets.keypoints import body25_to_openpose137, rotmats_to_axis_angle
from furpe_label.workflows.datasets.readers import (
    DatasetError,
    as_array,
    center_scale_to_xywh,
    load_json,
    person_indices,
    require_keys,
    resolve_under,
)

_KEYS = ("imageName", "bbox_center", "bbox_scale", "parm_pose", "parm_shape", "parm_cam")


ROTATION_TOLERANCE = 1e-2
"""Largest |R^T R - I| entry accepted for a ``parm_pose`` rotation matrix."""


def _checked_rotations(rotmats: np.ndarray, wheres: list[str]) -> np.ndarray:
    """(N, 24, 3, 3) ``parm_pose`` when every matrix is a rotation (finite, orthonormal within
    :data:`ROTATION_TOLERANCE`, determinant +1); else :class:`DatasetError` naming the first
    fit and joint that is not."""
    with np.errstate(all="ignore"):
        finite = np.isfinite(rotmats.astype(np.float32)).all(axis=(-2, -1))
        safe = np.where(finite[..., None, None], rotmats, np.eye(3))
        gram = np.einsum("...ji,...jk->...ik", safe, safe) - np.eye(3)
        orthonormal = np.abs(gram).max(axis=(-2, -1)) <= ROTATION_TOLERANCE
        proper = np.linalg.det(safe) > 0
    bad = np.argwhere(~(finite & orthonormal & proper))
    if len(bad):
        fit, joint = (int(v) for v in bad[0])
        raise DatasetError(
            f"{wheres[fit]}: parm_pose[{joint}] is not a rotation matrix "
            f"({rotmats[fit, joint].round(4).tolist()}); {len(bad)} such matrices in the file"
        )
    return rotmats


class EFTAdapter(DatasetAdapter):
    """EFT fits: SPIN boxes, SMPL parameters and weak-perspective cameras as ground truth."""

    name = "eft"
    has_ground_truth = True
    gives_boxes = True
    official_files = (
        "COCO2014-All-ver01.json",
        "COCO2014-Part-ver01.json",
        "COCO2014-Val-ver10.json",
        "MPII_ver01.json",
        "LSPet_ver01.json",
        "eft_fit/*.json",
    )

    def read_columns(self) -> dict[str, ColumnValues]:
        root = self.require_root()
        rows: dict[str, list] = {
            k: []
            for k in (
                "image_path",
                "center",
                "scale",
                "rotmats",
                "betas",
                "cam",
                "body25",
                "where",
            )
        }
        for path in self.annotation_files():
            top = Place(path)
            entries = member(as_object(load_json(path), top), "data", top)
            for place, fit in objects(entries, top.key("data")):
                where = str(place)
                require_keys(fit, _KEYS, where)
                name = Path(text(fit, "imageName", place)).name
                rows["image_path"].append(resolve_under(root, name or "."))
                rows["center"].append(as_array(fit["bbox_center"], (2,), f"{where}: bbox_center"))
                rows["scale"].append(float(as_array(fit["bbox_scale"], (), f"{where}: bbox_scale")))
                rows["rotmats"].append(
                    as_array(fit["parm_pose"], (24, 3, 3), f"{where}: parm_pose")
                )
                rows["betas"].append(as_array(fit["parm_shape"], (10,), f"{where}: parm_shape"))
                rows["cam"].append(as_array(fit["parm_cam"], (3,), f"{where}: parm_cam"))
                body = np.zeros((25, 3))
                if fit.get("gt_keypoint_2d") is not None:
                    body = as_array(fit["gt_keypoint_2d"], (49, 3), f"{where}: gt_keypoint_2d")[:25]
                rows["body25"].append(body)
                rows["where"].append(where)
        n = len(rows["image_path"])
        if n == 0:
            return {"image_path": []}
        pose = rotmats_to_axis_angle(_checked_rotations(np.asarray(rows["rotmats"]), rows["where"]))
        keypoints = body25_to_openpose137(np.asarray(rows["body25"]))
        detected = keypoints[..., 2].max(axis=1) > 0
        keypoints[~detected] = np.nan
        centers, scales = np.asarray(rows["center"]), np.asarray(rows["scale"])
        wheres = rows["where"]

        def where(row: int) -> str:
            return (
                f"{wheres[row]} (bbox_center {centers[row].tolist()}, bbox_scale {scales[row]:.6g})"
            )

        return {
            "image_path": rows["image_path"],
            "person_idx": person_indices(rows["image_path"]),
            **checked_boxes(center_scale_to_xywh(centers, scales), np.ones(n, bool), where),
            "smpl_global_orient": pose[:, 0],
            "smpl_body_pose": pose[:, 1:],
            "smpl_betas": np.asarray(rows["betas"]),
            "gt_weak_camera": np.asarray(rows["cam"]),
            "keypoints2d": keypoints,
            "keypoints2d_source": [KEYPOINTS_OPENPOSE if d else None for d in detected],
        }
