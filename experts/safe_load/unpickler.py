"""The restricted unpickler every pickle stream goes through (.pkl, .npy, .npz, torch files).

It is Python's own pure-Python unpickler (``pickle._Unpickler``) with the opcodes that
resolve, call or mutate objects replaced by checked versions:

* ``GLOBAL``/``STACK_GLOBAL`` resolve only the allow-list of :meth:`find_class`: numpy
  array/dtype/scalar rebuilding, ``copyreg._reconstructor``, ``_codecs.encode`` (bytes in
  protocol 2), ``collections.OrderedDict``, scipy.sparse csc/csr/coo matrices and chumpy
  stand-ins (body-model files), torch storage types and tensor rebuilding. Names are mapped
  from Python 2 (``copy_reg``, ``__builtin__``) first, as the official pickles need.
* ``REDUCE`` calls only the checked callables of that list (never a class such as
  ``numpy.ndarray``, which would hand out uninitialised memory); ``NEWOBJ`` creates only empty
  sparse matrices and chumpy stand-ins; ``INST``, ``OBJ``, ``NEWOBJ_EX`` and ``EXT*`` are
  refused.
* ``BUILD`` accepts a state only for numpy dtypes/arrays, sparse matrices and chumpy stand-ins,
  each checked before it is applied (see :mod:`.numpy_objects`, :mod:`.body_model_objects`),
  and for a ``collections.OrderedDict`` a dict of plain attributes (``state_dict()``'s
  ``_metadata``), checked and dropped (:mod:`.ordered_dict_state`);
  ``SETITEM(S)``/``APPEND(S)``/``ADDITEMS`` only touch real dicts, lists and sets.
* every opcode that builds or fills a container (``TUPLE*``, ``LIST``, ``DICT``, ``FROZENSET``,
  ``APPEND(S)``, ``SETITEM(S)``, ``ADDITEMS``, ``BUILD``, ``REDUCE``) first checks how deep the
  result would nest (:mod:`.nesting`), so no key deeper than
  :data:`~.limits.MAX_NESTING` is ever hashed (a deeper one overflows the C stack).
* persistent ids (torch storages) are resolved by the container reader that owns the stream.

A refusal raises :class:`~.errors.RefusedError` before the object is built or used.
"""

from __future__ import annotations

import _compat_pickle
import pickle
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, BinaryIO, ClassVar

import numpy as np

from furpe_label.experts.safe_load.body_model_objects import (
    SPARSE_CLASSES,
    ChumpyArrayStandIn,
    build_sparse,
    chumpy_class,
    is_sparse_class,
)
from furpe_label.experts.safe_load.errors import RefusedError
from furpe_label.experts.safe_load.nesting import NestingDepth
from furpe_label.experts.safe_load.numpy_objects import NumpyBuilder
from furpe_label.experts.safe_load.ordered_dict_state import check_ordered_dict_state
from furpe_label.experts.safe_load.torch_objects import STORAGE_DTYPES, StorageType, rebuild_tensor

_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_TENSOR_REBUILDS = ("_rebuild_tensor_v2", "_rebuild_tensor")


def _latin1_bytes(text: Any, encoding: Any = "utf-8", errors: Any = "strict") -> bytes:
    """``_codecs.encode(text, 'latin1')``: how protocol-2 pickles from Python 3 store bytes."""
    if type(text) is not str or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise RefusedError(
            f"_codecs.encode with {type(text).__name__}, {encoding!r} (only latin1 text)"
        )
    return text.encode("latin1")


def _ordered_dict(items: Any = ()) -> OrderedDict:
    """``collections.OrderedDict()`` or ``OrderedDict([[key, value], ...])`` (Python 2)."""
    if type(items) not in (list, tuple) or not all(
        type(pair) in (list, tuple) and len(pair) == 2 for pair in items
    ):
        raise RefusedError("OrderedDict from anything but a list of (key, value) pairs")
    return OrderedDict((key, value) for key, value in items)


class RestrictedUnpickler(pickle._Unpickler):
    """Unpickles one stream with the allow-list (see the module docstring).

    Args:
        file: the stream, positioned at the pickle.
        numpy_objects: allow numpy arrays, dtypes and scalars.
        body_model_objects: allow scipy.sparse matrices and chumpy stand-ins.
        nested_storage: resolves ``torch.storage._load_from_bytes`` (a pickled torch storage),
            or None to refuse it.
        persistent_load: resolves persistent ids (torch storages), or None to refuse them.
    """

    dispatch: ClassVar[dict[int, Callable[..., None]]] = dict(pickle._Unpickler.dispatch)

    def __init__(
        self,
        file: BinaryIO,
        *,
        numpy_objects: bool,
        body_model_objects: bool,
        nested_storage: Callable[[bytes], Any] | None = None,
        persistent_load: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(file, encoding="latin1", fix_imports=True)
        self.numpy = NumpyBuilder()
        self.nesting = NestingDepth()
        self._resolve_persistent = persistent_load
        self._globals: dict[tuple[str, str], Any] = {
            ("copyreg", "_reconstructor"): self._reconstructor,
            ("builtins", "object"): object,
            ("_codecs", "encode"): _latin1_bytes,
            ("collections", "OrderedDict"): _ordered_dict,
        }
        self._globals.update({("torch._utils", name): rebuild_tensor for name in _TENSOR_REBUILDS})
        self._globals.update({("torch", name): StorageType(name) for name in STORAGE_DTYPES})
        if numpy_objects:
            for module in _NUMPY_MODULES:
                self._globals[module, "_reconstruct"] = self.numpy.reconstruct
                self._globals[module, "scalar"] = self.numpy.scalar
            self._globals["numpy", "ndarray"] = np.ndarray
            self._globals["numpy", "dtype"] = self.numpy.dtype
        if nested_storage is not None:
            self._globals["torch.storage", "_load_from_bytes"] = nested_storage
        self._body_model_objects = body_model_objects
        self._chumpy_classes: dict[str, type] = {}
        self._callables = [
            value for value in self._globals.values() if callable(value) and not _is_class(value)
        ]

    # ------------------------------------------------------------------ globals
    def find_class(self, module: str, name: str) -> Any:
        if self.proto < 3:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) in self._globals:
            return self._globals[module, name]
        if self._body_model_objects:
            if module.startswith("scipy.sparse") and name in SPARSE_CLASSES:
                return SPARSE_CLASSES[name]
            if module == "chumpy" or module.startswith("chumpy."):
                qualified = f"{module}.{name}"
                return self._chumpy_classes.setdefault(qualified, chumpy_class(qualified))
        raise RefusedError(f"the pickle names the global '{module}.{name}', which is not allowed")

    def persistent_load(self, pid: Any) -> Any:
        if self._resolve_persistent is None:
            raise RefusedError(f"the pickle refers to external data {pid!r}")
        return self._resolve_persistent(pid)

    def _reconstructor(self, cls: Any, base: Any, state: Any) -> Any:
        """``copyreg._reconstructor(cls, object, None)``: an empty chumpy/sparse object."""
        if base is not object or state is not None or not self._may_create(cls):
            raise RefusedError(f"copyreg._reconstructor({_name(cls)}, {_name(base)}, ...)")
        return object.__new__(cls)

    def _may_create(self, cls: Any) -> bool:
        return is_sparse_class(cls) or cls in self._chumpy_classes.values()

    # ------------------------------------------------------------------ opcodes
    def load_reduce(self) -> None:
        args = self.stack.pop()
        func = self.stack[-1]
        if not any(func is allowed for allowed in self._callables) or type(args) is not tuple:
            raise RefusedError(f"the pickle calls {_name(func)}, which is not allowed")
        depth = self.nesting.of(args)
        self.stack[-1] = self.nesting.made(func(*args), depth)

    def load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        if not self._may_create(cls) or type(args) is not tuple or args:
            raise RefusedError(f"the pickle creates a {_name(cls)} object, which is not allowed")
        self.append(object.__new__(cls))

    def load_build(self) -> None:
        state = self.stack.pop()
        target = self.stack[-1]
        self.nesting.grew(target, (state,), "BUILD")
        if isinstance(target, np.dtype) or type(target) is np.ndarray:
            self.numpy.build(target, state)
        elif isinstance(target, ChumpyArrayStandIn):
            target.__setstate__(state)
        elif is_sparse_class(type(target)):
            build_sparse(target, state)
        elif type(target) is OrderedDict:
            check_ordered_dict_state(state)  # checked, then dropped: never applied
        else:
            raise RefusedError(f"the pickle sets the state of a {_name(type(target))} object")

    def load_append(self) -> None:
        value = self.stack.pop()
        self._grow(list, "APPEND", (value,)).append(value)

    def load_appends(self) -> None:
        items = self.pop_mark()
        self._grow(list, "APPENDS", items).extend(items)

    def load_setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        self._grow(dict, "SETITEM", (key, value))[key] = value

    def load_setitems(self) -> None:
        items = self.pop_mark()
        target = self._grow(dict, "SETITEMS", items)
        for index in range(0, len(items), 2):
            target[items[index]] = items[index + 1]

    def load_additems(self) -> None:
        items = self.pop_mark()
        self._grow(set, "ADDITEMS", items).update(items)

    def _grow(self, kind: type, opcode: str, items: Any) -> Any:
        """The container on the stack, checked to be a ``kind`` that may hold ``items``."""
        target = _require(self.stack[-1], kind, opcode)
        self.nesting.grew(target, items, opcode)
        return target

    def _made(self, items: Any, opcode: str, build: Callable[[Any], Any]) -> Any:
        """``build(items)`` after checking the depth it would nest to (before any hash)."""
        return self.nesting.made(build(items), self.nesting.holding(items, opcode))

    def load_mark(self) -> None:
        """``MARK``: every mark is closed by an opcode that nests what follows one level deeper,
        so marks open deeper than the nesting limit are refused at once."""
        if len(self.metastack) >= self.nesting.limit:
            raise RefusedError(
                f"containers nested deeper than {self.nesting.limit} levels (MARK; the limit is "
                "MAX_NESTING in furpe_label.experts.safe_load.limits)"
            )
        super().load_mark()

    def load_tuple(self) -> None:
        made = self._made(self.pop_mark(), "TUPLE", tuple)  # pop_mark replaces self.append
        self.append(made)

    def load_tuple_n(self, count: int) -> None:
        self.stack[-count:] = [self._made(self.stack[-count:], "TUPLE", tuple)]

    def load_list(self) -> None:
        made = self._made(self.pop_mark(), "LIST", list)  # pop_mark replaces self.append
        self.append(made)

    def load_dict(self) -> None:
        made = self._made(self.pop_mark(), "DICT", _pairs_dict)  # pop_mark replaces self.append
        self.append(made)

    def load_frozenset(self) -> None:
        made = self._made(self.pop_mark(), "FROZENSET", frozenset)  # pop_mark replaces self.append
        self.append(made)

    def _refuse_opcode(self) -> None:
        raise RefusedError(
            "the pickle uses an opcode that calls classes directly or needs out-of-band buffers "
            "(INST, OBJ, NEWOBJ_EX, EXT*, BYTEARRAY8, NEXT_BUFFER, READONLY_BUFFER)"
        )

    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.BUILD[0]] = load_build
    dispatch[pickle.APPEND[0]] = load_append
    dispatch[pickle.APPENDS[0]] = load_appends
    dispatch[pickle.SETITEM[0]] = load_setitem
    dispatch[pickle.SETITEMS[0]] = load_setitems
    dispatch[pickle.ADDITEMS[0]] = load_additems
    dispatch[pickle.MARK[0]] = load_mark
    dispatch[pickle.TUPLE[0]] = load_tuple
    dispatch[pickle.TUPLE1[0]] = lambda self: self.load_tuple_n(1)
    dispatch[pickle.TUPLE2[0]] = lambda self: self.load_tuple_n(2)
    dispatch[pickle.TUPLE3[0]] = lambda self: self.load_tuple_n(3)
    dispatch[pickle.LIST[0]] = load_list
    dispatch[pickle.DICT[0]] = load_dict
    dispatch[pickle.FROZENSET[0]] = load_frozenset
    for _opcode in (pickle.INST, pickle.OBJ, pickle.NEWOBJ_EX, pickle.EXT1, pickle.EXT2):
        dispatch[_opcode[0]] = _refuse_opcode
    for _opcode in (pickle.EXT4, pickle.BYTEARRAY8, pickle.NEXT_BUFFER, pickle.READONLY_BUFFER):
        dispatch[_opcode[0]] = _refuse_opcode
    del _opcode


def _require(target: Any, kind: type, opcode: str) -> Any:
    if type(target) is not kind and not (kind is dict and type(target) is OrderedDict):
        raise RefusedError(f"the pickle applies {opcode} to a {_name(type(target))} object")
    return target


def _pairs_dict(items: list[Any]) -> dict[Any, Any]:
    """``DICT``: the marked items as key, value, key, value, ..."""
    return {items[index]: items[index + 1] for index in range(0, len(items), 2)}


def _is_class(value: Any) -> bool:
    return isinstance(value, type)


def _name(value: Any) -> str:
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return getattr(value, "__qualname__", None) or type(value).__name__
