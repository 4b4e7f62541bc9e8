"""``ochuman``: OCHuman (liruilong940607/OCHumanApi), heavily occluded people.

* ``ochuman.json`` (the native file): ``keypoint_names`` (19 names) and ``images``, each with
  ``image_id``, ``file_name``, ``height``, ``width`` and its own ``annotations``: ``bbox``
  **x1, y1, x2, y2** px, ``keypoints`` (19 x 3, visibility 0 missing, 1 visible, 2 self-occluded,
  3 occluded by others; or null), ``segms``, ``max_iou``. Every annotated person has a box;
  keypoints are used by name (COCO's 17 points; OpenPose neck / mid-hip are derived).
* ``ochuman_coco_format_{val,test}_range_0.00_1.00.json``: the COCO-format subsets (``bbox``
  xywh, 17 COCO keypoints).

Images: ``<root>/images/<file_name>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from furpe_label.experts.keypoints.conventions import KEYPOINT_NAMES
from furpe_label.storage.manifest import ColumnValues
from furpe_label.storage.manifest_columns import KEYPOINTS_ANNOTATION
from furpe_label.workflows.datasets.base import DatasetAdapter
from furpe_label.workflows.datasets.boxes import checked_boxes
from furpe_label.workflows.datasets.coco_json import (
    category_keypoint_names,
    coco_annotations,
    duplicate_id_error,
)
from furpe_label.workflows.datasets.json_fields import (
    Identifier,
    Place,
    as_object,
    identifier,
    member,
    objects,
    text,
)
from furpe_label.workflows.datasets.json_fields import names as keypoint_names
from furpe_label.workflows.datasets.keypoints import named_to_openpose137, visibility_to_confidence
from furpe_label.workflows.datasets.readers import DatasetError, as_array, load_json, resolve_under

COCO17 = KEYPOINT_NAMES["coco_wholebody133"][:17]


def _native_people(data: Any, path: Path):
    """(annotation, image file name, person index, where, bbox xywh) of the native
    ochuman.json (each image holds its own ``annotations``). Two entries with one
    ``image_id`` would list one image's people twice: the file is refused."""
    top = Place(path)
    seen: dict[Identifier, tuple[str, str]] = {}
    for place, image in objects(member(as_object(data, top), "images", top), top.key("images")):
        file_name = text(image, "file_name", place)
        image_id = identifier(image, "image_id", place)
        if image_id in seen:
            raise duplicate_id_error(path, image_id, seen[image_id], (place.at, file_name))
        seen[image_id] = (place.at, file_name)
        people = objects(member(image, "annotations", place), place.key("annotations"))
        for person, (where, ann) in enumerate(people):
            x1, y1, x2, y2 = as_array(member(ann, "bbox", where), (4,), f"{where}.bbox")
            yield ann, file_name, person, str(where), [x1, y1, x2 - x1, y2 - y1]


def _coco_people(data: Any, path: Path):
    for found in coco_annotations(data, path):
        box = member(found.ann, "bbox", found.place)
        yield found.ann, found.file_name, found.person, found.where, box


class OCHumanAdapter(DatasetAdapter):
    """OCHuman: boxes for every person, 2D keypoints where annotated."""

    name = "ochuman"
    has_ground_truth = False
    gives_boxes = True
    official_files = (
        "ochuman.json",
        "annotations/ochuman.json",
        "ochuman_coco_format_val_range_0.00_1.00.json",
        "ochuman_coco_format_test_range_0.00_1.00.json",
    )

    def read_columns(self) -> dict[str, ColumnValues]:
        root = self.require_root()
        rows: dict[str, list] = {
            "image_path": [],
            "person_idx": [],
            "box_xywh": [],
            "kps": [],
            "where": [],
        }
        for path in self.annotation_files():
            data = load_json(path)
            native = isinstance(data, dict) and "keypoint_names" in data
            names = (
                keypoint_names(data["keypoint_names"], Place(path, "keypoint_names"))
                if native
                else category_keypoint_names(data, path, COCO17)
            )
            people = _native_people(data, path) if native else _coco_people(data, path)
            for ann, file_name, person, where, box in people:
                kps = ann.get("keypoints")
                if kps is None:
                    points = np.zeros((len(names), 3))
                else:
                    points = as_array(kps, (3 * len(names),), f"{where}: keypoints")
                rows["kps"].append(points.reshape(len(names), 3))
                rows["image_path"].append(resolve_under(root / "images", file_name))
                rows["person_idx"].append(person)
                rows["box_xywh"].append(as_array(box, (4,), f"{where}: bbox"))
                rows["where"].append(where)
            if len({len(k) for k in rows["kps"]}) > 1:
                raise DatasetError(f"{path}: keypoint count differs from the previous files")
        n = len(rows["image_path"])
        if n == 0:
            return {"image_path": []}
        points = visibility_to_confidence(np.asarray(rows.pop("kps")).reshape(n, -1, 3))
        wheres = rows.pop("where")
        keypoints = named_to_openpose137(points, names) if n else np.zeros((0, 137, 3))
        labelled = keypoints[..., 2].max(axis=1) > 0 if n else np.zeros(0, bool)
        keypoints[~labelled] = np.nan
        boxes = np.asarray(rows["box_xywh"]).reshape(n, 4)
        return {
            **rows,
            **checked_boxes(boxes, np.ones(n, bool), lambda row: f"{wheres[row]}.bbox"),
            "keypoints2d": keypoints,
            "keypoints2d_source": [KEYPOINTS_ANNOTATION if k else None for k in labelled],
        }
