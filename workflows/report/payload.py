"""The report page's row data: every stored selection score, as compact typed columns.

The page re-decides the selection in the browser (``whatif.js``) from exactly the values
:func:`furpe_label.workflows.audit.recompute` decides from: the audit's scores after the cast
:class:`~furpe_label.selection.SelectionMetrics` applies, and the rows' outcome before step 1
(:func:`~furpe_label.workflows.audit.stored_input_reasons` through
:func:`~furpe_label.selection.combine`, which these do not depend on any threshold).

The columns are packed by :class:`~furpe_label.workflows.report.column_pack.ColumnPack`
(each in its narrowest exact dtype, NaN rows as a bitmap, one deflated base64 block): float32
scores travel bit-exact, so the browser compares the very numbers Python compares. Reasons are
indices into :data:`REASONS` (the :class:`Reason` enum order), stages :class:`Stage` values.
Only the columns the page reads travel.
Rows are in ``sample_idx`` order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from furpe_label.experts.vocabulary import Part, Reason, Stage
from furpe_label.selection import SelectionConfig, combine
from furpe_label.selection.decisions import SelectionDecisions
from furpe_label.selection.signal_rules import SIGNAL_COLUMNS
from furpe_label.storage.audit import stored_stages
from furpe_label.workflows.audit import stored_input_reasons, stored_metrics
from furpe_label.workflows.report.column_pack import ColumnPack

__all__ = ["REASONS", "STAGES", "row_columns", "sorted_audit"]

REASONS: tuple[str, ...] = tuple(reason.value for reason in Reason)
"""Reason strings; a reason column holds indices into this tuple."""

STAGES: tuple[str, ...] = tuple(stage.name.lower() for stage in Stage)
"""Stage names by :class:`Stage` value (0 = kept)."""

_REASON_INDEX = {value: index for index, value in enumerate(REASONS)}
_PARTS = tuple(part.value for part in Part)
_HANDS = (Part.LEFT_HAND.value, Part.RIGHT_HAND.value)


def _reason_indices(values: np.ndarray) -> np.ndarray:
    return np.array([_REASON_INDEX[str(v)] for v in values], dtype=np.int8)


def sorted_audit(table: pa.Table) -> pa.Table:
    """The audit rows in ``sample_idx`` order (the page's row order)."""
    return table.sort_by("sample_idx")


def _before_step1(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(N,) stage and (N,) reason index of the rows dropped before step 1 (0 / ok else),
    staged by :func:`combine` exactly as a what-if stages them."""
    n = table.num_rows
    all_pass = SelectionDecisions(
        keep_step1=np.ones(n, bool),
        part_status=np.full((n, len(Part)), Reason.OK, dtype=object),
        step3_status=np.full(n, Reason.OK, dtype=object),
        reprojection={},
        temporal_status=np.full(n, Reason.OK, dtype=object),
    )
    outcome = combine(all_pass, stored_input_reasons(table))
    return outcome.drop_stage, _reason_indices(outcome.drop_reason)


def _groups(table: pa.Table, name: str) -> tuple[list[str], np.ndarray]:
    """Distinct values of a string column (``-`` for null) and each row's index into them."""
    if name not in table.column_names:
        return ["-"], np.zeros(table.num_rows, np.int32)
    values = ["-" if v is None else str(v) for v in table.column(name).to_pylist()]
    names = sorted(set(values))
    lookup = {value: index for index, value in enumerate(names)}
    return names, np.array([lookup[v] for v in values], dtype=np.int32)


def row_columns(table: pa.Table, base: SelectionConfig) -> dict[str, Any]:
    """The page's ``rows`` block for an audit table sorted by ``sample_idx``.

    Args:
        table: the run's audit (:func:`sorted_audit` order).
        base: the selection config the run scored and decided with.

    Returns:
        ``{"n": N, "datasets": [...], "subjects": [...], "columns": {name: spec}, "packed":
        {"bytes", "data"}}`` (:mod:`~furpe_label.workflows.report.column_pack`); column
        names are the audit's (``n_confident_kp``, ``reproj_mse_norm_face``, ...) plus
        ``dataset``, ``subject`` (indices), ``pre_stage``, ``pre_reason`` (outcome before step
        1), ``stored_stage``, ``stored_reason`` (the run's decision) and ``sample_idx``.
    """
    metrics = stored_metrics(table, base).columns
    pre_stage, pre_reason = _before_step1(table)
    datasets, dataset_index = _groups(table, "dataset")
    subjects, subject_index = _groups(table, "subject")
    stored_reason = table.column("drop_reason").cast(pa.string()).to_pylist()
    pack = ColumnPack(table.num_rows)
    columns: dict[str, Any] = {
        "sample_idx": pack.add_int(table.column("sample_idx").to_numpy()),
        "dataset": pack.add_int(dataset_index),
        "subject": pack.add_int(subject_index),
        "pre_stage": pack.add_int(pre_stage),
        "pre_reason": pack.add_int(pre_reason),
        "stored_stage": pack.add_int(stored_stages(table)),
        "stored_reason": pack.add_int(_reason_indices(np.array(stored_reason, object))),
        "n_confident_kp": pack.add_int(metrics["n_confident_kp"]),
        "step2_scored": pack.add_int(metrics["step2_scored"]),
        "step3_scored": pack.add_int(metrics["step3_scored"]),
    }
    for name in ("betas_max_abs", "rotation_error", "temporal_accel_rad"):
        columns[name] = pack.add_float(metrics[name])
    for part in _PARTS:
        columns[f"expert_reason_{part}"] = pack.add_int(
            _reason_indices(metrics[f"expert_reason_{part}"])
        )
        columns[f"non_finite_{part}"] = pack.add_int(metrics[f"non_finite_{part}"])
        columns[f"reproj_n_kp_{part}"] = pack.add_int(metrics[f"reproj_n_kp_{part}"])
        for frame in ("norm", "px"):
            name = f"reproj_mse_{frame}_{part}"
            columns[name] = pack.add_float(metrics[name])
    for hand in _HANDS:
        columns[f"hand_max_abs_{hand}"] = pack.add_float(metrics[f"hand_max_abs_{hand}"])
        columns[f"n_visible_kp_{hand}"] = pack.add_int(metrics[f"n_visible_kp_{hand}"])
    for name in SIGNAL_COLUMNS:  # the signal rules' scores (whatif.js SIGNAL_RULES)
        columns[name] = pack.add_float(metrics[name])
    gt = table.column("gt_mpjpe_mm").to_numpy(zero_copy_only=False).astype(np.float32)
    columns["gt_mpjpe_mm"] = pack.add_float(gt)  # the ground-truth block (sections.js)
    return {
        "n": table.num_rows,
        "datasets": datasets,
        "subjects": subjects,
        "columns": columns,
        "packed": pack.encoded(),
    }
