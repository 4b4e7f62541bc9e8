"""Fuzz kind ``run_folders``: a small finished run, damaged, read by every reader.

The run (6 person instances, 3 shards, written by the run's own writers through
:func:`tests.support.run_folders.write_run_folder`) is built once per worker process into a
cache folder and copied per case (hard links; a file is copied before it is damaged). Each
case damages one to three of its files (a kind of file drawn first, evenly: label chunk
files, the store's metadata, audit parts, stats, completion markers, ``run.json``, the
manifest): deletes, truncates, flips a byte, appends, copies another file of the same folder
over it, or copies it to a new name beside it. Then ``verify`` (:func:`check_run`), ``audit``
(:func:`load_checked_audit`), the export's rows and labels (:func:`read_run_rows`) and the
trainer's reader (:class:`LabelDataset`) read it.

Each reader must refuse with a sentence naming the run or the shard, or return exactly the
undamaged run's data for what it says it covers (an unfinished run must say so). A reader
that returns other data is a damaged store accepted silently: ``exercise`` raises, so the
harness counts a traceback.
"""

from __future__ import annotations

import atexit
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np

from furpe_label.storage.exports.run_rows import read_run_rows
from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.reader import LabelDataset
from furpe_label.storage.run_check import check_run
from furpe_label.workflows.audit import load_checked_audit
from tests.support.fuzz_harness import FuzzCase
from tests.support.run_folders import write_run_folder

ROWS, SHARD_SIZE = 6, 2
_SKIPPED = (".journal", "logs", ".lock")
_OPERATIONS = ("delete", "truncate", "flip", "append", "overwrite_with_sibling", "copy_beside")


@cache
def _pristine() -> Path:
    """The undamaged run (built once in this process, removed at exit)."""
    folder = Path(tempfile.mkdtemp(prefix="furpe-fuzz-run-folders-"))
    atexit.register(shutil.rmtree, folder, True)
    return write_run_folder(folder / "run", rows=ROWS, shard_size=SHARD_SIZE).root


@cache
def _reference() -> dict:
    """What the undamaged run's readers return."""
    root = _pristine()
    store = LabelStore.open(root / "labels.zarr")
    arrays = {name: store.array(name)[:] for name in store.names}
    table, _, _ = load_checked_audit(root)
    return {
        "arrays": arrays,
        "audit": table.sort_by("sample_idx"),
        "kept": np.flatnonzero(arrays["valid"]),
    }


def _targets(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and not any(part in _SKIPPED for part in path.relative_to(root).parts)
    )


def _damage(path: Path, how: str, rng: random.Random) -> None:
    data = path.read_bytes()
    path.unlink()  # a hard link to the cached run: never write through it
    path.write_bytes(data)
    if how == "delete":
        path.unlink()
    elif how == "truncate":
        path.write_bytes(data[: rng.randrange(len(data))] if data else b"")
    elif how == "flip" and data:
        buffer = bytearray(data)
        buffer[rng.randrange(len(buffer))] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(buffer))
    elif how == "append":
        path.write_bytes(data + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))))
    elif how == "overwrite_with_sibling":
        siblings = sorted(p for p in path.parent.iterdir() if p.is_file() and p != path)
        if siblings:
            path.write_bytes(rng.choice(siblings).read_bytes())
    elif how == "copy_beside":
        shutil.copyfile(path, path.with_name(f"{path.stem} (copy){path.suffix}"))


def cases(seed: int, count: int) -> Iterator[FuzzCase]:
    rng = random.Random(seed)
    names = [p.relative_to(_pristine()).as_posix() for p in _targets(_pristine())]
    for index in range(count):
        damages = [
            (rng.choice(names), rng.choice(_OPERATIONS)) for _ in range(rng.choice((1, 1, 2, 3)))
        ]
        damage_seed = rng.randrange(2**32)

        def build(folder: Path, damages=damages, damage_seed=damage_seed) -> Path:
            root = folder / "run"
            shutil.copytree(_pristine(), root, copy_function=os.link)
            damage_rng = random.Random(damage_seed)
            for name, how in damages:
                if (root / name).is_file():
                    _damage(root / name, how, damage_rng)
            return root

        label = ", ".join(f"{how} {name}" for name, how in damages)
        yield FuzzCase(name=f"{index}: {label}", build=build)


class SilentlyAcceptedError(AssertionError):
    """A reader returned data other than the undamaged run's without a word."""


def _refusal(error: Exception, root: Path) -> str:
    """The sentence of an expected refusal; anything else re-raised (a traceback)."""
    message = str(error)
    if not isinstance(error, ValueError | FileNotFoundError):
        raise error
    if str(root) not in message and "shard" not in message:
        raise error  # a refusal must name the run folder or the shard
    return message


def _same(name: str, found: np.ndarray, expected: np.ndarray, reader: str) -> None:
    if found.shape != expected.shape or not np.array_equal(found, expected, equal_nan=True):
        raise SilentlyAcceptedError(f"{reader} returned other values of {name} than the run wrote")


def _verify(root: Path) -> str | None:
    """``furpe-label verify``'s refusal (a usage error without run.json), None when intact."""
    try:
        check = check_run(root)
    except FileNotFoundError as error:
        return _refusal(error, root)
    return "; ".join(check.problems) if check.problems else None


def _audit(root: Path) -> None:
    table, _, check = load_checked_audit(root)
    reference = _reference()["audit"]
    rows = np.isin(reference.column("sample_idx").to_numpy() // SHARD_SIZE, check.done)
    if len(check.done) < check.shards and check.unfinished_note() is None:
        raise SilentlyAcceptedError("audit of an unfinished run without saying so")
    if not table.sort_by("sample_idx").equals(reference.filter(rows)):
        raise SilentlyAcceptedError(f"audit returned other rows: {table.num_rows} rows")


def _export(root: Path) -> None:
    rows = read_run_rows(root)
    reference = _reference()
    _same("sample_idx", rows.sample_idx, reference["kept"], "export")
    values = rows.read(list(reference["arrays"]), slice(None))
    for name, array in values.items():
        _same(name, array, reference["arrays"][name][rows.sample_idx], "export")


def _reader(root: Path) -> None:
    dataset = LabelDataset(root / "labels.zarr", engine="zarr")
    reference = _reference()
    kept = reference["kept"]
    if len(dataset) < len(kept) and not dataset.unfinished:
        raise SilentlyAcceptedError(
            f"reader gave {len(dataset)} of {len(kept)} kept samples silently"
        )
    if not np.isin(dataset.sample_idx, kept).all():
        raise SilentlyAcceptedError("reader indexed samples the run did not keep")
    values = dataset.read_rows(dataset.sample_idx)
    for name in dataset.fields:
        _same(name, values[name], reference["arrays"][name][dataset.sample_idx], "reader")


def exercise(case: FuzzCase, target: Path) -> str:
    refusals = []
    problem = _verify(target)
    if problem:
        refusals.append(f"verify: {problem}")
    for name, reader in (("audit", _audit), ("export", _export), ("reader", _reader)):
        try:
            reader(target)
        except SilentlyAcceptedError:
            raise
        except Exception as error:  # sorted into refusals and tracebacks
            refusals.append(f"{name}: {_refusal(error, target)}")
    if problem is None and refusals and not all("not a finished run" in r for r in refusals):
        raise SilentlyAcceptedError(f"verify found nothing but {refusals[0]}")
    return f"refused: {refusals[0]}" if refusals else "accepted"
