"""Test doubles: hostile model files, written opcode by opcode, for the memory-safety tests.

Every file here uses only globals a safe loader must allow for the official files (numpy
array/dtype/scalar rebuilding, scipy.sparse, torch tensor rebuilding), combined so that a
loader trusting them crashes the process or hands out memory it should not:

* :func:`edited_dtype_pickle`: a dict whose value is a numpy scalar (0-d) or array (n-d) of a
  dtype whose pickled state was edited to claim Python objects (``flags`` 57, no list pickle),
  so numpy reads the raw bytes that follow as object pointers;
* :func:`sparse_outside_shape`: a scipy.sparse matrix whose ``indices`` point outside its
  shape (pickling stores ``__dict__`` without scipy's checks; ``todense`` then writes out of
  bounds);
* :func:`oversized_tensor_npy`: DECA's ``landmark_embedding.npy`` layout (np.save of a dict)
  with a tensor rebuilt larger than its pickled storage;
* :func:`oversized_tensor_checkpoint`: a ``torch.save`` file (zip or legacy) holding one tensor
  whose size is larger than its storage; the legacy variant can also leave the storage out of
  the trailing key list (``torch.load(weights_only=True)`` in torch 2.13 then returns
  uninitialised memory).

:func:`python2_chumpy_pickle` writes the benign Python 2, protocol 0 layout of the official
SMPL/MANO pickles (``copy_reg``, ``__builtin__``, ``S'...'`` strings) for compatibility tests.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import struct
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse
import torch

OBJECT_FLAGS_WITHOUT_LIST_PICKLE = 57  # NPY_ITEM_REFCOUNT | NEEDS_INIT | NEEDS_PYAPI | GETITEM


def global_op(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def text_op(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def bytes_op(data: bytes) -> bytes:
    """BINBYTES (protocol 3)."""
    return b"B" + struct.pack("<I", len(data)) + data


def int_op(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def tuple_op(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def call_op(function: bytes, *args: bytes) -> bytes:
    return function + tuple_op(*args) + b"R"


def dict_pickle(key: str, value_ops: bytes) -> bytes:
    """Protocol-3 pickle of ``{key: <value_ops>}``."""
    return b"\x80\x03}" + text_op(key) + value_ops + b"s."


def dtype_op(type_string: str, flags: int, endian: str = "|", elsize: int = 8) -> bytes:
    """``numpy.dtype(type_string, False, True)`` then BUILD with an edited state."""
    made = call_op(global_op("numpy", "dtype"), text_op(type_string), b"\x89", b"\x88")
    state = tuple_op(
        int_op(3), text_op(endian), b"N", b"N", b"N", int_op(elsize), int_op(8), int_op(flags)
    )
    return made + state + b"b"


def edited_dtype_pickle(
    key: str, shape: tuple[int, ...] | None, type_string: str = "V8", fill: bytes = b"\x41"
) -> bytes:
    """``{key: value}`` where value reads ``fill`` bytes through an object-claiming dtype.

    ``shape=None``: ``numpy.core.multiarray.scalar(dtype, raw)`` (0-d); otherwise
    ``_reconstruct(ndarray, (0,), b'b')`` + ``ndarray.__setstate__`` with that shape (n-d).
    """
    dtype = dtype_op(type_string, OBJECT_FLAGS_WITHOUT_LIST_PICKLE)
    if shape is None:
        value = call_op(global_op("numpy.core.multiarray", "scalar"), dtype, bytes_op(fill * 8))
    else:
        empty = call_op(
            global_op("numpy.core.multiarray", "_reconstruct"),
            global_op("numpy", "ndarray"),
            tuple_op(int_op(0)),
            b"C\x01b",
        )
        count = int(np.prod(shape))
        state = tuple_op(
            int_op(1), tuple_op(*map(int_op, shape)), dtype, b"\x89", bytes_op(fill * 8 * count)
        )
        value = empty + state + b"b"
    return dict_pickle(key, value)


def sparse_outside_shape(matrix: Any, index: int = 10**6) -> Any:
    """``matrix`` (csc/csr) with its first stored index moved outside the shape, unchecked."""
    broken = matrix.copy()
    broken.indices = broken.indices.copy()
    broken.indices[0] = index
    return broken


def typed_storage(values: torch.Tensor) -> torch.storage.TypedStorage:
    """The storage object ``torch.save`` and ``pickle`` write for ``values``."""
    return torch.storage.TypedStorage(
        wrap_storage=values.untyped_storage(), dtype=values.dtype, _internal=True
    )


def storage_bytes(values: torch.Tensor) -> bytes:
    """What ``pickle`` stores for a tensor's storage: a legacy ``torch.save`` of it."""
    return typed_storage(values).__reduce__()[1][0]


def tensor_op(values: torch.Tensor, size: int) -> bytes:
    """``_rebuild_tensor_v2(_load_from_bytes(<values' storage>), 0, (size,), (1,), ...)``."""
    storage = call_op(
        global_op("torch.storage", "_load_from_bytes"), bytes_op(storage_bytes(values))
    )
    return call_op(
        global_op("torch._utils", "_rebuild_tensor_v2"),
        storage,
        int_op(0),
        tuple_op(int_op(size)),
        tuple_op(int_op(1)),
        b"\x89",
        call_op(global_op("collections", "OrderedDict")),
    )


def oversized_tensor_npy(path: Path, key: str, stored: torch.Tensor, size: int) -> None:
    """An ``np.save``-style object ``.npy`` whose dict holds an oversized tensor at ``key``."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|O", "fortran_order": False, "shape": ()}
    )
    path.write_bytes(header.getvalue() + dict_pickle(key, tensor_op(stored, size)))


class _LyingTensor:
    """Pickles as ``_rebuild_tensor_v2(storage, 0, (size,), (1,), False, {})``."""

    def __init__(self, stored: torch.Tensor, size: int) -> None:
        self.storage = typed_storage(stored)
        self.size = size

    def __reduce__(self):
        args = (self.storage, 0, (self.size,), (1,), False, OrderedDict())
        return (torch._utils._rebuild_tensor_v2, args)


def oversized_tensor_checkpoint(
    path: Path, state: dict[str, Any], key: str, size: int, legacy: bool, drop_keys: bool = False
) -> None:
    """``torch.save(state)`` with ``state[key]`` rebuilt at ``size`` elements.

    ``drop_keys`` (legacy only): the trailing storage-key list is written empty, so no storage
    is filled from the file.
    """
    lying = dict(state)
    lying[key] = _LyingTensor(state[key].reshape(-1), size)
    buffer = io.BytesIO()
    torch.save(lying, buffer, _use_new_zipfile_serialization=not legacy)
    raw = buffer.getvalue()
    if drop_keys:
        stream = io.BytesIO(raw)
        for _ in range(4):  # magic number, protocol, system info, the object
            for _ in pickletools.genops(stream):
                pass
        start = stream.tell()
        for _ in pickletools.genops(stream):
            pass
        raw = raw[:start] + pickle.dumps([], protocol=2) + raw[stream.tell() :]
    path.write_bytes(raw)


def python2_chumpy_pickle(content: dict[str, Any]) -> bytes:
    """Protocol 0 as Python 2 wrote the official pickles: chumpy ``Ch`` for arrays under
    keys starting with ``ch_`` (the prefix is dropped), plain arrays, csc matrices, strings."""
    memo = iter(range(10**6))

    def put() -> bytes:
        return b"p" + str(next(memo)).encode() + b"\n"

    def string(data: bytes) -> bytes:
        return b"S" + repr(data)[1:].encode() + b"\n" + put()

    def array(value: np.ndarray) -> bytes:
        value = np.ascontiguousarray(value)
        shape = b"(" + b"".join(b"I%d\n" % n for n in value.shape) + b"t" + put()
        dtype = (
            b"cnumpy\ndtype\n("
            + string(value.dtype.str[1:].encode())
            + b"I0\nI1\ntR"
            + put()
            + b"(I3\n"
            + string(value.dtype.str[:1].encode())
            + b"NNNI-1\nI-1\nI0\ntb"
        )
        return (
            b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I0\nt"
            + string(b"b")
            + b"tR"
            + put()
            + b"(I1\n"
            + shape
            + dtype
            + b"I00\n"
            + string(value.tobytes())
            + b"tb"
        )

    def reconstructed(module: bytes, name: bytes, state: bytes) -> bytes:
        return (
            b"ccopy_reg\n_reconstructor\n(c"
            + module
            + b"\n"
            + name
            + b"\nc__builtin__\nobject\n"
            + b"Ntp"
            + str(next(memo)).encode()
            + b"\nR"
            + put()
            + state
            + b"b"
        )

    def value(item: Any, chumpy: bool) -> bytes:
        if chumpy:
            return reconstructed(b"chumpy.ch", b"Ch", b"(dS'x'\n" + array(item) + b"s")
        if scipy.sparse.issparse(item):
            fields = {"data": item.data, "indices": item.indices, "indptr": item.indptr}
            state = b"(d" + b"".join(
                string(k.encode()) + array(v) + b"s" for k, v in fields.items()
            )
            state += b"S'_shape'\n(I%d\nI%d\ntsS'maxprint'\nI50\ns" % item.shape
            return reconstructed(b"scipy.sparse.csc", b"csc_matrix", state)
        if isinstance(item, str):
            return string(item.encode())
        return array(np.asarray(item))

    body = b"(dp0\n"
    next(memo)
    for key, item in content.items():
        name = key.removeprefix("ch_")
        body += string(name.encode()) + value(item, key.startswith("ch_")) + b"s"
    return body + b"."
