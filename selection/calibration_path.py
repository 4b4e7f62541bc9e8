"""The tightening path of :func:`furpe_label.selection.calibration.calibrate`.

Every keep rule is monotone: moving its threshold one way keeps a superset of the rows. The
path starts with every rule at the loosest value of its grid and tightens one rule by one grid
step at a time, always the step that drops the most bad judged rows per good judged row lost
(steps that drop no judged row move a rule back towards the run's value only). Each point of
the path is an operating point; together they are the precision / recall curve over all rules,
and the best point for a target precision is where a polish by coordinate ascent starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from furpe_label.selection.config import SelectionConfig

__all__ = ["tightening_path"]


def _bad(point) -> int:
    return point.kept_judged - point.kept_good


def _orders(evaluate, base: SelectionConfig, names, candidates) -> dict[str, list]:
    """Rule -> its grid ordered loosest first (``None``, off, first of all where it is a
    candidate; rules that change nothing in this run left out)."""
    orders = {}
    for name in names:
        tried = set(candidates(base, name)) | {getattr(base, name)}
        values = sorted(v for v in tried if v is not None)
        off = [None] if None in tried else []  # a rule turned off: looser than any value
        if len(values) < 2:
            continue
        low = evaluate(dataclasses.replace(base, **{name: values[0]}))
        high = evaluate(dataclasses.replace(base, **{name: values[-1]}))
        if low.kept != high.kept:
            orders[name] = off + (values if low.kept > high.kept else values[::-1])
    return orders


def tightening_path(
    evaluate: Callable,
    base: SelectionConfig,
    names: Sequence[str],
    candidates: Callable[[SelectionConfig, str], list],
) -> list:
    """Operating points from the loosest grid corner to where no step drops a bad row.

    Args:
        evaluate: config -> OperatingPoint.
        base: the run's config (rules outside ``names`` stay as they are).
        names: the rules to move.
        candidates: (config, name) -> the grid of values for rule ``name``.
    """
    orders = _orders(evaluate, base, names, candidates)
    at = {name: 0 for name in orders}
    home = {name: order.index(getattr(base, name)) for name, order in orders.items()}
    point = evaluate(dataclasses.replace(base, **{n: o[0] for n, o in orders.items()}))
    path = [point]
    while True:
        best, best_key, best_name = None, None, None
        for name, order in orders.items():
            if at[name] + 1 >= len(order):
                continue
            trial = evaluate(dataclasses.replace(point.config, **{name: order[at[name] + 1]}))
            lost_bad, lost_good = _bad(point) - _bad(trial), point.kept_good - trial.kept_good
            if lost_bad <= 0 and lost_good <= 0:
                key = (1, 0.0) if at[name] < home[name] else None  # free move towards the run's
            elif lost_bad > 0:
                key = (0, lost_bad / (max(lost_good, 0) + 1.0))
            else:
                key = None
            if key is not None and (best_key is None or key > best_key):
                best, best_key, best_name = trial, key, name
        if best is None:
            return path
        at[best_name] += 1
        point = best
        if best_key[0] == 0:
            path.append(point)
