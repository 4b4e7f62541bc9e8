"""One ``.npy`` stream read safely: plain dtypes from the raw bytes, object arrays unpickled.

Shared by ``.npy`` files, ``.npz`` members and pickles (:mod:`.files`, :mod:`.npz_archive`).
The header's shape x itemsize must fit in the bytes the stream announces (the file size, or a
zip member's declared size) before any buffer is allocated, and the data is read in chunks of
:data:`~.limits.NPZ_READ_CHUNK` bytes, so a stream that claims more than it holds, or inflates
further than it declared, never takes more memory than was announced.
"""

from __future__ import annotations

import math
from typing import Any, BinaryIO

import numpy as np

from furpe_label.experts.safe_load.errors import RefusedError
from furpe_label.experts.safe_load.limits import NPZ_READ_CHUNK
from furpe_label.experts.safe_load.plain import plain_data
from furpe_label.experts.safe_load.torch_files import load_pickled_storage
from furpe_label.experts.safe_load.unpickler import RestrictedUnpickler


def unpickle(handle: BinaryIO) -> Any:
    """One pickle from ``handle`` through the restricted unpickler, made plain."""
    unpickler = RestrictedUnpickler(
        handle, numpy_objects=True, body_model_objects=True, nested_storage=load_pickled_storage
    )
    return plain_data(unpickler.load(), tensors_to_numpy=True)


def read_npy_header(handle: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` of the ``.npy`` stream at ``handle``."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(handle)
    return np.lib.format.read_array_header_2_0(handle)


def read_npy(handle: BinaryIO, size: int, allow_objects: bool = True) -> Any:
    """The array of a ``.npy`` stream announced as ``size`` bytes (header included).

    A 0-d object array (``np.save`` of a dict) returns its item. ``allow_objects=False``
    refuses object arrays without unpickling them.
    """
    shape, fortran, dtype = read_npy_header(handle)
    if dtype.hasobject:
        if not allow_objects:
            raise RefusedError("an array of pickled Python objects (only plain arrays are read)")
        return unpickle(handle)
    if not all(isinstance(n, int) and n >= 0 for n in shape) or dtype.itemsize == 0:
        raise ValueError(f"npy header with shape {shape} and dtype {dtype}")
    count = math.prod(shape)
    if count * dtype.itemsize > size:
        raise ValueError(
            f"npy header announces {shape} x {dtype} ({count * dtype.itemsize} bytes), more "
            f"than the {size} bytes the file holds"
        )
    array = np.empty(count, dtype=dtype)
    _read_into(handle, memoryview(array.view(np.uint8)))
    return array.reshape(shape, order="F" if fortran else "C")


def _read_into(handle: BinaryIO, target: memoryview) -> None:
    filled = 0
    while filled < len(target):
        chunk = handle.read(min(NPZ_READ_CHUNK, len(target) - filled))
        if not chunk:
            raise ValueError(f"truncated: {filled} of {len(target)} data bytes")
        target[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
