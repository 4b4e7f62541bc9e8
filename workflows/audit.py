"""``furpe-label audit OUT``: what a run kept and dropped, and why, from the stored tables only.

The funnel per dataset / subject and step, every drop reason with its meaning, quantiles of each
step's score, the label error against ground truth where the dataset has it (kept labels and
the candidate labels of rows dropped after fusion apart), and the what-if:
``--what-if step3.max_mse=0.05`` (or a selection file, ``--what-if sel.json``) recomputes every
decision from the stored scores under new thresholds (``furpe_label.selection.what_if``) with no
model run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from furpe_label.experts.vocabulary import Part, Reason, Stage
from furpe_label.selection import (
    METRIC_COLUMNS,
    STAGE_LABELS,
    WHAT_IF_KEYS,
    SelectionConfig,
    SelectionMetrics,
    combine,
)
from furpe_label.selection import what_if as selection_what_if
from furpe_label.selection.config import signal_fields
from furpe_label.selection.selection_file import read_selection_file
from furpe_label.storage.audit import read_audit_parts, stored_stages
from furpe_label.storage.run_check import RunCheck, RunDamagedError, audit_parts, check_run
from furpe_label.storage.run_dir import RunDir

__all__ = [
    "WHAT_IF_KEYS",
    "AuditReport",
    "load_audit",
    "load_checked_audit",
    "parse_what_if",
    "recompute",
    "report",
    "stored_input_reasons",
    "stored_metrics",
]

SCORES = (
    "n_confident_kp",
    "reproj_mse_norm",
    "reproj_mse_px",
    "betas_max_abs",
    "transfer_error_mm",
    "temporal_accel_rad",
)
GT_ERRORS = ("gt_mpjpe_mm", "gt_pa_mpjpe_mm")
"""Ground-truth errors, summarised apart for the kept labels and the candidate labels of the
rows dropped after fusion (rows dropped before fusion have none)."""
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclasses.dataclass
class AuditReport:
    """Tables of the audit (pandas), ready to print or save."""

    funnel: pd.DataFrame
    reasons: pd.DataFrame
    quantiles: pd.DataFrame
    by_subject: pd.DataFrame
    kept: int
    total: int
    config: SelectionConfig


def load_audit(out: str | Path) -> tuple[pa.Table, SelectionConfig]:
    """The audit rows of the run's complete shards and its selection config (``run.json``).

    Raises:
        FileNotFoundError: ``out`` is not a run folder.
        RunDamagedError: a file differs from what the run wrote (see :func:`load_checked_audit`).
    """
    table, config, _ = load_checked_audit(out)
    return table, config


def load_checked_audit(
    out: str | Path, labels: bool = False
) -> tuple[pa.Table, SelectionConfig, RunCheck]:
    """:func:`load_audit` and the run's :class:`RunCheck` (finished or not, shards done).

    The run folder is checked first (:func:`~furpe_label.storage.run_check.check_run`; the
    label arrays too when ``labels``): a damaged one is refused naming the shard and the
    file. Only the audit parts of complete, intact shards are read, and their rows must be
    the shards' rows of the manifest.
    """
    check = check_run(out, labels=labels, manifest=labels)
    check.raise_if_damaged()
    info = RunDir(out).read_info()
    config = SelectionConfig.from_dict(info.config.get("selection", {}))
    table = read_audit_parts(audit_parts(check), check.dataset)
    if table.num_rows != check.done_rows:
        raise RunDamagedError(
            f"{out}: the audit parts of the {len(check.done)} complete shard(s) hold "
            f"{table.num_rows} rows but the manifest {check.done_rows}"
        )
    return table, config, check


def _what_if_value(text: str, name: str, value: str) -> object:
    """The typed value of ``--what-if KEY=VALUE`` for field ``name`` (``off``: rule off)."""
    default = getattr(SelectionConfig(), name)
    if name in signal_fields():
        if value.strip().lower() in ("off", "none", "null"):
            return None
        kind = float
    else:
        kind = type(default)
    if kind is str:
        return value
    try:
        return kind(value)
    except ValueError:
        allowed = " (or off)" if name in signal_fields() else ""
        raise ValueError(
            f"--what-if {text!r}: {value!r} is not a {kind.__name__}{allowed}"
        ) from None


def parse_what_if(assignments: Sequence[str], base: SelectionConfig) -> SelectionConfig:
    """``["step3.max_mse=0.05", "signals.max_betas_norm=off", "sel.json", ...]`` -> the base
    config with those thresholds replaced: a selection file (``read_selection_file``, what
    ``run --selection FILE`` takes) replaces every keep rule first, then each KEY=VALUE."""
    changes: dict[str, object] = {}
    for text in assignments:
        if "=" not in text and (text.endswith(".json") or Path(text).is_file()):
            chosen = read_selection_file(text)
            changes.update({name: getattr(chosen, name) for name in WHAT_IF_KEYS.values()})
    for text in assignments:
        key, sep, value = text.partition("=")
        if not sep and (text.endswith(".json") or Path(text).is_file()):
            continue
        if not sep or key.strip() not in WHAT_IF_KEYS:
            raise ValueError(
                f"--what-if {text!r}: use a selection file or KEY=VALUE with KEY one of "
                f"{', '.join(WHAT_IF_KEYS)}"
            )
        name = WHAT_IF_KEYS[key.strip()]
        changes[name] = _what_if_value(text, name, value)
    try:
        return dataclasses.replace(base, **changes)
    except ValueError as error:
        raise ValueError(f"--what-if: {error}") from None


def stored_metrics(table: pa.Table, base: SelectionConfig) -> SelectionMetrics:
    """The audit's selection scores (every ``METRIC_COLUMNS`` column), scored under ``base``.

    A null count (``n_confident_*``, ``reproj_n_kp*``: nullable in the schema, never null in
    the runs' own audits) reads as 0, nothing counted, rather than a NaN cast to an integer.
    """
    columns = {}
    for name, spec in METRIC_COLUMNS.items():  # each column converted once
        column = table.column(name)
        if spec.holds_reasons:
            columns[name] = np.asarray(column.cast(pa.string()).to_pylist(), object)
        elif spec.dtype.startswith(("int", "uint")):
            columns[name] = column.fill_null(0).to_numpy(zero_copy_only=False)
        else:
            columns[name] = column.to_numpy(zero_copy_only=False)
    return SelectionMetrics(columns, base.scoring_parameters())


def stored_input_reasons(table: pa.Table) -> np.ndarray:
    """(N,) reason strings of the rows dropped before step 1 (input, detection); ``ok`` else.

    These do not depend on any threshold, so a what-if carries them over unchanged.
    """
    before = stored_stages(table)
    stored_reason = np.asarray(table.column("drop_reason").cast(pa.string()).to_pylist(), object)
    return np.where(
        np.isin(before, [Stage.INPUT, Stage.KEYPOINTS])
        & (stored_reason != Reason.FEW_CONFIDENT_KEYPOINTS.value),
        stored_reason,
        Reason.OK.value,
    )


def recompute(table: pa.Table, base: SelectionConfig, config: SelectionConfig) -> pd.DataFrame:
    """The audit's decision columns recomputed under ``config`` from the stored scores."""
    decisions = selection_what_if(stored_metrics(table, base), config)
    outcome = combine(decisions, stored_input_reasons(table))
    decided = outcome.audit_columns()
    frame = table.select([n for n in table.column_names if n not in decided])
    out = frame.to_pandas()
    out["drop_stage"] = pd.Categorical(decided["drop_stage"], categories=STAGE_LABELS)
    out["drop_step"] = pd.array(decided["drop_step"], dtype="Int8")
    out["drop_reason"] = decided["drop_reason"]
    for part in Part:
        out[f"status_{part.value}"] = [str(r) for r in decisions.part_status[:, part.column]]
        out[f"signal_status_{part.value}"] = [str(r) for r in decisions.signals()[:, part.column]]
    kept = outcome.kept
    out["suppressed_parts"] = [
        [p.value for p in Part if kept[row] and not outcome.part_valid[row, p.column]]
        for row in range(len(kept))
    ]
    return out


def report(frame: pd.DataFrame, config: SelectionConfig) -> AuditReport:
    """Funnel, reasons, quantiles and per-subject table of an audit frame."""
    frame = frame.copy()
    frame["dataset"] = frame.get("dataset", "all")
    frame["drop_reason"] = frame["drop_reason"].astype(str)
    frame["stage"] = pd.Categorical(frame["drop_stage"].astype(str), categories=STAGE_LABELS)
    funnel = frame.groupby(["dataset", "stage"], observed=True).size().rename("rows").reset_index()
    reasons = (
        frame[frame["drop_reason"] != Reason.OK.value]
        .groupby(["stage", "drop_reason"], observed=True)
        .size()
        .rename("rows")
        .reset_index()
    )
    reasons["meaning"] = [Reason(r).meaning for r in reasons["drop_reason"]]
    kept = frame["drop_stage"].astype(str) == Stage.KEPT.label
    scores = {name: frame[name] for name in SCORES if name in frame}
    for name in GT_ERRORS:
        if name in frame:
            scores[f"{name} (kept)"] = frame[name].where(kept)
            scores[f"{name} (dropped after fusion)"] = frame[name].where(~kept)
    present = {name: values for name, values in scores.items() if values.notna().any()}
    quantiles = pd.DataFrame(present).quantile(list(QUANTILES)).T if present else pd.DataFrame()
    subject = frame["subject"].fillna("-") if "subject" in frame else "-"
    by_subject = (
        pd.DataFrame({"dataset": frame["dataset"], "subject": subject, "kept": kept})
        .groupby(["dataset", "subject"], observed=True)["kept"]
        .agg(["size", "sum"])
        .rename(columns={"size": "rows", "sum": "kept"})
        .reset_index()
    )
    return AuditReport(funnel, reasons, quantiles, by_subject, int(kept.sum()), len(frame), config)
