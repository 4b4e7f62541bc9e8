"""FuRPE's trainer layout: one ``np.save``'d dict per image in the tree its training reads.

What FuRPE's loader (indigo-99/FuRPE ``data/datasets/curated_fittings.py``) does with a file,
and so what is written here:

* path: ``data/params3d_v/curated_fits/<name>.npy`` (the tree, its fixed image lists and
  ``train.npz``: :mod:`.furpe_tree`) with ``name`` = the image path's base name with
  every ``".jpg"`` removed (``img_fn.split('/')[-1].split('\\')[-1].replace('.jpg', '')``), so
  ``im1010.jpg`` -> ``im1010.npy`` and ``a.png`` -> ``a.png.npy``. Two images with one name in
  a dataset cannot both be loaded: the first (lowest ``sample_idx``) is written, the others are
  skipped as :attr:`~.run_rows.ExportSkip.FILE_NAME_TAKEN`.
* ``np.load(path, allow_pickle=True).item()``: a dict of numpy arrays, float32:
  ``global_orient`` (3,), ``body_pose`` (63,), ``betas`` (1, 10), ``jaw_pose`` (1, 3),
  ``expression`` (1, 10), ``left_hand_pose`` / ``right_hand_pose`` (45,) RELATIVE to FuRPE's
  hard-coded mean hand (the loader adds its constant back, not the model's ``hands_mean``, and
  drops a hand with a component >= 3.15 rad; :data:`.furpe_tree.FURPE_LEFT_HAND_MEAN`),
  ``vertices`` (10475, 3) and ``keypoints3d`` (144, 3) in metres,
  ``save_feature_{body,face,left_hand,right_hand}`` (1, 1024) (the trainer reshapes each to
  1024), ``scale`` (1,) and ``translation`` (2,) the weak-perspective body camera
  (``x = scale * (X[:2] + translation)`` in the body crop's [-1, 1] frame, ExPose's
  ``WeakPerspectiveCamera``), ``crop_body_bbox`` (4,) the body crop box, pixel ``xywh``.
* a missing part is a missing key: ``jaw_pose`` + ``expression`` (+ ``save_feature_face``) make
  the head, ``left_hand_pose`` (+ its feature) the left hand. A suppressed part's keys are left
  out; a feature that is not finite (keypoint-fitting experts have none) is left out.
* ``vertices`` / ``keypoints3d`` come from exactly the written parameters: a left-out part is
  its default (zero jaw and expression, the mean hand), eyes and ``transl`` are zero (FuRPE's
  files have neither). ``translation`` therefore adds the label's ``transl[:2]`` so the
  projection matches the store's.
* one person per image (one file per image; FuRPE's own filter used OpenPose's ``people[0]``):
  of an image's exported rows the one with the largest body crop box is written, the others are
  skipped as :attr:`~.run_rows.ExportSkip.OTHER_PERSON_EXPORTED`.

FuRPE's default training (``mytrain.py``) distils the experts' features: it reads
``save_feature_body`` of every row (``KeyError('save_feature_body')`` without it) and stacks the
``save_feature_face`` of a batch (fails on a batch with none). Keypoint-fitting experts give no
features, so where written files lack them :func:`feature_distillation_notes` says so and names
the switches, module-level constants at the top of FuRPE's ``mytrain.py``:
``use_body_feature_distil=True`` and ``use_face_feature_distil=True`` (lines 73 and 72 at
indigo-99/FuRPE da990a1; ``use_hand_feature_distil=False`` there already).

The image list (absolute paths, one per written file, in ``train.npz`` row order) and the 2D
keypoints (OpenPose-137, a suppressed part's confidences 0) go to the fixed files FuRPE's
training split reads (:mod:`.furpe_tree`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from furpe_label.experts.vocabulary import Part
from furpe_label.storage.exports.conventions import (
    camera_translation_without_transl,
    export_keypoints,
    hands_relative_to_mean,
    zero_missing_part_confidences,
)
from furpe_label.storage.exports.files import save_npy
from furpe_label.storage.exports.furpe_tree import (
    FURPE_PARAMS_FOLDER,
    hands_relative_to_furpe_mean,
    write_training_tree,
)
from furpe_label.storage.exports.run_rows import ExportSkip, RunRows
from furpe_label.storage.exports.smplx_mesh import SmplxMesh
from furpe_label.storage.path_text import text_to_path

__all__ = [
    "feature_distillation_notes",
    "furpe_image_name",
    "one_file_per_image",
    "write_furpe",
]

_READ = (
    "keypoints2d",
    "global_orient",
    "body_pose",
    "betas",
    "jaw_pose",
    "expression",
    "left_hand_pose",
    "right_hand_pose",
    "transl",
    "camera",
    "box_body",
    *(f"feature_{part.value}" for part in Part),
)


FEATURE_SWITCHES = {
    Part.BODY: "use_body_feature_distil",
    Part.FACE: "use_face_feature_distil",
}
"""Part -> FuRPE's switch of its feature distillation (a constant in FuRPE's ``mytrain.py``)."""
FEATURE_SWITCH_FILE = "mytrain.py"
_FAILURE = {
    Part.BODY: "stops with KeyError('save_feature_body')",
    Part.FACE: "stops on a batch without one (torch.stack of an empty list)",
}


def feature_distillation_notes(files: int, key_counts: Counter[str]) -> list[str]:
    """Warnings for FuRPE's default training, from what the written files hold.

    Args:
        files: label files written.
        key_counts: dict key -> files holding it (``save_feature_body``, ``jaw_pose``, ...).

    Returns:
        one sentence per part whose distillation would stop FuRPE's ``mytrain.py`` (body: any
        file without its feature; face: files with a face but none with its feature), naming
        the constant to set False; empty when the features are there.
    """
    missing = []
    body_features = key_counts[f"save_feature_{Part.BODY.value}"]
    if files and body_features < files:
        missing.append((Part.BODY, f"{files - body_features} of {files} file(s)"))
    if key_counts["jaw_pose"] and not key_counts[f"save_feature_{Part.FACE.value}"]:
        missing.append((Part.FACE, f"all {key_counts['jaw_pose']} file(s) with a face"))
    notes = []
    for part, which in missing:
        key = f"save_feature_{part.value}"
        notes.append(
            f"FuRPE features: {which} have no {key} (the run's experts gave no 1024-d "
            f"{part.value} features; the keypoint-fitting experts give none): FuRPE's "
            f"default training distils them and {_FAILURE[part]}. Train with "
            f"{FEATURE_SWITCHES[part]}=False (a constant at the top of FuRPE's "
            f"{FEATURE_SWITCH_FILE}) to turn {part.value} feature distillation off."
        )
    return notes


def furpe_image_name(image_path: str) -> str:
    """The name FuRPE's loader gives an image's label file (without ``.npy``), from the path
    text of the image (an OS ``str``: a name that is not UTF-8 keeps its bytes)."""
    return text_to_path(image_path).split("/")[-1].split("\\")[-1].replace(".jpg", "")


def one_file_per_image(rows: RunRows, body_area: np.ndarray) -> RunRows:
    """The rows FuRPE's layout can hold: per image the row with the largest ``body_area``
    ((M,) px^2, NaN as smallest; ties: lowest ``sample_idx``), then per file name the first
    image."""
    area = np.where(np.isfinite(body_area), body_area, -np.inf)
    best: dict[str, int] = {}
    for position, image in enumerate(rows.image_path):
        current = best.get(image)
        if current is None or area[position] > area[current]:
            best[image] = position
    keep = np.zeros(len(rows), bool)
    keep[list(best.values())] = True
    rows = rows.subset(keep, ExportSkip.OTHER_PERSON_EXPORTED)
    owner: dict[str, str] = {}
    unique = np.array(
        [owner.setdefault(furpe_image_name(p), p) == p for p in rows.image_path], dtype=bool
    )
    return rows.subset(unique, ExportSkip.FILE_NAME_TAKEN)


def _feature(values: np.ndarray) -> np.ndarray | None:
    feature = np.asarray(values, np.float32).reshape(1, -1)
    return feature if np.isfinite(feature).all() else None


def _records(labels: dict[str, np.ndarray], part_valid: np.ndarray, mesh: SmplxMesh) -> list[dict]:
    """The FuRPE dicts of one batch (B rows of ``labels``)."""
    count = len(part_valid)
    sides = (Part.LEFT_HAND, Part.RIGHT_HAND)
    hands = {  # relative to the run's model mean: what the mesh layer adds back
        side: hands_relative_to_mean(labels[f"{side.value}_pose"], mesh.hand_mean[i])
        for i, side in enumerate(sides)
    }
    stored = {  # relative to FuRPE's constant: what its loader adds back
        side: hands_relative_to_furpe_mean(labels[f"{side.value}_pose"], side.value.split("_")[0])
        for side in sides
    }
    face = part_valid[:, Part.FACE.column]
    params = {
        "global_orient": labels["global_orient"],
        "body_pose": labels["body_pose"],
        "betas": labels["betas"],
        "jaw_pose": np.where(face[:, None], labels["jaw_pose"], 0.0),
        "expression": np.where(face[:, None], labels["expression"], 0.0),
    }
    for side, relative in hands.items():
        present = part_valid[:, side.column][:, None, None]
        params[f"{side.value}_pose"] = np.where(present, relative, 0.0)
    vertices, joints = mesh.forward(params)
    translation = camera_translation_without_transl(labels["camera"], labels["transl"])
    records = []
    for row in range(count):
        record = {
            "global_orient": labels["global_orient"][row].astype(np.float32),
            "body_pose": labels["body_pose"][row].reshape(63).astype(np.float32),
            "betas": labels["betas"][row].reshape(1, -1).astype(np.float32),
            "vertices": vertices[row],
            "keypoints3d": joints[row],
            "scale": labels["camera"][row, :1].astype(np.float32),
            "translation": translation[row],
            "crop_body_bbox": labels["box_body"][row].astype(np.float32),
        }
        if face[row]:
            record["jaw_pose"] = labels["jaw_pose"][row].reshape(1, 3).astype(np.float32)
            record["expression"] = labels["expression"][row].reshape(1, -1).astype(np.float32)
        for side, relative in stored.items():
            if part_valid[row, side.column]:
                record[f"{side.value}_pose"] = relative[row]
        for part in Part:
            feature = _feature(labels[f"feature_{part.value}"][row])
            if feature is not None and part_valid[row, part.column]:
                record[f"save_feature_{part.value}"] = feature
        records.append(record)
    return records


def write_furpe(
    rows: RunRows, dest: Path, mesh: SmplxMesh, dataset: str
) -> tuple[RunRows, list[str]]:
    """Write the FuRPE files of ``rows`` (kept rows only) under ``dest``; returns the rows
    written (the others are in its ``skipped``) and :func:`feature_distillation_notes`."""
    areas = np.concatenate(
        [np.prod(rows.read(["box_body"], s)["box_body"][:, 2:], axis=1) for s in rows.batches()]
        or [np.zeros(0)]
    )
    rows = one_file_per_image(rows, areas)
    folder = dest / FURPE_PARAMS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    key_counts: Counter[str] = Counter()
    images: list[str] = []
    keypoints = []
    for positions in rows.batches():
        labels = rows.read(_READ, positions)
        part_valid = rows.part_valid[positions]
        points = export_keypoints(labels["keypoints2d"], "expose")  # openpose25+hands+face
        keypoints.append(zero_missing_part_confidences(points, part_valid))
        for record, image in zip(
            _records(labels, part_valid, mesh), rows.image_path[positions], strict=True
        ):
            save_npy(folder / f"{furpe_image_name(image)}.npy", record)
            key_counts.update(record.keys())
            images.append(image)
    points = np.concatenate(keypoints) if keypoints else np.zeros((0, 137, 3), np.float32)
    write_training_tree(dest, images, points, dataset)
    return rows, feature_distillation_notes(len(rows), key_counts)
