"""Fuzz kind ``annotations``: mutated JSON annotation files fed to `furpe-label check`.

Seeds are the reference fixtures of every JSON layout the project reads
(:mod:`tests.support.dataset_fixtures` / ``_fits``): COCO-WholeBody, the Human3.6M trio (any
of its three files mutated),
PoseTrack, OCHuman (native and COCO format) and EFT, each with its images on disk. Each case
applies one mutation to the parsed file: a value swapped for another type, a key or element
deleted, a value nested up to 2*10^5 deep, a huge number (1e308, 1e39, a 5000-digit integer),
a NaN / Infinity literal, a duplicated image id, an image path that leaves the root (``..``,
absolute, a symlink), or a byte-level break of the text.

``exercise`` runs the real ``check --json`` command line: an ``error`` is a refusal (its
sentence must name the file); otherwise the manifest the run would use is built and checked:
no row without a reason names a file outside the root, and every person box left in it is
valid (finite, positive, sane). A broken invariant raises, so it counts as a traceback.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from click.testing import CliRunner

from furpe_label.storage.manifest import column_array
from furpe_label.workflows.cli import main
from furpe_label.workflows.datasets import ADAPTERS
from furpe_label.workflows.datasets.boxes import box_problems
from furpe_label.workflows.datasets.containment import RootResolver
from tests.support.dataset_fixtures import write_coco_wholebody, write_h36m_json, write_image
from tests.support.dataset_fixtures_fits import write_eft, write_ochuman, write_posetrack
from tests.support.fuzz_harness import FuzzCase

DEEP = "__FUZZ_DEEP__"
HUGE_INTEGER = "__FUZZ_HUGE_INTEGER__"
ESCAPES = ("../" * 10 + "etc/passwd", "/etc/shadow", "../../outside/secret.jpg", "link/secret.jpg")
WEIRD_VALUES: tuple[Any, ...] = (
    *(None, 0, -1, 7, 2.5, True, "", "abc", [], [1, 2], {}, {"a": 1}, [[1, 2], [3]]),
    *(10**30, 1e308, -1e300, 1e39, float("nan"), float("inf"), float("-inf")),
    *(HUGE_INTEGER, DEEP),
)


def _coco(root: Path) -> tuple[str, Path]:
    path = root / "annotations" / "coco_wholebody_val_v1.0.json"
    write_coco_wholebody(path)
    write_image(root / "val2017" / "000000000001.jpg")
    return "coco-wholebody", path


def _h36m(root: Path) -> tuple[str, Path]:
    fixture = write_h36m_json(root / "annotations")
    for image in fixture["images"]:
        write_image(root / "images" / image["file_name"])
    return "h36m", root / "annotations" / "Human36M_subject1_data.json"


def _posetrack(root: Path) -> tuple[str, Path]:
    path = root / "posetrack_data" / "train" / "000001_bonn_train.json"
    for image in write_posetrack(path)["images"]:
        write_image(root / image["file_name"])
    return "posetrack", path


def _ochuman(root: Path) -> tuple[str, Path]:
    path = root / "ochuman.json"
    write_ochuman(path)
    write_image(root / "images" / "005051.jpg")
    return "ochuman", path


def _ochuman_coco(root: Path) -> tuple[str, Path]:
    path = root / "ochuman_coco_format_val_range_0.00_1.00.json"
    root.mkdir(parents=True, exist_ok=True)
    images = [{"id": i, "file_name": f"{i:06d}.jpg", "height": 48, "width": 64} for i in (1, 2)]
    keypoints = (np.arange(51) % 3 + 1.0).tolist()
    annotations = [
        {"id": 10 + i, "image_id": 1 + i % 2, "bbox": [1, 2, 30, 40], "keypoints": keypoints}
        for i in range(3)
    ]
    path.write_text(json.dumps({"images": images, "annotations": annotations}))
    for image in images:
        write_image(root / "images" / image["file_name"])
    return "ochuman", path


def _eft(root: Path) -> tuple[str, Path]:
    path = root / "MPII_ver01.json"
    write_eft(path, np.random.default_rng(0))
    write_image(root / "COCO_train2014_000000000036.jpg")
    return "eft", path


LAYOUTS: dict[str, Callable[[Path], tuple[str, Path]]] = {
    "coco-wholebody": _coco,
    "h36m-json": _h36m,
    "posetrack": _posetrack,
    "ochuman": _ochuman,
    "ochuman-coco": _ochuman_coco,
    "eft": _eft,
}


def _nodes(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every place in a parsed JSON value, as a tuple of keys / indices."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:40]):
            yield from _nodes(item, (*path, index))


def _parent(data: Any, path: tuple) -> Any:
    for step in path[:-1]:
        data = data[step]
    return data


def _file_name_places(data: Any) -> list[tuple]:
    return [p for p in _nodes(data) if p and p[-1] in ("file_name", "imageName")]


def _mutate(data: Any, rng: random.Random, root: Path) -> str:
    """Apply one mutation to ``data`` in place (or say ``text:`` for a byte-level one)."""
    how = rng.choice(("swap", "swap", "delete", "deep", "number", "number", "duplicate", "escape"))
    places = [p for p in _nodes(data) if p]
    if how == "duplicate" and isinstance(data, dict) and isinstance(data.get("images"), list):
        images = data["images"]
        if images and isinstance(images[0], dict):
            images.append({**images[rng.randrange(len(images))], "file_name": "copy.jpg"})
            return "duplicate image id"
    if how == "escape":
        names = _file_name_places(data)
        if names:
            place = rng.choice(names)
            escape = rng.choice(ESCAPES)
            write_image(root.parent / "outside" / "secret.jpg")
            for folder in {root, root / "images", root / "val2017"}:
                if folder.is_dir() and not (folder / "link").exists():
                    os.symlink(root.parent / "outside", folder / "link")
            _parent(data, place)[place[-1]] = escape
            return f"{place} -> {escape}"
    place = rng.choice(places)
    parent = _parent(data, place)
    if how == "delete":
        del parent[place[-1]]
        return f"delete {place}"
    if how == "number":
        numbers = [p for p in places if isinstance(_parent(data, p)[p[-1]], int | float)]
        place = rng.choice(numbers) if numbers else place
        value = rng.choice(
            (1e308, -1e300, 1e39, 1e10, -3e7, float("nan"), float("inf"), HUGE_INTEGER, 0, -5)
        )
        _parent(data, place)[place[-1]] = value
        return f"{place} = {value}"
    value = DEEP if how == "deep" else rng.choice(WEIRD_VALUES)
    parent[place[-1]] = value
    return f"{place} = {value!r}"


def _text(data: Any, rng: random.Random) -> str:
    text = json.dumps(data)
    depth = rng.choice((40, 900, 5000, 200_000))
    text = text.replace(json.dumps(DEEP), "[" * depth + "1" + "]" * depth)
    return text.replace(json.dumps(HUGE_INTEGER), "9" * 5000)


def _break_text(text: str, rng: random.Random) -> tuple[str, str]:
    position = rng.randrange(len(text))
    how = rng.choice(("truncate", "flip", "insert"))
    if how == "truncate":
        return f"truncate@{position}", text[:position]
    if how == "flip":
        changed = chr(ord(text[position]) ^ 0x20)
    else:
        changed = rng.choice(("{", "]", ",", '"', "\x00")) + text[position]
    return f"{how}@{position}", text[:position] + changed + text[position + 1 :]


def cases(seed: int, count: int) -> Iterator[FuzzCase]:
    rng = random.Random(seed)
    for index in range(count):
        layout = rng.choice(sorted(LAYOUTS))
        case_seed = rng.randrange(2**32)

        def build(folder: Path, layout: str = layout, case_seed: int = case_seed) -> Path:
            case_rng = random.Random(case_seed)
            root = folder / "root"
            dataset, annotations = LAYOUTS[layout](root)
            path = annotations
            if layout == "h36m-json":  # its camera and joint files are read too
                path = case_rng.choice(sorted(annotations.parent.glob("*.json")))
            data = json.loads(path.read_text())
            if case_rng.random() < 0.1:
                how, text = _break_text(path.read_text(), case_rng)
            else:
                how = _mutate(data, case_rng, root)
                text = _text(data, case_rng)
            path.write_text(text)
            spec = {"dataset": dataset, "root": str(root), "annotations": str(annotations)}
            spec["how"] = f"{path.name}: {how}"
            (folder / "case.json").write_text(json.dumps(spec))
            return folder / "case.json"

        yield FuzzCase(name=f"{index}: {layout} seed {case_seed}", build=build)


def exercise(case: FuzzCase, target: Path) -> str:
    spec = json.loads(target.read_text())
    args = ["check", "--dataset", spec["dataset"], "--root", spec["root"]]
    args += ["--annotations", spec["annotations"], "--json"]
    result = CliRunner().invoke(main, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    found = json.loads(result.stdout)["dataset"]
    if "error" in found:
        if result.exit_code != 1 or str(target.parent) not in found["error"]:
            raise AssertionError(f"{spec['how']}: refusal names no file: {found['error']}")
        return f"refused: {found['error']}"
    _check_manifest(spec)
    return "accepted"


def _check_manifest(spec: dict) -> None:
    """The invariants of an accepted file (see the module docstring)."""
    adapter = ADAPTERS[spec["dataset"]](root=spec["root"], annotations=spec["annotations"])
    table = adapter.build_manifest()
    resolver = RootResolver(spec["root"])
    reasons = table.column("input_reason").to_pylist()
    for path, why in zip(table.column("image_path").to_pylist(), reasons, strict=True):
        if why is None and not resolver.inside(resolver.resolve(path)):
            raise AssertionError(f"{spec['how']}: {path} is outside the root with no reason")
    boxes, valid = column_array(table, "box_xywh")
    problems = box_problems(boxes[valid])
    if any(problems):
        raise AssertionError(f"{spec['how']}: a box left in the manifest {problems}")
