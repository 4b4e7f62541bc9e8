"""Fuzz kind ``pickles``: mutated and hand-crafted pickle streams fed to the restricted
unpickler (:func:`furpe_label.experts.safe_load.safe_pickle_load`).

Seeds are real pickles of the shapes body-model files hold (dicts of arrays, sparse matrices,
nested lists). A case is one of

* a byte mutation of a seed (flip, drop, duplicate, insert, truncate);
* an opcode-aware mutation (replace, delete, duplicate or swap opcodes, overwrite their
  integer arguments, insert allowed or refused snippets: :func:`pickle_fuzz.mutate`);
* a hand-written hostile stream (:mod:`tests.support.doubles.hostile_pickles`): nesting bombs
  of every container opcode, tuples repeated through the memo, huge integers and lengths, memo
  abuse, code-running globals and opcodes, random opcode streams of every family.

A refusal must be a :class:`SafeLoadError` whose message names the file; what is accepted must
be plain data, read in full (:func:`pickle_fuzz.check_plain`).
"""

from __future__ import annotations

import pickle
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import scipy.sparse

from furpe_label.experts.safe_load import SafeLoadError, safe_pickle_load
from tests.support.doubles.hostile_pickles import hostile_pickle
from tests.support.doubles.pickle_fuzz import check_plain, mutate
from tests.support.fuzz_harness import FuzzCase


def _seed_pickles() -> list[bytes]:
    arrays = {
        "v_template": np.arange(30, dtype=np.float64).reshape(10, 3),
        "f": np.arange(12, dtype=np.uint32).reshape(4, 3),
        "J_regressor": scipy.sparse.csc_matrix(np.eye(4, 10)),
        "kintree_table": np.array([[4294967295, 0, 1], [0, 1, 2]], dtype=np.int64),
        "bs_style": "lbs",
    }
    nested = {"a": [1, 2.5, "x", None, (True, b"")], "b": {"c": list(range(20))}}
    return [pickle.dumps(value, protocol) for value in (arrays, nested) for protocol in (2, 4)]


def _mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    buffer = bytearray(data)
    how = rng.choice(("flip", "drop", "duplicate", "insert", "truncate"))
    position = rng.randrange(len(buffer))
    if how == "flip":
        buffer[position] ^= 1 << rng.randrange(8)
    elif how == "drop":
        del buffer[position : position + rng.randint(1, 8)]
    elif how == "duplicate":
        buffer[position:position] = buffer[position : position + rng.randint(1, 16)]
    elif how == "insert":
        buffer[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
    else:
        del buffer[position:]
    return f"{how}@{position}", bytes(buffer)


def cases(seed: int, count: int) -> Iterator[FuzzCase]:
    rng = random.Random(seed)
    seeds = _seed_pickles()
    for index in range(count):
        roll = rng.random()
        which = rng.randrange(len(seeds))
        if roll < 0.3:
            how, data = _mutate(seeds[which], rng)
            name = f"seed {which} {how}"
        elif roll < 0.55:
            data = mutate(seeds[which], 0, rng)
            name = f"seed {which} opcode mutation"
        else:
            name, data = hostile_pickle(rng)

        def build(folder: Path, data: bytes = data) -> Path:
            path = folder / "model.pkl"
            path.write_bytes(data)
            return path

        yield FuzzCase(name=f"{index}: {name}", build=build)


def exercise(case: FuzzCase, target: Path) -> str:
    try:
        loaded = safe_pickle_load(target)
    except SafeLoadError as error:
        if target.name not in str(error):
            raise AssertionError(f"the refusal does not name the file: {error}") from error
        return f"refused: {error}"
    check_plain(loaded)
    return "accepted"
