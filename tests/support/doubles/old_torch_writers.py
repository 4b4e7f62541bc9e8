"""Test doubles: ``torch.save`` as older PyTorch versions wrote it, opcode for opcode.

The running torch still writes the legacy format (``_use_new_zipfile_serialization=False``),
but not every detail of an old era: file locations of CUDA tensors, ``_cdata`` storage keys
of a long-gone process, the optimizer state of its time, the zip layout of 1.6 (no
``byteorder`` record, archive named after the file the trainer wrote). These writers emit
those streams with Python's own pickler (protocol 2, as ``DEFAULT_PROTOCOL = 2`` in every
torch version), following torch's ``serialization.py`` of the era:

Legacy container (torch 0.4 .. 1.5, :func:`save_like_torch_1_1`)
    ``pickle.dump`` of the magic number ``0x1950a86a20f9469cfc6c``, of protocol version 1001,
    of ``sys_info`` (``protocol_version``, ``little_endian``, ``type_sizes`` short/int/long
    = 2/4/8 on Linux); then the object through a pickler whose ``persistent_id`` turns every
    storage into ``('storage', torch.FloatStorage, str(storage._cdata), 'cuda:0', size,
    None)`` (``normalize_storage_type`` maps ``torch.cuda.FloatStorage`` to the CPU name; the
    view metadata is ``None`` since 0.4); then ``sorted(keys)`` and, per key, the storage's
    ``_write_file``: int64 element count and the raw little-endian elements.
Zip container (torch 1.6, :func:`save_like_torch_1_6`)
    ``<archive>/data.pkl`` (same persistent ids without the view, keys ``'0'``, ``'1'`` ...
    in order of first use), ``<archive>/data/<key>`` stored uncompressed and 64-byte aligned,
    ``<archive>/version`` = ``'3\\n'``; ``<archive>`` is the file name without extension
    (DECA's trainer wrote ``model.tar``).
Tensors (both)
    ``torch._utils._rebuild_tensor_v2(storage, storage_offset, tuple(size), stride,
    requires_grad, OrderedDict())`` (the empty ``OrderedDict`` replaced ``_backward_hooks``).

Optimizer states of the era: :func:`adam_state_like_torch_1_1` (``id(p)`` parameter ids, int
``step``, param-group keys ``lr betas eps weight_decay amsgrad params``) and
:func:`adam_state_like_torch_1_6` (index ids from 0, int ``step``).
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch._utils import _rebuild_tensor_v2

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
_SYS_INFO = {
    "protocol_version": LEGACY_PROTOCOL,
    "little_endian": True,
    "type_sizes": {"short": 2, "int": 4, "long": 8},
}
_STORAGE_NAMES = {
    torch.float32: "FloatStorage",
    torch.float64: "DoubleStorage",
    torch.float16: "HalfStorage",
    torch.int64: "LongStorage",
    torch.int32: "IntStorage",
    torch.uint8: "ByteStorage",
    torch.bool: "BoolStorage",
}
_OLD_ADAM_GROUP_KEYS = ("lr", "betas", "eps", "weight_decay", "amsgrad")
_ALIGNMENT = 64


class _OldStorage:
    """One storage as the old writer saw it: element type, bytes and the key it is saved as."""

    def __init__(self, tensor: torch.Tensor, key: str) -> None:
        self.storage_type = getattr(torch, _STORAGE_NAMES[tensor.dtype])  # torch.FloatStorage
        elements = torch.empty(0, dtype=tensor.dtype).set_(tensor.untyped_storage())
        self.data = elements.numpy().tobytes()  # the whole storage, as _write_file wrote it
        self.numel = elements.numel()
        self.key = key


class _OldTorchPickler(pickle.Pickler):
    """Protocol-2 pickler: tensors as ``_rebuild_tensor_v2``, storages as persistent ids."""

    def __init__(self, file: io.BufferedIOBase, keys: list[str], legacy: bool) -> None:
        super().__init__(file, protocol=2)
        self.storages: dict[int, _OldStorage] = {}
        self._keys = iter(keys)
        self._legacy = legacy

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is not torch.Tensor:
            return NotImplemented
        pointer = obj.untyped_storage().data_ptr()
        if pointer not in self.storages:
            self.storages[pointer] = _OldStorage(obj, next(self._keys))
        storage = self.storages[pointer]
        offset, size, stride = obj.storage_offset(), tuple(obj.size()), obj.stride()
        return _rebuild_tensor_v2, (storage, offset, size, stride, False, OrderedDict())

    def persistent_id(self, obj: Any) -> Any:
        if not isinstance(obj, _OldStorage):
            return None
        pid = ("storage", obj.storage_type, obj.key, "cuda:0", obj.numel)
        return (*pid, None) if self._legacy else pid


def _cdata_keys(start: int = 94_000_000_000_000) -> list[str]:
    """Storage keys as ``str(storage._cdata)`` of a 64-bit process (sorted as strings later)."""
    return [str(start + 1_216 * index) for index in range(100_000)]


def save_like_torch_1_1(obj: Any, path: Path) -> None:
    """``torch.save(obj, path)`` as PyTorch 1.1 on Python 3 wrote it (legacy container)."""
    stream = io.BytesIO()
    for header in (LEGACY_MAGIC, LEGACY_PROTOCOL, _SYS_INFO):
        pickle.dump(header, stream, protocol=2)
    pickler = _OldTorchPickler(stream, _cdata_keys(), legacy=True)
    pickler.dump(obj)
    by_key = {storage.key: storage for storage in pickler.storages.values()}
    keys = sorted(by_key)
    pickle.dump(keys, stream, protocol=2)
    for key in keys:
        stream.write(struct.pack("<q", by_key[key].numel))
        stream.write(by_key[key].data)
    Path(path).write_bytes(stream.getvalue())


def save_like_torch_1_6(obj: Any, path: Path, written_as: str | None = None) -> None:
    """``torch.save(obj, written_as)`` as PyTorch 1.6 wrote it (zip container), stored at
    ``path`` (a released file renamed after training keeps its archive name)."""
    stream = io.BytesIO()
    pickler = _OldTorchPickler(stream, [str(index) for index in range(100_000)], legacy=False)
    pickler.dump(obj)
    archive = Path(written_as or path).name.rsplit(".", 1)[0]
    records = [("data.pkl", stream.getvalue())]
    records += [(f"data/{s.key}", s.data) for s in pickler.storages.values()]
    records.append(("version", b"3\n"))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as out:
        for name, data in records:
            info = zipfile.ZipInfo(f"{archive}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            header = 30 + len(info.filename) + 4  # local header + name + padding field header
            padding = -(out.fp.tell() + header) % _ALIGNMENT
            info.extra = b"FB" + struct.pack("<H", padding) + b"Z" * padding
            out.writestr(info, data)


def _old_adam_groups(state: dict, ids: list[int]) -> list[dict]:
    groups = []
    for group in state["param_groups"]:
        old = {key: group[key] for key in _OLD_ADAM_GROUP_KEYS}
        old["lr"] = float(old["lr"])
        groups.append({**old, "params": [ids[index] for index in group["params"]]})
    return groups


def _old_adam_moments(state: dict, ids: list[int]) -> dict:
    return {
        ids[index]: {**moments, "step": int(moments["step"])}
        for index, moments in state["state"].items()
    }


def adam_state_like_torch_1_1(state: dict) -> dict:
    """An ``Adam.state_dict()`` of the running torch as PyTorch 1.1 wrote it: parameters
    named by ``id(p)`` (large ints), ``step`` an int, no ``maximize``/``foreach``/... keys."""
    n_params = sum(len(group["params"]) for group in state["param_groups"])
    ids = [140_000_000_000_000 + 72 * index for index in range(n_params)]
    return {"state": _old_adam_moments(state, ids), "param_groups": _old_adam_groups(state, ids)}


def adam_state_like_torch_1_6(state: dict) -> dict:
    """As PyTorch 1.6 wrote it: index ids from 0, ``step`` an int, the five old group keys."""
    n_params = sum(len(group["params"]) for group in state["param_groups"])
    ids = list(range(n_params))
    return {"state": _old_adam_moments(state, ids), "param_groups": _old_adam_groups(state, ids)}
