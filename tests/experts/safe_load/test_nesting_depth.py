"""A tuple nested 10^6 deep (a 1 MB pickle) is refused while unpickling, not hashed (SIGSEGV).

Each container the loader reads pickles from carries the payload: a ``.pkl`` body model, a zip
and a legacy torch checkpoint, an ``.npz`` object member (a body model's and a dataset's).
Each is loaded in a child process (the failure mode is a crash) through the loader functions,
``furpe-label check`` and ``furpe-label run``; the child must exit normally with a sentence
naming the file and the nesting limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from furpe_label.experts.safe_load import UnsafePickleError, safe_pickle_loads
from furpe_label.experts.safe_load.limits import MAX_NESTING
from tests.support.doubles.depth_bombs import (
    deep_key_pickle,
    deep_list_pickle,
    repeated_tuple_key_pickle,
    write_deep_legacy_checkpoint,
    write_deep_npz,
    write_deep_pickle,
    write_deep_zip_checkpoint,
)
from tests.support.paths import REPO_ROOT

CLI = [sys.executable, "-c", "from furpe_label.workflows.cli import main; main()"]
DRIVER = """
import sys
from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.safe_load import read_checkpoint, safe_load_npz, safe_pickle_load
calls = {"pkl": safe_pickle_load, "ckpt": read_checkpoint, "npz": safe_load_npz,
         "body": lambda folder, kind: load_body_model(folder, kind)}
for spec in sys.argv[1:]:
    name, *args = spec.split("|")
    try:
        calls[name](*args)
    except Exception as error:
        print(f"{type(error).__name__}: {error}", flush=True)
    else:
        print("LOADED", flush=True)
"""
NESTING = f"nested deeper than {MAX_NESTING} levels"


def _child(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FURPE_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, env=env, check=False
    )
    assert result.returncode >= 0, f"killed by signal {-result.returncode}: {result.stderr[-500:]}"
    return result


def _bomb_folders(tmp_path: Path) -> tuple[Path, Path]:
    models, experts = tmp_path / "models", tmp_path / "experts"
    write_deep_pickle(models / "smpl" / "SMPL_NEUTRAL.pkl")
    write_deep_npz(models / "smplx" / "SMPLX_NEUTRAL.npz")
    write_deep_zip_checkpoint(experts / "frankmocap" / "pose_shape_best.pth")
    write_deep_legacy_checkpoint(experts / "spin" / "model_checkpoint.pt")
    return models, experts


def test_small_nesting_still_loads():
    assert safe_pickle_loads(deep_key_pickle(MAX_NESTING - 1), "ok.pkl") == {
        _nested(MAX_NESTING - 1): 1
    }


def _nested(depth: int) -> tuple:
    value: object = None
    for _ in range(depth):
        value = (value,)
    return value  # type: ignore[return-value]


def test_deep_list_is_refused_with_the_limit():
    try:
        safe_pickle_loads(deep_list_pickle(10**5), "lists.pkl")
    except UnsafePickleError as error:
        assert "lists.pkl" in str(error) and NESTING in str(error)
    else:
        raise AssertionError("a list nested 10^5 deep was loaded")


def test_a_tuple_repeated_through_the_memo_is_refused_before_hashing(tmp_path):
    path = tmp_path / "repeated.pkl"
    path.write_bytes(repeated_tuple_key_pickle(40))
    code = "import sys; from furpe_label.experts.safe_load import safe_pickle_load as load\n"
    code += "try: load(sys.argv[1])\nexcept Exception as error: print(error)"
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,  # before the fix: 2^40 hash steps
        check=True,
    )
    assert "repeated.pkl" in result.stdout and "MAX_TUPLE_ITEMS" in result.stdout, result.stdout
    ten_levels = safe_pickle_loads(repeated_tuple_key_pickle(10), "ten.pkl")
    assert len(ten_levels) == 1  # 2^10 tuples: fine


def test_deep_key_is_refused_through_every_loader(tmp_path):
    models, experts = _bomb_folders(tmp_path)
    calls = [
        f"pkl|{models / 'smpl' / 'SMPL_NEUTRAL.pkl'}",
        f"npz|{models / 'smplx' / 'SMPLX_NEUTRAL.npz'}",
        f"ckpt|{experts / 'frankmocap' / 'pose_shape_best.pth'}",
        f"ckpt|{experts / 'spin' / 'model_checkpoint.pt'}",
        f"body|{models}|smpl",
    ]
    result = _child([sys.executable, "-c", DRIVER, *calls], tmp_path)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(calls), result.stdout + result.stderr[-2000:]
    for line, call in zip(lines, calls, strict=True):
        assert Path(call.split("|")[1]).name in line or call.startswith("body"), line
        assert "refused to load" in line and NESTING in line, line


def test_deep_key_is_refused_by_check(tmp_path):
    models, experts = _bomb_folders(tmp_path)
    result = _child(
        [*CLI, "check", "--models", str(models), "--experts", str(experts), "--json"], tmp_path
    )
    assert result.returncode == 1, result.stdout + result.stderr[-2000:]
    rows = [row for table in json.loads(result.stdout).values() for row in table]
    details = {Path(r["expected"].split(" | ")[0]).name: r.get("detail", "") for r in rows}
    for name in ("SMPL_NEUTRAL.pkl", "pose_shape_best.pth", "model_checkpoint.pt"):
        assert NESTING in details[name], details[name]


def _spin_npz_with_deep_imgname(root: Path) -> Path:
    plain = {"center": np.full((1, 2), 50.0), "scale": np.ones(1)}
    return write_deep_npz(root / "h36m_train.npz", plain=plain, member="imgname")


def test_deep_key_in_a_dataset_npz_is_refused_by_check_and_run(tmp_path):
    root = tmp_path / "h36m"
    _spin_npz_with_deep_imgname(root)
    check = _child([*CLI, "check", "--dataset", "h36m", "--root", str(root)], tmp_path)
    assert check.returncode == 1 and "h36m_train.npz" in check.stdout + check.stderr
    assert NESTING in check.stdout + check.stderr, check.stdout + check.stderr[-2000:]
    out = tmp_path / "out"
    flags = ["--dataset", "h36m", "--root", str(root), "--out", str(out), "--models", "synthetic"]
    run = _child([*CLI, "run", *flags, "--executor", "inline"], tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr[-2000:]
    assert NESTING in run.stdout + run.stderr and "h36m_train.npz" in run.stdout + run.stderr
