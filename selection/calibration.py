"""Choose the selection thresholds on rows with ground truth, for a target precision.

A row is *judged* when its candidate label has a ground-truth error (``gt_mpjpe_mm``: every row
that reached fusion, kept or not) and *good* when that error is at most ``max_error_mm``. For
a config, with ``kept`` = the rows its keep rules keep (re-decided from stored scores, exactly
as ``audit --what-if`` does):

* precision = good kept / judged kept;
* recall = good kept / good judged (rows the run dropped after fusion count: their error is
  known).

:func:`calibrate` maximises the number of good kept rows subject to precision >= the target
(when no config reaches it: the highest precision) over every numeric keep rule of
:class:`SelectionConfig` (:data:`~furpe_label.selection.config.WHAT_IF_KEYS`): the best point of
a tightening path over all rules (:mod:`.calibration_path`), polished by coordinate ascent (each
round tries, for one rule at a time, a grid of values around the current one and keeps the
best; ties keep the value nearest the current one, so rules that change nothing judged stay
put). Rows never judged (dropped before fusion) cannot be scored and do not count either way:
loosening step 1 or 2 so that such rows would be kept is not rewarded.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from furpe_label.selection.calibration_grids import FLOAT_GRID, RuleGrids, round_threshold
from furpe_label.selection.calibration_path import tightening_path
from furpe_label.selection.config import WHAT_IF_KEYS, SelectionConfig
from furpe_label.selection.decisions import combine, what_if

__all__ = ["CalibrationResult", "OperatingPoint", "calibrate", "calibration_evaluator"]

_MAX_ROUNDS = 2
_REFINEMENTS = 2
"""Finer grids (17 values between the coarse neighbours, then again) around a float's best."""


@dataclass(frozen=True)
class OperatingPoint:
    """What one config keeps of the judged rows.

    Attributes:
        config: the thresholds.
        kept: rows kept (judged or not).
        kept_judged: judged rows kept.
        kept_good: judged rows kept whose error is <= the target error.
        good: judged rows whose error is <= the target error (kept or not).
        precision: kept_good / kept_judged (0.0 when nothing judged is kept: keeping nothing
            reaches no target).
        recall: kept_good / good (0.0 when no judged row is good).
    """

    config: SelectionConfig
    kept: int
    kept_judged: int
    kept_good: int
    good: int

    @property
    def precision(self) -> float:
        return self.kept_good / self.kept_judged if self.kept_judged else 0.0

    @property
    def recall(self) -> float:
        return self.kept_good / self.good if self.good else 0.0


@dataclass(frozen=True)
class CalibrationResult:
    """The chosen thresholds and how they compare with the run's own.

    Attributes:
        chosen: the best config found.
        base: the run's config, evaluated the same way.
        feasible: whether ``chosen`` reaches the target precision.
        judged: number of rows with a ground-truth error.
        curve: the operating points of the tightening path
            (:func:`~furpe_label.selection.calibration_path.tightening_path`) and the chosen
            one, by increasing recall.
    """

    chosen: OperatingPoint
    base: OperatingPoint
    feasible: bool
    judged: int
    curve: list[OperatingPoint]

    def changed(self) -> dict[str, tuple[object, object]]:
        """``what-if`` key -> (run's value, chosen value), for every rule that moved."""
        return {
            key: (getattr(self.base.config, name), getattr(self.chosen.config, name))
            for key, name in WHAT_IF_KEYS.items()
            if getattr(self.base.config, name) != getattr(self.chosen.config, name)
        }


Evaluate = Callable[[SelectionConfig], OperatingPoint]


def _evaluator(metrics, input_reasons: np.ndarray, error_mm: np.ndarray, max_error_mm: float):
    judged = np.isfinite(error_mm)
    good = judged & (np.nan_to_num(error_mm, nan=np.inf) <= max_error_mm)

    def evaluate(config: SelectionConfig) -> OperatingPoint:
        kept = combine(what_if(metrics, config), input_reasons).kept
        return OperatingPoint(
            config,
            kept=int(kept.sum()),
            kept_judged=int((kept & judged).sum()),
            kept_good=int((kept & good).sum()),
            good=int(good.sum()),
        )

    return evaluate, int(judged.sum())


def _better(a: OperatingPoint, b: OperatingPoint, min_precision: float) -> bool:
    """Whether ``a`` beats ``b``: feasible first, then more good rows kept, then precision."""
    a_ok, b_ok = a.precision >= min_precision, b.precision >= min_precision
    if a_ok != b_ok:
        return a_ok
    if not a_ok:
        return (a.precision, a.kept_good) > (b.precision, b.kept_good)
    return (a.kept_good, a.precision) > (b.kept_good, b.precision)


def _distance(value: object, current: object) -> float:
    if isinstance(value, int | float) and isinstance(current, int | float):
        return abs(math.log((abs(value) + 1e-12) / (abs(current) + 1e-12)))
    return 0.0


def _best_of(evaluate: Evaluate, point: OperatingPoint, name: str, values, min_precision: float):
    """The best of ``point`` and ``point`` with rule ``name`` set to each of ``values`` (tried
    nearest the current value first, so ties keep the nearest)."""
    current = getattr(point.config, name)
    best = point
    for value in sorted(values, key=lambda v: _distance(v, current)):
        if value == current:
            continue
        trial = evaluate(dataclasses.replace(point.config, **{name: value}))
        if _better(trial, best, min_precision):
            best = trial
    return best


def _best_value(
    evaluate: Evaluate,
    point: OperatingPoint,
    name: str,
    min_precision: float,
    grids: tuple[RuleGrids, SelectionConfig],
):
    """The grid around the run's value (``grids``: the run's grids and its config), then
    (floats) two finer grids around the best."""
    rule_grids, base = grids
    best = _best_of(evaluate, point, name, rule_grids.candidates(base, name), min_precision)
    value = getattr(best.config, name)
    if isinstance(value, float) and not isinstance(value, bool):
        step = float(FLOAT_GRID[1] / FLOAT_GRID[0])
        for _ in range(_REFINEMENTS):
            finer = [round_threshold(value * f) for f in np.geomspace(1 / step, step, 17)]
            best = _best_of(evaluate, best, name, finer, min_precision)
            value, step = getattr(best.config, name), step ** (1 / 8)
    return best


def _polish(evaluate: Evaluate, point: OperatingPoint, names, min_precision: float, grids):
    """Coordinate ascent: each rule in turn to its best value, until a round changes nothing."""
    for _ in range(_MAX_ROUNDS):
        before = point
        for name in names:
            point = _best_value(evaluate, point, name, min_precision, grids)
        if point == before:
            break
    return point


def calibrate(
    metrics,
    input_reasons: np.ndarray,
    error_mm: np.ndarray,
    base: SelectionConfig,
    max_error_mm: float,
    min_precision: float,
) -> CalibrationResult:
    """Thresholds that keep the most good rows at precision >= ``min_precision``.

    Args:
        metrics: the stored :class:`~furpe_label.selection.columns.SelectionMetrics` (N rows),
            scored with ``base``'s scoring parameters.
        input_reasons: (N,) reasons of rows dropped before step 1 (``ok`` else).
        error_mm: (N,) float64 ground-truth error of each row's candidate label (mm; NaN
            where the row never reached fusion or the dataset has no ground truth).
        base: the run's thresholds (the starting point; scoring parameters stay).
        max_error_mm: a label is good when its error is <= this (mm).
        min_precision: the target precision in (0, 1].

    Raises:
        ValueError: no row has a ground-truth error, or the targets are out of range.
    """
    if not (math.isfinite(max_error_mm) and max_error_mm > 0):
        raise ValueError(f"--max-error-mm must be a positive number, got {max_error_mm!r}")
    if not 0 < min_precision <= 1:
        raise ValueError(f"--min-precision must be in (0, 1], got {min_precision!r}")
    errors = np.asarray(error_mm, dtype=np.float64)
    evaluate, judged = _evaluator(metrics, input_reasons, errors, max_error_mm)
    if judged == 0:
        raise ValueError(
            "no row has a ground-truth error (gt_mpjpe_mm): calibrate needs a run on a dataset "
            "with ground truth (h36m, mpi-inf-3dhp, ...)"
        )
    start = evaluate(base)
    names = [f.name for f in fields(SelectionConfig) if f.name in WHAT_IF_KEYS.values()]
    grids = RuleGrids(metrics.columns, np.isfinite(errors), base)
    path = tightening_path(evaluate, base, names, grids.path_candidates)
    on_path = start
    for candidate in path:
        if _better(candidate, on_path, min_precision):
            on_path = candidate
    point = start
    for origin in (on_path, start):  # the path's best and the run's own, each polished
        polished = _polish(evaluate, origin, names, min_precision, (grids, base))
        if _better(polished, point, min_precision):
            point = polished
    curve = sorted([*path, point], key=lambda p: (p.recall, -p.precision))
    return CalibrationResult(point, start, point.precision >= min_precision, judged, curve)


def calibration_evaluator(metrics, input_reasons, error_mm, max_error_mm: float) -> Evaluate:
    """The evaluation :func:`calibrate` uses, for drawing a curve of a given config."""
    return _evaluator(metrics, input_reasons, np.asarray(error_mm, np.float64), max_error_mm)[0]
