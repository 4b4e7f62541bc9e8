"""Independent readers of the export formats, written from the formats' own loaders (not from
the exporter): FuRPE ``data/datasets/curated_fittings.py``, ExPose
``expose/data/datasets/curated_fittings.py``, mmhuman3d ``HumanData.load`` and SMPLer-X's
HumanData loader. Plus a reference SMPL-X mesh straight from ``smplx`` for vertex checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import smplx
import torch

# ---- FuRPE --------------------------------------------------------------------------------

FURPE_HAND_LIMIT = 3.15  # the loader drops a hand with any component >= 3.15 or <= -3.15


def furpe_label_path(dest: Path, img_fn: str) -> Path:
    """Where FuRPE's loader looks for an image's file (its ``img_name`` rule)."""
    img_name = img_fn.split("/")[-1].split("\\")[-1].replace(".jpg", "")
    return Path(dest, "data", "params3d_v", "curated_fits", img_name + ".npy")


def read_furpe(path: Path, left_mean: np.ndarray, right_mean: np.ndarray) -> dict[str, Any]:
    """One FuRPE file as its loader sees it: parts present or not, hands with the mean added
    back, features reshaped to 1024 as its trainer does."""
    data = np.load(path, allow_pickle=True).item()
    out: dict[str, Any] = {"raw": data, "has_head": "jaw_pose" in data}
    for side, mean in (("left", left_mean), ("right", right_mean)):
        key = f"{side}_hand_pose"
        pose = None
        if key in data:
            pose = data[key].astype(np.float32).reshape(15, 3) + mean.astype(np.float32)
            if np.any(pose >= FURPE_HAND_LIMIT) or np.any(pose <= -FURPE_HAND_LIMIT):
                pose = None
        out[key] = pose
    out["betas"] = data["betas"]
    out["body_pose"] = data["body_pose"].reshape(21, 3)
    out["global_orient"] = data["global_orient"].reshape(3)
    if out["has_head"]:
        out["jaw_pose"], out["expression"] = data["jaw_pose"], data["expression"]
    for part in ("body", "face", "left_hand", "right_hand"):
        key = f"save_feature_{part}"
        if key in data:
            out[key] = torch.from_numpy(data[key]).to(torch.float32).reshape((1024,)).numpy()
    return out


# ---- ExPose -------------------------------------------------------------------------------


def read_expose(dest: Path, split: str = "train") -> dict[str, Any]:
    """ExPose's curated-fits arrays, per row sliced as its ``__getitem__`` does."""
    data = dict(np.load(Path(dest, f"{split}.npz"), allow_pickle=True))
    pose = data["pose"].astype(np.float32)
    eye_offset = 0 if pose.shape[1] == 53 else 2
    img_fns = [f.decode("utf-8") for f in np.asarray(data["img_fns"], dtype=np.bytes_)]
    out = {
        "img_fns": img_fns,
        "global_orient": pose[:, 0],
        "body_pose": pose[:, 1:22],
        "jaw_pose": pose[:, 22],
        "left_hand_pose": pose[:, 23 + eye_offset : 23 + eye_offset + 15],
        "right_hand_pose": pose[:, 23 + 15 + eye_offset :],
        "eyes": pose[:, 23 : 23 + eye_offset],
        "betas": data["betas"].astype(np.float32),
        "expression": data["expression"].astype(np.float32),
        "keypoints2D": data["keypoints2D"].astype(np.float32),
        "extra": {k: v for k, v in data.items() if k not in ("pose", "img_fns")},
    }
    if "dset_name" in data:
        names = [n.decode("utf-8") for n in np.asarray(data["dset_name"], dtype=np.bytes_)]
        out["vertices"] = (
            np.stack(
                [
                    np.load(Path(dest, "vertices", split, f"{name}_{index:06d}.npy"))
                    for index, name in enumerate(names)
                ]
            )
            if names
            else np.zeros((0, 10475, 3))
        )
    return out


def expose_part_present(keypoints2d: np.ndarray, part: slice, minimum: int = 8) -> np.ndarray:
    """ExPose / FuRPE: a hand (or head) is present when the sum of its thresholded confidences
    exceeds ``min_*_keypoints`` (8). (B,) bool for OpenPose-137 ``part`` indices."""
    return keypoints2d[:, part, 2].sum(axis=1) > minimum


# ---- HumanData ----------------------------------------------------------------------------


def read_humandata(path: Path) -> dict[str, Any]:
    """mmhuman3d ``HumanData.load``: 0-d arrays back to their Python value, 4-column boxes
    padded with a confidence of 1."""
    data: dict[str, Any] = {}
    with np.load(path, allow_pickle=True) as npz:
        for key, value in dict(npz).items():
            if isinstance(value, np.ndarray) and value.shape == ():
                value = value.item()
            if key == "bbox_xywh" and value.shape[1] == 4:
                value = np.hstack([value, np.ones([value.shape[0], 1])])
            data[key] = value
    return data


def smplerx_part_valid(data: dict[str, Any], smplx_137_mapping: Any) -> dict[str, np.ndarray]:
    """What SMPLer-X's ``HumanDataset.load_data`` makes of a file (data/humandata.py): part pose
    validity for the whole file from the presence of the ``smplx`` keys (``lhand_valid`` etc.,
    then ``process_human_model_output``), box validity per row from the 5th column, and the
    (137,) ``joint_valid`` of every row from ``keypoints2d_mask[SMPLX_137_MAPPING]``."""
    smplx_params = data["smplx"]
    rows = len(data["bbox_xywh"])
    return {
        "lhand_valid": np.full(rows, "left_hand_pose" in smplx_params),
        "rhand_valid": np.full(rows, "right_hand_pose" in smplx_params),
        "face_valid": np.full(rows, "expression" in smplx_params and "jaw_pose" in smplx_params),
        "lhand_bbox_valid": data["lhand_bbox_xywh"][:, 4] > 0,
        "rhand_bbox_valid": data["rhand_bbox_xywh"][:, 4] > 0,
        "face_bbox_valid": data["face_bbox_xywh"][:, 4] > 0,
        "joint_valid": np.asarray(data["keypoints2d_mask"])[list(smplx_137_mapping)],
    }


# ---- reference SMPL-X ---------------------------------------------------------------------


def reference_smplx(model_file: Path, flat_hand_mean: bool) -> smplx.SMPLX:
    """``smplx.SMPLX`` read by smplx itself from the (synthetic, trusted) ``.npz`` file."""
    return smplx.SMPLX(
        str(model_file),
        ext="npz",
        use_pca=False,
        flat_hand_mean=flat_hand_mean,
        use_face_contour=True,
        num_betas=10,
        num_expression_coeffs=10,
    )


def reference_mesh(layer: smplx.SMPLX, **params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, 10475, 3) vertices and (B, 144, 3) joints; every parameter (B, ...) given."""
    tensors = {
        k: torch.as_tensor(np.asarray(v, np.float32)).reshape(len(v), -1) for k, v in params.items()
    }
    with torch.no_grad():
        output = layer(**tensors)
    return output.vertices.numpy(), output.joints.numpy()
