"""The expert stage: part crops of many images -> one batched forward per expert.

For each image with P persons (OpenPose-137 keypoints), :func:`make_part_crops` cuts the body,
face and hand crops by each expert's own rule; the crops of all images are then concatenated
so every network runs on large batches (SPIN on bodies, DECA on faces, FrankMocap on left and
right hands together, left ones mirrored inside the runner), and the records are split back
per image and part. Every person of every part ends either in the part's record or with a
named reason (bad crop, or ``"expert_disabled"`` when that expert is not loaded).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from furpe_label.experts.crops.part_crops import PARTS, PartCrops, make_part_crops
from furpe_label.experts.networks.loading import load_deca, load_frankmocap, load_spin
from furpe_label.experts.networks.records import ExpertRecord
from furpe_label.experts.networks.runners import (
    DEFAULT_BATCH_SIZE,
    DecaExpert,
    FrankMocapExpert,
    SpinExpert,
)

REASON_EXPERT_DISABLED = "expert_disabled"


@dataclass(frozen=True)
class PartExperts:
    """The loaded network experts; a None expert means that part is not labelled."""

    body: SpinExpert | None = None
    face: DecaExpert | None = None
    hands: FrankMocapExpert | None = None


@dataclass(frozen=True)
class PartResult:
    """One part of one image.

    Attributes:
        crops: the part's :class:`PartCrops` (boxes, affines, quality, reasons).
        record: the expert's output for ``crops.person_index`` (row i is person
            ``crops.person_index[i]``), or None when no person has a usable crop or the expert
            is disabled (then ``reasons`` say so).
        reasons: (P,) ``"ok"`` for persons in ``record``, else the named reason.
    """

    crops: PartCrops
    record: ExpertRecord | None
    reasons: tuple[str, ...]


def _expert_for(
    part: str, experts: PartExperts
) -> SpinExpert | DecaExpert | FrankMocapExpert | None:
    if part == "body":
        return experts.body
    if part == "face":
        return experts.face
    return experts.hands


def _run_group(
    expert: SpinExpert | DecaExpert | FrankMocapExpert, members: list[tuple[int, PartCrops]]
) -> list[ExpertRecord]:
    """One batched forward over the crops of ``members``; the record split back per member."""
    crops = np.concatenate([part_crops.crops for _, part_crops in members])
    counts = [len(part_crops.person_index) for _, part_crops in members]
    if isinstance(expert, FrankMocapExpert):
        is_left = np.concatenate(
            [np.full(n, pc.part == "left_hand") for n, (_, pc) in zip(counts, members, strict=True)]
        )
        record = expert(crops, is_left)
    else:
        record = expert(crops)
    bounds = np.cumsum([0, *counts])
    return [record.take(slice(a, b)) for a, b in itertools.pairwise(bounds)]


def run_part_experts_batch(
    images: Sequence[np.ndarray],
    keypoints: Sequence[np.ndarray],
    experts: PartExperts,
    conf_thresh: float = 0.2,
) -> list[dict[str, PartResult]]:
    """The expert stage over several images.

    Args:
        images: N images, each (H, W, 3) uint8 RGB.
        keypoints: N arrays (P_i, 137, 3) OpenPose-137 ``(x, y, conf)``, pixels.
        experts: the loaded experts.
        conf_thresh: confidence above which face/hand keypoints count.

    Returns:
        N dicts ``{part: PartResult}`` over :data:`PARTS`.
    """
    if len(images) != len(keypoints):
        raise ValueError(f"{len(images)} images but {len(keypoints)} keypoint arrays")
    crops = [
        make_part_crops(img, kps, conf_thresh) for img, kps in zip(images, keypoints, strict=True)
    ]
    records: dict[tuple[int, str], ExpertRecord] = {}
    groups: dict[int, tuple[object, list[tuple[int, PartCrops]]]] = {}
    for index, per_part in enumerate(crops):
        for part in PARTS:
            expert = _expert_for(part, experts)
            if expert is not None and len(per_part[part].person_index):
                groups.setdefault(id(expert), (expert, []))[1].append((index, per_part[part]))
    for expert, members in groups.values():
        for (index, part_crops), record in zip(members, _run_group(expert, members), strict=True):
            records[(index, part_crops.part)] = record
    results = []
    for index, per_part in enumerate(crops):
        result = {}
        for part in PARTS:
            part_crops = per_part[part]
            disabled = _expert_for(part, experts) is None
            reasons = tuple(
                REASON_EXPERT_DISABLED if disabled and r == "ok" else r for r in part_crops.reasons
            )
            result[part] = PartResult(part_crops, records.get((index, part)), reasons)
        results.append(result)
    return results


def run_part_experts(
    image: np.ndarray, keypoints: np.ndarray, experts: PartExperts, conf_thresh: float = 0.2
) -> dict[str, PartResult]:
    """The expert stage for one image (see :func:`run_part_experts_batch`)."""
    return run_part_experts_batch([image], [keypoints], experts, conf_thresh)[0]


def load_part_experts(
    experts_dir: Path | str | None = None,
    device: str | torch.device | None = None,
    fp16: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    parts: Sequence[str] = ("body", "face", "hands"),
) -> PartExperts:
    """Load the wanted experts from ``experts_dir`` (default ``$FURPE_EXPERTS``).

    Args:
        parts: any of ``"body"`` (SPIN), ``"face"`` (DECA), ``"hands"`` (FrankMocap).
        device: None picks CUDA when present, else the CPU; fp16 autocast applies on CUDA only.
    """
    unknown = set(parts) - {"body", "face", "hands"}
    if unknown:
        raise ValueError(f"unknown expert parts {sorted(unknown)}; use body, face, hands")
    options = {"device": device, "fp16": fp16, "batch_size": batch_size}
    return PartExperts(
        body=load_spin(experts_dir, **options) if "body" in parts else None,
        face=load_deca(experts_dir, **options) if "face" in parts else None,
        hands=load_frankmocap(experts_dir, **options) if "hands" in parts else None,
    )
