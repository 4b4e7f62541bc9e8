"""The rows of a finished run that an export writes: one reader for every format.

A run folder (:mod:`furpe_label.storage.run_dir`) holds ``run.json``, ``manifest.parquet``
(which image each row is), ``labels.zarr`` (the labels, row = ``sample_idx``) and the audit.
:func:`read_run_rows` checks the run is intact (every file as the run wrote it,
:mod:`furpe_label.storage.run_check`) and complete, picks the rows to export (kept rows, or every
row with ``include_all``), sets aside the rows no export format can name (video frames, which
have no image file) with an :class:`ExportSkip`, and reads label arrays for batches of the
chosen rows (:meth:`RunRows.read`), so memory stays bounded for runs of 10^6 rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.manifest import read_manifest
from furpe_label.storage.row_readers import open_row_reader
from furpe_label.storage.run_check import check_run
from furpe_label.storage.run_dir import RunDir
from furpe_label.storage.run_info import RunInfo

__all__ = ["ExportError", "ExportSkip", "RunRows", "read_run_rows"]

DEFAULT_BATCH = 256
"""Rows per label read (and per SMPL-X forward) while exporting."""


class ExportError(ValueError):
    """The export cannot be made as asked (incomplete run, wrong models, bad option)."""


class ExportSkip(StrEnum):
    """Why a row that would be exported is not (listed in the export's ``export.json``)."""

    VIDEO_FRAME = "video_frame"
    OTHER_PERSON_EXPORTED = "other_person_exported"
    FILE_NAME_TAKEN = "file_name_taken"

    @property
    def meaning(self) -> str:
        """One line for people reading the export summary."""
        return _SKIP_MEANINGS[self]


_SKIP_MEANINGS = {
    ExportSkip.VIDEO_FRAME: "a video frame has no image file for the trainer to read; "
    "extract the frames and label the image folder",
    ExportSkip.OTHER_PERSON_EXPORTED: "the format holds one person per image and a larger "
    "kept person of the same image was exported",
    ExportSkip.FILE_NAME_TAKEN: "another image maps to the same file name in the format "
    "(same base name in another folder)",
}


@dataclass
class RunRows:
    """The exportable rows of a run (M rows, increasing ``sample_idx``).

    Attributes:
        out: the run folder.
        info: its ``run.json``.
        dataset: the dataset adapter name of the run.
        sample_idx: (M,) int64 store rows.
        image_path: M absolute image paths (from the manifest).
        person_idx: (M,) int64 person in the image as the dataset lists it (-1: found at run).
        valid: (M,) bool kept by the selection (all True unless ``include_all``).
        part_valid: (M, 4) bool per-part label usable, ``Part`` order.
        skipped: sample_idx -> reason, for rows set aside here.
    """

    out: Path
    info: RunInfo
    dataset: str
    sample_idx: np.ndarray
    image_path: list[str]
    person_idx: np.ndarray
    valid: np.ndarray
    part_valid: np.ndarray
    skipped: dict[int, ExportSkip] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sample_idx)

    def subset(self, keep: np.ndarray, reason: ExportSkip) -> RunRows:
        """These rows where ``keep`` (M,) bool; the others are skipped with ``reason``."""
        keep = np.asarray(keep, dtype=bool)
        skipped = dict(self.skipped)
        skipped.update({int(s): reason for s in self.sample_idx[~keep]})
        return RunRows(
            out=self.out,
            info=self.info,
            dataset=self.dataset,
            sample_idx=self.sample_idx[keep],
            image_path=[p for p, k in zip(self.image_path, keep, strict=True) if k],
            person_idx=self.person_idx[keep],
            valid=self.valid[keep],
            part_valid=self.part_valid[keep],
            skipped=skipped,
        )

    def read(self, names: Sequence[str], positions: np.ndarray | slice) -> dict[str, np.ndarray]:
        """Label arrays of the rows at ``positions`` (of this object): ``{name: (B, *shape)}``
        with the store's dtypes (see :data:`~furpe_label.storage.schema.LABEL_FIELDS`)."""
        rows = self.sample_idx[positions]
        reader = open_row_reader(RunDir(self.out).labels, tuple(names), "zarr")
        return reader.read(np.asarray(rows, dtype=np.int64))

    def batches(self, batch: int = DEFAULT_BATCH) -> Iterator[slice]:
        """Consecutive position slices of at most ``batch`` rows."""
        for start in range(0, len(self), batch):
            yield slice(start, min(start + batch, len(self)))


def _check_complete(run_dir: RunDir, store: LabelStore) -> None:
    pending = run_dir.pending_shards(store.plan)
    if pending:
        shown = ", ".join(str(s) for s in pending[:10]) + (" ..." if len(pending) > 10 else "")
        raise ExportError(
            f"{run_dir.root} is not a finished run: shard(s) {shown} of {store.plan.count} have "
            "no completion marker. Rerun the same `furpe-label run` command to finish it first."
        )


def read_run_rows(out: str | os.PathLike[str], include_all: bool = False) -> RunRows:
    """The rows of the finished run in ``out`` to export.

    Args:
        out: the run folder.
        include_all: every row (dropped ones too, their ``valid`` False) instead of the kept
            rows only.

    Raises:
        FileNotFoundError: ``out`` has no run.json / manifest / label store.
        ExportError: the run is not finished.
        RunDamagedError: a file of the run differs from what it wrote (named).
    """
    run_dir = RunDir(out)
    if not run_dir.run_json.is_file():
        raise FileNotFoundError(f"{run_dir.root} is not a run folder (no run.json)")
    info = run_dir.read_info()
    check_run(run_dir.root).raise_if_damaged()  # every file as the run wrote it
    store = LabelStore.open(run_dir.labels)
    _check_complete(run_dir, store)
    valid = store.read("valid")
    part_valid = store.read("part_valid")
    manifest = read_manifest(
        run_dir.manifest, columns=["sample_idx", "image_path", "person_idx"]
    ).to_pydict()
    if len(manifest["sample_idx"]) != len(valid):
        raise ExportError(
            f"{run_dir.manifest} has {len(manifest['sample_idx'])} rows but the "
            f"label store {len(valid)}"
        )
    rows = np.arange(len(valid)) if include_all else np.flatnonzero(valid)
    images = [manifest["image_path"][r] for r in rows]
    persons = [manifest["person_idx"][r] for r in rows]
    everything = RunRows(
        out=run_dir.root,
        info=info,
        dataset=str(info.config.get("dataset", "dataset")),
        sample_idx=rows.astype(np.int64),
        image_path=[p or "" for p in images],
        person_idx=np.array([-1 if p is None else p for p in persons], dtype=np.int64),
        valid=valid[rows],
        part_valid=part_valid[rows],
    )
    return everything.subset(
        np.array([p is not None for p in images], bool), ExportSkip.VIDEO_FRAME
    )
