"""The report page's row columns packed into one deflated binary block, values exact.

Every (N,) column is stored in the narrowest dtype that holds its values exactly and read back
in the browser as a native typed array (``whatif.js`` ``decodeRows``): float32 scores stay the
float32 numbers Python compares, integers get the smallest of ``i1 u1 i2 u2 i4`` their range
fits. A column's spec (JSON) is one of

* ``{"t": dtype, "c": value}``: every row holds ``value`` (``null``: NaN);
* ``{"t": dtype, "r": start}``: the rows hold ``start, start + 1, ...`` (``sample_idx``);
* ``{"t": dtype, "o": offset}``: N values at byte ``offset`` of the block;
* ``{"t": "f4" | "f8", "o": offset, "m": mask_offset, "k": count}``: the ``count`` non-NaN
  values in row order at ``offset`` and, at ``mask_offset``, a bitmap of (N + 7) // 8 bytes
  (bit ``i % 8`` of byte ``i // 8`` set where row ``i`` holds a value; NaN elsewhere).

Offsets are multiples of 8, so each slice of the inflated block is a typed-array view with no
copy; bytes are little-endian. The block travels deflated (zlib, RFC 1950: the browser's
``DecompressionStream("deflate")``) and base64-encoded.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import numpy as np

__all__ = ["ColumnPack", "narrowest_int_dtype", "unpack_column"]

_DTYPES = {
    "f4": "<f4",
    "f8": "<f8",
    "i1": "i1",
    "u1": "u1",
    "i2": "<i2",
    "u2": "<u2",
    "i4": "<i4",
}
_INT_ORDER = ("i1", "u1", "i2", "u2", "i4")
_ALIGN = 8
_LEVEL = 1
"""zlib level: 6 is 1.7x slower for 1.5 % fewer bytes on float32 scores (random low bits)."""


def narrowest_int_dtype(values: np.ndarray) -> str:
    """The smallest of ``i1 u1 i2 u2 i4`` that holds every value of the integer / bool array."""
    if values.size == 0:
        return "u1"
    low, high = int(values.min()), int(values.max())
    for name in _INT_ORDER:
        info = np.iinfo(_DTYPES[name])
        if info.min <= low and high <= info.max:
            return name
    raise ValueError(f"a report column holds integers outside int32 ({low} .. {high})")


class ColumnPack:
    """Collects (N,) columns into one binary block (see the module docstring)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._parts: list[bytes] = []
        self._size = 0

    def _append(self, data: bytes) -> int:
        offset = self._size
        pad = -len(data) % _ALIGN
        self._parts.append(data + b"\0" * pad)
        self._size += len(data) + pad
        return offset

    def _checked(self, values: np.ndarray) -> np.ndarray:
        array = np.asarray(values)
        if array.ndim != 1 or len(array) != self.n:
            raise ValueError(
                f"a report column must be 1-D with {self.n} rows, got shape {array.shape}"
            )
        return array

    def add_int(self, values: np.ndarray) -> dict[str, Any]:
        """An integer or bool column in its narrowest dtype; a run of consecutive integers
        (``sample_idx``) as its start, one value as a constant."""
        array = self._checked(values).astype(np.int64)
        dtype = narrowest_int_dtype(array)
        if self.n and bool((array == array[0]).all()):
            return {"t": dtype, "c": int(array[0])}
        if self.n > 1 and bool((np.diff(array) == 1).all()):
            return {"t": narrowest_int_dtype(array[[0, -1]].astype(np.int64)), "r": int(array[0])}
        data = np.ascontiguousarray(array.astype(_DTYPES[dtype])).tobytes()
        return {"t": dtype, "o": self._append(data)}

    def add_float(self, values: np.ndarray, dtype: str = "f4") -> dict[str, Any]:
        """A float column (``f4``: values must be float32-exact, as the audit stores them);
        NaN rows travel as a bitmap."""
        array = self._checked(values)
        cast = np.ascontiguousarray(array.astype(_DTYPES[dtype]))
        if array.dtype.kind == "f" and not np.array_equal(cast, array, equal_nan=True):
            raise ValueError(f"a report column's values are not exact in {dtype}")
        has = ~np.isnan(cast)
        if not has.any():
            return {"t": dtype, "c": None}
        if self.n and has.all() and bool((cast == cast[0]).all()):
            return {"t": dtype, "c": cast[0].item()}
        if has.all():
            return {"t": dtype, "o": self._append(cast.tobytes())}
        mask = np.packbits(has, bitorder="little").tobytes()
        return {
            "t": dtype,
            "o": self._append(cast[has].tobytes()),
            "m": self._append(mask),
            "k": int(has.sum()),
        }

    def raw(self) -> bytes:
        """The block as it is after inflating (what the offsets point into)."""
        return b"".join(self._parts)

    def encoded(self) -> dict[str, Any]:
        """``{"bytes": inflated size, "data": base64 of the zlib stream}``."""
        raw = self.raw()
        data = base64.b64encode(zlib.compress(raw, _LEVEL)).decode("ascii")
        return {"bytes": len(raw), "data": data}


def unpack_column(spec: dict[str, Any], raw: bytes, n: int) -> np.ndarray:
    """One column back from its spec and the inflated block: (n,) array of the spec's dtype
    (the reading ``whatif.js`` does, in Python, for tests and tools)."""
    dtype = np.dtype(_DTYPES[spec["t"]])
    if "c" in spec:
        return np.full(n, np.nan if spec["c"] is None else spec["c"], dtype)
    if "r" in spec:
        return np.arange(spec["r"], spec["r"] + n).astype(dtype)
    if "m" not in spec:
        return np.frombuffer(raw, dtype, n, spec["o"]).copy()
    mask = np.frombuffer(raw, np.uint8, (n + 7) // 8, spec["m"])
    has = np.unpackbits(mask, count=n, bitorder="little").astype(bool)
    out = np.full(n, np.nan, dtype)
    out[has] = np.frombuffer(raw, dtype, spec["k"], spec["o"])
    return out
