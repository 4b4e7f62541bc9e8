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
import math
import os
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from furpe_label.experts.safe_load.errors import attributed
from furpe_label.experts.safe_load.plain import plain_data
from furpe_label.experts.safe_load.torch_files import load_pickled_storage
from furpe_label.experts.safe_load.unpickler import RestrictedUnpickler


def _unpickle(handle: BinaryIO) -> Any:
    unpickler = RestrictedUnpickler(
        handle, numpy_objects=True, body_model_objects=True, nested_storage=load_pickled_storage
    )
    return plain_data(unpickler.load(), tensors_to_numpy=True)


def safe_pickle_loads(data: bytes, source: str) -> Any:
    """Unpickle ``data`` with the allow-list; errors name ``source``."""
    with attributed(source):
        return _unpickle(io.BytesIO(data))


def safe_pickle_load(path: Path | str) -> Any:
    """Load a pickle file safely (see the package docstring); errors name the file."""
    path = Path(path)
    return safe_pickle_loads(path.read_bytes(), str(path))


def _read_npy(handle: BinaryIO, size: int) -> Any:
    """One ``.npy`` stream of ``size`` bytes: plain dtypes from the raw bytes, object arrays
    unpickled."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
    if dtype.hasobject:
        return _unpickle(handle)
    if not all(isinstance(n, int) and n >= 0 for n in shape) or dtype.itemsize == 0:
        raise ValueError(f"npy header with shape {shape} and dtype {dtype}")
    count = math.prod(shape)
    if count * dtype.itemsize > size:
        raise ValueError(f"npy header announces {count} x {dtype}, more than the file holds")
    data = handle.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise ValueError(f"truncated: {len(data)} of {count * dtype.itemsize} data bytes")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def safe_load_npy(path: Path | str) -> Any:
    """Load a ``.npy`` file; a 0-d object array (``np.save`` of a dict) returns its item."""
    path = Path(path)
    with attributed(path), open(path, "rb") as handle:
        return _read_npy(handle, os.fstat(handle.fileno()).st_size)


def safe_load_npz(path: Path | str) -> dict[str, Any]:
    """Every member of an ``.npz`` archive, object members unpickled safely.

    0-d object members (pickled dicts such as SMPL-X's ``joint2num``) return their item.
    Errors name ``path:member``.
    """
    path = Path(path)
    out: dict[str, Any] = {}
    with attributed(path), zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            key = member.filename.removesuffix(".npy")
            with attributed(f"{path}:{key}"), archive.open(member) as handle:
                out[key] = _read_npy(handle, member.file_size)  # type: ignore[arg-type]
    return out


def safe_load_any(path: Path | str) -> Any:
    """Dispatch on the suffix: ``.npz`` -> dict, ``.npy`` -> array/dict, else a pickle."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return safe_load_npz(path)
    if suffix == ".npy":
        return safe_load_npy(path)
    return safe_pickle_load(path)
