"""Test doubles: ``.npz`` archives that inflate far beyond their size, or lie about it.

* :func:`write_zero_bomb_npz`: plain members plus a member of ``nbytes`` zero bytes deflated
  (about 1000-fold: 512 MiB take 0.5 MB), its directory entry honest;
* :func:`lie_about_size`: rewrites a member's declared uncompressed size in the local header
  and the central directory (the stream itself is unchanged), so the directory says small
  while the stream inflates big, or the other way round.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np

_CHUNK = 2**22


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    """A version-1.0 ``.npy`` header for a C-ordered array of ``shape``."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}".encode()
    text += b" " * (63 - (10 + len(text)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def write_zero_bomb_npz(
    path: Path, nbytes: int, bomb: str = "bomb", plain: dict | None = None, append: bool = False
) -> Path:
    """``plain`` arrays plus member ``bomb``: ``nbytes`` of float64 zeros, deflated (``append``:
    added to the existing archive at ``path``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "a" if append else "w", zipfile.ZIP_DEFLATED) as archive:
        for key, value in (plain or {}).items():
            with archive.open(f"{key}.npy", "w") as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
        with archive.open(f"{bomb}.npy", "w", force_zip64=True) as member:
            member.write(npy_header((nbytes // 8,)))
            zeros = bytes(_CHUNK)
            for start in range(0, nbytes - nbytes % 8, _CHUNK):
                member.write(zeros[: min(_CHUNK, nbytes - nbytes % 8 - start)])
    return path


def lie_about_size(path: Path, member: str, declared: int) -> Path:
    """Set ``member``'s declared uncompressed size to ``declared`` (< 4 GiB, no zip64 entry)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    local = info.header_offset
    if info.file_size >= 2**32 or info.compress_size >= 2**32:
        raise ValueError("lie_about_size handles members without zip64 sizes only")
    struct.pack_into("<I", data, local + 22, declared)  # local header: uncompressed size
    name = member.encode()
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46 : central + 46 + name_length]) == name:
            struct.pack_into("<I", data, central + 24, declared)
            break
        central = data.find(b"PK\x01\x02", central + 46)
    path.write_bytes(bytes(data))
    return path
