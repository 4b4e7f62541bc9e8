"""Reading annotation files safely, with errors that name the file and what is wrong.

Every loader raises :class:`DatasetError` (a ``ValueError``) whose message starts with the file's
path. ``.npz`` files are read member by member (:class:`furpe_label.experts.safe_load.NpzMembers`):
only the members a layout looks up are inflated, each after its declared size was checked
against the safe loader's limits, and object members (HumanData's 0-d dicts) are unpickled with
an allow-list, so a crafted file cannot run code.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from furpe_label.experts.safe_load import NpzMembers, SafeLoadError


class DatasetError(ValueError):
    """A dataset root or annotation file that cannot be used; the message names the file."""


def load_json(path: Path) -> Any:
    """Parse a JSON file; a missing, unreadable or malformed file raises :class:`DatasetError`.

    Every JSON annotation file is parsed here, so this is where nesting too deep for Python's
    parser (a ``RecursionError``), integers too long to convert and bytes that are not UTF-8
    become one sentence naming the file. ``NaN`` / ``Infinity`` literals parse to floats; the
    readers check the values they use (boxes: :mod:`.boxes`)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: annotation file not found")
    try:
        with open(path, "rb") as handle:
            return json.load(handle)
    except json.JSONDecodeError as err:
        raise DatasetError(
            f"{path}: malformed JSON at line {err.lineno} column {err.colno}: {err.msg}"
        ) from err
    except RecursionError as err:
        raise DatasetError(
            f"{path}: JSON nested too deeply to read (more than about "
            f"{sys.getrecursionlimit()} levels of lists or objects)"
        ) from err
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(f"{path}: cannot be read ({err})") from err
    except ValueError as err:  # e.g. an integer of more than 4300 digits
        raise DatasetError(f"{path}: malformed JSON ({err})") from err


def load_npz(path: Path) -> Mapping[str, Any]:
    """The members of an ``.npz`` archive, each read (and checked) when first looked up."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: annotation file not found")
    try:
        return _NpzAnnotations(NpzMembers(path))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise DatasetError(f"{path}: not a readable .npz archive ({err})") from err


class _NpzAnnotations(Mapping[str, Any]):
    """:class:`NpzMembers` whose read errors are :class:`DatasetError` (naming the member)."""

    def __init__(self, members: NpzMembers) -> None:
        self._members = members

    def __getitem__(self, key: str) -> Any:
        try:
            return self._members[key]
        except SafeLoadError as err:
            raise DatasetError(str(err)) from err

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)


def require_keys(data: Mapping[str, Any], keys: Iterable[str], where: str) -> None:
    """Raise :class:`DatasetError` naming ``where`` and every missing key (and those found)."""
    if not isinstance(data, Mapping):
        raise DatasetError(f"{where}: expected an object with keys, got {type(data).__name__}")
    missing = [k for k in keys if k not in data]
    if missing:
        found = ", ".join(sorted(map(str, data))[:20])
        raise DatasetError(f"{where}: missing keys {missing} (found: {found})")


def as_array(value: Any, shape: tuple[int, ...], where: str) -> np.ndarray:
    """``value`` as float64 of ``shape`` (-1 = any); a mismatch raises :class:`DatasetError`."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError, RecursionError) as err:
        raise DatasetError(f"{where}: not numeric ({err})") from err
    ok = array.ndim == len(shape)
    ok = ok and all(s in (-1, a) for s, a in zip(shape, array.shape, strict=True))
    if not ok:
        raise DatasetError(f"{where}: expected shape {shape}, got {array.shape}")
    return array


def strings(values: Any, where: str) -> list[str]:
    """A 1-D array/list of str or bytes (npz ``imgname``) as a list of str.

    Raises:
        DatasetError: not one-dimensional, an entry that is no string (a number, None), or
            bytes that are not UTF-8; the message names ``where`` and the first bad entry.
    """
    try:
        array = np.asarray(values)
    except (TypeError, ValueError, RecursionError) as err:
        raise DatasetError(f"{where}: expected a list of paths ({err})") from err
    if array.ndim != 1:
        raise DatasetError(f"{where}: expected a list of paths, got shape {array.shape}")
    out = []
    for i, value in enumerate(array.tolist()):
        if isinstance(value, bytes):
            try:
                value = value.decode()
            except UnicodeDecodeError:
                raise DatasetError(f"{where}[{i}]: path {value!r} is not UTF-8") from None
        if not isinstance(value, str) or not value:
            raise DatasetError(
                f"{where}[{i}]: expected a non-empty path string, got {type(value).__name__}"
            )
        out.append(value)
    return out


def center_scale_to_xywh(center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """SPIN boxes: (N, 2) centre px and (N,) scale -> (N, 4) square pixel xywh, side 200*scale."""
    side = 200.0 * np.asarray(scale, np.float64).reshape(-1)
    center = np.asarray(center, np.float64).reshape(-1, 2)
    return np.stack([center[:, 0] - side / 2, center[:, 1] - side / 2, side, side], axis=1)


def resolve_under(root: Path, relative: str) -> str:
    """Absolute, normalised path of ``relative`` under ``root`` (absolute ``relative`` kept).

    ``os.path`` rather than ``pathlib``: it runs once per row of datasets with 10^6 rows."""
    return os.path.abspath(os.path.join(root, relative))


def person_indices(image_paths: list[str]) -> list[int]:
    """Running index of each row among the rows of the same image, in file order."""
    seen: dict[str, int] = {}
    out = []
    for path in image_paths:
        out.append(seen.get(path, 0))
        seen[path] = out[-1] + 1
    return out
