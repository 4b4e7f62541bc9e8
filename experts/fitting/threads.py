"""Fits run with one PyTorch CPU thread, whatever the process was started with.

PyTorch's CPU matrix products split their work by the intra-op thread count, and the split
changes the round-off: the same body fit (64 samples, 15 iterations per stage) ended with
losses up to 9e-4 and cameras up to 0.02 apart under 1 and 2 threads. A run's labels would
then depend on how its workers were started (the inline executor inherits the process's
threads, Dask's worker processes start with ``OMP_NUM_THREADS=1``). One thread is also what
the fitting benchmark measures (``tests/benchmarks/bench_fitting.py``: on shared CPUs more
threads only spin).

``torch.set_num_threads`` is process-wide, so :func:`one_cpu_thread` counts the fits running
in this process's threads: the first sets one thread, the last restores the count it found.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch

__all__ = ["one_cpu_thread"]

_LOCK = threading.Lock()
_state = {"active": 0, "threads": 1}


@contextlib.contextmanager
def one_cpu_thread(device: torch.device) -> Iterator[None]:
    """Run the block with one PyTorch intra-op thread when ``device`` is the CPU."""
    if torch.device(device).type != "cpu":
        yield
        return
    with _LOCK:
        if _state["active"] == 0:
            _state["threads"] = torch.get_num_threads()
            torch.set_num_threads(1)
        _state["active"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _state["active"] -= 1
            if _state["active"] == 0:
                torch.set_num_threads(_state["threads"])
