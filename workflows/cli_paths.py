"""Checks of output paths the commands are given, before anything is written."""

from __future__ import annotations

from pathlib import Path

__all__ = ["file_in_the_way"]


def file_in_the_way(folder: Path) -> Path | None:
    """The existing non-folder that stops ``folder`` from being made (``folder`` itself or
    its nearest existing parent), or None when ``folder`` is or can become a folder."""
    for path in (folder, *folder.parents):
        if path.exists():
            return None if path.is_dir() else path
        if path.is_symlink():  # a dangling link: mkdir would fail on it
            return path
    return None
