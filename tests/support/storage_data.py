"""Synthetic label arrays and audit columns for the storage tests (no model runs)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from furpe_label.experts.vocabulary import Part, Reason, Stage
from furpe_label.storage.schema import AUDIT_FIELDS, Field


def label_rows(fields: Iterable[Field], start: int, stop: int) -> dict[str, np.ndarray]:
    """Arrays for samples ``start..stop`` whose values identify the sample.

    Float arrays hold ``sample_idx + k / 1000`` (k = element index within the row, as
    float16-exact as the dtype allows), so any misplaced or lost row shows up; ``valid`` is
    True for every sample not divisible by 3; ``part_valid`` is a pattern of the index.
    """
    idx = np.arange(start, stop)
    out: dict[str, np.ndarray] = {}
    for field in fields:
        size = int(np.prod(field.shape, dtype=np.int64))
        if field.name == "valid":
            out[field.name] = idx % 3 != 0
        elif field.dtype == "bool":
            bits = (idx[:, None] >> np.arange(size)) & 1
            out[field.name] = bits.astype(bool).reshape(len(idx), *field.shape)
        else:
            step = 1.0 / 1000 if field.dtype == "float32" else 1.0 / 8
            values = idx[:, None] + (np.arange(size) % 8) * step
            out[field.name] = values.reshape(len(idx), *field.shape).astype(field.dtype)
    return out


def audit_columns(start: int, stop: int, shard: int, seed: int = 0) -> dict[str, object]:
    """Audit columns (every non-partition column) for samples ``start..stop`` of one shard."""
    rng = np.random.default_rng(seed)
    n = stop - start
    reasons = [Reason.OK, Reason.FEW_CONFIDENT_KEYPOINTS, Reason.REPROJECTION_ERROR]
    drop = [reasons[i % 3] for i in range(start, stop)]
    step = {
        Reason.OK: Stage.KEPT,
        Reason.FEW_CONFIDENT_KEYPOINTS: Stage.KEYPOINTS,
        Reason.REPROJECTION_ERROR: Stage.REPROJECTION,
    }
    furpe_step = {Reason.OK: None, Reason.FEW_CONFIDENT_KEYPOINTS: 1, Reason.REPROJECTION_ERROR: 3}
    columns: dict[str, object] = {}
    for field in AUDIT_FIELDS:
        if field.partition:
            continue
        if field.dtype.startswith("float"):
            values = rng.random(n).astype(np.float32)
            columns[field.name] = (
                [None if i % 5 == 0 else v for i, v in enumerate(values)]
                if (field.nullable)
                else values
            )
        elif field.dtype.startswith("int"):
            columns[field.name] = rng.integers(0, 100, n)
        elif field.dtype == "category":
            columns[field.name] = [Reason.OK if i % 4 else Reason.HAND_INVISIBLE for i in range(n)]
        elif field.dtype == "string":
            columns[field.name] = [f"{field.name}-{i}" for i in range(start, stop)]
        elif field.dtype == "bool":
            columns[field.name] = np.arange(start, stop) % 3 == 0
        else:
            columns[field.name] = [[Part.LEFT_HAND] if i % 4 == 0 else [] for i in range(n)]
    columns.update(
        sample_idx=np.arange(start, stop),
        shard=np.full(n, shard),
        drop_reason=drop,
        drop_stage=[step[r].label for r in drop],
        drop_step=[furpe_step[r] for r in drop],
        frame=[None if i % 2 else i for i in range(start, stop)],
        drop_detail=[None if r is Reason.OK else f"detail {r.value}" for r in drop],
    )
    return columns
