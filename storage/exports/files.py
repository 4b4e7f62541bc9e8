"""Writing export files: each to a hidden temporary name in its folder, then renamed.

A killed export leaves only hidden ``.*.tmp`` files, never a truncated file under the name a
trainer reads. No fsync per file (an export writes up to one file per image; the summary
``export.json``, written last, says the export finished).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

__all__ = [
    "check_dataset_name",
    "check_empty_dest",
    "dest_inside_run",
    "save_json",
    "save_npy",
    "save_npz",
]

_NAME_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_npy(path: Path, value: Any) -> None:
    """``np.save`` ``value`` (an array, or a dict saved as a 0-d object array) to ``path``."""
    _write(path, lambda handle: np.save(handle, value, allow_pickle=True))


def save_npz(path: Path, arrays: dict[str, Any], compressed: bool = False) -> None:
    """``np.savez`` (or ``savez_compressed``) ``arrays`` to ``path``."""
    save = np.savez_compressed if compressed else np.savez
    _write(path, lambda handle: save(handle, **arrays))


def save_json(path: Path, data: Any) -> None:
    """Indented JSON (no NaN) to ``path``."""
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"
    _write(path, lambda handle: handle.write(text.encode()))


def check_empty_dest(dest: Path) -> None:
    """``dest`` must not exist, or be an empty folder (an export never mixes with old files)."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FileExistsError(f"{dest} exists and is not an empty folder: choose a new --dest")


def dest_inside_run(out: Path, dest: Path) -> bool:
    """``dest`` is the run folder ``out`` or lies under it, symbolic links resolved (an
    export written there would change the run it reads)."""
    run, target = out.resolve(), dest.resolve()
    return target == run or run in target.parents


def check_dataset_name(name: str) -> str:
    """A dataset name used as a folder / file name: ``/``-separated parts of letters, digits,
    ``. _ -`` (not starting with ``.``); ValueError otherwise."""
    parts = name.split("/")
    if not all(_NAME_PART.fullmatch(part) for part in parts):
        raise ValueError(
            f"dataset name {name!r}: use letters, digits, '.', '_', '-' (and '/' between "
            "folders), not starting with '.'"
        )
    return name
