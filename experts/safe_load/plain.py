"""The last step of every load: the result must be plain data, and is made plain.

Walks the unpickled object (depth <= 64, no cycles) and accepts only: ``None``, booleans,
numbers, strings, bytes, numpy scalars, numpy arrays (object arrays element by element),
scipy.sparse matrices (format-checked again), torch tensors, and dicts / lists / tuples /
sets of these. On the way

* a chumpy stand-in becomes the numpy array it wraps (refused if it wraps anything else);
* a 0-d object array (``np.save`` of a dict) becomes its item;
* torch tensors become numpy arrays when the caller asks (pickled tensors in .npy/.pkl files).

Anything else (a class object, an empty shell of a sparse matrix, a dtype, a bare storage)
is refused: the loader returns data, never objects.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import scipy.sparse
import torch

from furpe_label.experts.safe_load.body_model_objects import ChumpyArrayStandIn, recheck_sparse
from furpe_label.experts.safe_load.errors import RefusedError
from furpe_label.experts.safe_load.limits import MAX_NESTING

MAX_DEPTH = MAX_NESTING
_LEAVES = (type(None), bool, int, float, complex, str, bytes, np.generic)


def plain_data(value: Any, tensors_to_numpy: bool) -> Any:
    """``value`` checked and converted as the module docstring says.

    Raises:
        RefusedError: naming the key path of the first object that is not plain data.
    """
    return _Walk(tensors_to_numpy).visit(value, "", 0)


class _Walk:
    """One pass over the loaded object; each object is converted once (shared stays shared,
    and a pickle of repeated references cannot make the walk exponential)."""

    def __init__(self, tensors_to_numpy: bool) -> None:
        self.tensors_to_numpy = tensors_to_numpy
        self.open: set[int] = set()
        self.done: dict[int, Any] = {}

    def visit(self, value: Any, where: str, depth: int) -> Any:
        if isinstance(value, _LEAVES):
            return value
        if id(value) in self.done:
            return self.done[id(value)]
        if depth > MAX_DEPTH:
            raise RefusedError(f"data nested deeper than {MAX_DEPTH} levels at {_at(where)}")
        if id(value) in self.open:
            raise RefusedError(f"data that contains itself at {_at(where)}")
        self.open.add(id(value))
        try:
            converted = self._convert(value, where, depth + 1)
        finally:
            self.open.discard(id(value))
        self.done[id(value)] = converted
        return converted

    def _convert(self, value: Any, where: str, depth: int) -> Any:
        if isinstance(value, ChumpyArrayStandIn):
            wrapped = value.value
            if type(wrapped) is not np.ndarray or wrapped.dtype.hasobject:
                raise RefusedError(
                    f"{_at(where)} is a {value.chumpy_class} without a plain array 'x'"
                )
            return wrapped
        if type(value) is np.ndarray:
            return self._array(value, where, depth)
        if type(value) is torch.Tensor:
            return value.detach().numpy() if self.tensors_to_numpy else value
        if scipy.sparse.issparse(value):
            recheck_sparse(value)
            return value
        if type(value) in (dict, OrderedDict):
            items = ((key, self._key(key, where)) for key in value)
            return type(value)((key, self.visit(value[key], path, depth)) for key, path in items)
        if type(value) in (list, tuple):
            return type(value)(self.visit(v, f"{where}[{i}]", depth) for i, v in enumerate(value))
        if type(value) in (set, frozenset):
            return type(value)(self.visit(v, f"{where}{{}}", depth) for v in value)
        kind = f"{type(value).__module__}.{type(value).__qualname__}"
        raise RefusedError(f"{_at(where)} holds a {kind} object, not data")

    def _key(self, key: Any, where: str) -> str:
        if not _plain_key(key, depth=0):
            raise RefusedError(f"a dict key that is not plain data at {_at(where)}")
        return f"{where}.{key}" if where else str(key)

    def _array(self, array: np.ndarray, where: str, depth: int) -> Any:
        if not array.dtype.hasobject:
            return array
        if array.shape == ():
            return self.visit(array.item(), where, depth)
        converted = np.empty(array.shape, dtype=object)
        for index, item in enumerate(array.flat):
            converted.flat[index] = self.visit(item, f"{where}[{index}]", depth)
        return converted


def _plain_key(key: Any, depth: int) -> bool:
    """Dict keys: plain leaves, or (nested) tuples of them."""
    if isinstance(key, _LEAVES):
        return True
    return type(key) is tuple and depth < MAX_DEPTH and all(_plain_key(k, depth + 1) for k in key)


def _at(where: str) -> str:
    return f"'{where}'" if where else "the top level"
