"""Pickles, ``.npy`` and ``.npz`` files (the official body-model and expert data files).

Official SMPL, MANO and FLAME pickles were written by Python 2 and hold ``chumpy.ch.Ch``
objects and scipy.sparse matrices; SMPL-X ``.npz`` files and DECA's ``landmark_embedding.npy``
hold pickled dicts (DECA's with torch tensors inside). Every pickle stream goes through
:class:`~.unpickler.RestrictedUnpickler`; plain-dtype ``.npy`` members are read from their
header without any pickle. The result is checked and made plain by :func:`~.plain.plain_data`:
chumpy arrays and pickled tensors come back as numpy arrays, sparse matrices stay sparse.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from furpe_label.experts.safe_load.errors import attributed
from furpe_label.experts.safe_load.npy_format import read_npy, unpickle
from furpe_label.experts.safe_load.npz_archive import NpzMembers


def safe_pickle_loads(data: bytes, source: str) -> Any:
    """Unpickle ``data`` with the allow-list; errors name ``source``."""
    with attributed(source):
        return unpickle(io.BytesIO(data))


def safe_pickle_load(path: Path | str) -> Any:
    """Load a pickle file safely (see the package docstring); errors name the file."""
    path = Path(path)
    return safe_pickle_loads(path.read_bytes(), str(path))


def safe_load_npy(path: Path | str) -> Any:
    """Load a ``.npy`` file; a 0-d object array (``np.save`` of a dict) returns its item."""
    path = Path(path)
    with attributed(path), open(path, "rb") as handle:
        return read_npy(handle, os.fstat(handle.fileno()).st_size)


def safe_load_npz(path: Path | str) -> dict[str, Any]:
    """Every member of an ``.npz`` archive, object members unpickled safely.

    0-d object members (pickled dicts such as SMPL-X's ``joint2num``) return their item.
    Each member is checked against the limits of :mod:`.limits` before it is inflated
    (:class:`~.npz_archive.NpzMembers`; use that to read only the members a format needs).
    Errors name ``path:member``.
    """
    members = NpzMembers(path)
    return {key: members[key] for key in members}


def safe_load_any(path: Path | str) -> Any:
    """Dispatch on the suffix: ``.npz`` -> dict, ``.npy`` -> array/dict, else a pickle."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return safe_load_npz(path)
    if suffix == ".npy":
        return safe_load_npy(path)
    return safe_pickle_load(path)
