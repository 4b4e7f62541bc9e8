"""Trainer-facing reader: a torch ``Dataset`` over ``labels.zarr`` returning tensors by name.

Each item is a dict of tensors named as the store's arrays (``smplx`` names for the body-model
parameters, see :data:`~furpe_label.storage.schema.LABEL_FIELDS` for shapes and units) plus
``sample_idx`` (int64, the row of the manifest and the audit)::

    global_orient (3,) f32 rad | body_pose (21, 3) f32 rad | left_hand_pose (15, 3) f32 rad
    (absolute finger rotations: build the smplx layer with flat_hand_mean=True) | betas (10,)
    | part_valid (4,) bool in Part order (body, face, left_hand, right_hand) | ...

By default only kept samples (``valid``) are indexed; position ``i`` of the dataset is sample
``dataset.sample_idx[i]``. Batches are read with one zarr call per array on the sorted, unique
sample indices (:meth:`LabelDataset.read_batch`, also behind ``__getitems__``, which torch's
DataLoader calls with a whole batch). Pair it with
:class:`~furpe_label.storage.samplers.BlockShuffleBatchSampler` for random batches that touch
few storage chunks.

DataLoader workers: the dataset holds only paths and index arrays until it reads; the zarr
arrays are opened lazily in each process (after a fork or in a spawned worker) and never
pickled, so ``num_workers > 0`` works with either start method.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import zarr
from torch.utils.data import Dataset
from zarr.storage import LocalStore

from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.read_store import PreadStore

__all__ = ["LabelDataset"]


class LabelDataset(Dataset[dict[str, torch.Tensor]]):
    """Samples of a label store as dicts of tensors.

    Args:
        path: the ``labels.zarr`` folder.
        fields: array names to read (default: every array; ``valid`` only when
            ``kept_only`` is False, since it is always True otherwise).
        kept_only: index only the samples the selection kept (``valid``).
        threaded_io: read through zarr's thread-pool ``LocalStore`` instead of
            :class:`~furpe_label.storage.read_store.PreadStore` (network filesystems with
            high latency may prefer it).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fields: Iterable[str] | None = None,
        kept_only: bool = True,
        threaded_io: bool = False,
    ) -> None:
        self.path = Path(path)
        store = LabelStore.open(self.path)
        if fields is None:
            fields = [n for n in store.names if n != "valid" or not kept_only]
        self.fields: tuple[str, ...] = tuple(fields)
        unknown = sorted(set(self.fields) - set(store.names))
        if unknown:
            raise KeyError(f"{unknown} not in {self.path}; it has {list(store.names)}")
        self.chunk_size = store.chunk_size
        self.n_inputs = store.plan.n_samples
        valid = store.array("valid")[:]
        self.sample_idx: np.ndarray = (
            np.flatnonzero(valid) if kept_only else np.arange(self.n_inputs)
        ).astype(np.int64)
        """(len,) int64: store row of each dataset position, increasing."""
        self.threaded_io = threaded_io
        self._arrays: dict[str, zarr.Array] | None = None
        self._opened_in: int | None = None

    def __len__(self) -> int:
        return len(self.sample_idx)

    def _open(self) -> dict[str, zarr.Array]:
        """The zarr arrays, opened once per process."""
        if self._arrays is None or self._opened_in != os.getpid():
            kind = LocalStore if self.threaded_io else PreadStore
            group = zarr.open_group(kind(self.path, read_only=True), mode="r", zarr_format=3)
            self._arrays = {name: group[name] for name in self.fields}  # type: ignore[misc]
            self._opened_in = os.getpid()
        return self._arrays

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_arrays"], state["_opened_in"] = None, None
        return state

    def read_rows(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Numpy arrays of store rows ``rows`` (any order, repeats allowed), one zarr call each.

        Returns ``{name: (len(rows), *field shape)}`` plus ``sample_idx`` (len(rows),) int64.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_inputs):
            raise IndexError(f"rows must be in 0..{self.n_inputs - 1}")
        unique, inverse = np.unique(rows, return_inverse=True)
        out = {"sample_idx": rows}
        for name, array in self._open().items():
            values = array.get_orthogonal_selection((unique,)) if unique.size else (
                np.empty((0, *array.shape[1:]), array.dtype)
            )  # fmt: skip
            out[name] = values if np.array_equal(unique, rows) else values[inverse]
        return out

    def read_batch(self, positions: Sequence[int] | np.ndarray) -> dict[str, torch.Tensor]:
        """A batch of dataset positions as ``{name: (B, *field shape) tensor}``, in the given
        order (read sorted, one zarr call per array)."""
        positions = np.asarray(positions, dtype=np.int64)
        if positions.size and (positions.min() < -len(self) or positions.max() >= len(self)):
            raise IndexError(f"positions must be in 0..{len(self) - 1}")
        arrays = self.read_rows(self.sample_idx[positions])
        return {name: torch.from_numpy(np.ascontiguousarray(v)) for name, v in arrays.items()}

    def __getitem__(self, position: int) -> dict[str, torch.Tensor]:
        """One sample: ``{name: field-shaped tensor}`` (``sample_idx`` a 0-d int64 tensor)."""
        return {name: value[0] for name, value in self.read_batch([position]).items()}

    def __getitems__(self, positions: list[int]) -> list[dict[str, torch.Tensor]]:
        """torch's batched fetch: one sorted read, then one dict per sample (views)."""
        batch = self.read_batch(positions)
        return [{name: value[i] for name, value in batch.items()} for i in range(len(positions))]
