"""The folder tree FuRPE's training split reads, as its code reads it, and its mean hand.

FuRPE (indigo-99/FuRPE at da990a1) trains with ``mytrain.py`` on ``data/conf_2distil.yaml``,
whose ``datasets.body.splits.train`` is ``[curated_fits]``: the dataset class
``FuRPE/data/datasets/curated_fittings.py`` ``CuratedFittings(split='train')``. All its paths are
relative to the working directory (FuRPE's repository root) and fixed in the code, so the export
writes them under ``DEST/data/`` (copy or link ``DEST/data`` into FuRPE's root):

* ``data/curated_fits/train.npz`` (the ``data_path`` argument is overwritten with
  ``'data/curated_fits'``): ``keypoints2D`` (N, 137, 3) float32 OpenPose-137
  (``openpose25+hands+face``) pixels + confidence, ``img_fns`` (N,) UTF-8 bytes image paths (the
  loader decodes them so), ``dset_name`` (N,) bytes (its presence makes the loader add the
  files' ``vertices`` as a target).
* ``data/curated_fits/comp_img_fns.npy``: the loader replaces its image list with this file and
  trains only on the entries appended after it (``self.indices = range(raw_len, ...)``), so it is
  written EMPTY (without it the loader stops with a NameError on ``raw_len``).
* ``data/curated_fits/posetrack_{val,train,test}_comp_img_fns_del05.npy``: appended in the order
  val, train, test. ``train`` holds the N image paths in ``train.npz`` row order, ``val`` and
  ``test`` are empty, so list entry i is ``keypoints2D`` row i. A path must not contain
  ``add_data`` (the loader would then read OpenPose JSON beside the image instead).
* ``data/params3d_v/curated_fits/<img_name>.npy``: the label dicts (:mod:`.furpe`), the folder
  the loader uses for an entry whose path has no ``add_data``.

The loader adds ITS hard-coded mean hand (:data:`FURPE_LEFT_HAND_MEAN`, the mirrored right) to
the stored hand poses, whatever SMPL-X file the run used; the export therefore stores absolute
hand pose minus that constant. The constant is SMPL-X's / MANO's ``hands_meanl`` at float32 print
precision; where the run's model has another mean (the synthetic family) FuRPE still recovers the
run's absolute poses exactly (to float32 rounding).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from furpe_label.storage.exports.files import save_npy, save_npz
from furpe_label.storage.exports.run_rows import ExportError
from furpe_label.storage.path_text import path_bytes

__all__ = [
    "FURPE_LEFT_HAND_MEAN",
    "FURPE_PARAMS_FOLDER",
    "FURPE_TRAINING_ASSUMPTIONS",
    "TRAINING_LISTS",
    "furpe_hand_mean",
    "hands_relative_to_furpe_mean",
    "write_training_tree",
]

CURATED_FITS = Path("data", "curated_fits")
FURPE_PARAMS_FOLDER = Path("data", "params3d_v", "curated_fits")
"""Where the loader reads the label file of an entry without ``add_data`` in its path."""
TRAIN_NPZ = CURATED_FITS / "train.npz"
BASE_LIST = CURATED_FITS / "comp_img_fns.npy"
TRAINING_LISTS = {
    split: CURATED_FITS / f"posetrack_{split}_comp_img_fns_del05.npy"
    for split in ("val", "train", "test")
}
"""The lists the loader appends after ``comp_img_fns.npy``, in its order (val, train, test)."""
ADDED_DATA_MARK = "add_data"

FURPE_LEFT_HAND_MEAN = np.array(
    [
        [0.11167871, 0.04289218, -0.41644183],
        [0.10881133, -0.06598568, -0.75622],
        [-0.09639297, -0.09091566, -0.18845929],
        [-0.11809504, 0.05094385, -0.5295845],
        [-0.14369841, 0.0552417, -0.7048571],
        [-0.01918292, -0.09233685, -0.3379135],
        [-0.45703298, -0.19628395, -0.6254575],
        [-0.21465237, -0.06599829, -0.50689423],
        [-0.36972436, -0.06034463, -0.07949023],
        [-0.1418697, -0.08585263, -0.63552827],
        [-0.3033416, -0.05788098, -0.6313892],
        [-0.17612089, -0.13209307, -0.37335458],
        [0.8509643, 0.27692273, -0.09154807],
        [-0.49983943, 0.02655647, 0.05288088],
        [0.5355592, 0.04596104, -0.27735803],
    ],
    dtype=np.float32,
)
"""(15, 3) float32 radians: the left mean hand FuRPE's loader adds (``target_left_hand_mean``);
its right one is this mirrored, ``* [1, -1, -1]``."""

FURPE_TRAINING_ASSUMPTIONS = [
    "copy or link DEST/data into FuRPE's repository root and start mytrain.py there (the "
    "loader's paths are relative to the working directory)",
    "config data/conf_2distil.yaml: datasets.body.splits.train = [curated_fits], "
    "use_face_contour true, body/hand/face thresholds 0.1/0.2/0.4 with binarization",
    "CuratedFittings(split='train') trains only on the entries appended after "
    "data/curated_fits/comp_img_fns.npy (written empty): the images are listed in "
    "posetrack_train_comp_img_fns_del05.npy in train.npz row order (val/test lists empty)",
    "the images are read from the absolute paths listed (they must exist on the training "
    "machine); no path contains 'add_data'",
    "hand poses are stored minus FuRPE's hard-coded mean hand (target_left_hand_mean / "
    "target_right_hand_mean), which the loader adds back: absolute SMPL-X hand poses "
    "(flat_hand_mean=True meaning) whatever the run's model mean",
    "the loader also needs data/smplx_flip_correspondences.npz (ExPose's download, not written "
    "here)",
    "a hand supervises only where the loader finds > 8 hand keypoints above 0.2 confidence, a "
    "head > 8 head keypoints (suppressed parts have confidence 0 and no pose keys)",
]
"""What the written tree assumes of FuRPE (``export.json`` ``assumes``)."""


def furpe_hand_mean(side: str) -> np.ndarray:
    """(15, 3) float32 mean hand FuRPE's loader adds to ``side`` ("left" / "right")."""
    if side == "left":
        return FURPE_LEFT_HAND_MEAN
    if side == "right":
        return FURPE_LEFT_HAND_MEAN * np.array([1.0, -1.0, -1.0], np.float32)
    raise ValueError(f"hand side must be 'left' or 'right', not {side!r}")


def hands_relative_to_furpe_mean(hand_pose: np.ndarray, side: str) -> np.ndarray:
    """Absolute finger rotations -> what FuRPE's file holds.

    Args:
        hand_pose: (B, 15, 3) or (B, 45) absolute axis-angle, radians.
        side: "left" or "right".

    Returns:
        (B, 45) float32 ``hand_pose - mean`` computed in float32, so that the loader's float32
        ``stored + mean`` gives back ``hand_pose`` to float32 rounding.
    """
    pose = np.asarray(hand_pose, np.float32).reshape(-1, 15, 3)
    return (pose - furpe_hand_mean(side)).reshape(-1, 45).astype(np.float32)


def write_training_tree(
    dest: Path, image_paths: list[str], keypoints2d: np.ndarray, dataset: str
) -> None:
    """Write train.npz and the fixed image lists for the label files already written.

    Args:
        dest: the export folder (``data/`` is written in it).
        image_paths: (N,) the image of each label file, in the order of ``keypoints2d``.
        keypoints2d: (N, 137, 3) float32 OpenPose-137 ``(x, y, confidence)`` pixels.
        dataset: written as every row's ``dset_name``.

    Raises:
        ExportError: a path contains ``add_data`` or the counts differ.
    """
    points = np.asarray(keypoints2d, np.float32)
    if points.shape != (len(image_paths), 137, 3):
        raise ExportError(
            f"FuRPE's train.npz needs (N, 137, 3) keypoints for N={len(image_paths)} images, "
            f"got {points.shape}"
        )
    marked = [path for path in image_paths if ADDED_DATA_MARK in path]
    if marked:
        raise ExportError(
            f"{len(marked)} image path(s) contain {ADDED_DATA_MARK!r} (e.g. {marked[0]}): "
            "FuRPE's loader would treat them as its added datasets and read OpenPose JSON "
            "beside them; move the images to a folder without that name and run again"
        )
    images = np.asarray(image_paths, dtype=str)
    (dest / CURATED_FITS).mkdir(parents=True, exist_ok=True)
    save_npz(
        dest / TRAIN_NPZ,
        {
            "img_fns": np.asarray([path_bytes(path) for path in image_paths], dtype=bytes),
            "keypoints2D": points,
            "dset_name": np.asarray([dataset.encode("utf-8")] * len(images), dtype=bytes),
        },
    )
    empty = np.asarray([], dtype=str)
    save_npy(dest / BASE_LIST, empty)
    for split, path in TRAINING_LISTS.items():
        save_npy(dest / path, images if split == "train" else empty)
