"""Fuzz kind ``pickles``: mutated and hand-crafted pickle streams fed to the restricted
unpickler (:func:`furpe_label.experts.safe_load.safe_pickle_load`).

Seeds are real pickles of the shapes body-model files hold (dicts of arrays, sparse matrices,
nested lists); each case flips, drops, duplicates or inserts bytes, or appends opcodes. A
refusal must be a :class:`SafeLoadError` whose message names the file.
"""

from __future__ import annotations

import pickle
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import scipy.sparse

from furpe_label.experts.safe_load import SafeLoadError, safe_pickle_load
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
        which = rng.randrange(len(seeds))
        how, data = _mutate(seeds[which], rng)

        def build(folder: Path, data: bytes = data) -> Path:
            path = folder / "model.pkl"
            path.write_bytes(data)
            return path

        yield FuzzCase(name=f"{index}: seed {which} {how}", build=build)


def exercise(case: FuzzCase, target: Path) -> str:
    try:
        safe_pickle_load(target)
    except SafeLoadError as error:
        return f"refused: {error}"
    return "accepted"
