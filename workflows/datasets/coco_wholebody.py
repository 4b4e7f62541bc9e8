"""``coco-wholebody``: COCO-WholeBody v1.0 JSON (jin-s13/COCO-WholeBody).

``coco_wholebody_{train,val}_v1.0.json``: COCO ``images`` / ``annotations`` where each person
annotation has ``bbox`` (xywh px), ``keypoints`` (17 x 3), ``foot_kpts`` (6 x 3),
``face_kpts`` (68 x 3), ``lefthand_kpts`` / ``righthand_kpts`` (21 x 3) with COCO visibility
(0 = not labelled), ``face_box`` / ``lefthand_box`` / ``righthand_box`` (xywh) and
``face_valid`` / ``lefthand_valid`` / ``righthand_valid``. The 133 points (body, feet, face,
left hand, right hand: the ``coco_wholebody133`` convention) become OpenPose-137 through the
conventions table; labelled points get confidence 1. ``iscrowd`` annotations (a crowd region,
not one person) are skipped and counted.

Images: ``<root>/<split>2017/<file_name>`` (``split`` from the annotation file name), else
``<root>/images/<split>2017`` or ``<root>``, whichever folder exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from furpe_label.experts.detectors.wholebody import wholebody133_to_openpose137
from furpe_label.storage.manifest import ColumnValues
from furpe_label.storage.manifest_columns import KEYPOINTS_ANNOTATION
from furpe_label.workflows.datasets.base import DatasetAdapter
from furpe_label.workflows.datasets.boxes import box_problems, checked_boxes
from furpe_label.workflows.datasets.coco_json import coco_annotations
from furpe_label.workflows.datasets.keypoints import visibility_to_confidence
from furpe_label.workflows.datasets.readers import as_array, load_json, resolve_under

_PARTS = (
    ("keypoints", 17),
    ("foot_kpts", 6),
    ("face_kpts", 68),
    ("lefthand_kpts", 21),
    ("righthand_kpts", 21),
)
_PART_BOXES = (
    ("box_face", "face_box", "face_valid"),
    ("box_lhand", "lefthand_box", "lefthand_valid"),
    ("box_rhand", "righthand_box", "righthand_valid"),
)


def image_folder(root: Path, annotation_file: Path) -> Path:
    """Where the images of ``annotation_file`` live (see module doc)."""
    match = re.search(r"(train|val|test)", annotation_file.name)
    split = f"{match.group(1)}2017" if match else ""
    for folder in (root / split, root / "images" / split, root):
        if split and folder.is_dir():
            return folder
    return root


def _part_box(ann: dict, box_key: str, valid_key: str, where: str) -> np.ndarray:
    """A part box, NaN when absent, marked not valid, or unusable (the release writes
    ``[0, 0, 0, 0]`` for parts it has no box for)."""
    if box_key not in ann or not ann.get(valid_key, True):
        return np.full(4, np.nan)
    box = as_array(ann[box_key], (4,), f"{where}: {box_key}")
    return box if box_problems(box[None])[0] is None else np.full(4, np.nan)


class CocoWholeBodyAdapter(DatasetAdapter):
    """COCO-WholeBody: ground-truth 133 keypoints -> OpenPose-137, person and part boxes."""

    name = "coco-wholebody"
    has_ground_truth = False
    gives_boxes = True
    official_files = (
        "annotations/coco_wholebody_train_v1.0.json",
        "coco_wholebody_train_v1.0.json",
        "annotations/coco_wholebody_val_v1.0.json",
        "coco_wholebody_val_v1.0.json",
    )

    def read_columns(self) -> dict[str, ColumnValues]:
        root = self.require_root()
        rows: dict[str, list] = {
            k: []
            for k in (
                "image_path",
                "person_idx",
                "box_xywh",
                "box_face",
                "box_lhand",
                "box_rhand",
                "wholebody",
                "box_given",
                "where",
            )
        }
        for path in self.annotation_files():
            folder = image_folder(root, path)
            for found in coco_annotations(load_json(path), path):
                ann, where = found.ann, found.where
                if ann.get("iscrowd", 0):
                    self.skipped["iscrowd"] += 1
                    continue
                parts = [
                    as_array(
                        ann.get(key, [0.0] * 3 * count), (3 * count,), f"{where}: {key}"
                    ).reshape(count, 3)
                    for key, count in _PARTS
                ]
                rows["wholebody"].append(np.concatenate(parts))
                rows["image_path"].append(resolve_under(folder, found.file_name))
                rows["person_idx"].append(found.person)
                given = ann.get("bbox") not in (None, [])
                rows["box_given"].append(given)
                rows["where"].append(where)
                rows["box_xywh"].append(
                    as_array(ann["bbox"] if given else [np.nan] * 4, (4,), f"{where}: bbox")
                )
                for column, box_key, valid_key in _PART_BOXES:
                    rows[column].append(_part_box(ann, box_key, valid_key, where))
        n = len(rows["image_path"])
        if n == 0:
            return {"image_path": []}
        wholebody = visibility_to_confidence(np.asarray(rows.pop("wholebody")).reshape(n, 133, 3))
        given, wheres = rows.pop("box_given"), rows.pop("where")
        columns: dict[str, ColumnValues] = {k: v for k, v in rows.items()}
        for key in ("box_face", "box_lhand", "box_rhand"):
            columns[key] = np.asarray(rows[key]).reshape(n, 4)
        boxes = np.asarray(rows["box_xywh"]).reshape(n, 4)
        columns.update(checked_boxes(boxes, np.asarray(given), lambda row: f"{wheres[row]}.bbox"))
        columns["keypoints2d"] = wholebody133_to_openpose137(wholebody[..., :2], wholebody[..., 2])
        columns["keypoints2d_source"] = [KEYPOINTS_ANNOTATION] * n
        return columns
