"""The report page's row data: every stored selection score, as compact typed columns.

The page re-decides the selection in the browser (``whatif.js``) from exactly the values
:func:`furpe_label.workflows.audit.recompute` decides from: the audit's scores after the cast
:class:`~furpe_label.selection.SelectionMetrics` applies, and the rows' outcome before step 1
(:func:`~furpe_label.workflows.audit.stored_input_reasons` through
:func:`~furpe_label.selection.combine`, which these do not depend on any threshold).

A column is ``{"t": dtype, "b": base64}`` (little-endian bytes of an (N,) array; ``dtype`` one
of ``f4 f8 i1 u1 i2 i4``) or ``{"t": dtype, "c": value}`` when every row holds the same value
(``null`` for NaN): float32 scores travel bit-exact, so the browser compares the very numbers
Python compares. Reasons are indices into :data:`REASONS` (the :class:`Reason` enum order).
Rows are in ``sample_idx`` order.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pyarrow as pa

from furpe_label.experts.vocabulary import Part, Reason, Stage
from furpe_label.selection import SelectionConfig, combine
from furpe_label.selection.decisions import SelectionDecisions
from furpe_label.selection.signal_rules import SIGNAL_COLUMNS
from furpe_label.storage.audit import stored_stages
from furpe_label.workflows.audit import stored_input_reasons, stored_metrics

__all__ = ["REASONS", "STAGES", "encode_column", "row_columns", "sorted_audit"]

REASONS: tuple[str, ...] = tuple(reason.value for reason in Reason)
"""Reason strings; a reason column holds indices into this tuple."""

STAGES: tuple[str, ...] = tuple(stage.name.lower() for stage in Stage)
"""Stage names by :class:`Stage` value (0 = kept)."""

_DTYPES = {"f4": "<f4", "f8": "<f8", "i1": "i1", "u1": "u1", "i2": "<i2", "i4": "<i4"}
_REASON_INDEX = {value: index for index, value in enumerate(REASONS)}
_PARTS = tuple(part.value for part in Part)
_HANDS = (Part.LEFT_HAND.value, Part.RIGHT_HAND.value)


def encode_column(values: np.ndarray, dtype: str) -> dict[str, Any]:
    """One (N,) column as ``{"t", "b"}`` (base64 bytes) or ``{"t", "c"}`` (constant).

    Args:
        values: (N,) numbers castable to ``dtype`` without loss.
        dtype: ``f4``, ``f8``, ``i1``, ``u1``, ``i2`` or ``i4``.
    """
    array = np.ascontiguousarray(np.asarray(values).astype(_DTYPES[dtype]))
    if array.ndim != 1:
        raise ValueError(f"a report column must be 1-D, got shape {array.shape}")
    if len(array):
        first = array[0].item()
        all_nan = dtype.startswith("f") and bool(np.isnan(array).all())
        if all_nan or bool((array == array[0]).all()):
            return {"t": dtype, "c": None if all_nan else first}
    return {"t": dtype, "b": base64.b64encode(array.tobytes()).decode("ascii")}


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
        ``{"n": N, "datasets": [...], "subjects": [...], "columns": {name: column}}``; column
        names are the audit's (``n_confident_kp``, ``reproj_mse_norm_face``, ...) plus
        ``dataset``, ``subject`` (indices), ``pre_stage``, ``pre_reason`` (outcome before step
        1), ``stored_stage``, ``stored_reason`` (the run's decision) and ``sample_idx``.
    """
    metrics = stored_metrics(table, base).columns
    pre_stage, pre_reason = _before_step1(table)
    datasets, dataset_index = _groups(table, "dataset")
    subjects, subject_index = _groups(table, "subject")
    stored_reason = table.column("drop_reason").cast(pa.string()).to_pylist()
    columns: dict[str, Any] = {
        "sample_idx": encode_column(table.column("sample_idx").to_numpy(), "i4"),
        "dataset": encode_column(dataset_index, "i4"),
        "subject": encode_column(subject_index, "i4"),
        "pre_stage": encode_column(pre_stage, "i1"),
        "pre_reason": encode_column(pre_reason, "i1"),
        "stored_stage": encode_column(stored_stages(table), "i1"),
        "stored_reason": encode_column(_reason_indices(np.array(stored_reason, object)), "i1"),
        "n_confident_kp": encode_column(metrics["n_confident_kp"], "i2"),
        "step2_scored": encode_column(metrics["step2_scored"], "u1"),
        "step3_scored": encode_column(metrics["step3_scored"], "u1"),
        "betas_max_abs": encode_column(metrics["betas_max_abs"], "f4"),
        "rotation_error": encode_column(metrics["rotation_error"], "f4"),
        "temporal_accel_rad": encode_column(metrics["temporal_accel_rad"], "f4"),
    }
    for part in _PARTS:
        columns[f"expert_reason_{part}"] = encode_column(
            _reason_indices(metrics[f"expert_reason_{part}"]), "i1"
        )
        columns[f"non_finite_{part}"] = encode_column(metrics[f"non_finite_{part}"], "u1")
        columns[f"reproj_n_kp_{part}"] = encode_column(metrics[f"reproj_n_kp_{part}"], "i2")
        for frame in ("norm", "px"):
            name = f"reproj_mse_{frame}_{part}"
            columns[name] = encode_column(metrics[name], "f4")
    for hand in _HANDS:
        columns[f"hand_max_abs_{hand}"] = encode_column(metrics[f"hand_max_abs_{hand}"], "f4")
        columns[f"n_visible_kp_{hand}"] = encode_column(metrics[f"n_visible_kp_{hand}"], "i2")
    for name in SIGNAL_COLUMNS:  # the signal rules' scores (whatif.js SIGNAL_RULES)
        columns[name] = encode_column(metrics[name], "f4")
    for name in ("gt_mpjpe_mm", "gt_pa_mpjpe_mm"):
        values = table.column(name).to_numpy(zero_copy_only=False).astype(np.float32)
        columns[name] = encode_column(values, "f4")
    return {"n": table.num_rows, "datasets": datasets, "subjects": subjects, "columns": columns}
