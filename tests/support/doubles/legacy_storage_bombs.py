"""Test double: a legacy ``torch.save`` file whose pickle names many distinct large storages.

The legacy container (PyTorch < 1.6: DECA's ``deca_model.tar`` from a torch of that era,
SPIN's checkpoint) stores each storage's elements after the pickle, and a reader allocates a
storage when the pickle first names it. :func:`legacy_storage_bomb` writes the container
header, then DECA's dict layout ``{'E_flame': [tensor, ...]}`` whose ``storages`` tensors each
name their own storage of ``numel`` float32 elements (about 150 bytes of pickle each), then
the key list, then the first storage's record (int64 count, ``numel`` zeros): every single
storage fits in the file (with ``storages=1`` it is a valid file), together they claim
``storages`` times that: a 1 MB file naming 400 of them claims 400 MB.
"""

from __future__ import annotations

import io
import pickle
import struct

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
SYSTEM_INFO = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"int": 4}}


def _text(value: str) -> bytes:
    data = value.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _tensor(key: str, numel: int) -> bytes:
    """``_rebuild_tensor_v2(storage, 0, (1,), (1,), False, OrderedDict())`` of a new storage."""
    storage = (
        b"("
        + _text("storage")
        + b"ctorch\nFloatStorage\n"
        + _text(key)
        + _text("cpu")
        + b"J"
        + struct.pack("<i", numel)
        + b"Nt"
    )
    return (
        b"ctorch._utils\n_rebuild_tensor_v2\n(" + storage + b"QK\x00K\x01\x85K\x01\x85\x89"
        b"ccollections\nOrderedDict\n)RtR"
    )


def legacy_storage_bomb(storages: int, numel: int) -> bytes:
    """The file's bytes (see the module docstring)."""
    stream = io.BytesIO()
    for header in (LEGACY_MAGIC, 1001, SYSTEM_INFO):
        pickle.dump(header, stream, protocol=2)
    tensors = b"".join(_tensor(str(key), numel) for key in range(storages))
    stream.write(b"\x80\x02}" + _text("E_flame") + b"](" + tensors + b"es.")
    pickle.dump([str(key) for key in range(storages)], stream, protocol=2)
    stream.write(struct.pack("<q", numel) + bytes(numel * 4))
    return stream.getvalue()
