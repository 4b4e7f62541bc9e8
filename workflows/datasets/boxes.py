"""The person boxes a dataset gives, checked: an invalid one names its row, never a guess.

A box the annotation file gives (COCO ``bbox``, SPIN / EFT ``center`` + ``scale``, HumanData
``bbox_xywh``, Human3.6M's ``bbox``, OCHuman's corners) is *invalid* when any value is not
finite (NaN, inf, or a value like 1e300 that is inf once stored as float32), its width or height
is not positive, or any value lies beyond :data:`MAX_BOX_PX`. Such a row keeps its place in the
manifest with a null box and the named reason ``invalid_box`` (``input_reason``) and a detail
giving the file, the row and the values; the run records that reason without opening the
image, and the person pre-pass does not replace the box by a detected one (a NaN ``scale``
must not quietly become a label of whoever the detector finds).

A row whose dataset gives no box (a missing ``bbox`` key, HumanData's valid flag 0) is not
invalid: its people are found at run time, as the layout's docs say. A box the reader derives
itself (around the annotated keypoints: PoseTrack without ``bbox``, ExPose's curated fits) is
no given box either: when it is unusable (keypoints at 1e30 px) it is dropped (null), so the
run finds the people instead of cropping an absurd region.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from furpe_label.experts.vocabulary import Reason
from furpe_label.storage.manifest import ColumnValues

MAX_BOX_PX = 1e6
"""Largest absolute box coordinate or side accepted, pixels: far beyond any image the run
decodes (the default largest side is 8192 px), far below float32's limit."""


def box_problems(boxes: np.ndarray) -> list[str | None]:
    """Per box what is wrong with it, or None.

    Args:
        boxes: (N, 4) pixel xywh.

    Returns:
        N entries: "is not finite", "has no area (width or height <= 0)",
        "is absurdly large (a value beyond 1e+06 px)" or None.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    with np.errstate(invalid="ignore", over="ignore"):
        finite = np.isfinite(boxes.astype(np.float32)).all(axis=1) & np.isfinite(boxes).all(axis=1)
        positive = (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
        sane = (np.abs(boxes) <= MAX_BOX_PX).all(axis=1)
    out: list[str | None] = [None] * len(boxes)
    for row in np.flatnonzero(~(finite & positive & sane)):
        if not finite[row]:
            out[row] = "is not finite"
        elif not positive[row]:
            out[row] = "has no area (width or height <= 0)"
        else:
            out[row] = f"is absurdly large (a value beyond {MAX_BOX_PX:.0e} px)"
    return out


def _values(box: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in np.asarray(box, np.float64).reshape(-1)) + "]"


def checked_boxes(
    boxes: np.ndarray,
    given: np.ndarray,
    where: Callable[[int], str] = lambda row: f"row {row}",
) -> dict[str, ColumnValues]:
    """Manifest columns for the boxes a reader found: invalid given boxes named, not used.

    Args:
        boxes: (N, 4) pixel xywh as read (NaN rows where the dataset gives no box).
        given: (N,) bool, the dataset gives this row's box (False: absent or derived by the
            reader; an unusable one is set to NaN without a reason).
        where: row -> "<file>: <location> (<source values>)" for the detail of a bad box.

    Returns:
        ``box_xywh`` (N, 4) with invalid given boxes set to NaN (null), and ``input_reason`` /
        ``input_detail`` (``invalid_box`` and "<where>: box [x, y, w, h] <problem>" on those
        rows, None elsewhere).
    """
    boxes = np.array(boxes, np.float64).reshape(-1, 4)
    given = np.asarray(given, bool).reshape(-1)
    reasons: list[str | None] = [None] * len(boxes)
    details: list[str | None] = [None] * len(boxes)
    for row, problem in enumerate(box_problems(boxes)):
        if problem is None:
            continue
        if not given[row]:
            boxes[row] = np.nan  # derived or absent: no box, people found at run time
            continue
        reasons[row] = Reason.INVALID_BOX.value
        details[row] = f"{where(row)}: box {_values(boxes[row])} {problem}"
        boxes[row] = np.nan
    return {"box_xywh": boxes, "input_reason": reasons, "input_detail": details}
