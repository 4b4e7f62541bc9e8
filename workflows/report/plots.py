"""``furpe-label audit OUT --plots DIR``: the report page's charts as PNG files (matplotlib, no
display needed: figures are drawn with the Agg canvas, never through pyplot).

Drawn from the same stored scores and the same decisions as the page (``what_if`` +
``combine`` under the chosen thresholds): the funnel, the drop reasons, each step's score
histogram with its threshold, the label error against ground truth of the kept labels vs the
candidate labels of the rows dropped after fusion (when the run has any), and the seconds per
stage, and ``calibrate``'s precision / recall curve where OUT has one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
from matplotlib.figure import Figure

from furpe_label.experts.vocabulary import Reason, Stage
from furpe_label.selection import SelectionConfig, combine, what_if
from furpe_label.storage.audit import stored_stages
from furpe_label.storage.run_dir import RunDir
from furpe_label.workflows.audit import stored_input_reasons, stored_metrics
from furpe_label.workflows.calibration_record import read_calibration_record
from furpe_label.workflows.report.calibration_plot import precision_recall_chart
from furpe_label.workflows.report.summary import timings

__all__ = ["write_plots"]

log = logging.getLogger(__name__)

_KEPT, _DROPPED, _BAR = "#2e9d57", "#d0513b", "#3b7dd8"
_STAGES = (
    "input (reading)",
    "keypoints (detection, step 1)",
    "experts (crops, step 2)",
    "fusion",
    "reprojection (step 3)",
    "signals (beyond FuRPE)",
    "temporal (video tracks)",
)


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=150)
    return path


def _funnel(stage: np.ndarray, stored: np.ndarray, path: Path) -> Path:
    figure = Figure(figsize=(7, 3.2))
    axes = figure.add_subplot()
    labels = ["inputs"] + [f"after {name}" for name in _STAGES]
    left = [len(stage) - int(np.isin(stage, range(1, s + 1)).sum()) for s in range(len(labels))]
    was = [len(stored) - int(np.isin(stored, range(1, s + 1)).sum()) for s in range(len(labels))]
    y = np.arange(len(labels))[::-1]
    axes.barh(y, left, color=_BAR, label="what-if" if left != was else "kept so far")
    if left != was:
        axes.barh(y, was, fill=False, linestyle="--", edgecolor="black", label="run's decisions")
    for row, value in zip(y, left, strict=True):
        axes.text(value, row, f" {value} ({100 * value / max(len(stage), 1):.1f} %)", va="center")
    axes.set_yticks(y, labels)
    axes.set_xlim(0, max(max(left), max(was), 1) * 1.3)
    axes.set_xlabel("person instances")
    axes.set_title("selection funnel")
    axes.legend(loc="lower right", fontsize=8)
    return _save(figure, path)


def _reasons(stage: np.ndarray, reason: np.ndarray, path: Path) -> Path:
    dropped = stage != Stage.KEPT
    pairs = sorted({(int(s), str(r)) for s, r in zip(stage[dropped], reason[dropped], strict=True)})
    counts = [int(((stage == s) & (reason == r)).sum()) for s, r in pairs]
    figure = Figure(figsize=(7, 0.8 + 0.35 * max(len(pairs), 1)))
    axes = figure.add_subplot()
    y = np.arange(len(pairs))[::-1]
    axes.barh(y, counts, color=_DROPPED)
    axes.set_yticks(y, [f"{Stage(s).name.lower()}: {r}" for s, r in pairs])
    axes.set_xlim(0, max(counts, default=1) * 1.15)
    for row, value in zip(y, counts, strict=True):
        axes.text(value, row, f" {value}", va="center")
    axes.set_xlabel("dropped person instances")
    axes.set_title("drop reasons (meanings: furpe-label audit OUT)")
    return _save(figure, path)


def _histogram(
    values: np.ndarray,
    threshold: float,
    title: str,
    xlabel: str,
    log: bool,
    path: Path,
    integer: bool = False,
) -> Path:
    values = values[np.isfinite(values)]
    figure = Figure(figsize=(5, 3))
    axes = figure.add_subplot()
    if log:
        positive = values[values > 0]
        low = min(positive.min(), threshold) if positive.size else threshold / 10
        high = max(positive.max(), threshold) if positive.size else threshold * 10
        bins = np.geomspace(low / 1.5, high * 1.5, 41)
        axes.set_xscale("log")
        values = np.clip(values, bins[0], None)
    elif integer:
        bins = np.arange(-0.5, max(values.max(initial=0), threshold) + 1.5)
    else:
        bins = np.linspace(
            min(0.0, values.min(initial=0)), max(values.max(initial=1), threshold) * 1.05, 41
        )
    axes.hist(values, bins=bins, color=_BAR)
    axes.axvline(threshold, color="#b42318", linestyle="--", linewidth=2)
    axes.text(
        threshold,
        axes.get_ylim()[1] * 0.95,
        f" {threshold:g}",
        color="#b42318",
        va="top",
        fontsize=9,
    )
    axes.set_title(title, fontsize=10)
    axes.set_xlabel(xlabel)
    axes.set_ylabel("rows")
    return _save(figure, path)


def _truth(error: np.ndarray, kept: np.ndarray, path: Path) -> Path:
    figure = Figure(figsize=(5, 3))
    axes = figure.add_subplot()
    finite = np.isfinite(error)
    high = np.percentile(error[finite], 99) * 1.1
    bins = np.linspace(0, max(high, 1.0), 41)
    axes.hist(
        [error[finite & kept], error[finite & ~kept]],
        bins=bins,
        stacked=True,
        color=[_KEPT, _DROPPED],
        label=["kept", "dropped after fusion (candidate)"],
    )
    axes.legend(fontsize=8)
    axes.set_title("label error against ground truth (MPJPE)", fontsize=10)
    axes.set_xlabel("mm")
    axes.set_ylabel("labels")
    return _save(figure, path)


def _timings(info: dict, path: Path) -> Path:
    stages = info["stages"]
    figure = Figure(figsize=(6, 0.8 + 0.4 * len(stages)))
    axes = figure.add_subplot()
    y = np.arange(len(stages))[::-1]
    axes.barh(y, [s["seconds"] for s in stages], color="#7a8796")
    axes.set_yticks(y, [s["stage"] for s in stages])
    for row, s in zip(y, stages, strict=True):
        axes.text(
            s["seconds"],
            row,
            f" {s['seconds']:.3g} s, {s['ms_per_sample']:.3g} ms/sample",
            va="center",
            fontsize=8,
        )
    axes.set_xlim(0, max((s["seconds"] for s in stages), default=1.0) * 1.6 or 1.0)
    axes.set_xlabel("seconds of stage work")
    axes.set_title(f"timings: {info['samples']} samples", fontsize=10)
    return _save(figure, path)


def write_plots(
    out: str | Path,
    table: pa.Table,
    base: SelectionConfig,
    config: SelectionConfig,
    folder: str | Path,
) -> list[Path]:
    """Write the charts of the run ``out`` (audit ``table``, scored under ``base``) decided
    under ``config`` into ``folder``; returns the PNG files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = table.sort_by("sample_idx")
    metrics = stored_metrics(table, base)
    decisions = what_if(metrics, config)
    inputs = stored_input_reasons(table)
    outcome = combine(decisions, inputs)
    stage = outcome.drop_stage.astype(int)
    reason = np.array([str(r) for r in outcome.drop_reason], dtype=object)
    stored = stored_stages(table).astype(int)
    columns = metrics.columns
    reached = inputs == Reason.OK.value
    scored2 = reached & columns["step2_scored"]
    hands = ("left_hand", "right_hand")
    paths = [
        _funnel(stage, stored, folder / "funnel.png"),
        _reasons(stage, reason, folder / "drop_reasons.png"),
        _histogram(
            columns["n_confident_kp"][reached].astype(float),
            config.min_count,
            "step 1: confident keypoints\nkept when >= min_count",
            "of 137",
            False,
            folder / "step1_confident_keypoints.png",
            integer=True,
        ),
        _histogram(
            columns["betas_max_abs"][scored2].astype(float),
            config.betas_max_abs,
            "step 2: body max |beta|\nkept when <= betas_max_abs",
            "standard deviations",
            False,
            folder / "step2_betas_max_abs.png",
        ),
        _histogram(
            columns["rotation_error"][scored2].astype(float),
            config.rotation_tolerance,
            "step 2: body rotation error\nkept when <= rotation_tolerance",
            "error",
            True,
            folder / "step2_rotation_error.png",
        ),
        _histogram(
            np.concatenate([columns[f"hand_max_abs_{h}"][scored2] for h in hands]).astype(float),
            config.hand_max_abs,
            "step 2: hand max |finger rotation|\nusable when < hand_max_abs",
            "rad",
            False,
            folder / "step2_hand_max_abs.png",
        ),
        _histogram(
            np.concatenate([columns[f"n_visible_kp_{h}"][scored2] for h in hands]).astype(float),
            config.hand_min_keypoints,
            "step 2: visible hand keypoints\nusable when > hand_min_keypoints",
            "keypoints",
            False,
            folder / "step2_hand_visible_keypoints.png",
            integer=True,
        ),
    ]
    step3 = np.isin(stage, [Stage.KEPT, Stage.REPROJECTION]) & columns["step3_scored"]
    mse = decisions.reprojection[f"reproj_mse_{config.mse_frame}"][step3]
    title = f"step 3: reprojection mean squared distance ({config.mse_frame})\nkept when <= max_mse"
    paths.append(
        _histogram(
            mse, config.max_mse, title, "distance^2", True, folder / "step3_reprojection_mse.png"
        )
    )
    accel = columns["temporal_accel_rad"].astype(float)
    tracked = np.isin(stage, [Stage.KEPT, Stage.TEMPORAL]) & np.isfinite(accel)
    if tracked.any():  # video tracks
        title = (
            "temporal: body angular acceleration along the track\nkept when <= max_temporal_accel"
        )
        paths.append(
            _histogram(
                accel[tracked],
                config.max_temporal_accel,
                title,
                "rad/frame^2",
                False,
                folder / "temporal_accel.png",
            )
        )
    error = table.column("gt_mpjpe_mm").to_numpy(zero_copy_only=False).astype(np.float64)
    if np.isfinite(error).any():
        paths.append(_truth(error, stage == Stage.KEPT, folder / "ground_truth_error.png"))
    paths.append(_timings(timings(RunDir(out), table), folder / "timings.png"))
    try:
        record = read_calibration_record(RunDir(out).calibration)
    except ValueError as error:
        log.warning("calibration chart left out: %s", error)
        record = None
    if record:
        chart = precision_recall_chart(record, folder / "calibration_precision_recall.png")
        paths.extend([chart] if chart else [])
    return paths
