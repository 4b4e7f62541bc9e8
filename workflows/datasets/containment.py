"""Keeping the files a dataset names under its ``--root``: one check for every adapter.

Annotation files are input from elsewhere: an image path such as ``../../../../etc/passwd``,
``/etc/shadow`` or ``../outside/secret.jpg``, or a symlink inside the root that points out of
it, would otherwise make the run open (and label, and export) a file the user never meant to
hand over. :meth:`~furpe_label.workflows.datasets.base.DatasetAdapter.build_manifest` calls
:func:`mark_outside_root` once on every adapter's rows, so no reader has to remember it.

A row whose ``image_path`` / ``video_path`` resolves (symlinks followed, ``..`` removed) to a
place outside the resolved root keeps its place in the manifest with the named reason
``outside_root`` (``input_reason``) and a detail naming the path, where it leads and the root;
nothing opens it (not the person pre-pass, not the run, not ``check``). ``--allow-outside-root``
(``run``, ``check``; recorded in ``run.json``) lets such paths through on purpose.

Cost: one ``realpath`` per distinct folder, and one ``scandir`` per folder holding many of the
rows' files (else one ``lstat`` per file).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import MutableMapping, Sequence
from pathlib import Path

from furpe_label.experts.vocabulary import Reason
from furpe_label.storage.manifest import ColumnValues

PATH_COLUMNS = ("image_path", "video_path")
"""The manifest columns holding the files a row is read from."""

ALLOW_OPTION = "--allow-outside-root"


SCAN_FOLDER_ROWS = 32
"""A folder named by at least this many rows is listed once (its symlinks found by one
``scandir``) instead of ``lstat``-ing each of its files."""


class RootResolver:
    """Resolves paths and says whether they stay under one root (a folder, or a single file)."""

    def __init__(self, root: Path | str) -> None:
        self.root = os.path.realpath(root)
        self._prefix = self.root if self.root.endswith(os.sep) else self.root + os.sep
        self._folders: dict[str, str] = {}

    def folder(self, head: str) -> str:
        """``head`` (an absolute folder) with its symlinks resolved, cached."""
        found = self._folders.get(head)
        if found is None:
            try:
                found = os.path.realpath(head)
            except ValueError:  # an embedded NUL: no such folder, nothing to follow
                found = head
            self._folders[head] = found
        return found

    def resolve(self, path: str) -> str:
        """``path`` with every symlink resolved (folders cached; the file itself lstat'ed)."""
        head, tail = os.path.split(os.path.abspath(path))
        full = os.path.join(self.folder(head), tail)
        return os.path.realpath(full) if os.path.islink(full) else full

    def inside(self, resolved: str) -> bool:
        """True when a resolved path is the root itself or lies under it."""
        return resolved == self.root or resolved.startswith(self._prefix)


def _symlinks(folder: str) -> set[str]:
    """Names of the symlinks directly in ``folder`` (empty when it cannot be listed)."""
    try:
        with os.scandir(folder) as entries:
            return {entry.name for entry in entries if entry.is_symlink()}
    except (OSError, ValueError):
        return set()


def _split(path: str) -> tuple[str, str]:
    """(absolute folder, file name) of ``path``; string operations when it is already
    absolute and normal (the readers' paths are), ``os.path`` otherwise."""
    unusual = "/./" in path or "/../" in path or "//" in path or path.endswith(("/.", "/..", "/"))
    if unusual or not path.startswith("/") or os.sep != "/":
        return os.path.split(os.path.abspath(path))
    head, _, tail = path.rpartition("/")
    return head or "/", tail


def outside_rows(paths: Sequence[str | None], root: Path | str) -> dict[int, str]:
    """Rows whose path leaves ``root``: row -> the resolved path (None paths are skipped).

    Work per folder, not per row: a folder that resolves inside the root holds only inside
    files except its symlinks, which are resolved one by one."""
    resolver = RootResolver(root)
    by_folder: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row, path in enumerate(paths):
        if path is not None:
            head, tail = _split(path)
            by_folder[head].append((row, tail))
    out = {}
    for head, rows in by_folder.items():
        folder = resolver.folder(head)
        folder_inside = resolver.inside(folder + os.sep)
        links = _symlinks(folder) if len(rows) >= SCAN_FOLDER_ROWS else None
        for row, tail in rows:
            full = f"{folder}/{tail}" if folder != "/" else f"/{tail}"
            linked = tail in links if links is not None else os.path.islink(full)
            if folder_inside and not linked:
                continue
            resolved = os.path.realpath(full) if linked else full
            if not resolver.inside(resolved):
                out[row] = resolved
    return out


def mark_outside_root(
    columns: MutableMapping[str, ColumnValues], root: Path, n: int, allow: bool = False
) -> int:
    """Give every row whose file leaves ``root`` the reason ``outside_root`` (in place).

    Args:
        columns: the adapter's manifest columns (``image_path`` and / or ``video_path``);
            ``input_reason`` / ``input_detail`` are added or updated (``outside_root`` replaces
            an earlier reason of the row: its file must not be opened either way).
        root: the dataset root.
        n: the number of rows.
        allow: ``--allow-outside-root``: count such rows, mark none.

    Returns:
        The number of rows whose file leaves the root.
    """
    reasons = list(columns["input_reason"]) if "input_reason" in columns else [None] * n
    details = list(columns["input_detail"]) if "input_detail" in columns else [None] * n
    marked = 0
    for name in PATH_COLUMNS:
        if name not in columns:
            continue
        for row, resolved in outside_rows(list(columns[name]), root).items():
            marked += 1
            if allow:
                continue
            path = columns[name][row]
            leads = "" if resolved == path else f" (resolves to {resolved})"
            reasons[row] = Reason.OUTSIDE_ROOT.value
            details[row] = (
                f"{path}{leads} is outside the dataset root {root}; not opened "
                f"(pass {ALLOW_OPTION} to label files outside it)"
            )
    if marked and not allow:
        columns["input_reason"] = reasons
        columns["input_detail"] = details
    return marked
