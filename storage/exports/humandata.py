"""mmhuman3d's HumanData ``.npz`` (as SMPLer-X's loaders read it): ``<dataset>.npz``.

The file is what ``HumanData.dump`` writes (``np.savez_compressed``; dicts become 0-d object
arrays, read back with ``allow_pickle=True`` and ``.item()``), M rows in increasing
``sample_idx`` order:

* ``__key_strict__`` False, ``__temporal_len__`` M, ``__keypoints_compressed__`` False;
* ``image_path`` (M,) str, absolute (SMPLer-X joins it to its image folder: an absolute path
  survives ``os.path.join``);
* ``bbox_xywh`` (M, 5) float32: the body crop box, pixel ``xywh``, and a 5th column 1 where
  the row has a label, 0 otherwise; ``face_bbox_xywh``, ``lhand_bbox_xywh``,
  ``rhand_bbox_xywh`` (M, 5) the part crop boxes, 5th column 1 where the part's label is usable
  (SMPLer-X sets ``face_valid`` / ``lhand_valid`` / ``rhand_valid`` from it: a suppressed part is
  a 0 there; a box the run never made is zeros);
* ``keypoints2d`` (M, 137, 3) float32 detected ``(x, y, confidence)`` pixels,
  ``keypoints2d_mask`` (137,) uint8 ones, ``keypoints2d_convention`` ``"openpose_137"``
  (mmhuman3d's OpenPose-137, the same points in the same order);
* ``smplx`` dict of float32 arrays: ``global_orient`` (M, 3), ``body_pose`` (M, 21, 3),
  ``jaw_pose``, ``leye_pose``, ``reye_pose`` (M, 3), ``left_hand_pose`` / ``right_hand_pose``
  (M, 15, 3) ABSOLUTE finger rotations, ``betas`` (M, 10), ``expression`` (M, 10), ``transl``
  (M, 3) metres;
* ``meta`` dict: ``height`` / ``width`` (M,) int image sizes (-1 where the image cannot be
  read now), ``gender`` M x ``"neutral"``, ``sample_idx``, ``person_idx`` (M,) int64,
  ``valid``, ``body_valid``, ``face_valid``, ``lefthand_valid``, ``righthand_valid`` (M,)
  bool, ``weak_perspective_camera`` (M, 3) ``[s, tx, ty]`` in the body crop's [-1, 1] frame
  (``x = s * (X[:2] + [tx, ty])`` for SMPL-X points ``X`` with ``transl``);
* ``misc`` dict: ``flat_hand_mean`` True, ``bbox_source``, ``smplx_source``,
  ``synthetic_body_models``, ``run_config_hash``, ``code_version``.

With ``--all`` every row is written; rows without a label have NaN parameters and a 0 in
every box's 5th column and in ``meta['valid']``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from furpe_label.experts.vocabulary import Part
from furpe_label.storage.exports.conventions import FORMAT_KEYPOINTS, export_keypoints
from furpe_label.storage.exports.files import save_npz
from furpe_label.storage.exports.run_rows import RunRows
from furpe_label.storage.schema import SMPLX_PARAMS

__all__ = ["PART_BOX_KEYS", "image_size", "write_humandata"]

PART_BOX_KEYS = {
    Part.BODY: "bbox_xywh",
    Part.FACE: "face_bbox_xywh",
    Part.LEFT_HAND: "lhand_bbox_xywh",
    Part.RIGHT_HAND: "rhand_bbox_xywh",
}
"""Part -> HumanData box key (SMPLer-X's names)."""
_META_VALID = {
    Part.BODY: "body_valid",
    Part.FACE: "face_valid",
    Part.LEFT_HAND: "lefthand_valid",
    Part.RIGHT_HAND: "righthand_valid",
}
_BOXES = tuple(f"box_{part.value}" for part in Part)
_READ = (*SMPLX_PARAMS, "keypoints2d", "camera", *_BOXES)


def image_size(path: str) -> tuple[int, int]:
    """(height, width) from the image header (nothing decoded), (-1, -1) when unreadable."""
    try:
        with Image.open(path) as image:
            width, height = image.size
    except Exception:  # unreadable, missing, not an image, too large: the size is unknown
        return -1, -1
    return int(height), int(width)


def _box(boxes: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """(B, 5) float32 ``[x, y, w, h, usable]``, zeros where the box is missing."""
    present = np.isfinite(boxes).all(axis=1)
    out = np.zeros((len(boxes), 5), np.float32)
    out[present, :4] = boxes[present]
    out[:, 4] = (usable & present).astype(np.float32)
    return out


def write_humandata(rows: RunRows, dest: Path, dataset: str) -> RunRows:
    """Write ``<dataset>.npz`` of ``rows`` under ``dest``; returns ``rows``."""
    if not len(rows):
        raise ValueError("no rows to export")
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in (*_READ, *PART_BOX_KEYS.values())}
    for positions in rows.batches():
        labels = rows.read(_READ, positions)
        for name, values in labels.items():
            chunks[name].append(values)
        usable = rows.part_valid[positions] & rows.valid[positions, None]
        for part, key in PART_BOX_KEYS.items():
            chunks[key].append(_box(labels[f"box_{part.value}"], usable[:, part.column]))
    merged = {name: np.concatenate(values) for name, values in chunks.items()}
    known = {path: image_size(path) for path in dict.fromkeys(rows.image_path)}
    sizes = np.array([known[p] for p in rows.image_path], dtype=np.int64).reshape(-1, 2)
    usable = rows.part_valid & rows.valid[:, None]
    info = rows.info
    meta = {
        "height": sizes[:, 0],
        "width": sizes[:, 1],
        "gender": ["neutral"] * len(rows),
        "sample_idx": rows.sample_idx.astype(np.int64),
        "person_idx": rows.person_idx.astype(np.int64),
        "valid": rows.valid.astype(bool),
        **{key: usable[:, part.column].copy() for part, key in _META_VALID.items()},
        "weak_perspective_camera": merged["camera"].astype(np.float32),
    }
    experts = ", ".join(f"{part}: {name}" for part, name in sorted(info.experts.items()))
    misc = {
        "flat_hand_mean": True,
        "bbox_source": "furpe-label realised part crop boxes (xywh px)",
        "smplx_source": f"furpe-label pseudo-labels ({experts})",
        "synthetic_body_models": bool(info.synthetic),
        "run_config_hash": info.config_hash,
        "code_version": info.code_version,
    }
    keypoints = export_keypoints(merged["keypoints2d"], "humandata")
    arrays = {
        "__key_strict__": False,
        "__temporal_len__": len(rows),
        "__keypoints_compressed__": False,
        "image_path": np.asarray(rows.image_path, dtype=str),
        **{key: merged[key] for key in PART_BOX_KEYS.values()},
        "keypoints2d": keypoints,
        "keypoints2d_mask": np.ones(keypoints.shape[1], np.uint8),
        "keypoints2d_convention": FORMAT_KEYPOINTS["humandata"][1],
        "smplx": {name: merged[name].astype(np.float32) for name in SMPLX_PARAMS},
        "meta": meta,
        "misc": misc,
    }
    save_npz(dest / f"{dataset.replace('/', '_')}.npz", arrays, compressed=True)
    return rows
