"""Fuzz kind ``checkpoints``: damaged and crafted ``torch.save`` files fed to
:func:`furpe_label.experts.safe_load.read_checkpoint` (zip and legacy formats).

The seeds are a SPIN-like checkpoint (state dict with shared and strided storages, optimizer
state, ``_metadata``), written in both formats, and a DECA-like ``deca_model.tar`` (three state
dicts nested in one dict, as ``DECA.model_dict()``) written as a PyTorch before 1.6 wrote it
(``torch.save(..., _use_new_zipfile_serialization=False)``, the legacy container). A case is
one of

* a byte mutation of any of the three files (flip, insert, drop, truncate);
* an opcode-aware mutation of the pickles inside (``data.pkl``; a legacy file's consecutive
  pickles: magic, protocol, system info, object, storage keys), SPIN's or DECA's;
* a zip record change: ``data.pkl`` replaced by a hostile pickle, a storage record dropped,
  truncated, extended or compressed, ``constants.pkl`` or ``code/`` added (TorchScript), byte
  order "big", two ``data.pkl`` records, the record renamed;
* a legacy file rebuilt: intact, around a hostile object pickle, with a missing, extra or
  repeated storage key, a wrong element count, or big-endian system info; or naming many
  distinct storages that together claim more than the file holds (DECA's dict layout).

DECA cases are named ``deca_model.tar``, the others ``model_checkpoint.pt``.

Accepted results must be plain data, read in full.
"""

from __future__ import annotations

import io
import pickle
import random
import struct
import zipfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import torch

from furpe_label.experts.safe_load import SafeLoadError, read_checkpoint
from tests.support.doubles.fuzz_seeds import _spin_like_checkpoint, deca_like_checkpoint
from tests.support.doubles.hostile_pickles import hostile_pickle
from tests.support.doubles.legacy_storage_bombs import legacy_storage_bomb
from tests.support.doubles.pickle_fuzz import check_plain, mutate
from tests.support.fuzz_harness import FuzzCase

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


@cache
def _seeds() -> tuple[bytes, bytes]:
    """(zip file, legacy file) of the SPIN-like checkpoint."""
    checkpoint = _spin_like_checkpoint()
    zip_buffer, legacy_buffer = io.BytesIO(), io.BytesIO()
    torch.save(checkpoint, zip_buffer)
    torch.save(checkpoint, legacy_buffer, _use_new_zipfile_serialization=False)
    return zip_buffer.getvalue(), legacy_buffer.getvalue()


@cache
def _deca_legacy() -> bytes:
    """The DECA-like ``deca_model.tar`` in the legacy container."""
    buffer = io.BytesIO()
    torch.save(deca_like_checkpoint(), buffer, _use_new_zipfile_serialization=False)
    return buffer.getvalue()


def _zip(members: dict[str, bytes], compress: set[str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            method = zipfile.ZIP_DEFLATED if name in (compress or set()) else zipfile.ZIP_STORED
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


def _bytes(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    out = bytearray(data)
    how = rng.choice(("flip", "insert", "drop", "truncate"))
    at = rng.randrange(len(out))
    if how == "flip":
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    elif how == "insert":
        out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif how == "drop":
        del out[at : at + rng.randint(1, 64)]
    else:
        del out[at:]
    return f"bytes {how}@{at}", bytes(out)


_ZIP_CHANGES = (
    *("hostile", "mutate", "drop", "truncate", "extend", "compress", "torchscript"),
    *("big-endian", "two pickles", "rename"),
)


def _zip_record(rng: random.Random) -> tuple[str, bytes]:
    members = read_zip_bytes(_seeds()[0])
    pickle_name = next(name for name in members if name.endswith("/data.pkl"))
    prefix = pickle_name[: -len("data.pkl")]
    records = [name for name in members if "/data/" in name]
    how = rng.choice(_ZIP_CHANGES)
    if how == "hostile":
        what, members[pickle_name] = hostile_pickle(rng)
        how = f"hostile data.pkl ({what})"
    elif how == "mutate":
        members[pickle_name] = mutate(members[pickle_name], 0, rng)
    elif how == "drop":
        del members[rng.choice(records)]
    elif how in ("truncate", "extend"):
        name = rng.choice(records)
        data = members[name]
        members[name] = data[: rng.randrange(len(data))] if how == "truncate" else data * 2
    elif how == "compress":
        return how, _zip(members, compress=set(records))
    elif how == "torchscript":
        members[prefix + rng.choice(("constants.pkl", "code/__torch__.py"))] = b"x"
    elif how == "big-endian":
        members[prefix + "byteorder"] = b"big"
    elif how == "two pickles":
        members["other/data.pkl"] = members[pickle_name]
    else:
        members[prefix + "model.pkl"] = members.pop(pickle_name)
    return f"zip {how}", _zip(members)


def read_zip_bytes(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _legacy(rng: random.Random) -> tuple[str, bytes]:
    system = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"int": 4}}
    how = rng.choice(
        (
            *("intact", "hostile", "missing key", "extra key", "repeated key", "count"),
            *("endian", "storage bomb"),
        )
    )
    if how == "storage bomb":
        storages, numel = rng.randint(1, 64), rng.choice((1, 6, 1000, 2**16))
        return f"legacy {storages} storages of {numel}", legacy_storage_bomb(storages, numel)
    stream = io.BytesIO()
    if how == "endian":
        system["little_endian"] = False
    for header in (LEGACY_MAGIC, 1001, system):
        pickle.dump(header, stream, protocol=2)
    values = torch.arange(6, dtype=torch.float32)
    if how == "hostile":
        what, data = hostile_pickle(rng)
        stream.write(data)
        pickle.dump([], stream, protocol=2)
        return f"legacy hostile object ({what})", stream.getvalue()
    tensor = (
        b"\x80\x02}X\x01\x00\x00\x00w"
        b"ctorch._utils\n_rebuild_tensor_v2\n(("
        b"X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu"
        b"K\x06Ntq\x01QK\x00K\x06\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtRs."
    )
    stream.write(tensor)
    keys = {"missing key": [], "extra key": ["0", "1"], "repeated key": ["0", "0"]}
    pickle.dump(keys.get(how, ["0"]), stream, protocol=2)
    count = 7 if how == "count" else 6
    stream.write(struct.pack("<q", count) + values.numpy().tobytes())
    return f"legacy {how}", stream.getvalue()


def cases(seed: int, count: int) -> Iterator[FuzzCase]:
    rng = random.Random(seed)
    for index in range(count):
        roll = rng.random()
        zip_file, legacy_file = _seeds()
        file_name = "model_checkpoint.pt"
        if roll < 0.2:
            name, data = _bytes(rng.choice((zip_file, legacy_file)), rng)
        elif roll < 0.3:
            name, data = "legacy opcode mutation", mutate(legacy_file, 0, rng)
        elif roll < 0.4:
            name, data = _bytes(_deca_legacy(), rng)
            name, file_name = f"deca legacy {name}", "deca_model.tar"
        elif roll < 0.5:
            name, data = "deca legacy opcode mutation", mutate(_deca_legacy(), 0, rng)
            file_name = "deca_model.tar"
        elif roll < 0.75:
            name, data = _zip_record(rng)
        else:
            name, data = _legacy(rng)
            file_name = "deca_model.tar" if "storages of" in name else file_name

        def build(folder: Path, data: bytes = data, file_name: str = file_name) -> Path:
            path = folder / file_name
            path.write_bytes(data)
            return path

        yield FuzzCase(name=f"{index}: {name}", build=build)


def exercise(case: FuzzCase, target: Path) -> str:
    try:
        loaded = read_checkpoint(target)
    except SafeLoadError as error:
        if target.name not in str(error):
            raise AssertionError(f"the refusal does not name the file: {error}") from error
        return f"refused: {error}"
    check_plain(loaded)
    return "accepted"
