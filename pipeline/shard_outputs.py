"""A shard's results as the label store's arrays and the audit table's columns.

Every label field of ``storage.schema.LABEL_FIELDS`` gets an (N, ...) array; rows that are not
kept hold NaN (floats) / False (bools), except the detected keypoints, crop boxes and camera,
which are stored for every row that has them (the report draws dropped samples too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.fusion.fuse import FusedSmplx
from furpe_label.experts.records import HEAD_FEATURE_DIM, ExpertRecord
from furpe_label.experts.vocabulary import Part, Stage
from furpe_label.selection import SelectionDecisions, SelectionMetrics
from furpe_label.selection.decisions import Outcome
from furpe_label.storage.path_text import display_text
from furpe_label.storage.schema import LABEL_FIELDS, TIMED_STAGES

__all__ = ["ShardResults", "audit_columns", "label_arrays"]


@dataclass
class ShardResults:
    """What the stages of one shard produced (N rows each)."""

    keypoints: np.ndarray  # (N, 137, 3) detected, pixels
    projected: np.ndarray  # (N, 137, 2) projected SMPL-X, pixels (NaN: none)
    experts: ExpertOutputs
    fused: FusedSmplx  # the stored labels' fusion (parts suppressed by the outcome)
    transl: np.ndarray  # (N, 3) metres
    transfer_error_mm: np.ndarray  # (N,)
    metrics: SelectionMetrics
    decisions: SelectionDecisions
    outcome: Outcome
    drop_detail: list[str]
    seconds: dict[Stage, float]
    gt_mpjpe_mm: np.ndarray  # (N,) mm, NaN where no ground truth or the row did not reach fusion
    gt_pa_mpjpe_mm: np.ndarray


def _head_features(record: ExpertRecord | None, count: int) -> np.ndarray:
    """(N, 1024) float16 stored features of a part, NaN where its expert gives none."""
    if record is None or record.head_feature is None:
        return np.full((count, HEAD_FEATURE_DIM), np.nan, np.float16)
    return record.head_feature


def label_arrays(results: ShardResults, table: Any) -> dict[str, np.ndarray]:
    """Every required label array of the shard, by schema name (``table``: the shard's own
    manifest rows)."""
    count = len(results.keypoints)
    kept = results.outcome.kept
    fused = results.fused
    arrays: dict[str, np.ndarray] = {
        "valid": kept,
        "part_valid": results.outcome.part_valid & kept[:, None],
        **{name: np.asarray(value) for name, value in fused.smplx_params().items()},
        "transl": results.transl,
        "transfer_error_mm": results.transfer_error_mm,
        "flame_expression": fused.flame_expression,
        "deca_head_rotation": fused.face_head_pose,
    }
    for name in list(arrays):
        if name not in ("valid", "part_valid"):
            value = np.array(arrays[name], dtype=np.float32)
            value[~kept] = np.nan
            arrays[name] = value
    arrays["camera"] = fused.camera.astype(np.float32)
    arrays["keypoints2d"] = results.keypoints.astype(np.float32)
    arrays["keypoints2d_proj"] = results.projected.astype(np.float32)
    arrays["track_id"] = _track_ids(table)
    for part in Part:
        arrays[f"box_{part.value}"] = results.experts.boxes[:, part.column].astype(np.float32)
        record = results.experts.records.get(part)
        arrays[f"feature_{part.value}"] = _head_features(record, count)
    wanted = {f.name for f in LABEL_FIELDS if not f.optional}
    return {name: arrays[name] for name in wanted}


def audit_columns(results: ShardResults, table: Any, shard_id: int) -> dict[str, Any]:
    """The shard's audit columns (``storage.audit.audit_table`` input)."""
    count = len(results.keypoints)
    outcome = results.outcome
    kept = outcome.kept
    columns: dict[str, Any] = {
        "sample_idx": table.column("sample_idx").to_numpy(),
        "subject": table.column("subject").to_pylist(),
        "sequence": table.column("sequence").to_pylist(),
        "frame": table.column("frame").to_pylist(),
        "image_path": [
            image if image is not None else f"{video}#{frame}"
            for image, video, frame in zip(
                table.column("image_path").to_pylist(),
                table.column("video_path").to_pylist(),
                table.column("frame_index").to_pylist(),
                strict=True,
            )
        ],
        "person_idx": [0 if p is None else p for p in table.column("person_idx").to_pylist()],
        "track_id": table.column("track_id").to_pylist(),
        "shard": np.full(count, shard_id, np.int32),
        **results.metrics.columns,
        "step3_status": results.decisions.step3_status,
        "temporal_status": results.decisions.temporal_status,
        **outcome.audit_columns(),
        "drop_detail": [display_text(d) if d else None for d in results.drop_detail],
        "suppressed_parts": [
            [part for part in Part if kept[row] and not outcome.part_valid[row, part.column]]
            for row in range(count)
        ],
        "gt_mpjpe_mm": _nullable(results.gt_mpjpe_mm),
        "gt_pa_mpjpe_mm": _nullable(results.gt_pa_mpjpe_mm),
    }
    experts = results.experts
    for part in Part:
        col = part.column
        columns[f"status_{part.value}"] = results.decisions.part_status[:, col]
        columns[f"signal_status_{part.value}"] = results.decisions.signals()[:, col]
        columns[f"crop_side_px_{part.value}"] = _nullable(experts.crop_side_px[:, col])
        columns[f"crop_keypoints_inside_{part.value}"] = experts.crop_keypoints_inside[:, col]
        columns[f"expert_detail_{part.value}"] = [
            display_text(d) if d else None for d in experts.detail[:, col]
        ]
    for stage in TIMED_STAGES:
        share = results.seconds.get(stage, 0.0) / max(count, 1)
        columns[f"seconds_{stage.name.lower()}"] = np.full(count, share, np.float32)
    return columns


def _track_ids(table: Any) -> np.ndarray:
    """(N,) int64 manifest ``track_id`` of the rows, -1 where null."""
    return np.array(
        [-1 if t is None else t for t in table.column("track_id").to_pylist()], np.int64
    )


def _nullable(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, np.float64)]
