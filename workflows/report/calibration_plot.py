"""The precision / recall chart of ``calibrate``'s selection file (OUT/calibrated_selection.json).

The curve is the one ``calibrate`` measured on the rows with ground truth: its tightening path
(every rule tightened step by step from the loosest); the chart marks the chosen point, the
run's own thresholds and the target precision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

__all__ = ["precision_recall_chart"]


def precision_recall_chart(record: dict[str, Any], path: Path) -> Path | None:
    """Draw ``record`` (a selection file's ``calibrated_on`` block) to ``path``; None when the
    record holds no curve."""
    curve = [p for p in record.get("curve", []) if isinstance(p, dict)]
    if not curve:
        return None
    figure = Figure(figsize=(5, 3.6))
    axes = figure.add_subplot()
    axes.plot(
        [p["recall"] for p in curve],
        [p["precision"] for p in curve],
        "-o",
        markersize=2.5,
        color="#3b7dd8",
        label="tightening path",
    )
    for key, style, label in (("chosen", "*", "chosen"), ("run", "s", "run's thresholds")):
        point = record.get(key)
        if isinstance(point, dict):
            axes.plot(point["recall"], point["precision"], style, markersize=10, label=label)
    target = record.get("min_precision")
    if isinstance(target, int | float):
        axes.axhline(target, color="#d0513b", linestyle="--", linewidth=1, label="target")
    axes.set_xlim(-0.02, 1.02)
    axes.set_ylim(-0.02, 1.05)
    axes.set_xlabel("recall (good labels kept / good labels)")
    axes.set_ylabel("precision")
    error = record.get("max_error_mm")
    axes.set_title(f"calibration: good = GT error <= {error:g} mm", fontsize=10)
    axes.legend(fontsize=7, loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=150)
    return path
