"""Fuzz kind ``openpose_json``: mutated OpenPose 1.x JSON files through the product's reader
(:func:`~furpe_label.experts.detectors.openpose_format.read_openpose_json`), the person finder a
run's pre-pass uses (:func:`~furpe_label.pipeline.person_finder.find_people`) and the
``openpose-json`` detector a shard uses.

Seed: SPIN's real OpenPose 1.2 output (im1010). Each case changes the JSON tree (a value
becomes a string, an object, null, a boolean, a huge or non-finite number, deep nesting; an
array is cut or grown; a key is dropped or renamed; ``people`` changes shape) or the bytes
(flip, drop, duplicate, truncate). A refusal is the named reason with the detail naming the file
(``keypoints_file_invalid`` / ``no_person_in_box``); a result that is neither, or boxes / keypoints
that are not finite, is a traceback.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from furpe_label.experts.detectors import create_detector
from furpe_label.pipeline.person_finder import find_people
from tests.support.fuzz_harness import FuzzCase
from tests.support.real_data import SHIPPED

SEED_FILE = SHIPPED / "spin_example" / "im1010_openpose.json"
IMAGE = np.zeros((240, 160, 3), np.uint8)
_ODD_VALUES = (
    "abc",
    "",
    None,
    True,
    {"x": 1},
    [],
    [1.0, 2.0],
    1e308,
    -1e308,
    10**400,
    float("nan"),
    float("inf"),
    -0.0,
    2**63,
)


def _paths(tree: object, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys / indices) into a JSON tree."""
    out = [prefix]
    if isinstance(tree, dict):
        for key, value in tree.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            out += _paths(value, (*prefix, index))
    return out


def _set(tree: dict, path: tuple, value: object) -> dict:
    if not path:
        return value  # type: ignore[return-value]
    parent = tree
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return tree


def _tree_mutation(seed: dict, rng: random.Random) -> tuple[str, str]:
    tree = copy.deepcopy(seed)
    paths = _paths(tree)
    path = rng.choice(paths)
    how = rng.choice(("value", "nest", "cut", "grow", "drop_key", "people", "value", "value"))
    if how == "value":
        value = rng.choice(_ODD_VALUES)
        tree = _set(tree, path, value)
        what = f"{'/'.join(map(str, path))} = {value!r}"[:80]
    elif how == "nest":
        depth = rng.choice((2, 50, 900, 5000, 100_000))
        text = json.dumps(_set(tree, path, "@NEST@"))
        return f"nest {depth} at {'/'.join(map(str, path))}"[:80], text.replace(
            '"@NEST@"', "[" * depth + "]" * depth
        )
    elif how in ("cut", "grow"):
        arrays = [p for p in paths if isinstance(_get(tree, p), list)]
        path = rng.choice(arrays)
        values = _get(tree, path)
        count = rng.randrange(len(values) + 1) if how == "cut" else rng.randint(1, 9)
        new = values[:count] if how == "cut" else values + [0.5] * count
        tree = _set(tree, path, new)
        what = f"{how} {'/'.join(map(str, path))} to {len(new)}"
    elif how == "drop_key":
        dicts = [p for p in paths if isinstance(_get(tree, p), dict) and _get(tree, p)]
        path = rng.choice(dicts)
        key = rng.choice(sorted(_get(tree, path)))
        del _get(tree, path)[key]
        what = f"drop {'/'.join(map(str, (*path, key)))}"
    else:
        tree["people"] = rng.choice(
            ([], {}, None, "x", [1, 2], [None], tree["people"] * rng.randint(2, 40))
        )
        what = f"people -> {type(tree['people']).__name__} of {len(tree['people'] or [])}"
    return what, json.dumps(tree)


def _get(tree: object, path: tuple) -> object:
    for key in path:
        tree = tree[key]  # type: ignore[index]
    return tree


def _byte_mutation(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    buffer = bytearray(data)
    how = rng.choice(("flip", "drop", "duplicate", "truncate"))
    position = rng.randrange(len(buffer))
    if how == "flip":
        buffer[position] ^= 1 << rng.randrange(8)
    elif how == "drop":
        del buffer[position : position + rng.randint(1, 8)]
    elif how == "duplicate":
        buffer[position:position] = buffer[position : position + rng.randint(1, 16)]
    else:
        del buffer[position:]
    return f"{how}@{position}", bytes(buffer)


def cases(seed: int, count: int) -> Iterator[FuzzCase]:
    rng = random.Random(seed)
    text = SEED_FILE.read_text()
    tree = json.loads(text)
    for index in range(count):
        if rng.random() < 0.7:
            how, content = _tree_mutation(tree, rng)
            data = content.encode()
        else:
            how, data = _byte_mutation(text.encode(), rng)

        def build(folder: Path, data: bytes = data) -> Path:
            path = folder / "im1010_keypoints.json"
            path.write_bytes(data)
            return path

        yield FuzzCase(name=f"{index}: {how}", build=build)


def exercise(case: FuzzCase, target: Path) -> str:
    found = find_people(IMAGE, target)
    rows = create_detector("openpose-json", folder=target.parent).detect(
        IMAGE, np.array([[10.0, 10.0, 100.0, 200.0]]), image_id="im1010.jpg"
    )
    if not np.isfinite(rows[0].keypoints).all():
        raise AssertionError(f"non-finite keypoints from {target}")
    if found.failure is None:
        if not (np.isfinite(found.boxes).all() and len(found.boxes)):
            raise AssertionError(f"people found without finite boxes: {found.boxes}")
        return "accepted"
    if str(target) not in found.detail:
        raise AssertionError(f"{found.failure} detail does not name the file: {found.detail!r}")
    named = rows[0].failure in (None, "no_person_in_box") or str(target) in rows[0].detail
    if not named:
        raise AssertionError(f"detector detail does not name the file: {rows[0].detail!r}")
    return f"refused: {found.failure}: {found.detail}"
