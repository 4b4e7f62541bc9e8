"""The expert stage: N person instances in, dense per-part outputs row-aligned with them out.

For a batch of N person instances (each with its image, OpenPose-137 keypoints and the
detector's failure reason, if any), every expert's crop rule plans the crops of the persons of
each image, the usable crops are cut and run through the expert in chunks (one batched call per
chunk, the pixels released right after), and each expert's record is scattered back to N rows.
Nothing is dropped: every (instance, part) cell ends with either an output (``Reason.OK``) or a
named :class:`Reason` plus a free-text ``detail``. The result is one
:class:`~furpe_label.experts.expert_outputs.ExpertOutputs`, which step 2, the shape transfer
and fusion read as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from furpe_label.experts.crops.rules import CropPlan
from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.part_experts import ExpertBatch, PartExpert
from furpe_label.experts.records import ExpertRecord
from furpe_label.experts.vocabulary import Reason

__all__ = ["DEFAULT_CHUNK", "PersonBatch", "run_expert_stage"]

logger = logging.getLogger(__name__)

DEFAULT_CHUNK = 256
"""Instances per expert call: bounds the crop pixels alive at once (256 x 150 KB)."""


@dataclass(frozen=True)
class PersonBatch:
    """N person instances and the images they stand in.

    Attributes:
        images: decoded images, each (H, W, 3) uint8 RGB, or None where decoding failed.
        image_index: (N,) int64 index into ``images`` of each instance.
        keypoints: (N, 137, 3) float32 OpenPose-137 ``(x, y, conf)``, pixels.
        failure: N :class:`Reason` members (``Reason.OK`` when the instance is usable).
        world_landmarks: (N, 33, 3) float32 metres, NaN rows where absent; or None.
    """

    images: Sequence[np.ndarray | None]
    image_index: np.ndarray
    keypoints: np.ndarray
    failure: Sequence[Reason]
    world_landmarks: np.ndarray | None = None

    def __post_init__(self) -> None:
        count = len(self.image_index)
        if self.keypoints.shape != (count, 137, 3) or len(self.failure) != count:
            raise ValueError(
                f"PersonBatch of {count} instances got keypoints {self.keypoints.shape} and "
                f"{len(self.failure)} failure reasons"
            )

    def __len__(self) -> int:
        return len(self.image_index)


def _plan_all(
    expert: PartExpert, persons: PersonBatch, out: ExpertOutputs
) -> list[tuple[int, int, CropPlan]]:
    """Plan the expert's crops image by image; fill boxes/quality/reasons of its column.

    Returns (instance row, person index in its image's plan, plan) for every usable crop.
    """
    col = expert.part.column
    usable: list[tuple[int, int, CropPlan]] = []
    ok_rows = np.array([why is Reason.OK for why in persons.failure], dtype=bool)
    for image_id in np.unique(persons.image_index[ok_rows]):
        rows = np.flatnonzero(ok_rows & (persons.image_index == image_id))
        image = persons.images[int(image_id)]
        if image is None:
            out.reason[rows, col] = Reason.IMAGE_UNREADABLE
            continue
        plan = expert.crop_rule.plan(persons.keypoints[rows].astype(np.float64), image.shape[:2])
        out.boxes[rows, col] = plan.boxes
        out.affines[rows, col] = plan.affines
        for person, row in enumerate(rows):
            quality = plan.quality[person]
            out.crop_side_px[row, col] = quality.side_px
            out.crop_outside_fraction[row, col] = quality.outside_fraction
            out.crop_keypoints[row, col] = quality.num_keypoints
            out.crop_keypoints_inside[row, col] = quality.num_inside
            out.reason[row, col] = plan.reasons[person]
            out.detail[row, col] = plan.details[person]
            if plan.reasons[person] is Reason.OK:
                usable.append((int(row), person, plan))
    return usable


def _run_chunk(
    expert: PartExpert,
    persons: PersonBatch,
    chunk: list[tuple[int, int, CropPlan]],
) -> ExpertRecord:
    """Cut the chunk's crops (if the expert reads pixels) and call the expert once."""
    rows = np.array([row for row, _, _ in chunk], np.int64)
    crops = None
    if expert.needs_crops:
        crops = np.stack(
            [
                expert.crop_rule.cut(persons.images[int(persons.image_index[row])], plan, person)
                for row, person, plan in chunk
            ]
        )
    landmarks = None if persons.world_landmarks is None else persons.world_landmarks[rows]
    batch = ExpertBatch(
        crops=crops,
        keypoints=persons.keypoints[rows],
        crop_from_image=np.stack([plan.affines[person] for _, person, plan in chunk]),
        world_landmarks=landmarks,
    )
    record = expert(batch)
    if len(record) != len(rows):
        raise RuntimeError(f"{expert.name} returned {len(record)} rows for {len(rows)} inputs")
    return record


def _run_expert(
    expert: PartExpert, persons: PersonBatch, out: ExpertOutputs, chunk_size: int
) -> None:
    col = expert.part.column
    usable = _plan_all(expert, persons, out)
    done_rows: list[np.ndarray] = []
    records: list[ExpertRecord] = []
    for start in range(0, len(usable), chunk_size):
        chunk = usable[start : start + chunk_size]
        rows = np.array([row for row, _, _ in chunk], np.int64)
        try:
            records.append(_run_chunk(expert, persons, chunk))
            done_rows.append(rows)
        except Exception as error:  # one bad chunk must not lose the shard
            logger.exception("%s failed on %d instances", expert.name, len(rows))
            out.reason[rows, col] = Reason.EXPERT_FAILED
            out.detail[rows, col] = f"{type(error).__name__}: {error}"
    if records:
        record = ExpertRecord.concat(records)
        out.records[expert.part] = record.scatter(np.concatenate(done_rows), len(persons))


def run_expert_stage(
    persons: PersonBatch,
    experts: Sequence[PartExpert],
    chunk_size: int = DEFAULT_CHUNK,
) -> ExpertOutputs:
    """Run every expert over the N instances; see :class:`ExpertOutputs`.

    Parts without an expert keep ``Reason.EXPERT_DISABLED`` (or the instance's failure).
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    out = ExpertOutputs.empty(len(persons), persons.failure)
    for expert in experts:
        out.experts[expert.part] = (expert.name, expert.sha256)
        _run_expert(expert, persons, out, chunk_size)
    return out
