"""Is a run folder whole? The check behind ``furpe-label verify``, resume and every reader.

:func:`check_run` compares every completed shard's files with the SHA-256 its completion
marker recorded (:mod:`.shard_digest`), checks the marker against the shard plan (rows per
shard), the manifest's row count against the label store's, and that the audit folder holds
no part the run did not write (readers of the whole folder would count its rows). It returns
a :class:`RunCheck`: the shards done and intact, the damaged ones with one sentence per
problem naming the shard and the file, and whether the run is finished.

What is checked can be narrowed for speed: ``labels=False`` skips the label arrays' shard
files (``furpe-label audit`` reads none), ``manifest=False`` skips the manifest's digest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from furpe_label.storage.audit import audit_file
from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.run_dir import RunDir
from furpe_label.storage.shard_digest import (
    DigestCache,
    compare_digests,
    shard_file_names,
    shared_file_names,
)

__all__ = ["RunCheck", "RunDamagedError", "audit_parts", "check_run"]

_SHOWN = 10
"""Problems quoted in a refusal (all of them are in :attr:`RunCheck.problems`)."""


class RunDamagedError(ValueError):
    """A run folder's files differ from what the run wrote (deleted, changed, added)."""


@dataclass
class RunCheck:
    """What :func:`check_run` found.

    Attributes:
        out: the run folder.
        dataset: the run's dataset (audit partition).
        shards: shards of the run (0 when the label store could not be read).
        rows: person instances of the run (N).
        done: shards complete and intact, increasing.
        done_rows: person instances in ``done``.
        damaged: shard -> its problems (each a sentence naming the shard and the file):
            its marker, or a file of its own (labels, audit part, stats).
        shared: problems of the files every shard depends on (run.json, the manifest, the
            store's metadata): a resume cannot repair them.
        strays: files the run did not write where readers look (markers, audit parts).
        problems: every problem, the run's own first.
    """

    out: Path
    dataset: str = ""
    shards: int = 0
    rows: int = 0
    done: list[int] = field(default_factory=list)
    done_rows: int = 0
    damaged: dict[int, list[str]] = field(default_factory=dict)
    shared: list[str] = field(default_factory=list)
    strays: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Every problem: shared files, strays, then shard by shard."""
        by_shard = [line for shard in sorted(self.damaged) for line in self.damaged[shard]]
        return self.shared + self.strays + by_shard

    @property
    def intact(self) -> bool:
        """No problem found (the run may still be unfinished)."""
        return not self.problems

    @property
    def finished(self) -> bool:
        """Every shard complete and intact."""
        return self.intact and len(self.done) == self.shards

    def progress_line(self) -> str:
        """``2 of 8 shards complete (200 of 800 person instances)``."""
        return (
            f"{len(self.done)} of {self.shards} shards complete "
            f"({self.done_rows} of {self.rows} person instances)"
        )

    def unfinished_note(self) -> str | None:
        """The warning readers show at the top of an unfinished run's summary (None when
        finished)."""
        if len(self.done) == self.shards:
            return None
        return (
            f"UNFINISHED RUN: {self.progress_line()}; what follows covers the complete shards "
            "only. Rerun the same `furpe-label run` command to finish it."
        )

    def raise_if_damaged(self) -> None:
        """:class:`RunDamagedError` quoting the problems, when there are any."""
        if not self.problems:
            return
        shown = self.problems[:_SHOWN]
        more = len(self.problems) - len(shown)
        raise RunDamagedError(
            f"{self.out} is damaged, its results cannot be trusted: "
            + "; ".join(shown)
            + (f"; and {more} more problem(s)" if more > 0 else "")
            + ". Run `furpe-label verify` for the full list; rerunning the same `furpe-label "
            "run` command redoes damaged shards."
        )


def check_run(
    out: str | os.PathLike[str], labels: bool = True, audit: bool = True, manifest: bool = True
) -> RunCheck:
    """Check the run folder ``out`` (see the module docstring).

    Raises:
        FileNotFoundError: ``out`` is not a run folder (no ``run.json``).
    """
    run_dir = RunDir(out)
    if not run_dir.run_json.is_file():
        raise FileNotFoundError(f"{run_dir.root} is not a furpe-label run folder (no run.json)")
    check = RunCheck(run_dir.root)
    try:
        check.dataset = str(run_dir.read_info().config.get("dataset", ""))
        store = LabelStore.open(run_dir.labels)
    except Exception as error:  # any damage becomes the refusal's sentence
        check.shared.append(_sentence(error))
        return check
    plan = store.plan
    check.shards, check.rows = plan.count, plan.n_samples
    if manifest:
        check.shared += _manifest_problems(run_dir, plan.n_samples)
    cache = DigestCache(run_dir.root)
    shared = shared_file_names(store.names, manifest)
    for shard_id, problem in _markers(run_dir, plan.count):
        if problem:
            check.strays.append(problem)
            continue
        try:
            marker = run_dir.read_marker(shard_id)
        except ValueError as error:
            check.damaged[shard_id] = [str(error)]
            continue
        wanted = _shard_files(run_dir, store, check.dataset, shard_id, labels, audit)
        problems = _shard_problems(run_dir, marker, plan.length(shard_id), shard_id, cache, wanted)
        for line in [] if problems else compare_digests(cache, marker["files"], shared, shard_id):
            if line.partition(": ")[2] not in {s.partition(": ")[2] for s in check.shared}:
                check.shared.append(line)
        if problems:
            check.damaged[shard_id] = problems
        else:
            check.done.append(shard_id)
            check.done_rows += plan.length(shard_id)
    if audit:
        check.strays += _stray_audit_parts(run_dir, check.dataset, plan.count)
    if check.shared:
        check.done, check.done_rows = [], 0
    return check


def _sentence(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"cannot read {error.filename}: {error.strerror.lower()}"
    return str(error) or type(error).__name__


def _manifest_problems(run_dir: RunDir, rows: int) -> list[str]:
    try:
        found = run_dir.manifest_rows()
    except Exception as error:  # a damaged manifest is a problem to name
        return [f"{run_dir.manifest} cannot be read ({_sentence(error)})"]
    if found != rows:
        return [f"{run_dir.manifest} has {found} rows but the label store {rows}"]
    return []


def _markers(run_dir: RunDir, count: int):
    """``(shard, None)`` per completion marker, ``(None, problem)`` per stray entry."""
    if not run_dir.complete.is_dir():
        return
    for entry in sorted(run_dir.complete.iterdir()):
        if entry.name.startswith("."):
            continue  # a killed writer's temporary (removed by the next run)
        if not entry.name.isdigit() or entry.name != f"{int(entry.name):05d}":
            yield None, f"{entry} is not a completion marker this run writes"
        elif int(entry.name) >= count:
            yield None, f"{entry} marks shard {int(entry.name)} done but the run has {count} shards"
        else:
            yield int(entry.name), None


def _shard_files(
    run_dir: RunDir, store: LabelStore, dataset: str, shard_id: int, labels: bool, audit: bool
) -> list[str]:
    """The shard's files to check (relative paths)."""
    part = None
    if audit:
        part = audit_file(run_dir.audit, dataset, shard_id).relative_to(run_dir.root).as_posix()
    return shard_file_names(store.names if labels else (), part, shard_id)


def _shard_problems(
    run_dir: RunDir, marker: dict, rows: int, shard_id: int, cache: DigestCache, wanted: list[str]
) -> list[str]:
    """The shard's marker against the plan (``rows``), its files against the marker."""
    if marker.get("shard") != shard_id or marker.get("samples") != rows:
        return [
            f"shard {shard_id}: its marker {run_dir.marker(shard_id)} is for shard "
            f"{marker.get('shard')!r} with {marker.get('samples')!r} rows, but the run's shard "
            f"{shard_id} has {rows} rows in the manifest"
        ]
    return compare_digests(cache, marker["files"], wanted, shard_id)


def _stray_audit_parts(run_dir: RunDir, dataset: str, count: int) -> list[str]:
    """Visible files under ``audit/`` that are no shard's part (copies, other partitions)."""
    if not run_dir.audit.is_dir():
        return []
    ours = {audit_file(run_dir.audit, dataset, shard) for shard in range(count)}
    strays = [
        path
        for path in sorted(run_dir.audit.rglob("*"))
        if not path.is_dir() and not path.name.startswith(".") and path not in ours
    ]
    return [
        f"{path} was not written by this run (audit readers would count its rows): "
        "remove it, or rerun the shard it copies"
        for path in strays
    ]


def audit_parts(check: RunCheck) -> list[Path]:
    """The audit parts of the complete, intact shards (what summaries read)."""
    run_dir = RunDir(check.out)
    return [audit_file(run_dir.audit, check.dataset, shard) for shard in check.done]
