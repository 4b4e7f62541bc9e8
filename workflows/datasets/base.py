"""The dataset-adapter base: ``--root`` / ``--annotations`` handling and official-name discovery.

An adapter turns one dataset layout into manifest columns (:mod:`furpe_label.storage.manifest`).
Subclasses declare:

* ``name``: the ``--dataset`` value (the registry key).
* ``has_ground_truth``: the layout can carry 3D joints or body-model parameters to score labels
  against (per row, the GT columns say what is present).
* ``gives_boxes``: person boxes are known before the run (else people are found at run time).
* ``official_files``: glob patterns, relative to ``--root``, of the official annotation file
  names, in preference order. Without ``--annotations`` the first pattern that matches under the
  root is used (all its matches: e.g. one Human3.6M file per subject).
* ``annotation_kind``: "file", "file_or_folder" (a folder means its ``*.json``) or "none".

and implement :meth:`read_columns`. Construction checks the paths; :meth:`build_manifest` reads
the files. Every problem raises :class:`DatasetError` naming the file. :meth:`write_manifest`
writes the same manifest to a file from :meth:`column_blocks` without holding it whole
(layouts that can be read in row blocks override :meth:`column_blocks`: SPIN's npz).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from furpe_label.storage.manifest import ColumnValues, build_manifest_table
from furpe_label.storage.manifest_stream import ROW_GROUP_ROWS, write_manifest_blocks
from furpe_label.workflows.datasets.containment import mark_outside_root
from furpe_label.workflows.datasets.readers import DatasetError

LOG = logging.getLogger(__name__)


class DatasetAdapter(ABC):
    """One dataset layout -> manifest rows (one per person instance)."""

    name: ClassVar[str]
    has_ground_truth: ClassVar[bool] = False
    gives_boxes: ClassVar[bool] = True
    official_files: ClassVar[tuple[str, ...]] = ()
    annotation_kind: ClassVar[str] = "file"
    needs_root: ClassVar[bool] = True

    def __init__(self, root: Path | str | None = None, annotations: Path | str | None = None):
        """Check the paths (nothing is read yet).

        Args:
            root: dataset root; image paths in annotation files are relative to it.
            annotations: annotation file (or folder, where the adapter allows one); default:
                the official file names under ``root``.

        Raises:
            DatasetError: a missing root, a root that is not a folder, a missing annotation
                file, or an annotation argument the dataset does not take.
        """
        self.root = Path(root).expanduser().absolute() if root is not None else None
        self.annotations = Path(annotations).expanduser().absolute() if annotations else None
        self.skipped: Counter[str] = Counter()
        self.used_files: list[Path] = []
        self.outside_root = 0
        self.allow_outside_root = False
        if self.root is None and self.needs_root:
            raise DatasetError(f"dataset {self.name!r} needs --root DIR")
        if self.root is not None and not self.root.exists():
            raise DatasetError(f"{self.root}: dataset root does not exist")
        if self.annotations is None:
            return
        if self.annotation_kind == "none":
            raise DatasetError(
                f"dataset {self.name!r} has no annotation file; leave --annotations out "
                f"(got {self.annotations})"
            )
        if self.annotation_kind == "file_or_folder" and self.annotations.is_dir():
            return
        if not self.annotations.is_file():
            raise DatasetError(f"{self.annotations}: annotation file not found")

    def annotation_files(self) -> list[Path]:
        """The annotation files to read: ``--annotations`` or the discovered official files.

        Raises:
            DatasetError: nothing given and no official file under the root (the message lists
                the names searched).
        """
        if self.annotations is not None:
            if self.annotations.is_dir():
                files = sorted(self.annotations.glob("*.json"))
                if not files:
                    raise DatasetError(f"{self.annotations}: no *.json annotation files")
                self.used_files = files
                return files
            self.used_files = [self.annotations]
            return [self.annotations]
        assert self.root is not None
        for pattern in self.official_files:
            found = sorted(p for p in self.root.glob(pattern) if p.is_file())
            if found:
                LOG.info("%s: using %s", self.name, ", ".join(map(str, found[:3])))
                self.used_files = found
                return found
        searched = ", ".join(self.official_files) or "(none)"
        raise DatasetError(
            f"{self.root}: no {self.name} annotation file found (searched {searched}); "
            "pass --annotations FILE"
        )

    def require_root(self) -> Path:
        """The root, which this layout needs to resolve image paths."""
        if self.root is None:
            raise DatasetError(f"dataset {self.name!r} needs --root DIR (image paths are relative)")
        return self.root

    @abstractmethod
    def read_columns(self) -> dict[str, ColumnValues]:
        """Read the dataset into manifest columns (any order; the builder sorts)."""

    def info(self) -> dict[str, Any]:
        """Facts recorded in the manifest metadata."""
        return {
            "dataset": self.name,
            "root": str(self.root) if self.root else None,
            "annotations": [str(p) for p in self.used_files],
            "skipped": dict(self.skipped),
            "outside_root": self.outside_root,
            "allow_outside_root": self.allow_outside_root,
        }

    def _begin(self, allow_outside_root: bool) -> None:
        """Reset what one manifest build records (files read, skips, rows outside the root)."""
        self.used_files = []
        self.skipped.clear()
        self.outside_root = 0
        self.allow_outside_root = allow_outside_root  # readers that open files consult it

    def _finish(self, rows: int) -> None:
        """Refuse a build without rows; log the skipped annotations and rows outside the root.

        Raises:
            DatasetError: no person instance (naming the files read, or the root).
        """
        if rows == 0:
            where = ", ".join(map(str, self.used_files)) or str(self.root)
            raise DatasetError(f"{where}: no person instances found for dataset {self.name!r}")
        for reason, count in self.skipped.items():
            LOG.warning("%s: skipped %d annotations (%s)", self.name, count, reason)
        if self.outside_root:
            LOG.warning(
                "%s: %d rows name files outside the root %s (%s)",
                self.name,
                self.outside_root,
                self.root,
                "allowed" if self.allow_outside_root else "not opened: reason outside_root",
            )

    def build_manifest(self, allow_outside_root: bool = False) -> pa.Table:
        """The manifest table (see :func:`furpe_label.storage.manifest.build_manifest_table`).

        Every row's file is checked against the root here, once for every adapter
        (:mod:`.containment`): one that leaves it gets ``input_reason`` ``outside_root`` and
        is never opened, unless ``allow_outside_root``.

        Raises:
            DatasetError: an unreadable or malformed annotation file (named), or a dataset
                that yields no person instance.
        """
        self._begin(allow_outside_root)
        columns = self.read_columns()
        n = len(next(iter(columns.values()))) if columns else 0
        if n and self.root is not None:
            self.outside_root = mark_outside_root(columns, self.root, n, allow_outside_root)
        self._finish(n)
        columns = {"dataset": [self.name] * n, **columns}
        return build_manifest_table(columns, self.info())

    def column_blocks(self) -> Iterator[dict[str, ColumnValues]]:
        """The dataset's manifest columns in blocks of consecutive rows (default: one block,
        :meth:`read_columns`). A block without ``person_idx`` has its images' rows numbered
        in file order by the manifest writer."""
        yield self.read_columns()

    def write_manifest(
        self, path: Path, row_group_rows: int = ROW_GROUP_ROWS, allow_outside_root: bool = False
    ) -> int:
        """Write the manifest (the table :meth:`build_manifest` gives, root containment
        included) to ``path`` block by block
        (:func:`~furpe_label.storage.manifest_stream.write_manifest_blocks`); returns its row
        count.

        Raises:
            DatasetError: as :meth:`build_manifest`.
        """
        self._begin(allow_outside_root)

        def blocks() -> Iterator[dict[str, ColumnValues]]:
            for columns in self.column_blocks():
                n = len(next(iter(columns.values()))) if columns else 0
                if self.root is not None and n:
                    self.outside_root += mark_outside_root(
                        columns, self.root, n, allow_outside_root
                    )
                yield {"dataset": [self.name] * n, **columns}

        count = write_manifest_blocks(blocks(), Path(path), self.info, row_group_rows)
        self._finish(count)
        return count
