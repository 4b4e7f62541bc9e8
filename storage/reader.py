"""Trainer-facing reader: a torch ``Dataset`` over ``labels.zarr`` returning tensors by name.

Each item is a dict of tensors named as the store's arrays (``smplx`` names for the body-model
parameters, see :data:`~furpe_label.storage.schema.LABEL_FIELDS` for shapes and units) plus
``sample_idx`` (int64, the row of the manifest and the audit)::

    global_orient (3,) f32 rad | body_pose (21, 3) f32 rad | left_hand_pose (15, 3) f32 rad
    (absolute finger rotations: build the smplx layer with flat_hand_mean=True) | betas (10,)
    | part_valid (4,) bool in Part order (body, face, left_hand, right_hand) | ...

By default only kept samples (``valid``) are indexed; position ``i`` of the dataset is sample
``dataset.sample_idx[i]``. Batches are read with one call per array on the sorted, unique
sample indices (:meth:`LabelDataset.read_batch`, also behind ``__getitems__``, which torch's
DataLoader calls with a whole batch). Pair it with
:class:`~furpe_label.storage.samplers.BlockShuffleBatchSampler` for random batches that touch
few storage chunks.

Video: :meth:`LabelDataset.tracks` gives each person's rows over a video in frame order and
:class:`~furpe_label.storage.samplers.TrackClipSampler` turns them into clips of consecutive
track frames for a temporal model (``track_id`` is a label array too, -1 where no track).

Inside a run folder (``OUT/labels.zarr`` beside ``OUT/run.json``) only the rows of complete
shards are indexed (an unfinished run is announced once, as a warning, and in
:attr:`LabelDataset.unfinished`), and every label file is checked against the SHA-256 its
shard's completion marker recorded (:class:`~furpe_label.storage.shard_verifier.ShardVerifier`):
``valid`` of every shard at construction, the other arrays per shard on the first read that
touches it (per process), so training starts without hashing the store; a damaged file raises
:class:`~furpe_label.storage.run_check.RunDamagedError` naming the shard and the file.
A store outside a run folder has no record to check against and is read as it is.

Reads go through TensorStore by default (``engine="zarr"`` for zarr-python), see
:mod:`~furpe_label.storage.row_readers`.

DataLoader workers: the dataset holds only paths and index arrays until it reads; the arrays
are opened lazily in each process (after a fork or in a spawned worker) and never pickled, so
``num_workers > 0`` works with every start method ("forkserver" or "spawn" keep TensorStore's
speed in workers when the main process has read too; "fork" then falls back to zarr-python).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.manifest import MANIFEST_FILENAME, read_manifest
from furpe_label.storage.row_readers import ENGINES, Engine, RowReader, open_row_reader
from furpe_label.storage.run_check import RunDamagedError
from furpe_label.storage.schema import label_field
from furpe_label.storage.shard_verifier import ShardVerifier
from furpe_label.storage.tracks import Track, group_tracks

__all__ = ["LabelDataset"]

log = logging.getLogger(__name__)


class LabelDataset(Dataset[dict[str, torch.Tensor]]):
    """Samples of a label store as dicts of tensors.

    Args:
        path: the ``labels.zarr`` folder.
        fields: array names to read (default: every array; ``valid`` only when
            ``kept_only`` is False, since it is always True otherwise).
        kept_only: index only the samples the selection kept (``valid``).
        engine: "tensorstore" (default, fast random reads) or "zarr" (zarr-python).

    Raises:
        RunDamagedError: the run's files differ from what it recorded (see the module
            docstring), at construction or at the first read of a damaged shard.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fields: Iterable[str] | None = None,
        kept_only: bool = True,
        engine: Engine = "tensorstore",
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose from {ENGINES}")
        self.path = Path(path)
        self._verifier = ShardVerifier.for_store(self.path)
        try:
            store = LabelStore.open(self.path)
        except Exception as error:  # a run's store that Zarr cannot open is a damaged run
            if self._verifier is None or isinstance(error, FileNotFoundError):
                raise
            raise RunDamagedError(f"{self.path} cannot be opened: {error}") from None
        if fields is None:
            fields = [n for n in store.names if n != "valid" or not kept_only]
        self.fields: tuple[str, ...] = tuple(fields)
        unknown = sorted(set(self.fields) - set(store.names))
        if unknown:
            raise KeyError(f"{unknown} not in {self.path}; it has {list(store.names)}")
        self.chunk_size = store.chunk_size
        self.n_inputs = store.plan.n_samples
        readable = np.ones(self.n_inputs, bool)
        self.unfinished: str | None = None
        """The warning of an unfinished run (only its complete shards are indexed)."""
        if self._verifier is not None:
            self._verifier.attach(store.names, store.plan)
            readable = self._verifier.complete_rows()
            self._verifier.verify(np.flatnonzero(readable), ["valid"])
            self.unfinished = self._verifier.unfinished_note()
            if self.unfinished:
                log.warning("%s", self.unfinished)
        valid = store.read("valid") if kept_only else readable
        self.sample_idx: np.ndarray = np.flatnonzero(valid & readable).astype(np.int64)
        """(len,) int64: store row of each dataset position, increasing."""
        self.engine: Engine = engine
        self._reader: RowReader | None = None
        self._opened_in: int | None = None

    def __len__(self) -> int:
        return len(self.sample_idx)

    def _open(self) -> RowReader:
        """The row reader, opened once per process."""
        if self._reader is None or self._opened_in != os.getpid():
            self._reader = open_row_reader(self.path, self.fields, self.engine)
            self._opened_in = os.getpid()
        return self._reader

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_reader"], state["_opened_in"] = None, None
        return state

    def read_rows(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Numpy arrays of store rows ``rows`` (any order, repeats allowed), one read per array.

        Returns ``{name: (len(rows), *field shape)}`` plus ``sample_idx`` (len(rows),) int64.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_inputs):
            raise IndexError(f"rows must be in 0..{self.n_inputs - 1}")
        if not rows.size:
            empty = {
                n: np.empty((0, *label_field(n).shape), label_field(n).dtype) for n in self.fields
            }
            return {"sample_idx": rows, **empty}
        unique, inverse = np.unique(rows, return_inverse=True)
        if self._verifier is not None:
            self._verifier.verify(unique, self.fields)
        values = self._open().read(unique)
        in_order = np.array_equal(unique, rows)
        return {"sample_idx": rows, **{n: v if in_order else v[inverse] for n, v in values.items()}}

    def read_batch(self, positions: Sequence[int] | np.ndarray) -> dict[str, torch.Tensor]:
        """A batch of dataset positions as ``{name: (B, *field shape) tensor}``, in the given
        order (read sorted, one read per array)."""
        positions = np.asarray(positions, dtype=np.int64)
        if positions.size and (positions.min() < -len(self) or positions.max() >= len(self)):
            raise IndexError(f"positions must be in 0..{len(self) - 1}")
        arrays = self.read_rows(self.sample_idx[positions])
        return {name: torch.from_numpy(np.ascontiguousarray(v)) for name, v in arrays.items()}

    def __getitem__(self, position: int) -> dict[str, torch.Tensor]:
        """One sample: ``{name: field-shaped tensor}`` (``sample_idx`` a 0-d int64 tensor)."""
        return {name: value[0] for name, value in self.read_batch([position]).items()}

    def tracks(self, min_valid: int = 1) -> list[Track]:
        """The store's tracks (people followed over a video), by ``track_id``: every row of
        each, kept or not, in frame order, with ``valid`` and this dataset's positions (-1 for
        rows it does not index); see :mod:`~furpe_label.storage.tracks`. Tracks with fewer than
        ``min_valid`` kept rows are left out. Frame numbers come from the run's manifest next
        to the store (``OUT/manifest.parquet``; -1 without one). Cut the tracks into clips with
        :class:`~furpe_label.storage.samplers.TrackClipSampler`."""
        store = LabelStore.open(self.path)
        track_id = store.array("track_id")[:]
        valid = store.array("valid")[:]
        return group_tracks(track_id, valid, self.sample_idx, min_valid, self._frames())

    def _frames(self) -> np.ndarray:
        """(N,) int64 frame number of every store row from the run's manifest (-1: none)."""
        manifest = self.path.parent / MANIFEST_FILENAME
        if not manifest.is_file():
            return np.full(self.n_inputs, -1, np.int64)
        table = read_manifest(manifest, columns=["sample_idx", "frame_index", "frame"])
        if table.num_rows != self.n_inputs:
            raise ValueError(f"{manifest} has {table.num_rows} rows, the store {self.n_inputs}")
        frames = np.full(self.n_inputs, -1, np.int64)
        rows = table.column("sample_idx").to_numpy()
        for name in ("frame", "frame_index"):  # frame_index wins where both are given
            values = table.column(name).to_pylist()
            known = np.array([v is not None for v in values], bool)
            frames[rows[known]] = [v for v in values if v is not None]
        return frames

    def __getitems__(self, positions: list[int]) -> list[dict[str, torch.Tensor]]:
        """torch's batched fetch: one sorted read, then one dict per sample (views)."""
        batch = self.read_batch(positions)
        return [{name: value[i] for name, value in batch.items()} for i in range(len(positions))]
