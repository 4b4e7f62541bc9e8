"""Timing helpers shared by the benchmarks: medians of repeated calls after one warm-up."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls, after a warm-up call."""
    return median_wall_and_cpu(fn, repeats)[0]


def median_wall_and_cpu(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall-clock and median process CPU seconds (all threads) of ``fn()`` after a
    warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)
