"""Safe loading of the official body-model pickles and npz/npy files.

Official SMPL, MANO and FLAME pickles were written with Python 2 and contain
``chumpy.ch.Ch`` objects; SMPL-X npz files and DECA's ``landmark_embedding.npy`` contain
pickled dicts. ``pickle.load`` would run any global a file names, so everything here goes
through :class:`RestrictedUnpickler`, which resolves only the numpy / scipy.sparse / chumpy
classes these files need and refuses every other global (``os.system``, ``builtins.eval``,
...) with :class:`UnsafePickleError` naming the file and the global, before anything runs.

Torch tensors (DECA stores some embedding arrays as tensors) are rebuilt through torch's
weights-only loader and returned as numpy arrays.

Chumpy is not installed (it does not work with current numpy): ``chumpy.*`` classes map to
:class:`ChumpyArrayStandIn`, which keeps the array that a ``Ch`` object carries in its
state (key ``x``) and is replaced by a plain ``np.ndarray`` after loading.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import scipy.sparse


class UnsafePickleError(ValueError):
    """A pickle names a global that is not on the allow-list; nothing was executed."""


class ChumpyArrayStandIn:
    """Takes the place of a ``chumpy.ch.Ch`` object while unpickling.

    A pickled ``Ch`` is rebuilt by ``copyreg._reconstructor(cls, object, None)`` followed by
    ``__setstate__(state)`` where ``state['x']`` is the numpy array it wraps.
    """

    def __init__(self, chumpy_class: str = "chumpy.ch.Ch") -> None:
        self.chumpy_class = chumpy_class
        self.value: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        value = state.get("x") if isinstance(state, dict) else None
        self.value = None if value is None else np.asarray(value)


def _chumpy_class(qualified_name: str) -> type:
    """A subclass of the stand-in that remembers which chumpy class it replaced."""
    return type(
        "ChumpyArrayStandIn",
        (ChumpyArrayStandIn,),
        {"__init__": lambda self: ChumpyArrayStandIn.__init__(self, qualified_name)},
    )


def _tensor_storage_from_bytes(data: bytes) -> Any:
    """``torch.storage._load_from_bytes`` re-done with ``weights_only=True``.

    DECA's official ``landmark_embedding.npy`` holds torch tensors (its FLAME layer calls
    ``.long()`` on them); a plainly pickled tensor stores its storage as nested torch.save
    bytes, which are read here by torch's own weights-only loader.
    """
    import torch

    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _rebuild_tensor(*args: Any) -> Any:
    import torch._utils

    return torch._utils._rebuild_tensor_v2(*args)


_SPARSE_CLASSES = {
    "csc_matrix": scipy.sparse.csc_matrix,
    "csr_matrix": scipy.sparse.csr_matrix,
    "coo_matrix": scipy.sparse.coo_matrix,
}

_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): np.core.multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): np.core.multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): np.core.multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): np.core.multiarray.scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("copyreg", "_reconstructor"): __import__("copyreg")._reconstructor,
    ("builtins", "object"): object,
    # protocol-2 pickles written by Python 3 store bytes as _codecs.encode(text, "latin1")
    ("_codecs", "encode"): __import__("_codecs").encode,
    ("torch.storage", "_load_from_bytes"): _tensor_storage_from_bytes,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("collections", "OrderedDict"): __import__("collections").OrderedDict,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals official body-model files need."""

    def __init__(self, file: BinaryIO, source: str) -> None:
        super().__init__(file, encoding="latin1", fix_imports=True)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        allowed = _ALLOWED.get((module, name))
        if allowed is not None:
            return allowed
        if module.startswith("scipy.sparse") and name in _SPARSE_CLASSES:
            return _SPARSE_CLASSES[name]
        if module == "chumpy" or module.startswith("chumpy."):
            return _chumpy_class(f"{module}.{name}")
        raise UnsafePickleError(
            f"{self.source}: refused to load: the pickle names the global '{module}.{name}', "
            "which a body-model file never needs (nothing was executed)"
        )


def _plain(value: Any, source: str, key: str = "") -> Any:
    """Replace chumpy stand-ins (recursively through dicts/lists) by numpy arrays."""
    if isinstance(value, ChumpyArrayStandIn):
        if value.value is None:
            raise UnsafePickleError(
                f"{source}: key '{key}' is a {value.chumpy_class} object without a stored "
                "array value; only plain chumpy arrays (Ch with 'x') can be read without chumpy"
            )
        return value.value
    if isinstance(value, np.ndarray) and value.dtype.hasobject and value.shape == ():
        return _plain(value.item(), source, key)  # np.save of a dict: unwrap, then convert
    if type(value).__module__ == "torch" and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()
    if isinstance(value, dict):
        return {k: _plain(v, source, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_plain(v, source, key) for v in value)
    return value


def safe_pickle_loads(data: bytes, source: str) -> Any:
    """Unpickle ``data`` with the allow-list; chumpy arrays come back as numpy arrays."""
    return _plain(RestrictedUnpickler(io.BytesIO(data), source).load(), source)


def safe_pickle_load(path: Path) -> Any:
    """Load a pickle file safely (see module docstring); errors name the file."""
    path = Path(path)
    return safe_pickle_loads(path.read_bytes(), str(path))


def _read_npy(handle: BinaryIO, source: str) -> Any:
    """Read one ``.npy`` stream; object arrays are unpickled with the allow-list."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
    if dtype.hasobject:
        return _plain(RestrictedUnpickler(handle, source).load(), source)
    count = int(np.prod(shape, dtype=np.int64))
    data = np.frombuffer(handle.read(count * dtype.itemsize), dtype=dtype, count=count)
    order = "F" if fortran else "C"
    return data.reshape(shape, order=order).copy()


def safe_load_npy(path: Path) -> Any:
    """Load a ``.npy`` file; a 0-d object array (``np.save`` of a dict) returns its item."""
    path = Path(path)
    with open(path, "rb") as handle:
        return _read_npy(handle, str(path))


def safe_load_npz(path: Path) -> dict[str, Any]:
    """Load every member of an ``.npz`` archive into a dict, object members unpickled safely.

    0-d object members (pickled dicts such as SMPL-X's ``joint2num``) return their item.
    """
    path = Path(path)
    out: dict[str, Any] = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            key = member[:-4] if member.endswith(".npy") else member
            with archive.open(member) as handle:
                out[key] = _read_npy(handle, f"{path}:{key}")  # type: ignore[arg-type]
    return out


def safe_load_any(path: Path) -> Any:
    """Dispatch on the suffix: ``.pkl`` -> pickle, ``.npz`` -> dict, ``.npy`` -> array/dict."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return safe_load_npz(path)
    if suffix == ".npy":
        return safe_load_npy(path)
    return safe_pickle_load(path)
