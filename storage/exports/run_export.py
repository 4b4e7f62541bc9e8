"""``export_run``: one finished run -> one trainer format in an empty folder, plus a summary.

:func:`check_export_paths` refuses, before anything is written, an OUT that is not a run
folder and a DEST inside OUT (the export would change the run it reads) or holding files.

Every export ends with ``DEST/export.json`` (written last): the format, the run it came from
(folder, config hash, code version, synthetic flag), how many rows were written, the format's
notes (e.g. the FuRPE training options the export needs), and every row set aside with its
:class:`~.run_rows.ExportSkip` reason and meaning (selection drops are not listed: they are in
the run's audit).
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from furpe_label.storage.exports.expose import write_expose
from furpe_label.storage.exports.files import (
    check_dataset_name,
    check_empty_dest,
    dest_inside_run,
    save_json,
)
from furpe_label.storage.exports.furpe import write_furpe
from furpe_label.storage.exports.furpe_tree import FURPE_TRAINING_ASSUMPTIONS
from furpe_label.storage.exports.humandata import write_humandata
from furpe_label.storage.exports.run_rows import ExportError, ExportSkip, read_run_rows
from furpe_label.storage.exports.smplx_mesh import SmplxMesh
from furpe_label.storage.run_dir import RunDir

__all__ = [
    "EXPORT_FORMATS",
    "FORMATS_NEEDING_MODELS",
    "ExportSummary",
    "check_export_paths",
    "export_run",
]

EXPORT_FORMATS = ("furpe", "expose", "humandata")
FORMATS_NEEDING_MODELS = frozenset({"furpe", "expose", "humandata"})
"""Formats that write meshes or mean-relative hands, so need the run's SMPL-X file."""
SUMMARY_FILE = "export.json"


@dataclass
class ExportSummary:
    """What an export wrote.

    Attributes:
        format: one of :data:`EXPORT_FORMATS`.
        dest: the export folder.
        rows: rows written.
        kept_rows: of those, rows the selection kept.
        skipped: sample_idx -> why the row was not written.
        synthetic: the labels come from the synthetic body-model family (not real labels).
        notes: warnings for the trainer's user (e.g. FuRPE options the export needs), also
            in ``export.json``.
        assumes: what the written tree assumes of the trainer (its options, where it runs),
            ``export.json`` ``assumes``.
    """

    format: str
    dest: Path
    rows: int
    kept_rows: int
    skipped: dict[int, ExportSkip] = field(default_factory=dict)
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)
    assumes: list[str] = field(default_factory=list)

    def skip_counts(self) -> dict[str, int]:
        """reason -> rows skipped for it."""
        return dict(Counter(reason.value for reason in self.skipped.values()))


def check_export_paths(out: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """Refuse, before anything is written, an ``out`` that is not a run folder and a ``dest``
    inside ``out`` (symbolic links resolved) or holding files.

    Raises:
        ExportError: ``out`` is missing, a file, or lacks run.json / manifest.parquet /
            labels.zarr; ``dest`` is ``out`` or under it.
        FileExistsError: ``dest`` holds files.
    """
    out, dest = Path(out), Path(dest)
    made_by = "the --out folder of a finished `furpe-label run`"
    if not out.exists():
        raise ExportError(f"{out} does not exist: give {made_by}")
    if not out.is_dir():
        raise ExportError(f"{out} is a file, not a run folder: give {made_by}")
    missing = RunDir(out).missing_for_reading()
    if missing:
        raise ExportError(
            f"{out} is not a furpe-label run folder: it has no {', no '.join(missing)} (a run "
            f"folder holds run.json, manifest.parquet and labels.zarr); give {made_by}"
        )
    if dest_inside_run(out, dest):
        raise ExportError(
            f"--dest {dest} is inside the run folder {out}: an export there would change the "
            "run it reads; choose a --dest outside the run folder"
        )
    check_empty_dest(dest)


def export_run(
    out: str | os.PathLike[str],
    fmt: str,
    dest: str | os.PathLike[str],
    *,
    include_all: bool = False,
    models_dir: str | os.PathLike[str] | None = None,
    dataset_name: str | None = None,
) -> ExportSummary:
    """Export the finished run in ``out`` to ``dest`` in format ``fmt``.

    Args:
        out: the run folder.
        fmt: "furpe", "expose" or "humandata" (see their modules for the layouts).
        dest: a new or empty folder.
        include_all: every row with masks (not for "furpe", whose loader has no mask).
        models_dir: the SMPL-X folder the run used (required for every format).
        dataset_name: folder / file name of the dataset in the export (default: the run's
            dataset adapter name).

    Raises:
        ExportError: unknown format, ``--all`` for furpe, ``out`` not a run folder, ``dest``
            inside it, incomplete run, nothing to export, missing or different SMPL-X file.
        FileExistsError: ``dest`` holds files.
    """
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose from {EXPORT_FORMATS}")
    if fmt == "furpe" and include_all:
        raise ExportError(
            "the FuRPE layout has no per-row mask (its loader trains on every file "
            "it finds): export kept rows only, or use --format humandata/expose "
            "with --all"
        )
    dest = Path(dest)
    check_export_paths(out, dest)
    rows = read_run_rows(out, include_all)
    dataset = check_dataset_name(dataset_name or rows.dataset)
    if not len(rows):
        hint = "" if include_all else "; --all exports every row with masks"
        raise ExportError(f"{out}: no row to export (the run kept none{hint})")
    mesh = None
    if fmt in FORMATS_NEEDING_MODELS:
        if models_dir is None:
            raise ExportError(f"--format {fmt} needs the run's SMPL-X models folder")
        mesh = SmplxMesh(models_dir, rows.info.model_sha256)
    dest.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    try:
        if fmt == "furpe":
            written, notes = write_furpe(rows, dest, mesh, dataset)
        elif fmt == "expose":
            written = write_expose(rows, dest, mesh, dataset, include_all)
        else:
            written, notes = write_humandata(rows, dest, dataset, mesh.hand_mean)
    except BaseException:
        _empty(dest)  # it was empty: everything in it is this export's partial output
        raise
    summary = ExportSummary(
        format=fmt,
        dest=dest,
        rows=len(written),
        kept_rows=int(written.valid.sum()),
        skipped=written.skipped,
        synthetic=bool(rows.info.synthetic),
        notes=notes,
        assumes=list(FURPE_TRAINING_ASSUMPTIONS) if fmt == "furpe" else [],
    )
    save_json(dest / SUMMARY_FILE, _summary_json(summary, rows.out, rows.info, dataset))
    return summary


def _empty(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _summary_json(summary: ExportSummary, out: Path, info: Any, dataset: str) -> dict[str, Any]:
    return {
        "format": summary.format,
        "dataset": dataset,
        "rows": summary.rows,
        "kept_rows": summary.kept_rows,
        "run": {
            "out": str(out),
            "config_hash": info.config_hash,
            "code_version": info.code_version,
            "synthetic": bool(info.synthetic),
        },
        "notes": summary.notes,
        "assumes": summary.assumes,
        "skipped": {str(s): reason.value for s, reason in sorted(summary.skipped.items())},
        "skip_reasons": {reason.value: reason.meaning for reason in ExportSkip},
    }
