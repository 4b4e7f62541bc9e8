"""Whole persons only, at the keypoint stage: a box that cuts its person is grown once, else
dropped as ``person_cut_by_box``.

Runs after :func:`~furpe_label.pipeline.keypoint_stage.detect_keypoints` and before
:func:`~furpe_label.pipeline.keypoint_stage.mark_duplicate_people` (so that the de-dup compares
whole persons). Only the ``mediapipe`` source detects inside the box; ``openpose-json`` and
``ground-truth`` keypoints are the whole image's, so their rows are left as they are.

For each row with keypoints whose box cuts the person
(:func:`~furpe_label.selection.whole_person.body_outside_box`):

1. the box is grown to hold the placed body points
   (:func:`~furpe_label.selection.whole_person.grown_box`, clipped to the image) and the
   detector runs once more on the grown box;
2. if the new keypoints fit the grown box, they replace the row's (detail: the grown box);
3. otherwise (still cut, or no person found in the grown box) the row ends as
   ``person_cut_by_box`` with the box and the grown box in its detail.

There is no second growth: the result depends on one row's box, keypoints and image only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from furpe_label.experts.vocabulary import Reason
from furpe_label.pipeline.keypoint_stage import KeypointSource, ShardKeypoints
from furpe_label.selection.whole_person import WholePersonConfig, body_outside_box, grown_box

__all__ = ["keep_whole_persons"]


def _xywh(box: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.0f}" for v in box) + "]"


def keep_whole_persons(
    source: KeypointSource,
    keypoints: ShardKeypoints,
    images: Sequence[np.ndarray | None],
    image_index: np.ndarray,
    boxes: np.ndarray,
    config: WholePersonConfig,
) -> np.ndarray:
    """Grow (once) or drop the rows whose box cuts the person, in place.

    Args:
        source: the worker's keypoint source (its detector re-runs on grown boxes).
        keypoints: N instances from ``detect_keypoints``; only rows with ``failure`` OK are
            looked at.
        images: decoded (H, W, 3) uint8 RGB images (None where decoding failed).
        image_index: (N,) index into ``images`` per instance.
        boxes: (N, 4) the rows' person boxes, pixel xywh.
        config: the whole-person rule.

    Returns:
        (N,) int8: 0 untouched, 1 grown (new keypoints), 2 dropped as ``person_cut_by_box``.
    """
    count = len(keypoints.failure)
    outcome = np.zeros(count, np.int8)
    if source.name != "mediapipe" or count == 0:
        return outcome
    reached = np.array([why is Reason.OK for why in keypoints.failure], dtype=bool)
    boxes = np.asarray(boxes, np.float64)
    cut = reached & body_outside_box(keypoints.keypoints, boxes, config)
    detector = source.detector()
    for row in np.flatnonzero(cut):
        image = images[int(image_index[row])]
        assert image is not None  # rows with keypoints have a decoded image
        grown = grown_box(keypoints.keypoints[row], boxes[row], image.shape[:2], config)
        person = detector.detect(image, grown[None])[0]
        whole = person.ok and not body_outside_box(person.keypoints[None], grown[None], config)[0]
        if whole:
            keypoints.keypoints[row] = person.keypoints
            world = person.world_landmarks
            keypoints.world_landmarks[row] = np.nan if world is None else world
            keypoints.detail[row] = (
                f"box {_xywh(boxes[row])} cut the person; detected in the grown box {_xywh(grown)}"
            )
            outcome[row] = 1
            continue
        keypoints.failure[row] = Reason.PERSON_CUT_BY_BOX
        found = "still cut there" if person.ok else f"{person.failure} there"
        keypoints.detail[row] = (
            f"body keypoints beyond box {_xywh(boxes[row])}; grown box {_xywh(grown)}: {found}"
        )
        outcome[row] = 2
    return outcome
