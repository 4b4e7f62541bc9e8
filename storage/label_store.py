"""``OUT/labels.zarr``: a Zarr v3 group, one array per label field, written whole shards only.

Every array has shape ``(N, *field.shape)`` (N = inputs of the run, row = ``sample_idx``), the
dtype of :data:`~furpe_label.storage.schema.LABEL_FIELDS`, Zarr shards of ``shard_size`` rows
(= the run's shard, one task each) and inner chunks of ``chunk_size`` rows for random reads.
Rows never written read as NaN (float) / False (bool) / -1 (int: ``track_id``). The group's
attributes hold the schema (names, dtypes, shapes, units, meanings), the conventions and
``flat_hand_mean: true``.

Why no data is ever lost: zarr-python 3.1 encodes every write to a sharded array by reading
the whole old shard, replacing the inner chunks it was given and writing the shard back, so
two writers of one shard, or two writes of parts of one shard, silently drop rows. Here the
only write is :meth:`LabelStore.write_shard`: it covers every row of one shard of every array
(the short last shard included) and first removes that shard's old files, so nothing old is
read back or merged (not even a torn file); zarr's ``LocalStore`` replaces each shard file
atomically (temporary file + rename); and the run gives each shard to one task, so a retried
duplicate of a task can only rewrite whole, identical shards. The store is created in full
(every array and its metadata) before any task starts, and nothing writes metadata afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from furpe_label.storage.run_journal import RunJournal
from furpe_label.storage.schema import (
    CONVENTIONS,
    SCHEMA_VERSION,
    Field,
    label_field,
    label_fields,
    schema_json,
)
from furpe_label.storage.shards import DEFAULT_SHARD_SIZE, ShardPlan

__all__ = ["DEFAULT_CHUNK_SIZE", "LabelStore", "LabelStoreDamagedError", "LabelStoreMismatchError"]

DEFAULT_CHUNK_SIZE = 32
"""Rows per inner Zarr chunk: the unit of a random read (see tests/benchmarks/bench_reader.py)."""

_ATTRS_KEY = "furpe_label"


class LabelStoreMismatchError(ValueError):
    """An existing store does not match what the run would create."""


class LabelStoreDamagedError(ValueError):
    """A shard file of the store cannot be read back (the message names the file)."""


def _fill_value(field: Field) -> Any:
    if field.dtype == "bool":
        return False
    return -1 if np.issubdtype(np.dtype(field.dtype), np.integer) else np.nan


class LabelStore:
    """Handle on ``labels.zarr``; create with :meth:`create`, open with :meth:`open`."""

    def __init__(self, group: zarr.Group) -> None:
        meta = group.attrs.get(_ATTRS_KEY)
        if not isinstance(meta, dict) or "fields" not in meta:
            raise LabelStoreMismatchError(f"{group.store} is not a furpe-label label store")
        self.group = group
        self.fields: tuple[Field, ...] = tuple(label_field(f["name"]) for f in meta["fields"])
        self.plan = ShardPlan(int(meta["n_samples"]), int(meta["shard_size"]))
        self.chunk_size = int(meta["chunk_size"])

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        n_samples: int,
        shard_size: int = DEFAULT_SHARD_SIZE,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        optional_fields: Iterable[str] = (),
        attrs: Mapping[str, Any] | None = None,
        compress: bool = False,
        journal: RunJournal | None = None,
    ) -> LabelStore:
        """Create the whole store (every array of the schema) for ``n_samples`` inputs.

        The arrays are built in a temporary sibling folder and renamed into place, so a crash
        never leaves a half-created store. ``optional_fields`` adds optional schema fields
        (e.g. ``feature_pooled_body``); ``attrs`` go to the group attributes under ``run``;
        ``compress`` uses Zarr's default zstd (little gain on float labels, slower random reads);
        ``journal`` records the temporary folder's name before it is made.
        Raises FileExistsError if ``path`` exists.
        """
        path = Path(path)
        if path.exists():
            raise FileExistsError(f"{path} exists; open it with LabelStore.open")
        plan = ShardPlan(n_samples, shard_size)
        if chunk_size < 1 or shard_size % chunk_size:
            raise ValueError(f"chunk_size {chunk_size} must divide shard_size {shard_size}")
        fields = label_fields(optional_fields)
        meta = {
            "schema_version": SCHEMA_VERSION,
            "n_samples": plan.n_samples,
            "shard_size": plan.shard_size,
            "chunk_size": chunk_size,
            "conventions": CONVENTIONS,
            "fields": schema_json(fields),
            "run": dict(attrs or {}),
        }
        tmp = path.with_name(f".{path.name}.creating-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        if journal is not None:
            journal.record(tmp)
        group = zarr.open_group(tmp, mode="w-", zarr_format=3)
        group.attrs.update({_ATTRS_KEY: meta, "flat_hand_mean": True})
        for field in fields:
            group.create_array(
                field.name,
                shape=(plan.n_samples, *field.shape),
                dtype=field.dtype,
                chunks=(chunk_size, *field.shape),
                shards=(shard_size, *field.shape),
                fill_value=_fill_value(field),
                compressors="auto" if compress else None,
                attributes={"unit": field.unit, "meaning": field.meaning, "group": field.group},
            )
        os.rename(tmp, path)
        return cls.open(path, mode="r+")

    @classmethod
    def open(cls, path: str | os.PathLike[str], mode: str = "r") -> LabelStore:
        """Open an existing store (``mode`` "r" to read, "r+" to write shards)."""
        if not Path(path, "zarr.json").is_file():
            raise FileNotFoundError(f"no label store at {path} (no zarr.json)")
        return cls(zarr.open_group(path, mode=mode, zarr_format=3))

    @classmethod
    def open_or_create(
        cls,
        path: str | os.PathLike[str],
        n_samples: int,
        shard_size: int = DEFAULT_SHARD_SIZE,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        optional_fields: Iterable[str] = (),
        **create_kwargs: Any,
    ) -> LabelStore:
        """Open the store of a resumed run, checking it matches; create it otherwise."""
        if not Path(path).exists():
            return cls.create(
                path, n_samples, shard_size, chunk_size, optional_fields, **create_kwargs
            )
        store = cls.open(path, mode="r+")
        wanted = (
            n_samples,
            shard_size,
            chunk_size,
            {f.name for f in label_fields(optional_fields)},
        )
        found = (
            store.plan.n_samples,
            store.plan.shard_size,
            store.chunk_size,
            {f.name for f in store.fields},
        )
        if wanted != found:
            names = ("n_samples", "shard_size", "chunk_size", "fields")
            diff = [
                f"{n}: store has {f!r}, run wants {w!r}"
                for n, w, f in zip(names, wanted, found, strict=True)
                if w != f
            ]
            raise LabelStoreMismatchError(f"{path} was made for another run: " + "; ".join(diff))
        return store

    @property
    def names(self) -> tuple[str, ...]:
        """Array names in schema order."""
        return tuple(f.name for f in self.fields)

    @property
    def attrs(self) -> dict[str, Any]:
        """The store's furpe-label attributes (schema, conventions, sizes, run attrs)."""
        return dict(self.group.attrs[_ATTRS_KEY])

    def array(self, name: str) -> zarr.Array:
        """The Zarr array of one field."""
        if name not in self.names:
            raise KeyError(f"{name!r} is not in this store; it has {list(self.names)}")
        return self.group[name]  # type: ignore[return-value]

    def read(self, name: str, rows: slice | int | np.ndarray = slice(None)) -> np.ndarray:
        """``array(name)[rows]`` as numpy; a damaged shard file (zarr's checksum of the shard
        index fails, a truncated file) is a :class:`LabelStoreDamagedError` naming the file.
        """
        array = self.array(name)
        try:
            return np.asarray(array[rows])
        except (ValueError, OSError, EOFError) as error:
            damaged = self._damaged_files(name)
            if not damaged:
                raise
            raise LabelStoreDamagedError(
                f"{damaged[0]}: damaged label store file ({error}); the labels of "
                f"{name!r} in it cannot be read"
            ) from None

    def _damaged_files(self, name: str) -> list[Path]:
        """The shard files of ``name`` that cannot be read back (each shard read alone)."""
        array = self.array(name)
        root = Path(self.group.store.root)  # type: ignore[attr-defined]
        damaged = []
        for shard_id in range(self.plan.count):
            start, stop = self.plan.bounds(shard_id)
            try:
                array[start:stop]
            except (ValueError, OSError, EOFError):
                key = array.metadata.encode_chunk_key((shard_id,) + (0,) * (array.ndim - 1))
                damaged.append(root / name / key)
        return damaged

    def write_shard(self, shard_id: int, arrays: Mapping[str, np.ndarray]) -> None:
        """Write every array of one whole shard.

        Args:
            shard_id: the shard, 0 <= shard_id < plan.count.
            arrays: every field of the store by name, each ``(L, *field.shape)`` with
                ``L = plan.length(shard_id)`` rows (rows = samples ``plan.bounds(shard_id)``),
                castable to the field's dtype (bool fields must be bool).
        """
        start, stop = self.plan.bounds(shard_id)
        checked = self._checked(shard_id, stop - start, arrays)
        root = Path(self.group.store.root)  # type: ignore[attr-defined]
        for name, values in checked.items():
            array = self.group[name]
            shard_key = array.metadata.encode_chunk_key((shard_id,) + (0,) * (values.ndim - 1))
            (root / name / shard_key).unlink(missing_ok=True)
            array[start:stop] = values

    def read_shard(
        self, shard_id: int, names: Iterable[str] | None = None
    ) -> dict[str, np.ndarray]:
        """The arrays of one shard, ``(L, *field.shape)`` each (all fields by default)."""
        start, stop = self.plan.bounds(shard_id)
        return {name: self.read(name, slice(start, stop)) for name in (names or self.names)}

    def _checked(
        self, shard_id: int, rows: int, arrays: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        missing = [n for n in self.names if n not in arrays]
        unknown = sorted(set(arrays) - set(self.names))
        if missing or unknown:
            raise ValueError(
                f"write_shard({shard_id}) writes a whole shard: missing fields {missing}, "
                f"unknown fields {unknown}"
            )
        checked = {}
        for field in self.fields:
            values = np.asarray(arrays[field.name])
            expected = (rows, *field.shape)
            if values.shape != expected:
                raise ValueError(
                    f"write_shard({shard_id}): {field.name} has shape {values.shape}, "
                    f"expected {expected} (the whole shard)"
                )
            kind_ok = (
                values.dtype == np.bool_
                if field.dtype == "bool"
                else (
                    np.can_cast(values.dtype, field.dtype, "same_kind") and values.dtype != np.bool_
                )
            )
            if not kind_ok:
                raise TypeError(
                    f"write_shard({shard_id}): {field.name} is {values.dtype}, "
                    f"expected {field.dtype}"
                )
            checked[field.name] = values.astype(field.dtype, copy=False)
        return checked
