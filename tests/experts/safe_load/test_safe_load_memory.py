"""Files that would corrupt or expose memory are refused through every public entry point.

Each class of attack is loaded in a subprocess (a crash must not take pytest down with it)
through ``furpe-label check --models``, ``furpe-label check --experts``, ``load_body_model``
and FrankMocap's mean-parameter loader; the process must exit normally (no signal) with the
loader's named error naming the file and what was refused.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import scipy.sparse
import torch

from furpe_label.experts.safe_load import safe_pickle_load
from tests.support.doubles.crafted_files import (
    edited_dtype_pickle,
    oversized_tensor_checkpoint,
    oversized_tensor_npy,
    sparse_outside_shape,
)
from tests.support.paths import REPO_ROOT as ROOT

CLI = [sys.executable, "-c", "from furpe_label.workflows.cli import main; main()"]
DRIVER = """
import sys
from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.networks.frankmocap import load_mean_mano_params
from furpe_label.experts.safe_load import read_checkpoint
calls = {
    "body": lambda folder, kind, variant: load_body_model(folder, kind, variant),
    "mean": load_mean_mano_params,
    "checkpoint": read_checkpoint,
}
for spec in sys.argv[1:]:
    name, *args = spec.split("|")
    try:
        calls[name](*args)
    except Exception as error:
        print(f"{type(error).__name__}: {error}", flush=True)
    else:
        print("LOADED", flush=True)
"""


def _run(args: list[str], cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FURPE_CACHE": str(cache)}
    result = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert result.returncode >= 0, (
        f"killed by signal {-result.returncode}\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
    )
    return result


def _check_rows(cache: Path, **folders: Path) -> dict[str, dict]:
    """``furpe-label check --models M --experts E --json`` in a subprocess: rows by file name."""
    flags = [arg for flag, folder in folders.items() for arg in (f"--{flag}", str(folder))]
    result = _run([*CLI, "check", *flags, "--json"], cache)
    assert result.returncode == 1, result.stdout + result.stderr  # blocking problems, no crash
    rows = [row for table in json.loads(result.stdout).values() for row in table]
    return {Path(row["expected"].split(" | ")[0]).name: row for row in rows}


def _driver(calls: list[str], cache: Path) -> list[str]:
    result = _run([sys.executable, "-c", DRIVER, *calls], cache)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(calls), result.stdout
    return lines


def _assert_refused(text: str, file_name: str, *reasons: str) -> None:
    assert file_name in text, text
    assert "refused to load" in text, text
    for reason in reasons:
        assert reason in text, text


@pytest.fixture()
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def test_edited_numpy_dtype_is_refused_everywhere(tmp_path, cache):
    scalar = edited_dtype_pickle("v_template", None)  # 0-d: numpy.core.multiarray.scalar
    array = edited_dtype_pickle("v_template", (778, 3), "O8")  # n-d: _reconstruct + __setstate__
    models = tmp_path / "models"
    (models / "mano").mkdir(parents=True)
    (models / "mano" / "MANO_RIGHT.pkl").write_bytes(scalar)
    (models / "mano" / "MANO_LEFT.pkl").write_bytes(array)
    experts = tmp_path / "experts"
    (experts / "frankmocap").mkdir(parents=True)
    (experts / "frankmocap" / "mean_mano_params.pkl").write_bytes(
        edited_dtype_pickle("mean_pose", (48,), "O8")
    )
    (experts / "frankmocap" / "SMPLX_HAND_INFO.pkl").write_bytes(
        edited_dtype_pickle("right_hand_verts_idx", None, type_string="O8")
    )
    mean_zero_d = tmp_path / "mean_mano_params.pkl"  # 0-d array: _reconstruct + __setstate__
    mean_zero_d.write_bytes(edited_dtype_pickle("mean_pose", (), type_string="O8"))

    rows = _check_rows(cache, models=models, experts=experts)
    for name in ("MANO_RIGHT.pkl", "MANO_LEFT.pkl", "mean_mano_params.pkl", "SMPLX_HAND_INFO.pkl"):
        assert rows[name]["status"] == "invalid"
        _assert_refused(rows[name]["detail"], name, "edited state")

    lines = _driver(
        [
            f"body|{models}|mano|right",
            f"body|{models}|mano|left",
            f"mean|{experts / 'frankmocap' / 'mean_mano_params.pkl'}",
            f"mean|{mean_zero_d}",
        ],
        cache,
    )
    for line, name in zip(lines, ("RIGHT", "LEFT"), strict=False):
        assert line.startswith("BodyModelFileError:")
        _assert_refused(line, f"MANO_{name}.pkl", "edited state")
    for line in lines[2:]:
        assert line.startswith("UnsafePickleError:")
        _assert_refused(line, "mean_mano_params.pkl", "edited state")


def test_sparse_matrix_outside_its_shape_is_refused_everywhere(
    synthetic_models_dir, tmp_path, cache
):
    models = tmp_path / "models"
    (models / "smpl").mkdir(parents=True)
    (models / "transfer").mkdir(parents=True)
    smpl = safe_pickle_load(synthetic_models_dir / "smpl" / "SMPL_NEUTRAL.pkl")
    smpl["J_regressor"] = sparse_outside_shape(smpl["J_regressor"], index=10**9)
    (models / "smpl" / "SMPL_NEUTRAL.pkl").write_bytes(pickle.dumps(smpl, protocol=2))
    transfer = safe_pickle_load(synthetic_models_dir / "transfer" / "smpl2smplx_deftrafo_setup.pkl")
    transfer["mtx"] = sparse_outside_shape(scipy.sparse.csr_matrix(transfer["mtx"]))
    (models / "transfer" / "smpl2smplx_deftrafo_setup.pkl").write_bytes(pickle.dumps(transfer))

    rows = _check_rows(cache, models=models)
    for name in ("SMPL_NEUTRAL.pkl", "smpl2smplx_deftrafo_setup.pkl"):
        assert rows[name]["status"] == "invalid"
        _assert_refused(rows[name]["detail"], name, "invalid structure", "indices must be <")

    (line,) = _driver([f"body|{models}|smpl|neutral"], cache)
    assert line.startswith("BodyModelFileError:")
    _assert_refused(line, "SMPL_NEUTRAL.pkl", "csc_matrix", "indices must be <")


def test_tensor_larger_than_its_stored_data_is_refused_everywhere(
    synthetic_models_dir, tmp_path, cache
):
    models = tmp_path / "models"
    (models / "flame").mkdir(parents=True)
    (models / "flame" / "FLAME_NEUTRAL.pkl").symlink_to(
        synthetic_models_dir / "flame" / "FLAME_NEUTRAL.pkl"
    )
    oversized_tensor_npy(
        models / "flame" / "landmark_embedding.npy",
        "dynamic_lmk_faces_idx",
        torch.arange(79 * 17),
        size=10**6,
    )
    experts = tmp_path / "experts"
    (experts / "frankmocap").mkdir(parents=True)
    (experts / "spin").mkdir(parents=True)
    state = {"regressor.0.bias": torch.zeros(61), "regressor.0.weight": torch.zeros(61, 1085)}
    zip_file = experts / "frankmocap" / "pose_shape_best.pth"
    oversized_tensor_checkpoint(zip_file, state, "regressor.0.bias", 4096, legacy=False)
    oversized_tensor_checkpoint(  # what torch.load(weights_only=True) returns uninitialised
        experts / "spin" / "model_checkpoint.pt",
        state,
        "regressor.0.bias",
        4096,
        legacy=True,
        drop_keys=True,
    )

    rows = _check_rows(cache, models=models, experts=experts)
    assert rows["landmark_embedding.npy"]["status"] == "invalid"
    _assert_refused(rows["landmark_embedding.npy"]["detail"], "landmark_embedding.npy", "1000000")
    for name in ("pose_shape_best.pth", "model_checkpoint.pt"):
        assert rows[name]["status"] == "invalid"
        _assert_refused(rows[name]["detail"], name, "size [4096]", "holding 61")

    lines = _driver(
        [
            f"body|{models}|flame|neutral",
            f"checkpoint|{zip_file}",
            f"checkpoint|{experts / 'spin' / 'model_checkpoint.pt'}",
        ],
        cache,
    )
    assert lines[0].startswith("BodyModelFileError:")
    _assert_refused(lines[0], "landmark_embedding.npy", "size [1000000]", "holding 1343")
    assert lines[1].startswith("UnsafeCheckpointError:")
    _assert_refused(lines[1], "pose_shape_best.pth", "size [4096]", "holding 61")
    assert lines[2].startswith("UnsafeCheckpointError:")
    _assert_refused(lines[2], "model_checkpoint.pt", "holding 61")
