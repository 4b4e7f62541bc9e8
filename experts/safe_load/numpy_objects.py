"""Checked stand-ins for the numpy globals a pickle may call, and the checks of their states.

A pickled numpy array is ``_reconstruct(ndarray, (0,), b'b')`` followed by ``BUILD`` with
``(version, shape, dtype, is_fortran, raw)``; a dtype is ``dtype('f8', False, True)`` followed
by ``BUILD`` with its state tuple; a 0-d scalar is ``scalar(dtype, raw_bytes)``. numpy trusts
these states: a dtype whose flags were edited to claim Python objects makes numpy read raw
bytes as object pointers (a crash, or memory the file chose). Here

* a dtype is built only from a plain type string (``'<f8'``, ``'O8'``, ``'U7'``, ``'V8'``, no
  structured, sub-array or datetime dtypes), always as a private copy;
* its ``BUILD`` state is first applied to a throw-away copy, and accepted only if the result
  equals what numpy itself builds for that type string (byte order aside); a dtype is built
  once and before its first use;
* an array state is accepted only with such a dtype, raw bytes of exactly the array's size for
  plain dtypes, and a list of pickled Python objects (one per element) for object dtypes;
* a scalar needs exactly ``itemsize`` raw bytes; an object "scalar" is the pickled object.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from furpe_label.experts.safe_load.errors import RefusedError

_TYPE_STRING = re.compile(r"[<>|=]?[?bBhHiIlLqQpPefdgFDGSUVOcu]\d*")
_ALLOWED_KINDS = frozenset("biufcSUVO")
_MAX_ELEMENTS = 2**40  # far above any model file; keeps sizes in plain integer range
_ARRAY_SUBTYPE_ARGS = ((0,), (b"b", "b"))


class NumpyStateError(RefusedError):
    """A numpy object state that the loader refuses (the message says which and why)."""


class NumpyBuilder:
    """Builds numpy dtypes, arrays and scalars for one unpickling, checking every state."""

    def __init__(self) -> None:
        self._type_strings: dict[int, tuple[str, bool]] = {}
        self._used_dtypes: set[int] = set()
        self._made_arrays: set[int] = set()
        self._built: set[int] = set()
        self._keep_alive: list[Any] = []  # ids stay unique while the load runs

    # ------------------------------------------------------------------ callables
    def dtype(self, type_string: Any, align: Any = False, copy: Any = True) -> np.dtype:
        """``numpy.dtype(type_string, align, copy)`` for a plain type string (always a copy)."""
        if not isinstance(type_string, str) or not _TYPE_STRING.fullmatch(type_string):
            raise NumpyStateError(f"numpy dtype from {type_string!r} (only plain type strings)")
        if not isinstance(align, bool | int) or not isinstance(copy, bool | int):
            raise NumpyStateError("numpy dtype with non-boolean align/copy arguments")
        made = np.dtype(type_string, bool(align), True)
        if made.kind not in _ALLOWED_KINDS or made.names is not None or made.subdtype is not None:
            raise NumpyStateError(f"numpy dtype {type_string!r} (kind '{made.kind}' not allowed)")
        self._type_strings[id(made)] = (type_string, bool(align))
        self._keep_alive.append(made)
        return made

    def reconstruct(self, subtype: Any, shape: Any, typecode: Any) -> np.ndarray:
        """``numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')``: an empty array to BUILD."""
        if subtype is not np.ndarray or (shape, typecode) not in _reconstruct_args():
            raise NumpyStateError(
                f"_reconstruct({getattr(subtype, '__name__', type(subtype).__name__)}, "
                f"{shape!r}, {typecode!r}) (only the empty ndarray numpy itself pickles)"
            )
        made = np.empty((0,), np.int8)
        self._keep_alive.append(made)
        self._made_arrays.add(id(made))
        return made

    def scalar(self, dtype: Any, raw: Any = None) -> Any:
        """``numpy.core.multiarray.scalar(dtype, raw)`` with a checked dtype and exact size."""
        self._use(dtype)
        if dtype.hasobject:
            return raw  # an object scalar is the pickled object itself
        data = _raw_bytes(raw)
        if len(data) != dtype.itemsize:
            raise NumpyStateError(
                f"numpy scalar of {dtype} from {len(data)} bytes (needs {dtype.itemsize})"
            )
        return np.core.multiarray.scalar(dtype, data)

    # ------------------------------------------------------------------ BUILD
    def build(self, target: Any, state: Any) -> None:
        """Apply a pickled state to a dtype or array made by this builder, after checking it."""
        if id(target) in self._built:
            raise NumpyStateError(f"a second state for one numpy {type(target).__name__}")
        if isinstance(target, np.dtype):
            self._build_dtype(target, state)
        elif type(target) is np.ndarray and id(target) in self._made_arrays:
            self._build_array(target, state)
        else:
            raise NumpyStateError(f"state for a numpy {type(target).__name__} not made here")
        self._built.add(id(target))

    def _build_dtype(self, target: np.dtype, state: Any) -> None:
        made_from = self._type_strings.get(id(target))
        if made_from is None:
            raise NumpyStateError("state for a numpy dtype that was not built from a type string")
        if id(target) in self._used_dtypes:
            raise NumpyStateError(f"state for numpy dtype {target} after it was used")
        expected = _canonical_state(made_from, state)
        probe = np.dtype(*made_from, True)
        probe.__setstate__(state)  # a private copy: never used, only compared
        if probe.__reduce__()[2] != expected:
            raise NumpyStateError(
                f"numpy dtype {made_from[0]!r} with an edited state {state!r} "
                f"(numpy builds {expected!r})"
            )
        target.__setstate__(state)

    def _build_array(self, target: np.ndarray, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise NumpyStateError("numpy array state is not a 4- or 5-tuple")
        shape, dtype, fortran, raw = state[-4:]
        if not isinstance(shape, tuple) or not all(_is_count(n) for n in shape):
            raise NumpyStateError(f"numpy array shape {shape!r}")
        self._use(dtype)
        if not isinstance(fortran, bool | int):
            raise NumpyStateError("numpy array order flag is not a boolean")
        count = math.prod(shape)
        if count > _MAX_ELEMENTS:
            raise NumpyStateError(f"numpy array of shape {shape} ({count} elements)")
        if len(state) == 5 and type(state[0]) is not int:
            raise NumpyStateError("numpy array state version is not an integer")
        if dtype.hasobject:
            if type(raw) is not list or len(raw) != count:
                raise NumpyStateError(
                    f"object array of {count} elements from {type(raw).__name__} (needs a list "
                    "of pickled objects, one per element)"
                )
        else:
            raw = _raw_bytes(raw)
            if len(raw) != count * dtype.itemsize:
                raise NumpyStateError(
                    f"numpy array {shape} of {dtype} from {len(raw)} bytes "
                    f"(needs {count * dtype.itemsize})"
                )
        target.__setstate__((*state[:-4], shape, dtype, fortran, raw))

    def _use(self, dtype: Any) -> None:
        if not isinstance(dtype, np.dtype) or id(dtype) not in self._type_strings:
            raise NumpyStateError(f"numpy data with a dtype not built here ({type(dtype)})")
        self._used_dtypes.add(id(dtype))


def _reconstruct_args() -> list[tuple[Any, Any]]:
    shape, codes = _ARRAY_SUBTYPE_ARGS
    return [(shape, code) for code in codes]


def _is_count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _raw_bytes(raw: Any) -> bytes:
    """Raw element bytes: ``bytes``, or the latin-1 ``str`` of Python 2 pickles."""
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        return raw.encode("latin1")
    raise NumpyStateError(f"numpy raw data of type {type(raw).__name__} (needs bytes)")


def _canonical_state(made_from: tuple[str, bool], state: Any) -> tuple[Any, ...]:
    """The state numpy builds for the type string, in the byte order ``state`` asks for."""
    if not isinstance(state, tuple) or len(state) not in (8, 9):
        raise NumpyStateError(f"numpy dtype state {state!r} is not an 8- or 9-tuple")
    if any(part is not None for part in state[2:5]):
        raise NumpyStateError("structured or sub-array numpy dtype state")
    if not all(type(part) is int for part in (state[0], *state[5:8])):
        raise NumpyStateError(f"numpy dtype state {state!r} with non-integer fields")
    canonical = np.dtype(*made_from, True)
    if state[1] in ("<", ">") and canonical.byteorder not in ("|",):
        canonical = canonical.newbyteorder(state[1])
    elif state[1] not in ("|", "=", "<", ">"):
        raise NumpyStateError(f"numpy dtype byte order {state[1]!r}")
    return canonical.__reduce__()[2]
