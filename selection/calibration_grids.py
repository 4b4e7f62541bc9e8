"""The values :func:`furpe_label.selection.calibration.calibrate` tries for each keep rule.

A rule that is on has a geometric grid around its current value (factors 0.05 to 20). A rule
that is off (``None``: every ``signals.*`` rule may be, the agreement rules are by default)
has no value to scale, so its grid comes from the run's own scores: quantiles of the rule's
score columns over the rows with ground truth, with ``None`` (off) as its loosest value. That
lets calibrate turn a rule on where the scores separate good labels from bad ones, and leave it
off where they do not (or where the run has no score for it: a rule whose columns are all NaN
has only ``None``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from furpe_label.selection.config import SelectionConfig
from furpe_label.selection.signal_rules import SIGNAL_RULES

__all__ = ["FLOAT_GRID", "PATH_GRID", "RuleGrids", "round_threshold"]

FLOAT_GRID = np.geomspace(0.05, 20.0, 49)
"""Factors applied to a float threshold's current value (plus its current value itself)."""
PATH_GRID = FLOAT_GRID[::2]
"""The tightening path's coarser grid (the polish refines around its best point)."""
_OFF_RULE_QUANTILES = np.linspace(0.02, 0.998, 49)
"""Where a rule that is off is tried: these quantiles of its judged scores."""


def round_threshold(value: float) -> float:
    """4 significant digits: thresholds a user can read, printed (``%g``) exactly as stored."""
    return float(f"{value:.4g}")


class RuleGrids:
    """The candidate values of every keep rule for one run.

    Args:
        columns: score column name -> (N,) scores (the stored metrics' columns).
        judged: (N,) bool, the rows with a ground-truth error.
        base: the run's thresholds.
    """

    def __init__(
        self, columns: Mapping[str, np.ndarray], judged: np.ndarray, base: SelectionConfig
    ) -> None:
        self.off_rule_values: dict[str, list[float]] = {}
        for rule in SIGNAL_RULES:
            if getattr(base, rule.field) is not None:
                continue
            scores = [np.asarray(columns[c], np.float64)[judged] for c in rule.columns().values()]
            finite = np.concatenate(scores) if scores else np.empty(0)
            finite = finite[np.isfinite(finite)]
            if finite.size:
                quantiles = np.quantile(finite, _OFF_RULE_QUANTILES)
                self.off_rule_values[rule.field] = sorted(
                    {round_threshold(float(q)) for q in quantiles}
                )

    def candidates(
        self, config: SelectionConfig, name: str, grid: np.ndarray = FLOAT_GRID
    ) -> list[object]:
        """Values tried for rule ``name`` around its value in ``config``.

        An int rule: 0 .. 3x its value; a float rule: ``grid`` factors of its value; a rule
        that is off: ``None`` and the run's score quantiles (see the module docstring).
        """
        current = getattr(config, name)
        if current is None:
            return [None, *self.off_rule_values.get(name, [])]
        if isinstance(current, bool) or not isinstance(current, int | float):
            return [current]
        if isinstance(current, int):
            return sorted(set(range(0, max(3 * current, 4) + 1)) | {current})
        rounded = (round_threshold(float(current) * factor) for factor in grid)
        return sorted({float(current), *rounded})

    def path_candidates(self, config: SelectionConfig, name: str) -> list[object]:
        """The coarser grid of the tightening path (every other factor; all quantiles)."""
        return self.candidates(config, name, PATH_GRID)
