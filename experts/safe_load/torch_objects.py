"""Checked stand-ins for the torch globals a pickle may use: storage types and tensor rebuilds.

``torch.save`` pickles a tensor as ``_rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, hooks)`` where ``storage`` is a persistent id naming stored bytes. torch's own
rebuild calls ``Tensor.set_``, which silently *grows* a storage smaller than the view asks for
and returns uninitialised memory. Here a tensor is made only as a view
(``torch.as_strided``) of a :class:`StoredData` whose bytes came from the file, after checking
that sizes and strides are non-negative, that ``offset + sum((size - 1) * stride)`` lies inside
the stored elements, and that the view has no more elements than were stored.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from furpe_label.experts.safe_load.errors import RefusedError

#: the legacy storage class names ``torch.save`` writes (``GLOBAL torch FloatStorage``).
STORAGE_DTYPES: dict[str, torch.dtype] = {
    "FloatStorage": torch.float32,
    "DoubleStorage": torch.float64,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
    "ComplexFloatStorage": torch.complex64,
    "ComplexDoubleStorage": torch.complex128,
}


class StorageType:
    """What ``GLOBAL torch FloatStorage`` (etc.) resolves to: a dtype marker, not callable."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = STORAGE_DTYPES[name]

    def __repr__(self) -> str:
        return f"torch.{self.name}"


class StoredData:
    """One storage of a torch file: ``elements``, a 1-D tensor of its dtype read from the file.

    Attributes:
        key: the storage's key in the file.
        buffer: the bytes ``elements`` views (zeros until filled).
        elements: (numel,) tensor holding the stored values.
        filled: whether the values were read (legacy files store them after the pickle).
    """

    def __init__(self, key: str, buffer: bytearray, dtype: torch.dtype, filled: bool) -> None:
        self.key = key
        self.buffer = buffer
        self.elements = (
            torch.frombuffer(buffer, dtype=dtype) if buffer else torch.zeros(0, dtype=dtype)
        )
        self.filled = filled
        if filled:
            self.check_booleans()

    def check_booleans(self) -> None:
        """Boolean storages may hold only bytes 0 and 1 (anything else is undefined in C++)."""
        if self.elements.dtype is torch.bool and self.buffer and max(self.buffer) > 1:
            raise RefusedError(f"boolean storage '{self.key}' with bytes other than 0 and 1")


def storage_numel(storage_type: Any, numel: Any) -> tuple[torch.dtype, int]:
    """The dtype and element count of a persistent id's storage, checked."""
    if not isinstance(storage_type, StorageType):
        raise RefusedError(f"a stored tensor of type {storage_type!r} (only plain storage types)")
    if type(numel) is not int or numel < 0:
        raise RefusedError(f"a storage of {numel!r} elements")
    return storage_type.dtype, numel


def _ints(values: Any, what: str) -> tuple[int, ...]:
    if not isinstance(values, tuple | list | torch.Size) or not all(
        type(v) is int and v >= 0 for v in values
    ):
        raise RefusedError(f"tensor {what} {values!r} (needs non-negative integers)")
    return tuple(values)


def rebuild_tensor(
    storage: Any,
    storage_offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any = False,
    backward_hooks: Any = None,
    metadata: Any = None,
) -> torch.Tensor:
    """``torch._utils._rebuild_tensor_v2`` as a checked view of the stored elements."""
    if not isinstance(storage, StoredData):
        raise RefusedError(f"a tensor rebuilt from {type(storage).__name__} (needs stored data)")
    (offset,) = _ints((storage_offset,), "storage offset")
    size, stride = _ints(size, "size"), _ints(stride, "stride")
    if len(size) != len(stride):
        raise RefusedError(f"tensor size {size} and stride {stride} differ in length")
    if backward_hooks or metadata or not isinstance(requires_grad, bool):
        raise RefusedError("a tensor with backward hooks, metadata or a non-boolean requires_grad")
    stored = storage.elements.numel()
    count = math.prod(size)
    end = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True)) + 1 if count else 0
    if offset > stored or end > stored or count > stored:
        raise RefusedError(
            f"a tensor of size {list(size)}, stride {list(stride)}, offset {offset} that needs "
            f"{max(end, count)} elements of a storage holding {stored} "
            f"(storage '{storage.key}'; torch would return uninitialised memory)"
        )
    tensor = torch.as_strided(storage.elements, size, stride, offset)
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor
