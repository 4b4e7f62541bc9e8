"""The hand-labelled people of the shipped photos and vtest.avi frames, and box matching.

``tests/data/hand_labelled_people.json`` lists, per image, tight person boxes (pixel xywh)
drawn by hand and ``ignore`` regions (a stadium crowd). :func:`match_people` scores a
detector's boxes against them the way COCO does: detections best score first, each matched to
the unmatched labelled person of highest IoU >= 0.5; an unmatched detection is a false
positive (a second box on an already matched person included) unless its centre lies in an
ignore region.

Two overlaps are offered: ``box`` (plain IoU of the boxes) and ``square`` (IoU of the squares
the body crop takes: centred on each box, side = its longer side, as SPIN's crop and
:mod:`furpe_label.experts.crops.boxes` do), because the pose detector's person box is a square
around the whole-body circle while a hand-drawn box is tight.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tests.support.real_data import REAL_DATA, SHIPPED

LABELS = SHIPPED / "hand_labelled_people.json"


@dataclass(frozen=True)
class LabelledImage:
    """One hand-labelled image: name, set ("photos" / "vtest"), people (P, 4) and ignore
    regions (G, 4), pixel xywh."""

    name: str
    set: str
    source: str
    people: np.ndarray
    ignore: np.ndarray


def labelled_images(path: Path = LABELS) -> list[LabelledImage]:
    """Every labelled image of the JSON file, in file order."""
    images = json.loads(path.read_text())["images"]
    return [
        LabelledImage(
            name,
            entry["set"],
            entry["source"],
            np.asarray(entry["people"], np.float64).reshape(-1, 4),
            np.asarray(entry.get("ignore", []), np.float64).reshape(-1, 4),
        )
        for name, entry in images.items()
    ]


def load_rgb(source: str) -> np.ndarray | None:
    """(H, W, 3) uint8 RGB of a label's source (``FILE#N``: frame N of a video); None where
    the file is not there."""
    if source.startswith("skimage:"):
        from skimage import data

        image = getattr(data, source.split(":", 1)[1])()
        return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image
    if source.startswith("matplotlib:"):
        import matplotlib.cbook

        path = Path(matplotlib.cbook.get_sample_data(source.split(":", 1)[1], asfileobj=False))
    else:
        path = REAL_DATA / source.split("#")[0]
    if not path.is_file():
        return None
    if "#" in source:
        return _video_frame(path, int(source.split("#")[1]))
    return np.ascontiguousarray(cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1])


def _video_frame(path: Path, index: int) -> np.ndarray:
    capture = cv2.VideoCapture(str(path))
    try:
        for _ in range(index + 1):
            ok, frame = capture.read()
            if not ok:
                raise ValueError(f"{path} has no frame {index}")
    finally:
        capture.release()
    return np.ascontiguousarray(frame[..., ::-1])


def _squares(boxes: np.ndarray) -> np.ndarray:
    side = boxes[:, 2:].max(axis=1, keepdims=True)
    centre = boxes[:, :2] + boxes[:, 2:] / 2
    return np.concatenate([centre - side / 2, np.repeat(side, 2, axis=1)], axis=1)


def overlap_matrix(detected: np.ndarray, people: np.ndarray, kind: str) -> np.ndarray:
    """IoU (D, P) of detected (D, 4) and labelled (P, 4) xywh boxes; kind "box" or "square"."""
    if kind == "square":
        detected, people = _squares(detected), _squares(people)
    elif kind != "box":
        raise ValueError(f"overlap kind must be 'box' or 'square', not {kind!r}")
    a0, a1 = detected[:, None, :2], detected[:, None, :2] + detected[:, None, 2:]
    b0, b1 = people[None, :, :2], people[None, :, :2] + people[None, :, 2:]
    inter = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0, None).prod(-1)
    union = detected[:, None, 2:].prod(-1) + people[None, :, 2:].prod(-1) - inter
    return inter / np.maximum(union, 1e-9)


@dataclass(frozen=True)
class MatchCounts:
    """true positives, false positives (duplicates included), duplicates, missed people, and
    the unmatched detections left out because they lie in an ignore region."""

    tp: int
    fp: int
    duplicates: int
    fn: int
    ignored: int = 0


def match_people(
    label: LabelledImage,
    boxes: np.ndarray,
    scores: np.ndarray,
    kind: str = "square",
    min_iou: float = 0.5,
) -> MatchCounts:
    """Match detections (D, 4) xywh with scores (D,) to the labelled people (see module)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    overlap = overlap_matrix(boxes, label.people, kind)
    matched = np.zeros(len(label.people), bool)
    tp = fp = duplicates = ignored = 0
    for index in np.argsort(-np.asarray(scores, np.float64), kind="stable"):
        free = np.where(matched, -1.0, overlap[index])
        if free.size and free.max() >= min_iou:
            matched[int(free.argmax())] = True
            tp += 1
            continue
        if overlap[index].size and overlap[index].max() >= min_iou:
            duplicates += 1
            fp += 1
            continue
        centre = boxes[index, :2] + boxes[index, 2:] / 2
        in_ignore = any(
            g[0] <= centre[0] <= g[0] + g[2] and g[1] <= centre[1] <= g[1] + g[3]
            for g in label.ignore
        )
        ignored += int(in_ignore)
        fp += int(not in_ignore)
    return MatchCounts(tp, fp, duplicates, int((~matched).sum()), ignored)
