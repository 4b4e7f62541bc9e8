"""mmhuman3d's HumanData ``.npz`` and SMPLer-X's per-part-set files of it.

``DEST/<dataset>.npz`` is what mmhuman3d's ``HumanData.dump`` writes (``np.savez_compressed``;
dicts become 0-d object arrays, read back with ``allow_pickle=True`` and ``.item()``), M rows in
increasing ``sample_idx`` order:

* ``__key_strict__`` False, ``__data_len__`` M (the current name; older files had
  ``__temporal_len__``), ``__keypoints_compressed__`` False;
* ``image_path`` (M,) str, absolute (SMPLer-X joins it to its image folder: an absolute path
  survives ``os.path.join``);
* ``bbox_xywh`` (M, 5) float32: the body crop box, pixel ``xywh``, and a 5th column 1 where
  the row has a label, 0 otherwise; ``face_bbox_xywh``, ``lhand_bbox_xywh``,
  ``rhand_bbox_xywh`` (M, 5) the part crop boxes (SMPLer-X's key names; mmhuman3d's
  ``HumanData`` keeps them as keys it does not know), 5th column 1 where the part's label is
  usable, 0 for a suppressed part (SMPLer-X then drops the box: ``lhand_bbox_valid`` False);
  a box the run never made is zeros;
* ``keypoints2d`` (M, 190, 3) float32 detected ``(x, y, confidence)`` pixels in mmhuman3d's
  ``human_data`` convention (:mod:`.humandata_keypoints`), ``keypoints2d_convention``
  ``"human_data"``, ``keypoints2d_mask`` (190,) uint8, 1 on the 135 points written from
  OpenPose-137; the confidence of every point of a suppressed part (and of every point of a
  row without a label) is 0;
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
every box's 5th column, every keypoint confidence and ``meta['valid']``.

**SMPLer-X** (``data/humandata.py``, ``HumanDataset.load_data``) reads neither the per-row
confidences (it takes ``keypoints2d[..., :2]``) nor per-row validity: it sets ``lhand_valid``
/ ``rhand_valid`` / ``face_valid`` for the whole file from whether ``smplx`` holds
``left_hand_pose`` / ``right_hand_pose`` / ``expression`` (and ``jaw_pose``), and each point's
``joint_valid`` from the file-wide ``keypoints2d_mask``. So that a suppressed part supervises
nothing there, ``DEST/smplerx/<dataset>_<parts>.npz`` splits the labelled rows by their set of
usable parts (``<parts>`` e.g. ``body+left_hand``): each file has the keys above for its rows,
except that its hand poses are relative to the mean hand and ``misc.flat_hand_mean`` is False
(SMPLer-X builds its SMPL-X layer with smplx's default ``flat_hand_mean=False``, which adds
the model's ``hands_mean``; the run's SMPL-X file gives that mean), and the pose keys of the
parts not in its set are left out of ``smplx`` (``jaw_pose``,
``leye_pose``, ``reye_pose``, ``expression`` for the face) and those parts' points 0 in
``keypoints2d_mask``. SMPLer-X then zeroes their rotation, joint and expression targets. Rows
whose body is not usable are left out of ``smplerx/`` (SMPLer-X always supervises the body
pose). Train mmhuman3d on ``<dataset>.npz``, SMPLer-X on the files in ``smplerx/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from furpe_label.experts.vocabulary import Part
from furpe_label.storage.exports.conventions import (
    finite_keypoints,
    hands_relative_to_mean,
    zero_missing_part_confidences,
)
from furpe_label.storage.exports.files import save_npz
from furpe_label.storage.exports.humandata_keypoints import (
    HUMAN_DATA_CONVENTION,
    human_data_keypoints,
    human_data_mask,
)
from furpe_label.storage.exports.run_rows import RunRows
from furpe_label.storage.path_text import text_to_path
from furpe_label.storage.schema import SMPLX_PARAMS

__all__ = [
    "PART_BOX_KEYS",
    "SMPLERX_FOLDER",
    "SMPLERX_POSE_KEYS",
    "image_size",
    "smplerx_file_name",
    "write_humandata",
]

PART_BOX_KEYS = {
    Part.BODY: "bbox_xywh",
    Part.FACE: "face_bbox_xywh",
    Part.LEFT_HAND: "lhand_bbox_xywh",
    Part.RIGHT_HAND: "rhand_bbox_xywh",
}
"""Part -> HumanData box key (SMPLer-X's names)."""
SMPLERX_POSE_KEYS = {
    Part.FACE: ("jaw_pose", "leye_pose", "reye_pose", "expression"),
    Part.LEFT_HAND: ("left_hand_pose",),
    Part.RIGHT_HAND: ("right_hand_pose",),
}
"""Part -> the ``smplx`` keys whose presence makes SMPLer-X supervise that part."""
SMPLERX_FOLDER = "smplerx"
"""Folder under DEST of SMPLer-X's files, one per set of usable parts."""
_META_VALID = {
    Part.BODY: "body_valid",
    Part.FACE: "face_valid",
    Part.LEFT_HAND: "lefthand_valid",
    Part.RIGHT_HAND: "righthand_valid",
}
_BOXES = tuple(f"box_{part.value}" for part in Part)
_READ = (*SMPLX_PARAMS, "keypoints2d", "camera", *_BOXES)
_PER_ROW = ("image_path", *PART_BOX_KEYS.values(), "keypoints2d")


def image_size(path: str) -> tuple[int, int]:
    """(height, width) from the header of the image at path text ``path`` (nothing decoded),
    (-1, -1) when unreadable."""
    try:
        with Image.open(text_to_path(path)) as image:
            width, height = image.size
    except Exception:  # unreadable, missing, not an image, too large: the size is unknown
        return -1, -1
    return int(height), int(width)


def smplerx_file_name(dataset: str, parts: frozenset[Part]) -> str:
    """``<dataset>_<part>+<part>.npz`` for the rows whose usable parts are ``parts``."""
    names = "+".join(part.value for part in Part if part in parts) or "none"
    return f"{dataset}_{names}.npz"


def _box(boxes: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """(B, 5) float32 ``[x, y, w, h, usable]``, zeros where the box is missing."""
    present = np.isfinite(boxes).all(axis=1)
    out = np.zeros((len(boxes), 5), np.float32)
    out[present, :4] = boxes[present]
    out[:, 4] = (usable & present).astype(np.float32)
    return out


def _read(rows: RunRows, usable: np.ndarray) -> dict[str, np.ndarray]:
    """The store's arrays of ``rows``, boxes with their usable column, keypoints in
    ``human_data`` order with suppressed parts' confidences 0."""
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in (*_READ, *PART_BOX_KEYS.values())}
    for positions in rows.batches():
        labels = rows.read(_READ, positions)
        points = finite_keypoints(labels.pop("keypoints2d"))
        points = zero_missing_part_confidences(points, usable[positions])
        labels["keypoints2d"] = human_data_keypoints(points)
        for name, values in labels.items():
            chunks[name].append(values)
        for part, key in PART_BOX_KEYS.items():
            chunks[key].append(_box(labels[f"box_{part.value}"], usable[positions, part.column]))
    return {name: np.concatenate(values) for name, values in chunks.items()}


def write_humandata(
    rows: RunRows, dest: Path, dataset: str, hand_mean: np.ndarray
) -> tuple[RunRows, list[str]]:
    """Write ``<dataset>.npz`` and ``smplerx/<dataset>_<parts>.npz`` of ``rows`` under ``dest``.

    Args:
        hand_mean: (2, 15, 3) the run's SMPL-X ``hands_meanl`` / ``hands_meanr``, axis-angle
            radians (SMPLer-X's files hold hand poses relative to it).

    Returns:
        ``rows`` and the notes for ``export.json`` (how SMPLer-X's files keep suppressed parts
        from supervising pose, and the rows left out of them).
    """
    if not len(rows):
        raise ValueError("no rows to export")
    usable = rows.part_valid & rows.valid[:, None]
    merged = _read(rows, usable)
    known = {path: image_size(path) for path in dict.fromkeys(rows.image_path)}
    sizes = np.array([known[p] for p in rows.image_path], dtype=np.int64).reshape(-1, 2)
    meta = {
        "height": sizes[:, 0],
        "width": sizes[:, 1],
        "gender": np.array(["neutral"] * len(rows)),
        "sample_idx": rows.sample_idx.astype(np.int64),
        "person_idx": rows.person_idx.astype(np.int64),
        "valid": rows.valid.astype(bool),
        **{key: usable[:, part.column].copy() for part, key in _META_VALID.items()},
        "weak_perspective_camera": merged["camera"].astype(np.float32),
    }
    per_row = {
        "image_path": np.asarray(rows.image_path, dtype=str),
        **{key: merged[key] for key in PART_BOX_KEYS.values()},
        "keypoints2d": merged["keypoints2d"],
    }
    smplx = {name: merged[name].astype(np.float32) for name in SMPLX_PARAMS}
    name = dataset.replace("/", "_")
    whole = _humandata(per_row, smplx, meta, frozenset(Part), _misc(rows))
    save_npz(dest / f"{name}.npz", whole, compressed=True)
    relative = dict(smplx)
    for side, key in enumerate(("left_hand_pose", "right_hand_pose")):
        relative[key] = hands_relative_to_mean(smplx[key], hand_mean[side])
    folder = dest / SMPLERX_FOLDER
    return rows, _write_smplerx(per_row, relative, meta, usable, folder, name, rows)


def _misc(rows: RunRows) -> dict[str, Any]:
    info = rows.info
    experts = ", ".join(f"{part}: {name}" for part, name in sorted(info.experts.items()))
    return {
        "flat_hand_mean": True,
        "bbox_source": "furpe-label realised part crop boxes (xywh px)",
        "smplx_source": f"furpe-label pseudo-labels ({experts})",
        "synthetic_body_models": bool(info.synthetic),
        "run_config_hash": info.config_hash,
        "code_version": info.code_version,
    }


def _humandata(
    per_row: dict[str, np.ndarray],
    smplx: dict[str, np.ndarray],
    meta: dict[str, np.ndarray],
    parts: frozenset[Part],
    misc: dict[str, Any],
) -> dict[str, Any]:
    """The npz's arrays; ``keypoints2d_mask`` covers the points of ``parts``."""
    return {
        "__key_strict__": False,
        "__data_len__": len(per_row["image_path"]),
        "__keypoints_compressed__": False,
        **per_row,
        "keypoints2d_mask": human_data_mask(parts),
        "keypoints2d_convention": HUMAN_DATA_CONVENTION,
        "smplx": smplx,
        "meta": meta,
        "misc": misc,
    }


def _write_smplerx(
    per_row: dict[str, np.ndarray],
    smplx: dict[str, np.ndarray],
    meta: dict[str, np.ndarray],
    usable: np.ndarray,
    folder: Path,
    name: str,
    rows: RunRows,
) -> list[str]:
    """One file per set of usable parts (body usable), the other parts' pose keys left out;
    ``smplx`` holds hand poses relative to the mean hand."""
    with_body = usable[:, Part.BODY.column]
    sets = sorted({tuple(row) for row in usable[with_body].tolist()}, reverse=True)
    misc = _misc(rows)
    written = []
    for flags in sets:
        parts = frozenset(part for part in Part if flags[part.column])
        take = np.flatnonzero((usable == np.array(flags)).all(axis=1))
        dropped = {
            key for part in Part if part not in parts for key in SMPLERX_POSE_KEYS.get(part, ())
        }
        arrays = _humandata(
            {key: value[take] for key, value in per_row.items()},
            {key: value[take] for key, value in smplx.items() if key not in dropped},
            {key: value[take] for key, value in meta.items()},
            parts,
            misc | {"flat_hand_mean": False, "smplerx_parts": sorted(p.value for p in parts)},
        )
        file_name = smplerx_file_name(name, parts)
        folder.mkdir(parents=True, exist_ok=True)
        save_npz(folder / file_name, arrays, compressed=True)
        written.append(f"{file_name} ({len(take)} rows)")
    notes = [
        "humandata: SMPLer-X sets hand and face validity for a whole file from the presence "
        "of smplx left_hand_pose / right_hand_pose / expression and each point's validity from "
        f"the file-wide keypoints2d_mask; {SMPLERX_FOLDER}/ holds one file per set of usable "
        "parts, with the other parts' pose keys left out and their points masked, so a "
        "suppressed part supervises no pose there: "
        + (", ".join(written) or "none (no row has a usable body)")
        + f". Train SMPLer-X on {SMPLERX_FOLDER}/, mmhuman3d on {name}.npz (per-row "
        "confidences 0 for suppressed parts)."
    ]
    left_out = int((~with_body).sum())
    if left_out:
        notes.append(
            f"humandata: {left_out} rows without a usable body are in {name}.npz only, not in "
            f"{SMPLERX_FOLDER}/ (SMPLer-X always supervises the body pose)."
        )
    return notes
