"""Torch checkpoint files (``torch.save``, zip and legacy formats) read without ``torch.load``.

Why not ``torch.load(weights_only=True)``: in torch 2.13 its allow-list still lets a file
call ``torch.FloatTensor(n)``, ``torch.Tensor(n)`` or ``torch.UntypedStorage(n)`` and so
return uninitialised memory, and a legacy-format file whose storage key is left out of the
trailing key list gets a storage that is never filled (a tensor of that storage, grown by
``set_`` to any size, is uninitialised memory; zip files are protected only because their
storages cannot grow). So both containers are read here, as documented by torch's
``serialization.py``, and the pickle inside goes through the project's restricted unpickler:

* zip (PyTorch >= 1.6): ``<prefix>/data.pkl`` holds the object; persistent id
  ``('storage', <storage type>, key, location, numel)`` names the record
  ``<prefix>/data/<key>`` of exactly ``numel`` elements (little-endian); TorchScript
  archives (``constants.pkl``, ``code/``) are refused.
* legacy (before 1.6, e.g. SPIN's checkpoint): pickles of the magic number, protocol 1001 and
  system info, then the object (persistent id ``('storage', type, key, location, numel,
  view)``), then the list of storage keys, then per key an int64 element count and the
  elements. Storages start as zeros and every one must be filled from the file, so the
  storages one pickle names may together hold no more bytes than the file (checked as each is
  named, before its buffer is allocated: a 1 MB pickle naming thousands of distinct 1 MB
  storages would otherwise take gigabytes of zeros). DECA's ``deca_model.tar`` as written by a
  PyTorch before 1.6 (``torch.save(model_dict, ...)``, a dict of three state dicts) is such a
  file: one container, read like SPIN's.

Tensors are views of the stored elements, checked by :mod:`.torch_objects`. Locations are
ignored: everything loads on the CPU. A ``state_dict()`` is an ``OrderedDict`` whose
``_metadata`` version table the pickle sets with ``BUILD``: checked and dropped
(:mod:`.ordered_dict_state`), so the result holds the tensors.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import torch

from furpe_label.experts.safe_load.errors import RefusedError, attributed
from furpe_label.experts.safe_load.plain import plain_data
from furpe_label.experts.safe_load.torch_objects import StoredData, storage_numel
from furpe_label.experts.safe_load.unpickler import RestrictedUnpickler

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
_ZIP_MAGIC = b"PK\x03\x04"


def read_checkpoint(path: Path | str, *, numpy_arrays: bool = False) -> Any:
    """Read a ``torch.save`` file: tensors, numbers, strings, lists, tuples and dicts only.

    Args:
        path: the checkpoint (zip or legacy format).
        numpy_arrays: also allow numpy arrays and scalars (mmpose checkpoints' ``meta``).

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the file names anything else, or a tensor does not fit the data
            stored for it (the message names the file and what was refused).
        CheckpointFormatError: not a readable torch file (truncated, corrupt, not torch).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint file not found")
    with attributed(path, torch_file=True), open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if handle.read(4) == _ZIP_MAGIC:
            handle.seek(0)
            loaded = _read_zip(handle, numpy_arrays)
        else:
            handle.seek(0)
            loaded = _read_legacy(handle, size, numpy_arrays)
        return plain_data(loaded, tensors_to_numpy=False)


def load_pickled_storage(data: Any) -> StoredData:
    """``torch.storage._load_from_bytes(data)``: a storage pickled inside a .pkl/.npy file."""
    if type(data) is not bytes:
        raise RefusedError("a pickled torch storage that is not bytes")
    stored = _read_legacy(io.BytesIO(data), len(data), numpy_arrays=False)
    if not isinstance(stored, StoredData):
        raise RefusedError(f"a pickled torch storage holding a {type(stored).__name__}")
    return stored


def _storage_id(pid: Any, length: int) -> tuple[Any, ...]:
    if type(pid) is not tuple or len(pid) != length or pid[0] not in ("storage", b"storage"):
        raise RefusedError(f"the persistent id {pid!r} (only torch storages)")
    key = pid[2].decode("ascii") if isinstance(pid[2], bytes) else pid[2]
    if type(key) is not str:
        raise RefusedError(f"a storage key {key!r}")
    return (key, *storage_numel(pid[1], pid[4]), *pid[5:])


def _read_zip(handle: BinaryIO, numpy_arrays: bool) -> Any:
    with zipfile.ZipFile(handle) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("data.pkl") and name.count("/") == 1]
        if len(pickles) != 1:
            raise ValueError(f"expected one '<name>/data.pkl' record, found {pickles[:5]}")
        prefix = pickles[0][: -len("data.pkl")]
        if prefix + "constants.pkl" in names or any(n.startswith(prefix + "code/") for n in names):
            raise RefusedError("a TorchScript archive (it holds code)")
        byteorder = archive.read(prefix + "byteorder") if prefix + "byteorder" in names else b""
        if byteorder not in (b"", b"little"):
            raise RefusedError(
                f"a checkpoint with byte order {byteorder[:10]!r} (only little-endian)"
            )
        storages: dict[str, StoredData] = {}

        def persistent_load(pid: Any) -> StoredData:
            key, dtype, numel = _storage_id(pid, 5)
            if key not in storages:
                storages[key] = _zip_record(archive, f"{prefix}data/{key}", key, dtype, numel)
            if storages[key].elements.dtype != dtype:
                raise RefusedError(f"storage '{key}' used with two dtypes")
            return storages[key]

        stream = io.BytesIO(archive.read(pickles[0]))
        return _unpickler(stream, numpy_arrays, persistent_load).load()


def _zip_record(
    archive: zipfile.ZipFile, name: str, key: str, dtype: torch.dtype, numel: int
) -> StoredData:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise RefusedError(f"storage '{key}' has no record '{name}'") from None
    if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
        raise RefusedError(f"storage record '{name}' is compressed (torch.save stores records)")
    if info.file_size != numel * dtype.itemsize:
        raise RefusedError(
            f"storage '{key}' of {numel} x {dtype} needs {numel * dtype.itemsize} bytes, "
            f"its record holds {info.file_size}"
        )
    buffer = bytearray(info.file_size)
    with archive.open(info) as member:
        if member.readinto(buffer) != len(buffer) and buffer:
            raise ValueError(f"record '{name}' is truncated")
    return StoredData(key, buffer, dtype, filled=True)


def _read_legacy(handle: BinaryIO, size: int, numpy_arrays: bool) -> Any:
    def plain_pickle() -> Any:
        return _unpickler(handle, numpy_arrays=False, persistent_load=None).load()

    if plain_pickle() != LEGACY_MAGIC:
        raise ValueError("not a torch file (no legacy magic number, not a zip archive)")
    if plain_pickle() != LEGACY_PROTOCOL:
        raise ValueError("unknown legacy torch protocol version")
    system = plain_pickle()
    if not isinstance(system, dict) or system.get("little_endian") is not True:
        raise RefusedError("a legacy checkpoint written on a big-endian machine")
    storages: dict[str, StoredData] = {}
    named_bytes = 0  # bytes of the storages named so far: all of them are stored in the file

    def persistent_load(pid: Any) -> StoredData:
        nonlocal named_bytes
        key, dtype, numel, view = _storage_id(pid, 6)
        if view is not None:
            raise RefusedError(f"storage '{key}' is a view of another storage (not supported)")
        if key not in storages:
            if numel * dtype.itemsize > size:
                raise RefusedError(f"storage '{key}' of {numel} elements, more than the file holds")
            named_bytes += numel * dtype.itemsize
            if named_bytes > size:
                raise RefusedError(
                    f"storage '{key}' makes the {len(storages) + 1} storages named so far hold "
                    f"{named_bytes} bytes together, more than the file's {size} bytes (each "
                    "is stored in the file; refused before its buffer was allocated)"
                )
            buffer = bytearray(numel * dtype.itemsize)  # zeros until the data is read
            storages[key] = StoredData(key, buffer, dtype, filled=False)
        if storages[key].elements.dtype != dtype or storages[key].elements.numel() != numel:
            raise RefusedError(f"storage '{key}' named with two dtypes or sizes")
        return storages[key]

    loaded = _unpickler(handle, numpy_arrays, persistent_load).load()
    keys = plain_pickle()
    if type(keys) is not list:
        raise ValueError("the legacy storage key list is missing")
    for key in keys:
        _fill_legacy_storage(handle, storages.get(key), key)
    unfilled = sorted(key for key, stored in storages.items() if not stored.filled)
    if unfilled:
        raise RefusedError(
            f"storages {unfilled[:5]} have no data in the file (torch.load would return "
            "uninitialised memory for them)"
        )
    return loaded


def _fill_legacy_storage(handle: BinaryIO, stored: StoredData | None, key: Any) -> None:
    if stored is None or stored.filled:
        raise RefusedError(f"data for storage {key!r}, which the pickle does not name once")
    count = int.from_bytes(_read_exact(handle, 8), "little", signed=True)
    elements = stored.elements
    if count != elements.numel():
        raise RefusedError(
            f"storage '{key}' stores {count} elements, the pickle expects {elements.numel()}"
        )
    if handle.readinto(memoryview(stored.buffer)) != len(stored.buffer):
        raise ValueError(f"truncated data of storage '{key}'")
    stored.check_booleans()
    stored.filled = True


def _read_exact(handle: BinaryIO, count: int) -> bytes:
    data = handle.read(count)
    if len(data) != count:
        raise ValueError(f"truncated: {len(data)} of {count} bytes")
    return data


def _unpickler(handle: BinaryIO, numpy_arrays: bool, persistent_load: Any) -> RestrictedUnpickler:
    return RestrictedUnpickler(
        handle,
        numpy_objects=numpy_arrays,
        body_model_objects=False,
        persistent_load=persistent_load,
    )
