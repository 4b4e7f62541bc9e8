"""Content digests of a shard's files, recorded in its completion marker and checked on read.

A shard's completion marker (``OUT/complete/<shard:05d>``) records the SHA-256 of every file
the shard's rows depend on, by path relative to ``OUT``:

- the shard's files: one Zarr shard file per label array
  (``labels.zarr/<name>/c/<shard>/0...``; ``null`` when Zarr wrote none because every row
  holds the fill value), its audit part (``audit/dataset=<name>/part-<shard:05d>.parquet``)
  and its stats (``stats/<shard:05d>.json``);
- the run's shared files, written once before any shard: ``run.json``, ``manifest.parquet``
  and the store's metadata (``labels.zarr/zarr.json``, ``labels.zarr/<name>/zarr.json``).

Digests are of files, not of columns, so whatever audit columns or label arrays a run holds
are covered. :func:`compare_digests` names every file that is missing, appeared, or differs.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from furpe_label.storage.schema import label_field

__all__ = [
    "DIGEST_ALGORITHM",
    "DigestCache",
    "compare_digests",
    "label_file",
    "shard_file_names",
    "shared_file_names",
]

DIGEST_ALGORITHM = "sha256"
STORE_FOLDER = "labels.zarr"


def label_file(name: str, shard_id: int) -> str:
    """``labels.zarr/<name>/c/<shard>/0...``: the Zarr shard file of array ``name`` (Zarr's
    default chunk key encoding, one ``0`` per field axis)."""
    axes = [str(shard_id)] + ["0"] * len(label_field(name).shape)
    return f"{STORE_FOLDER}/{name}/c/" + "/".join(axes)


def shard_file_names(
    names: Iterable[str], audit_part: str | None, shard_id: int, stats: bool = True
) -> list[str]:
    """The files of one shard: label arrays ``names``, the audit part (relative path), the
    stats file (when ``stats``)."""
    files = [label_file(name, shard_id) for name in names]
    if audit_part is not None:
        files.append(audit_part)
    if stats:
        files.append(f"stats/{shard_id:05d}.json")
    return files


def shared_file_names(names: Iterable[str], manifest: bool = True) -> list[str]:
    """The run's files written before any shard (``manifest.parquet`` when ``manifest``)."""
    files = ["run.json"] + ["manifest.parquet"] * manifest + [f"{STORE_FOLDER}/zarr.json"]
    return files + [f"{STORE_FOLDER}/{name}/zarr.json" for name in names]


class DigestCache:
    """SHA-256 of files under ``root``, each computed once (``None``: no such file)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._known: dict[str, str | None] = {}

    def digest(self, relative: str) -> str | None:
        """Hex SHA-256 of ``root/relative``; None when it does not exist."""
        if relative not in self._known:
            self._known[relative] = _sha256(self.root / relative)
        return self._known[relative]

    def record(self, relatives: Iterable[str]) -> dict[str, str | None]:
        """``{relative path: digest}`` of ``relatives`` (what a marker stores)."""
        return {relative: self.digest(relative) for relative in relatives}


def _sha256(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, DIGEST_ALGORITHM).hexdigest()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return "a folder"
    except OSError as error:
        return f"unreadable ({error.strerror or error})"


def compare_digests(
    cache: DigestCache,
    recorded: Mapping[str, object],
    wanted: Iterable[str],
    shard_id: int,
) -> list[str]:
    """Problems of the files ``wanted`` against the digests a shard's marker ``recorded``.

    One sentence per problem, naming the shard and the file: a digest the marker lacks, a
    recorded file now missing, a file where the shard wrote none, a file that differs.
    """
    problems = []
    marker = f"complete/{shard_id:05d}"
    for relative in wanted:
        if relative not in recorded:
            problems.append(
                f"shard {shard_id}: its marker {marker} records no digest of {relative}"
            )
            continue
        expected, found = recorded[relative], cache.digest(relative)
        if expected == found:
            continue
        if found is None:
            problems.append(
                f"shard {shard_id}: {relative} is missing (deleted after the shard ended)"
            )
        elif expected is None:
            problems.append(f"shard {shard_id}: {relative} exists but the shard wrote no such file")
        else:
            problems.append(
                f"shard {shard_id}: {relative} differs from what the shard wrote "
                "(its SHA-256 does not match the one in its completion marker)"
            )
    return problems
