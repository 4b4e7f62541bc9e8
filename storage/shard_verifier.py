"""Lazy checks of a run's label files for the trainer-facing reader.

:class:`ShardVerifier` reads the completion markers of the run that holds a ``labels.zarr``
once, checks the store's metadata files at once and each shard's array files the first time
a read touches that shard (per process), so a training job starts without hashing the whole
store, and never reads a label file whose SHA-256 differs from the one its shard recorded
(:mod:`.shard_digest`; cost in tests/benchmarks/bench_verify.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from furpe_label.storage.run_check import RunDamagedError
from furpe_label.storage.run_dir import RunDir
from furpe_label.storage.shard_digest import (
    DigestCache,
    compare_digests,
    label_file,
    shared_file_names,
)
from furpe_label.storage.shards import ShardPlan

__all__ = ["ShardVerifier"]


class ShardVerifier:
    """The complete shards of the run holding a label store, and their lazy file checks.

    Construct it (markers read, the store's metadata files checked) before Zarr opens the
    store, then :meth:`attach` the opened store.

    Args:
        run_root: the run folder (``labels.zarr``'s parent).

    Raises:
        RunDamagedError: a marker is damaged or does not fit the plan, or the store's
            metadata differs from what the run recorded.
    """

    def __init__(self, run_root: Path) -> None:
        self.run_dir = RunDir(run_root)
        self.plan = ShardPlan(0)
        self.markers: dict[int, dict[str, object]] = {}
        self._samples: dict[int, object] = {}
        for shard_id in sorted(self.run_dir.completed_shards()):
            try:
                marker = self.run_dir.read_marker(shard_id)
            except ValueError as error:
                raise RunDamagedError(str(error)) from None
            if marker.get("shard") != shard_id:
                raise RunDamagedError(
                    f"shard {shard_id}: its marker {self.run_dir.marker(shard_id)} is shard "
                    f"{marker.get('shard')!r}'s"
                )
            self.markers[shard_id] = marker["files"]  # type: ignore[assignment]
            self._samples[shard_id] = marker.get("samples")
        self._cache = DigestCache(run_root)
        self._checked: set[tuple[int, str]] = set()
        for shard_id, files in self.markers.items():  # the store's metadata, before Zarr reads it
            metadata = [name for name in files if name.endswith("zarr.json")]
            self._raise(compare_digests(self._cache, files, metadata, shard_id))

    @classmethod
    def for_store(cls, path: str | os.PathLike[str]) -> ShardVerifier | None:
        """The verifier of the run holding the store ``path`` (beside ``run.json`` or
        ``complete/``); None for a store that is not a run's ``labels.zarr`` (made by
        :meth:`LabelStore.create` alone: nothing recorded)."""
        path = Path(path)
        run_dir = RunDir(path.parent)
        in_run = run_dir.run_json.is_file() or run_dir.complete.is_dir()
        return cls(path.parent) if path.name == run_dir.labels.name and in_run else None

    def attach(self, names: Iterable[str], plan: ShardPlan) -> None:
        """Check the markers against the opened store: its shard plan and array names."""
        self.plan = plan
        for shard_id, files in self.markers.items():
            if shard_id >= plan.count or self._samples[shard_id] != plan.length(shard_id):
                raise RunDamagedError(
                    f"shard {shard_id}: its marker {self.run_dir.marker(shard_id)} does not "
                    f"fit the store, which has {plan.count} shards of {plan.shard_size} rows"
                )
            metadata = [f for f in shared_file_names(names, manifest=False) if f != "run.json"]
            self._raise(compare_digests(self._cache, files, metadata, shard_id))

    def complete_rows(self) -> np.ndarray:
        """(N,) bool: rows of complete shards."""
        mask = np.zeros(self.plan.n_samples, bool)
        for shard_id in self.markers:
            start, stop = self.plan.bounds(shard_id)
            mask[start:stop] = True
        return mask

    def unfinished_note(self) -> str | None:
        """A sentence for a run with shards still to do (None when finished)."""
        missing = self.plan.count - len(self.markers)
        if not missing:
            return None
        rows = int(self.complete_rows().sum())
        return (
            f"{self.run_dir.root} is an unfinished run: {len(self.markers)} of "
            f"{self.plan.count} shards complete ({rows} of {self.plan.n_samples} person "
            "instances); only the complete shards' rows are read"
        )

    def verify(self, rows: np.ndarray, names: Iterable[str]) -> None:
        """Check the files of arrays ``names`` of the shards of store ``rows`` (once each).

        Raises:
            RunDamagedError: a row is in a shard that is not complete, or a file differs
                from its shard's record (naming the shard and the file).
        """
        shards = np.unique(np.asarray(rows, np.int64) // self.plan.shard_size)
        for shard in shards.tolist():
            if shard not in self.markers:
                raise RunDamagedError(
                    f"rows of shard {shard} were asked for, but {self.run_dir.root} has not "
                    "completed that shard"
                )
            wanted = [n for n in names if (shard, n) not in self._checked]
            files = [label_file(name, shard) for name in wanted]
            self._raise(compare_digests(self._cache, self.markers[shard], files, shard))
            self._checked.update((shard, name) for name in wanted)

    def _raise(self, problems: list[str]) -> None:
        if problems:
            raise RunDamagedError(
                f"{self.run_dir.root} is damaged, its labels cannot be trusted: "
                + "; ".join(problems[:5])
                + ". Run `furpe-label verify` for the full list."
            )
