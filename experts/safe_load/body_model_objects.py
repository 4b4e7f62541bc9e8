"""The non-numpy objects of the official body-model pickles: chumpy arrays and sparse matrices.

* ``chumpy.ch.Ch`` (official SMPL/MANO/FLAME pickles; chumpy does not work with current numpy)
  is rebuilt as :class:`ChumpyArrayStandIn`, which keeps only the array under ``x`` in its
  pickled state; the loader then returns that array.
* ``scipy.sparse`` csc/csr/coo matrices (SMPL's ``J_regressor``, the SMPL->SMPL-X ``mtx``) are
  unpickled by filling ``__dict__``, which skips scipy's checks: ``indices``/``indptr`` outside
  the shape make later C++ routines (``todense``, products) read and write out of bounds. Their
  state is accepted only as 1-D numeric ``data`` and integer index arrays, rebuilt through
  scipy's constructor from copies and checked with ``check_format(full_check=True)`` (coo:
  the constructor's bounds check); the pickled canonical/sorted flags are dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse

from furpe_label.experts.safe_load.errors import RefusedError

SPARSE_CLASSES: dict[str, type] = {
    "csc_matrix": scipy.sparse.csc_matrix,
    "csr_matrix": scipy.sparse.csr_matrix,
    "coo_matrix": scipy.sparse.coo_matrix,
}
_INDEX_KINDS = frozenset("iu")
_DATA_KINDS = frozenset("biufc")


class ChumpyArrayStandIn:
    """Takes the place of a ``chumpy`` object while unpickling; keeps the array it wraps.

    A pickled ``Ch`` is rebuilt by ``copyreg._reconstructor(cls, object, None)`` (protocol 0/1)
    or ``NEWOBJ`` (protocol 2) followed by ``BUILD`` with its ``__dict__``, where ``'x'`` is the
    numpy array it wraps (other entries, e.g. caches, are ignored).
    """

    chumpy_class = "chumpy.ch.Ch"
    value: Any = None  # class defaults: instances are made with object.__new__, not __init__
    built = False

    def __setstate__(self, state: Any) -> None:
        if self.built:
            raise RefusedError(f"a second state for one {self.chumpy_class} object")
        if not isinstance(state, dict):
            raise RefusedError(f"{self.chumpy_class} state of type {type(state).__name__}")
        self.value = state.get("x")
        self.built = True


def chumpy_class(qualified_name: str) -> type[ChumpyArrayStandIn]:
    """A stand-in subclass that remembers which chumpy class it replaced."""
    return type("ChumpyArrayStandIn", (ChumpyArrayStandIn,), {"chumpy_class": qualified_name})


def is_sparse_class(cls: Any) -> bool:
    return any(cls is known for known in SPARSE_CLASSES.values())


def _array(state: dict[str, Any], key: str, kinds: frozenset[str], what: str) -> np.ndarray:
    value = state.get(key)
    if type(value) is not np.ndarray or value.ndim != 1 or value.dtype.kind not in kinds:
        found = f"{value.dtype} {value.shape}" if isinstance(value, np.ndarray) else type(value)
        raise RefusedError(f"sparse matrix '{key}' must be a 1-D {what} array, found {found}")
    return value.copy()


def _shape(state: dict[str, Any]) -> tuple[int, int]:
    shape = state.get("_shape", state.get("shape"))
    if (
        not isinstance(shape, tuple)
        or len(shape) != 2
        or not all(isinstance(n, int | np.integer) and n >= 0 for n in shape)
    ):
        raise RefusedError(f"sparse matrix shape {shape!r}")
    return int(shape[0]), int(shape[1])


def _check_coo_bounds(row: np.ndarray, col: np.ndarray, shape: tuple[int, int]) -> None:
    for name, index, size in (("row", row, shape[0]), ("col", col, shape[1])):
        if index.size and (index.min() < 0 or index.max() >= size):
            raise RefusedError(f"coo_matrix {shape} with a {name} index outside [0, {size})")


def checked_sparse(cls: type, state: Any) -> Any:
    """A fresh ``cls`` matrix from a pickled ``__dict__``, fully format-checked."""
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise RefusedError(f"{cls.__name__} state of type {type(state).__name__}")
    shape = _shape(state)
    data = _array(state, "data", _DATA_KINDS, "numeric")
    if cls is scipy.sparse.coo_matrix:
        coords = state.get("coords", (state.get("row"), state.get("col")))
        if not isinstance(coords, tuple) or len(coords) != 2:
            raise RefusedError("coo_matrix coordinates are not a (row, col) pair")
        row = _array({"row": coords[0]}, "row", _INDEX_KINDS, "integer")
        col = _array({"col": coords[1]}, "col", _INDEX_KINDS, "integer")
        if not len(row) == len(col) == len(data):
            raise RefusedError("coo_matrix row, col and data differ in length")
        _check_coo_bounds(row, col, shape)
        return scipy.sparse.coo_matrix((data, (row, col)), shape=shape)
    indices = _array(state, "indices", _INDEX_KINDS, "integer")
    indptr = _array(state, "indptr", _INDEX_KINDS, "integer")
    try:
        matrix = cls((data, indices, indptr), shape=shape)
        matrix.check_format(full_check=True)
    except ValueError as error:
        raise RefusedError(f"{cls.__name__} {shape} with an invalid structure: {error}") from None
    return matrix


def build_sparse(target: Any, state: Any) -> None:
    """``BUILD`` of a sparse matrix: its ``__dict__`` becomes that of a checked fresh copy."""
    if target.__dict__:
        raise RefusedError(f"a second state for one {type(target).__name__}")
    target.__dict__.update(checked_sparse(type(target), state).__dict__)


def recheck_sparse(matrix: Any) -> None:
    """The loaded matrix still passes the full format check (it was built from copies)."""
    if not matrix.__dict__:
        raise RefusedError(f"a {type(matrix).__name__} without its arrays")
    if isinstance(matrix, scipy.sparse.coo_matrix):
        _check_coo_bounds(matrix.row, matrix.col, matrix.shape)
        return
    try:
        matrix.check_format(full_check=True)
    except ValueError as error:
        raise RefusedError(f"{type(matrix).__name__} with an invalid structure: {error}") from None
