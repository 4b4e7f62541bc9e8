"""``posetrack``: PoseTrack18 / PoseTrack21 pose-tracking JSON (one file per video sequence).

Each file (PoseTrack18 ``posetrack_data/annotations/{train,val}/*.json``, PoseTrack21
``posetrack_data/{train,val}/*.json``) is COCO-style: ``images`` with ``id``, ``file_name``
(``images/train/000001_bonn_train/000000.jpg``, relative to the root), ``frame_id``,
``vid_id``, ``nframes``, ``is_labeled``; ``annotations`` with ``image_id``, ``bbox`` (xywh px),
``bbox_head``, ``keypoints`` (17 x 3, named in ``categories[0].keypoints``: COCO's order with
``head_bottom`` / ``head_top`` in place of the eyes; the ears are placeholders),
``track_id`` and (PoseTrack21) ``person_id``. Only labelled people are rows: ``sequence`` is the
frame's folder (the video), ``frame`` the frame number (the file name's number).
An annotation without a box gets one around its labelled keypoints (x 1.2); one with neither is
skipped and counted. ``--annotations`` may be one file or a folder of them.

``track_id`` (the person over the frames of a sequence) is carried through: PoseTrack numbers
its tracks within each file, so the manifest's ``track_id`` is the rank of the
(file, track_id) pair among all the pairs read (sorted), unique over the files; an annotation
without one has none (null).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from furpe_label.storage.manifest import ColumnValues
from furpe_label.storage.manifest_columns import KEYPOINTS_ANNOTATION
from furpe_label.workflows.datasets.base import DatasetAdapter
from furpe_label.workflows.datasets.boxes import checked_boxes
from furpe_label.workflows.datasets.coco_json import (
    CocoPerson,
    category_keypoint_names,
    coco_annotations,
)
from furpe_label.workflows.datasets.json_fields import optional_integer
from furpe_label.workflows.datasets.keypoints import (
    keypoint_boxes,
    named_to_openpose137,
    visibility_to_confidence,
)
from furpe_label.workflows.datasets.readers import DatasetError, as_array, load_json, resolve_under

POSETRACK_KEYPOINTS = (
    "nose",
    "head_bottom",
    "head_top",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
_PLACEHOLDERS = ("left_ear", "right_ear")


def _frame_number(found: CocoPerson) -> int:
    stem = Path(found.file_name).stem
    if stem.isascii() and stem.isdigit() and len(stem) <= 12:
        return int(stem)
    return optional_integer(found.image, "frame_id", found.image_place, 0) % 10000


class PoseTrackAdapter(DatasetAdapter):
    """PoseTrack18 / 21: video frames with person boxes and 2D body keypoints."""

    name = "posetrack"
    has_ground_truth = False
    gives_boxes = True
    annotation_kind = "file_or_folder"
    official_files = (
        "posetrack_data/annotations/train/*.json",
        "posetrack_data/train/*.json",
        "annotations/train/*.json",
        "posetrack_data/annotations/val/*.json",
        "posetrack_data/val/*.json",
        "annotations/val/*.json",
    )

    def read_columns(self) -> dict[str, ColumnValues]:
        root = self.require_root()
        rows: dict[str, list] = {
            k: []
            for k in (
                "image_path",
                "sequence",
                "frame",
                "person_idx",
                "box_xywh",
                "kps",
                "box_given",
                "where",
                "track",
            )
        }
        for path in self.annotation_files():
            data = load_json(path)
            names = category_keypoint_names(data, path, POSETRACK_KEYPOINTS)
            if len(names) != len(POSETRACK_KEYPOINTS):
                raise DatasetError(f"{path}: {len(names)} keypoint names, expected 17")
            names = tuple("" if n in _PLACEHOLDERS else n for n in names)
            for found in coco_annotations(data, path):
                ann, where = found.ann, found.where
                points = visibility_to_confidence(
                    as_array(
                        ann.get("keypoints") or [0.0] * 51, (51,), f"{where}: keypoints"
                    ).reshape(1, 17, 3)
                )
                given = ann.get("bbox") not in (None, [])
                box = (
                    as_array(ann["bbox"], (4,), f"{where}: bbox")
                    if given
                    else (keypoint_boxes(points, 0.0, 1.2)[0])
                )
                if not given and not np.all(np.isfinite(box)):
                    self.skipped["no_box_and_no_keypoints"] += 1
                    continue
                rows["kps"].append(points[0])
                rows["box_xywh"].append(box)
                rows["box_given"].append(given)
                rows["where"].append(where)
                rows["image_path"].append(resolve_under(root, found.file_name))
                rows["sequence"].append(Path(found.file_name).parent.name)
                rows["frame"].append(_frame_number(found))
                rows["person_idx"].append(found.person)
                track = optional_integer(ann, "track_id", found.place, -1)
                rows["track"].append(None if track < 0 else (str(path), track))
        n = len(rows["image_path"])
        if n == 0:
            return {"image_path": []}
        points = np.asarray(rows.pop("kps")).reshape(n, 17, 3)
        given, wheres = np.asarray(rows.pop("box_given")), rows.pop("where")
        keypoints = named_to_openpose137(points, names) if n else np.zeros((0, 137, 3))
        labelled = keypoints[..., 2].max(axis=1) > 0
        keypoints[~labelled] = np.nan
        boxes = np.asarray(rows["box_xywh"]).reshape(n, 4)
        tracks = rows.pop("track")
        rank = {key: i for i, key in enumerate(sorted({t for t in tracks if t is not None}))}
        return {
            **rows,
            "track_id": [None if t is None else rank[t] for t in tracks],
            **checked_boxes(boxes, given, lambda row: f"{wheres[row]}.bbox"),
            "keypoints2d": keypoints,
            "keypoints2d_source": [KEYPOINTS_ANNOTATION if k else None for k in labelled],
        }
