"""A real run into OUT: a foreign OUT is refused untouched (issue 15 item 5), a resume redoes
a damaged shard (item 7), and the synthetic flag and banner come from the model files
(item 9: a --models folder of the synthetic family without its manifest)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from furpe_label.experts.bodymodels.specs import SYNTHETIC_MANIFEST
from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.run_check import check_run
from tests.support.pipeline_support import run_cli, spin_layout_h36m, store_arrays


@pytest.fixture(scope="module")
def setup(tmp_path_factory, synthetic_models_dir):
    """Models (synthetic, manifest removed), a 2-row SPIN-layout dataset, the run command."""
    tmp = tmp_path_factory.mktemp("folder-safety")
    models = tmp / "models"
    shutil.copytree(synthetic_models_dir, models)
    (models / SYNTHETIC_MANIFEST).unlink()
    root = spin_layout_h36m(tmp / "h36m")
    args = ["run", "--dataset", "h36m", "--root", str(root), "--models", str(models)]
    args += ["--executor", "inline", "--shard-size", "1", "--fitting-iterations", "8"]
    return tmp, args


@pytest.fixture(scope="module")
def finished(setup):
    tmp, args = setup
    out = tmp / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FURPE_CACHE", str(tmp / "cache"))
        code, output = run_cli(*args, "--out", str(out))
    assert code == 0, output
    return out, output


def test_synthetic_files_make_a_synthetic_run(finished):
    out, output = finished
    assert json.loads((out / "run.json").read_text())["synthetic"] is True
    assert LabelStore.open(out / "labels.zarr").attrs["run"]["synthetic"] is True
    assert "SYNTHETIC BODY MODELS" in output


def test_a_resume_redoes_a_damaged_shard(setup, finished, tmp_path, monkeypatch):
    tmp, args = setup
    out = tmp_path / "run"
    shutil.copytree(finished[0], out)
    reference = store_arrays(out)
    part = next((out / "audit").glob("dataset=*/part-00001.parquet"))
    part.write_bytes(part.read_bytes()[:-7])  # a torn audit part
    monkeypatch.setenv("FURPE_CACHE", str(tmp / "cache"))
    code, output = run_cli(*args, "--out", str(out))
    assert code == 0, output
    assert "shard 1 is damaged (shard 1: audit/dataset=h36m/part-00001.parquet" in output
    assert "1 already complete" in output
    assert check_run(out).finished
    arrays = store_arrays(out)
    for name, values in reference.items():
        np.testing.assert_array_equal(arrays[name], values, err_msg=name)


def test_an_out_folder_of_the_users_is_refused_and_left_alone(setup, tmp_path):
    _, args = setup
    out = tmp_path / "photos"
    (out / ".labels.zarr.creating-41").mkdir(parents=True)
    files = {
        out / "holiday.jpg": b"jpeg",
        out / ".draft.tmp": b"notes",
        out / ".labels.zarr.creating-41" / "thesis.tex": b"tex",
    }
    for path, data in files.items():
        path.write_bytes(data)
    code, output = run_cli(*args, "--out", str(out))
    assert code == 1, output
    assert "is not a furpe-label run folder" in output and "holiday.jpg" in output
    assert sorted(p.name for p in out.iterdir()) == [
        ".draft.tmp",
        ".labels.zarr.creating-41",
        "holiday.jpg",
    ]
    assert all(path.read_bytes() == data for path, data in files.items())
