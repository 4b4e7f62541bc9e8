"""Batched row reads from the arrays of ``labels.zarr``, by two engines.

- ``tensorstore`` (default): Google's TensorStore reads the Zarr v3 sharded arrays in C++,
  all arrays' reads in flight at once. About 10x zarr-python's samples/s for uniformly
  random batches (tests/benchmarks/bench_reader.py), where zarr-python spends ~0.1 ms of
  Python per inner chunk and array.
- ``zarr``: zarr-python's own ``get_orthogonal_selection`` (the reference implementation).

TensorStore runs internal threads and aborts a process that uses it after ``fork()`` from a
process that had used it. :func:`open_row_reader` therefore falls back to zarr-python (and
logs why, once) in a forked child of a process that read through TensorStore, e.g. DataLoader
workers started with the default "fork" method after the main process read a sample. Workers
started with ``multiprocessing_context="forkserver"`` or ``"spawn"`` use TensorStore.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import zarr

__all__ = ["ENGINES", "RowReader", "open_row_reader"]

log = logging.getLogger(__name__)

Engine = Literal["tensorstore", "zarr"]
ENGINES: tuple[str, ...] = ("tensorstore", "zarr")

_tensorstore_used_in: int | None = None
"""pid of the process (this one or a fork ancestor) that first read through TensorStore."""
_fallback_logged = False


class RowReader(Protocol):
    """Reads whole rows of several arrays."""

    engine: str

    def read(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """``rows``: (R,) int64 sorted unique store rows -> ``{name: (R, *shape)}``."""
        ...


def _damaged(array: Path, error: Exception) -> ValueError:
    """A read that failed on stored bytes (checksum, truncated shard file), naming the array."""
    return ValueError(f"{array}: a shard file of this label array is damaged ({error})")


class _TensorStoreRows:
    engine = "tensorstore"

    def __init__(self, path: Path, names: tuple[str, ...]) -> None:
        import tensorstore as ts

        global _tensorstore_used_in
        _tensorstore_used_in = os.getpid()
        specs = {
            n: {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path / n)}}
            for n in names
        }
        self.path = path
        futures = {n: ts.open(spec, read=True, open=True) for n, spec in specs.items()}
        self.arrays = {n: future.result() for n, future in futures.items()}

    def read(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        futures = {n: array[rows].read() for n, array in self.arrays.items()}
        out = {}
        for name, future in futures.items():
            try:
                out[name] = np.asarray(future.result())
            except (ValueError, OSError) as error:
                raise _damaged(self.path / name, error) from None
        return out


class _ZarrRows:
    engine = "zarr"

    def __init__(self, path: Path, names: tuple[str, ...]) -> None:
        self.path = path
        group = zarr.open_group(path, mode="r", zarr_format=3)
        self.arrays: dict[str, zarr.Array] = {n: group[n] for n in names}  # type: ignore[misc]

    def read(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for name, array in self.arrays.items():
            try:
                out[name] = array.get_orthogonal_selection((rows,))
            except (ValueError, OSError, EOFError) as error:
                raise _damaged(self.path / name, error) from None
        return out


def open_row_reader(path: Path, names: tuple[str, ...], engine: Engine) -> RowReader:
    """A reader of arrays ``names`` of the store at ``path`` for this process."""
    global _fallback_logged
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {ENGINES}")
    forked_after_use = _tensorstore_used_in not in (None, os.getpid())
    if engine == "tensorstore" and forked_after_use:
        if not _fallback_logged:
            log.warning(
                "process %d forked from process %d after it read through TensorStore, which "
                "cannot run after fork(): reading %s with zarr-python (slower). Start "
                "DataLoader workers with multiprocessing_context='forkserver' or 'spawn' for "
                "full speed.",
                os.getpid(),
                _tensorstore_used_in,
                path,
            )
            _fallback_logged = True
        engine = "zarr"
    return _TensorStoreRows(path, names) if engine == "tensorstore" else _ZarrRows(path, names)
