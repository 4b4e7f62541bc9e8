"""The output folder of a run (a stable contract) and the resume helpers.

::

    OUT/run.json                      RunInfo: config + hash, code version, file SHA-256s, ...
    OUT/manifest.parquet              one row per input person instance, sample_idx = 0..N-1
    OUT/labels.zarr/                  LabelStore (created in full before any shard runs)
    OUT/audit/dataset=<name>/part-<shard:05d>.parquet
    OUT/stats/<shard:05d>.json        ShardStats of the shard
    OUT/complete/<shard:05d>          completion marker, written LAST by the shard's task
    OUT/people_prepass/plan.parquet, OUT/people_prepass/<chunk:05d>.parquet
                                      the person pre-pass: its chunks and the people each found
                                      (:mod:`.prepass_files`; kept for a resumed pre-pass)
    OUT/.lock                         held by the driver (RunLock)
    OUT/.journal/<host>-<pid>         the temporary names each process wrote (RunJournal)
    OUT/logs/driver.log, OUT/logs/worker-<host>-<pid>.log   library logs (not the results)
    OUT/calibrated_selection.json     the selection file ``calibrate`` writes (thresholds)
    OUT/calibration.json              what ``calibrate`` measured (its precision / recall curve)

A shard is done exactly when its marker exists and the files it lists still have the SHA-256
it records (:mod:`.shard_digest`; checked by :mod:`.run_check`); resume = rerun the same
command, which skips done shards and redoes the others (and damaged ones) whole. Every file
is written to a hidden temporary name in its folder, recorded in the run's journal first, and
renamed into place, so a killed task leaves only journalled leftovers, which
:meth:`RunDir.remove_leftovers` deletes (with the lock held) before a resumed run starts.
An existing OUT that is not a run folder is refused (:meth:`RunDir.refuse_foreign`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from furpe_label.storage.audit import audit_file
from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.manifest import ManifestError
from furpe_label.storage.run_info import RunConfigChangedError, RunInfo, differences
from furpe_label.storage.run_journal import NotARunFolderError, RunJournal, refuse_foreign
from furpe_label.storage.run_layout import refuse_other_layout
from furpe_label.storage.run_lock import RunLock
from furpe_label.storage.shard_commit import commit_shard
from furpe_label.storage.shard_digest import DigestCache
from furpe_label.storage.shards import ShardPlan
from furpe_label.storage.stats import ShardStats

__all__ = ["NotARunFolderError", "RunDir", "atomic_write_bytes"]

log = logging.getLogger(__name__)


def atomic_write_bytes(path: Path, data: bytes, journal: RunJournal | None = None) -> None:
    """Write ``data`` to ``path`` via a hidden temporary file in the same folder + rename
    (the temporary name recorded in ``journal`` first, when given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = journal.temp_name(path) if journal else path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _json_bytes(data: object) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


class RunDir:
    """Paths and bookkeeping of one output folder ``out``."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.root = Path(out)
        self.run_json = self.root / "run.json"
        self.manifest = self.root / "manifest.parquet"
        self.labels = self.root / "labels.zarr"
        self.audit = self.root / "audit"
        self.stats = self.root / "stats"
        self.complete = self.root / "complete"
        self.logs = self.root / "logs"
        self.calibrated_selection = self.root / "calibrated_selection.json"
        self.calibration = self.root / "calibration.json"
        self.prepass = self.root / "people_prepass"
        self.journal = RunJournal(self.root)

    def lock(self) -> RunLock:
        """The driver's lock (``with run_dir.lock(): ...``); a second holder gets RunLockedError."""
        return RunLock(self.root)

    def missing_for_reading(self) -> list[str]:
        """What a finished run's folder must hold and this one lacks (``run.json``,
        ``manifest.parquet``, ``labels.zarr``), in that order; empty when all are there."""
        needed = (self.run_json, self.manifest, self.labels)
        return [path.name for path in needed if not path.exists()]

    def refuse_foreign(self) -> None:
        """Refuse a folder that exists and is not a furpe-label run folder (see
        :func:`.run_journal.refuse_foreign`; NotARunFolderError)."""
        refuse_foreign(self.root, self.run_json.name, self.logs.name)

    # run.json ---------------------------------------------------------------------------
    def start(self, info: RunInfo) -> RunInfo:
        """Record ``info`` in a new folder, or check it against the one stored (resume).

        Raises :class:`RunConfigChangedError` naming every difference when the stored run
        used another config, other model / checkpoint files, synthetic flag, experts or
        detector; its :class:`~.run_layout.OtherVersionRunError` when the folder was made by
        a version with other settings, run.json fields or manifest columns (saying what to do).
        A different code version alone is only logged.
        """
        if not self.run_json.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.run_json, _json_bytes(info.to_json()), self.journal)
            return info
        refuse_other_layout(self.root, self.run_json, self.manifest, info)
        stored = self.read_info()
        changed = differences(stored, info)
        if changed:
            raise RunConfigChangedError(
                f"{self.root} holds a run made with other settings; resuming would mix labels. "
                "Differences (stored -> now):\n  " + "\n  ".join(changed) + "\nUse another "
                "--out, or rerun with the stored settings."
            )
        if stored.code_version != info.code_version:
            log.warning(
                "resuming %s made by %s with %s", self.root, stored.code_version, info.code_version
            )
        return stored

    def read_info(self) -> RunInfo:
        """The stored :class:`RunInfo` (FileNotFoundError / ValueError with the path)."""
        try:
            return RunInfo.from_json(json.loads(self.run_json.read_text()))
        except (ValueError, TypeError, RecursionError) as error:
            raise ValueError(f"{self.run_json} is damaged: {error}") from error

    # manifest ---------------------------------------------------------------------------
    def write_manifest(self, table: pa.Table, row_group_size: int | None = None) -> None:
        """Write the manifest atomically; its ``sample_idx`` must be 0..N-1 in order
        (``row_group_size``: rows per Parquet row group, default pyarrow's)."""
        if "sample_idx" not in table.column_names:
            raise ValueError("the manifest needs a sample_idx column")
        sample_idx = table.column("sample_idx").to_numpy()
        if not np.array_equal(sample_idx, np.arange(table.num_rows)):
            raise ValueError("manifest sample_idx must be 0..N-1 in row order")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.journal.temp_name(self.manifest)
        try:
            pq.write_table(table, tmp, compression="zstd", row_group_size=row_group_size)
            os.replace(tmp, self.manifest)
        finally:
            tmp.unlink(missing_ok=True)

    def manifest_rows(self) -> int:
        """Number of input person instances N (from the Parquet footer).

        Raises:
            ManifestError: the file is not a readable Parquet file (truncated, damaged).
        """
        try:
            return pq.ParquetFile(self.manifest).metadata.num_rows
        except (pa.ArrowException, OSError) as error:
            if isinstance(error, FileNotFoundError):
                raise
            raise ManifestError(f"{self.manifest}: not a readable Parquet file ({error})") from None

    # person pre-pass ----------------------------------------------------------------------
    @property
    def prepass_plan(self) -> Path:
        """``people_prepass/plan.parquet``: which manifest rows each pre-pass chunk holds."""
        return self.prepass / "plan.parquet"

    def prepass_chunk(self, chunk_id: int) -> Path:
        """``people_prepass/<chunk:05d>.parquet``: the people one pre-pass chunk found."""
        return self.prepass / f"{chunk_id:05d}.parquet"

    # shards -----------------------------------------------------------------------------
    def marker(self, shard_id: int) -> Path:
        """``complete/<shard:05d>``."""
        return self.complete / f"{shard_id:05d}"

    def stats_file(self, shard_id: int) -> Path:
        """``stats/<shard:05d>.json``."""
        return self.stats / f"{shard_id:05d}.json"

    def audit_file(self, dataset: str, shard_id: int) -> Path:
        """``audit/dataset=<name>/part-<shard:05d>.parquet``."""
        return audit_file(self.audit, dataset, shard_id)

    def completed_shards(self) -> set[int]:
        """Shards whose completion marker (``complete/<shard:05d>``, exactly) exists."""
        if not self.complete.is_dir():
            return set()
        names = (p.name for p in self.complete.iterdir())
        return {int(name) for name in names if name.isdigit() and name == f"{int(name):05d}"}

    def pending_shards(self, plan: ShardPlan) -> list[int]:
        """Shards of ``plan`` still to run, in order (a marker beyond the plan is an error)."""
        done = self.completed_shards()
        stray = sorted(s for s in done if s >= plan.count)
        if stray:
            raise ValueError(
                f"{self.complete} marks shards {stray} done but the run has "
                f"{plan.count} shards: is this the same manifest?"
            )
        return [s for s in plan.ids() if s not in done]

    def finish_shard(self, shard_id: int, stats: ShardStats, files: Sequence[str] = ()) -> None:
        """Write the shard's stats, then its completion marker (last: the shard is done).

        Call after its label rows and audit file are written. The marker records the SHA-256
        of ``files`` (paths relative to the folder: the shard's and the run's files, see
        :mod:`.shard_digest`) and of the stats file.
        """
        atomic_write_bytes(self.stats_file(shard_id), _json_bytes(stats.to_json()), self.journal)
        stats_name = f"{self.stats.name}/{self.stats_file(shard_id).name}"
        digests = DigestCache(self.root).record(dict.fromkeys([*files, stats_name]))
        marker = {"shard": shard_id, "samples": stats.samples, "kept": stats.kept, "files": digests}
        atomic_write_bytes(self.marker(shard_id), _json_bytes(marker), self.journal)

    def read_marker(self, shard_id: int) -> dict[str, Any]:
        """The completion marker of a shard (ValueError naming it when it is damaged)."""
        path = self.marker(shard_id)
        try:
            marker = json.loads(path.read_bytes())
        except (OSError, ValueError) as error:
            raise ValueError(
                f"shard {shard_id}: its completion marker {path} is damaged ({error})"
            ) from None
        if not isinstance(marker, dict) or not isinstance(marker.get("files"), dict):
            raise ValueError(
                f"shard {shard_id}: its completion marker {path} holds no file digests "
                "(damaged, or written by a version without them)"
            )
        return marker

    def commit_shard(
        self,
        store: LabelStore,
        dataset: str,
        shard_id: int,
        labels: Mapping[str, np.ndarray],
        audit: Mapping[str, Any],
        extra_seconds: Mapping[str, float] | None = None,
    ) -> ShardStats:
        """Write all of one shard's outputs in the safe order and return its stats
        (:func:`~furpe_label.storage.shard_commit.commit_shard`)."""
        return commit_shard(self, store, dataset, shard_id, labels, audit, extra_seconds)

    def read_stats(self, shard_id: int) -> ShardStats:
        """Stats of one shard.

        Raises:
            ValueError: the file cannot be read, is not JSON, or is not shard statistics
                (the message names the file and the problem).
        """
        path = self.stats_file(shard_id)
        try:
            return ShardStats.from_json(json.loads(path.read_bytes()))
        except RecursionError:
            raise ValueError(f"{path} is damaged: nested too deeply to read") from None
        except (OSError, ValueError) as error:
            problem = error.strerror if isinstance(error, OSError) and error.strerror else error
            raise ValueError(f"{path} is damaged: {problem}") from None

    def merged_stats(self) -> ShardStats:
        """Sum of the stats of every completed shard."""
        total = ShardStats()
        for shard_id in sorted(self.completed_shards()):
            total = total + self.read_stats(shard_id)
        return total

    def leftovers(self) -> Iterator[Path]:
        """What a killed writer left: the temporary names the journal lists, and zarr's
        ``*.partial`` files inside the run's own ``labels.zarr``."""
        yield from self.journal.leftovers()
        if self.labels.is_dir() and not self.labels.is_symlink():
            yield from self.labels.rglob("*.partial")

    def remove_leftovers(self) -> int:
        """Delete :meth:`leftovers` (hold the lock: a live writer's temporaries look alike)."""
        own = self.labels.is_dir() and not self.labels.is_symlink()
        partials = list(self.labels.rglob("*.partial")) if own else []
        for path in partials:
            path.unlink(missing_ok=True)
        return len(partials) + self.journal.remove_leftovers()
