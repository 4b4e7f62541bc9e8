"""Fuzz kind ``npz``: damaged, lying and bomb ``.npz`` archives fed to the safe ``.npz`` readers.

The seed holds plain members of several dtypes (float, int, bool, unicode strings, a 0-d
scalar), a HumanData-style 0-d object member (a pickled dict) and is written stored or
deflated. A case is one of

* a byte mutation of the archive (flip, insert, drop, truncate: directory, headers, data);
* a directory lie: a member's declared uncompressed size set smaller or larger than its stream;
* a bomb: a member of 80 MiB of zeros deflated ~1000-fold, or twelve 6 MiB ones;
* an ``.npy`` header change (huge, negative or non-integer shape, object / structured /
  datetime dtypes, a bad order flag, version 3, a huge header length);
* an object member holding a hostile pickle (:mod:`tests.support.doubles.hostile_pickles`);
* a zip structure change: a repeated member name, ``../`` names, the encryption flag, an
  unknown or bzip2 / lzma compression method, no members.

Each case goes through one of the product's entries: :func:`safe_load_npz` (every member), the
dataset reader :func:`load_npz` (member by member: every member is then looked up) or
:class:`NpzMembers` with ``allow_objects=False`` (transfer's plain arrays). Refusals are
:class:`SafeLoadError` / :class:`DatasetError` sentences naming the file; accepted data is read
in full.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np

from furpe_label.experts.safe_load import NpzMembers, SafeLoadError, safe_load_npz
from furpe_label.workflows.datasets.readers import DatasetError, load_npz
from tests.support.doubles.depth_bombs import npy_object_member
from tests.support.doubles.hostile_pickles import hostile_pickle
from tests.support.doubles.npz_bombs import lie_about_size, npy_header
from tests.support.doubles.pickle_fuzz import check_plain
from tests.support.fuzz_harness import FuzzCase


def _plain_members() -> dict[str, bytes]:
    arrays = {
        "betas": np.linspace(-1, 1, 30).reshape(3, 10),
        "f": np.arange(12, dtype=np.int32).reshape(4, 3),
        "valid": np.array([True, False, True]),
        "image_path": np.array(["a.jpg", "b/c.jpg", "d.png"]),
        "scale": np.float64(1.5),
    }
    out = {}
    for key, value in arrays.items():
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.asanyarray(value), allow_pickle=False)
        out[f"{key}.npy"] = buffer.getvalue()
    holder = np.empty((), dtype=object)
    holder[()] = {"convention": "smplx", "num": 3, "flat": [1.0, 2.0]}
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, holder, allow_pickle=True)
    out["meta.npy"] = buffer.getvalue()
    return out


def _archive(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


@cache
def _bomb_member() -> bytes:
    """A zip holding ``bomb.npy``: 80 MiB of float64 zeros, deflated (made once per process)."""
    buffer = io.BytesIO()
    size = 80 * 2**20
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("bomb.npy", "w", force_zip64=True) as member,
    ):
        member.write(npy_header((size // 8,)))
        chunk = bytes(2**22)
        for _ in range(size // len(chunk)):
            member.write(chunk)
    return buffer.getvalue()


@cache
def _small_bombs() -> bytes:
    data = npy_header((6 * 2**20 // 8,)) + bytes(6 * 2**20)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(12):
            archive.writestr(f"m{index}.npy", data)
    return buffer.getvalue()


def _header_change(rng: random.Random) -> tuple[str, dict[str, bytes]]:
    members = _plain_members()
    headers = {
        "huge shape": npy_header((2**62,)),
        "shape 10^13": npy_header((10**13,)),
        "negative shape": npy_header((-5, 3)),
        "float shape": b"\x93NUMPY\x01\x00F\x00{'descr': '<f8', 'fortran_order': False, "
        b"'shape': (2.5,), }        \n",
        "object dtype garbage": npy_header((), "|O") + b"garbage",
        "structured": b"\x93NUMPY\x01\x00F\x00{'descr': [('a', '<f8')], 'fortran_order': "
        b"False, 'shape': (1,), }  \n" + bytes(8),
        "datetime": npy_header((2,), "<M8[s]") + bytes(16),
        "order flag": b"\x93NUMPY\x01\x00F\x00{'descr': '<f8', 'fortran_order': 'x', "
        b"'shape': (1,), }           \n" + bytes(8),
        "version 3": b"\x93NUMPY\x03\x00" + npy_header((1,))[8:] + bytes(8),
        "header length 4 GiB": b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**32 - 1) + b"{",
        "zero-size dtype": npy_header((5,), "|V0"),
    }
    name = rng.choice(sorted(headers))
    members[rng.choice(sorted(members))] = headers[name]
    return f"npy header {name}", members


def _structure(rng: random.Random) -> tuple[str, bytes]:
    members = _plain_members()
    how = rng.choice(("repeat", "parent name", "encrypted", "method 99", "bzip2", "lzma", "empty"))
    if how == "empty":
        return how, _archive({})
    if how in ("bzip2", "lzma"):
        method = zipfile.ZIP_BZIP2 if how == "bzip2" else zipfile.ZIP_LZMA
        return how, _archive(members, method)
    if how == "parent name":
        members["../../escape.npy"] = members.pop("betas.npy")
        return how, _archive(members)
    data = bytearray(_archive(members))
    if how == "repeat":
        data = bytearray(_archive({**members, "betas.npy": members["f.npy"]}))
        return how, bytes(data)
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        at = data.find(signature)
        while at >= 0:
            if how == "encrypted":
                struct.pack_into("<H", data, at + flag_at, 1)
            else:
                struct.pack_into("<H", data, at + method_at, 99)
            at = data.find(signature, at + 4)
    return how, bytes(data)


def _case(rng: random.Random) -> tuple[str, bytes]:
    roll = rng.random()
    members = _plain_members()
    stored = rng.random() < 0.5
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    if roll < 0.3:
        data = bytearray(_archive(members, method))
        how = rng.choice(("flip", "insert", "drop", "truncate"))
        at = rng.randrange(len(data))
        if how == "flip":
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif how == "insert":
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif how == "drop":
            del data[at : at + rng.randint(1, 32)]
        else:
            del data[at:]
        return f"bytes {how}@{at} ({'stored' if stored else 'deflated'})", bytes(data)
    if roll < 0.45:
        return "lie", _archive(members, method)  # the lie is told in build()
    if roll < 0.5:  # few: the twelve small ones are inflated up to the limit (~1 s)
        return rng.choice((("bomb 80 MiB", _bomb_member()), ("12 small bombs", _small_bombs())))
    if roll < 0.7:
        name, changed = _header_change(rng)
        return name, _archive(changed, method)
    if roll < 0.85:
        what, payload = hostile_pickle(rng)
        members[rng.choice(("meta.npy", "image_path.npy"))] = npy_object_member(payload)
        return f"object member ({what})", _archive(members, method)
    return _structure(rng)


def cases(seed: int, count: int) -> Iterator[FuzzCase]:
    rng = random.Random(seed)
    for index in range(count):
        name, data = _case(rng)
        entry = rng.choice(("safe_load_npz", "load_npz", "plain"))
        lie = rng.choice((0, 1, 100, 2**20, 2**31)) if name == "lie" else None
        member = rng.choice(sorted(_plain_members())) if lie is not None else ""

        def build(folder: Path, data: bytes = data, lie=lie, member: str = member) -> Path:
            path = folder / "annotations.npz"
            path.write_bytes(data)
            if lie is not None:
                lie_about_size(path, member, lie)
            return path

        label = f"{name} {member} -> {lie}" if lie is not None else name
        yield FuzzCase(name=f"{index}: {label} via {entry}", build=build)


def exercise(case: FuzzCase, target: Path) -> str:
    entry = case.name.rsplit(" via ", 1)[1]
    try:
        if entry == "safe_load_npz":
            loaded = safe_load_npz(target)
        else:
            members = load_npz(target) if entry == "load_npz" else NpzMembers(target, False)
            loaded = {key: members[key] for key in members}
    except (SafeLoadError, DatasetError) as error:
        if target.name not in str(error):
            raise AssertionError(f"the refusal does not name the file: {error}") from error
        return f"refused: {error}"
    check_plain(loaded)
    return "accepted"
