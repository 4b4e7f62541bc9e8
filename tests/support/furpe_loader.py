"""FuRPE's training-split loading, step by step, written from reading its code (not copied).

Source: indigo-99/FuRPE at da990a1, ``FuRPE/data/datasets/curated_fittings.py``
(``CuratedFittings``, ``split='train'``); ``L<n>`` below are its line numbers. Only the steps
that decide which files are read and what values come out of them are followed; the image
decoding, transforms and target wrappers are left out.
"""

from __future__ import annotations

import os.path as osp
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# L118-L126 and L127-L135, typed from the code (45 values each, float32, reshape(15, 3))
FURPE_CODE_LEFT_HAND_MEAN = np.array(
    [
        0.11167871,
        0.04289218,
        -0.41644183,
        0.10881133,
        -0.06598568,
        -0.75622,
        -0.09639297,
        -0.09091566,
        -0.18845929,
        -0.11809504,
        0.05094385,
        -0.5295845,
        -0.14369841,
        0.0552417,
        -0.7048571,
        -0.01918292,
        -0.09233685,
        -0.3379135,
        -0.45703298,
        -0.19628395,
        -0.6254575,
        -0.21465237,
        -0.06599829,
        -0.50689423,
        -0.36972436,
        -0.06034463,
        -0.07949023,
        -0.1418697,
        -0.08585263,
        -0.63552827,
        -0.3033416,
        -0.05788098,
        -0.6313892,
        -0.17612089,
        -0.13209307,
        -0.37335458,
        0.8509643,
        0.27692273,
        -0.09154807,
        -0.49983943,
        0.02655647,
        0.05288088,
        0.5355592,
        0.04596104,
        -0.27735803,
    ],
    dtype=np.float32,
).reshape(15, 3)
FURPE_CODE_RIGHT_HAND_MEAN = np.array(
    [
        0.11167871,
        -0.04289218,
        0.41644183,
        0.10881133,
        0.06598568,
        0.75622,
        -0.09639297,
        0.09091566,
        0.18845929,
        -0.11809504,
        -0.05094385,
        0.5295845,
        -0.14369841,
        -0.0552417,
        0.7048571,
        -0.01918292,
        0.09233685,
        0.3379135,
        -0.45703298,
        0.19628395,
        0.6254575,
        -0.21465237,
        0.06599829,
        0.50689423,
        -0.36972436,
        0.06034463,
        0.07949023,
        -0.1418697,
        0.08585263,
        0.63552827,
        -0.3033416,
        0.05788098,
        0.6313892,
        -0.17612089,
        0.13209307,
        0.37335458,
        0.8509643,
        -0.27692273,
        0.09154807,
        -0.49983943,
        -0.02655647,
        -0.05288088,
        0.5355592,
        -0.04596104,
        0.27735803,
    ],
    dtype=np.float32,
).reshape(15, 3)
HAND_LIMIT = 3.15  # L456 / L467


@dataclass
class FurpeItem:
    """What one training index gives (L388-L476, L482-L484)."""

    img_fn: str
    param_path: Path
    data: dict[str, Any]
    keypoints2d: np.ndarray  # (137, 3), the train.npz row the loader indexes
    has_head: bool
    left_hand_pose: np.ndarray | None  # (15, 3) absolute, the mean added back
    right_hand_pose: np.ndarray | None


class FurpeTrainingSplit:
    """``CuratedFittings(split='train')`` run in the folder ``root`` (FuRPE's working dir)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        data_path = "data/curated_fits"  # L97: the argument is overwritten
        data = np.load(self._at(osp.join(data_path, "train.npz")), allow_pickle=True)  # L147
        data = dict(data)  # L148 (every key read at once)
        self.keypoints2D = data["keypoints2D"].astype(np.float32)  # L149
        img_fns = np.asarray(data["img_fns"], dtype=np.bytes_)  # L151
        self.comp_img_fns = [osp.join("data", f.decode("utf-8")) for f in img_fns]  # L152-L153
        self.has_dset_name = "dset_name" in data  # L265: vertices become a target (L764)
        if "dset_name" in data:
            np.asarray(data["dset_name"], dtype=np.bytes_)  # L266
        all_image_name_path = osp.join(data_path, "comp_img_fns.npy")  # L166
        if not self._at(all_image_name_path).exists():  # L175: raw_len undefined below
            raise NameError("raw_len (no data/curated_fits/comp_img_fns.npy)")
        self.comp_img_fns = list(np.load(self._at(all_image_name_path), allow_pickle=True))
        raw_len = len(self.comp_img_fns)  # L177
        for split in ["val", "train", "test"]:  # L195-L203
            add_path = osp.join(data_path, f"posetrack_{split}_comp_img_fns_del05.npy")
            if self._at(add_path).exists():
                self.comp_img_fns += list(np.load(self._at(add_path), allow_pickle=True))
        self.indices = list(range(raw_len, len(self.comp_img_fns)))  # L254-L256
        self.num_items = len(self.indices)  # L257

    def _at(self, relative: str) -> Path:
        return self.root / relative

    def __len__(self) -> int:
        return self.num_items

    def __getitem__(self, index: int) -> FurpeItem:
        img_index = self.indices[index]  # L392-L394
        img_fn = str(self.comp_img_fns[img_index])  # L403
        img_name = img_fn.split("/")[-1].split("\\")[-1].replace(".jpg", "")  # L407
        if "add_data" in img_fn:  # L408: the added datasets read OpenPose JSON (not followed)
            raise NotImplementedError(f"added-data entry {img_fn}")
        path = self._at(osp.join("data", "params3d_v", "curated_fits", img_name + ".npy"))  # L433
        if not path.exists():  # L435-L441: the loader returns None
            raise FileNotFoundError(path)
        data = np.load(path, allow_pickle=True).item()  # L436
        hands = {}
        for side, mean in (
            ("left", FURPE_CODE_LEFT_HAND_MEAN),
            ("right", FURPE_CODE_RIGHT_HAND_MEAN),
        ):  # L452-L472
            pose = None
            if f"{side}_hand_pose" in data:
                pose = data[f"{side}_hand_pose"].astype(np.float32).reshape(15, 3)
                pose += mean
                if np.any(pose >= HAND_LIMIT) or np.any(pose <= -HAND_LIMIT):
                    pose = None
            hands[side] = pose
        for key in ("betas", "body_pose", "global_orient"):  # L474-L476: required keys
            data[key]
        return FurpeItem(
            img_fn=img_fn,
            param_path=path,
            data=data,
            keypoints2d=self.keypoints2D[img_index],  # L483
            has_head="jaw_pose" in data,  # L443
            left_hand_pose=hands["left"],
            right_hand_pose=hands["right"],
        )
