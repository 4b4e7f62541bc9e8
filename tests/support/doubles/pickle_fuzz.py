"""Fuzz worker: mutate the seed files' bytes and pickle opcodes, load them, judge the outcome.

Run as ``python -m tests.support.doubles.pickle_fuzz SEED_DIR SEED_FILE:FIRST:COUNT ...``: cases
FIRST .. FIRST+COUNT-1 of each seed, each mutated by 1-3 of: random byte changes, opcode
replacement, opcode-argument overwrite (extreme integers, lengths), opcode deletion /
duplication / swap, truncation, insertion of an allowed or refused opcode snippet. Case ``i`` is
reproducible from ``random.Random(i)`` alone. Every case must load to plain data (every array,
sparse matrix and tensor is then read in full) or raise :class:`SafeLoadError`; anything else is
printed as ``FAIL``. ``case SEED i`` is printed before each case, so a crash or hang names the
case.
"""

from __future__ import annotations

import io
import pickletools
import random
import struct
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse
import torch

from furpe_label.experts.safe_load import (
    SafeLoadError,
    read_checkpoint,
    safe_load_npy,
    safe_load_npz,
    safe_pickle_loads,
)
from tests.support.doubles.fuzz_seeds import read_zip, write_zip

_OPCODES = [op.code.encode("latin1") for op in pickletools.opcodes]
_SNIPPETS = [
    *(bytes([c]) for c in b"02(tRbsuea N}])\x81\x85\x86\x87"),
    b"h\x00",
    b"q\x00",
    b"K\x00",
    b"J\xff\xff\xff\x7f",
    b"J\xff\xff\xff\xff",
    b"cnumpy\nndarray\n",
    b"cnumpy\ndtype\n",
    b"cnumpy.core.multiarray\nscalar\n",
    b"cnumpy.core.multiarray\n_reconstruct\n",
    b"ctorch._utils\n_rebuild_tensor_v2\n",
    b"cscipy.sparse._csc\ncsc_matrix\n",
    b"ccopy_reg\n_reconstructor\n",
    b"ccollections\nOrderedDict\n",
    b"c__builtin__\nobject\n",
    b"cos\nsystem\n",
    b"ctorch\nFloatTensor\n",
    b"ctorch\nFloatStorage\n",
]
_INTS = [0, 1, -1, 2**31 - 1, -(2**31), 2**16, 255]


def op_spans(data: bytes, start: int) -> list[tuple[int, int]]:
    """(start, end) of every opcode of the consecutive pickles that begin at ``start``."""
    spans: list[tuple[int, int]] = []
    stream = io.BytesIO(data)
    stream.seek(start)
    while stream.tell() < len(data):
        try:
            positions = [pos for _, _, pos in pickletools.genops(stream)]
        except Exception:
            break
        ends = [*positions[1:], stream.tell()]
        spans.extend(zip(positions, ends, strict=True))
    return spans


def _mutate_once(data: bytes, start: int, rng: random.Random) -> bytes:
    spans = op_spans(data, start)
    kind = rng.choice(
        ["flip", "opcode", "argument", "delete", "duplicate", "swap", "truncate", "insert"]
    )
    if kind == "flip" or not spans:
        out = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    pos, end = rng.choice(spans)
    if kind == "opcode":
        return data[:pos] + rng.choice(_OPCODES) + data[pos + 1 :]
    if kind == "argument" and end - pos > 1:
        end = min(end, pos + 9)  # integers and length prefixes, not the raw payloads
        if end - pos >= 5 and rng.random() < 0.7:
            value = struct.pack("<i", rng.choice(_INTS))
            at = rng.randrange(pos + 1, end - 3)
            return data[:at] + value + data[at + 4 :]
        at = rng.randrange(pos + 1, end)
        return data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]
    if kind == "delete":
        return data[:pos] + data[end:]
    if kind == "duplicate":
        return data[:end] + data[pos:end] + data[end:]
    if kind == "truncate":
        return data[:pos]
    if kind == "swap":
        other, other_end = rng.choice(spans)
        if other > end:
            return (
                data[:pos]
                + data[other:other_end]
                + data[end:other]
                + data[pos:end]
                + data[other_end:]
            )
    return data[:pos] + rng.choice(_SNIPPETS) + data[pos:]


def mutate(data: bytes, start: int, rng: random.Random) -> bytes:
    for _ in range(rng.randint(1, 3)):
        if not data:
            break
        data = _mutate_once(data, start, rng)
    return data


def _npy_pickle_start(data: bytes) -> int:
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        read = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else (np.lib.format.read_array_header_2_0)
        )
        read(stream)
    except Exception:
        return 0
    return stream.tell()


def check_plain(value: Any, seen: set[int] | None = None) -> None:
    """Raise AssertionError unless ``value`` is plain data; read every array in full."""
    seen = set() if seen is None else seen
    if (
        id(value) in seen
        or value is None
        or isinstance(value, bool | int | float | complex | str | bytes | np.generic)
    ):
        return
    seen.add(id(value))
    if isinstance(value, dict):
        for key, item in value.items():
            check_plain(key, seen)
            check_plain(item, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            check_plain(item, seen)
    elif type(value) is np.ndarray:
        if value.dtype.hasobject:
            for item in value.flat:
                check_plain(item, seen)
        else:
            value.tobytes()
    elif scipy.sparse.issparse(value):
        if isinstance(value, scipy.sparse.coo_matrix):
            assert value.nnz == 0 or (
                value.row.max() < value.shape[0] and value.col.max() < value.shape[1]
            )
        else:
            value.check_format(full_check=True)
        value.tocoo().data.sum()
    elif type(value) is torch.Tensor:
        value.clone()
    else:
        raise AssertionError(f"not plain data: {type(value)}")


def _loader(seed: Path, workdir: Path) -> Callable[[random.Random], Any]:
    """A function that mutates ``seed`` with the given generator and loads the result."""
    if seed.suffix == ".pkl":
        data = seed.read_bytes()
        return lambda rng: safe_pickle_loads(mutate(data, 0, rng), seed.name)
    target = workdir / seed.name
    if seed.suffix == ".npy":
        data = seed.read_bytes()

        def load_npy(rng: random.Random) -> Any:
            target.write_bytes(mutate(data, _npy_pickle_start(data), rng))
            return safe_load_npy(target)

        return load_npy
    if seed.suffix == ".npz" or (seed.suffix == ".pt" and seed.read_bytes()[:2] == b"PK"):
        members = read_zip(seed)
        pickled = [n for n in members if n.endswith("data.pkl") or members[n][:6] == b"\x93NUMPY"]
        load = safe_load_npz if seed.suffix == ".npz" else read_checkpoint

        def load_zip(rng: random.Random) -> Any:
            name = rng.choice([n for n in pickled if b"\x80" in members[n]] or pickled)
            if rng.random() < 0.2:
                name = rng.choice(list(members))
            start = _npy_pickle_start(members[name]) if name.endswith(".npy") else 0
            target.write_bytes(write_zip({**members, name: mutate(members[name], start, rng)}))
            return load(target)

        return load_zip
    data = seed.read_bytes()

    def load_legacy(rng: random.Random) -> Any:
        target.write_bytes(mutate(data, 0, rng))
        return read_checkpoint(target)

    return load_legacy


def run_seed(seed_dir: Path, seed_file: str, first: int, count: int, workdir: Path) -> int:
    """Cases ``first .. first+count-1`` of one seed; returns the number of failures."""
    failures = loaded = refused = 0
    load = _loader(seed_dir / seed_file, workdir)
    for case in range(first, first + count):
        print(f"case {seed_file} {case}", flush=True)
        try:
            check_plain(load(random.Random(case)))
            loaded += 1
        except SafeLoadError:
            refused += 1
        except Exception as error:  # not the loader's error: a finding
            failures += 1
            print(
                f"FAIL {seed_file} case {case}: {type(error).__name__}: {error}"[:500], flush=True
            )
    print(f"DONE {seed_file}: {loaded} loaded, {refused} refused, {failures} failed", flush=True)
    return failures


def main(seed_dir: str, specs: list[str]) -> int:
    """``specs``: ``SEED_FILE:FIRST:COUNT`` each."""
    failures = 0
    with tempfile.TemporaryDirectory() as workdir:
        for spec in specs:
            seed_file, first, count = spec.split(":")
            failures += run_seed(Path(seed_dir), seed_file, int(first), int(count), Path(workdir))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
