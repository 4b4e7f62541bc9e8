"""Test doubles: pickles whose containers nest far too deep, in every container the loader reads.

The payload is a dict whose key is a tuple nested ``depth`` times (``TUPLE1`` repeated): at
``depth`` 10^6 the pickle is 1 MB and a loader that stores the key (``SETITEM`` hashes it)
overflows the C stack (SIGSEGV). The same payload is placed in a ``.pkl`` body-model file, a
zip and a legacy ``torch.save`` checkpoint (as the pickled object) and an ``.npz`` object
member (as the member's pickle).
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

BOMB_DEPTH = 10**6
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def deep_key_pickle(depth: int = BOMB_DEPTH, protocol_header: bytes = b"\x80\x02") -> bytes:
    """``{((...(None,)...),): 1}`` with the key nested ``depth`` times."""
    return protocol_header + b"}N" + b"\x85" * depth + b"K\x01s."


def deep_list_pickle(depth: int = BOMB_DEPTH) -> bytes:
    """``[[[...]]]`` nested ``depth`` times, built with ``LIST`` marks (no hash involved)."""
    return b"\x80\x02" + b"(" * depth + b"l" * depth + b"."


def write_deep_pickle(path: Path, depth: int = BOMB_DEPTH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(deep_key_pickle(depth))
    return path


def write_deep_zip_checkpoint(path: Path, depth: int = BOMB_DEPTH) -> Path:
    """A zip ``torch.save`` file whose ``archive/data.pkl`` is the deep-key pickle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", deep_key_pickle(depth))
        archive.writestr("archive/byteorder", b"little")
        archive.writestr("archive/version", b"3\n")
    return path


def write_deep_legacy_checkpoint(path: Path, depth: int = BOMB_DEPTH) -> Path:
    """A legacy ``torch.save`` file whose pickled object is the deep-key pickle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    system = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"int": 4}}
    stream = io.BytesIO()
    for header in (LEGACY_MAGIC, 1001, system):
        pickle.dump(header, stream, protocol=2)
    stream.write(deep_key_pickle(depth))
    pickle.dump([], stream, protocol=2)
    path.write_bytes(stream.getvalue())
    return path


def npy_object_member(payload: bytes) -> bytes:
    """A ``.npy`` stream of a 0-d object array whose pickle is ``payload``."""
    header = b"{'descr': '|O', 'fortran_order': False, 'shape': (), }"
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def write_deep_npz(
    path: Path, depth: int = BOMB_DEPTH, plain: dict | None = None, member: str = "deep"
) -> Path:
    """An ``.npz`` with the plain arrays ``plain`` and an object member ``member`` holding the
    deep-key pickle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **(plain or {"v_template": np.zeros((4, 3))}))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(f"{member}.npy", npy_object_member(deep_key_pickle(depth)))
    path.write_bytes(buffer.getvalue())
    return path


def repeated_tuple_key_pickle(levels: int = 40) -> bytes:
    """``{T: 1}`` where ``T0 = (None,)`` and ``T(i+1) = (Ti, Ti)`` through the memo: a few hundred
    bytes, nested only ``levels`` deep, whose hash visits 2^levels tuples."""
    ops = bytearray(b"\x80\x02}N\x85q\x000")
    for level in range(levels):
        ops += b"j" + struct.pack("<I", level) + b"j" + struct.pack("<I", level)
        ops += b"\x86r" + struct.pack("<I", level + 1) + b"0"
    return bytes(ops + b"j" + struct.pack("<I", levels) + b"K\x01s.")
