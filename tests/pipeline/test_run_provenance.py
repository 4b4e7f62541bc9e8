"""run.json's file hashes come from hashing the files and equal what the loaded models report."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.bodymodels.specs import SYNTHETIC_MANIFEST
from furpe_label.experts.bodymodels.synthetic_files import carries_synthetic_marker
from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.provenance import run_files
from furpe_label.pipeline.worker_models import models_folder, worker_models
from tests.support.doubles.official_checkpoints import write_experts_folder


def _loaded(config: RunConfig) -> tuple[dict, dict, dict]:
    """What the driver recorded when it loaded every model (experts, checkpoints, models)."""
    models = worker_models(config, RunResources(device="cpu"))
    experts = {expert.part.value: expert.name for expert in models.experts}
    checkpoints = {f"{e.part.value}:{e.name}": e.sha256 for e in models.experts}
    smplx = load_body_model(models_folder(config), "smplx", flat_hand_mean=True)
    return experts, checkpoints, {smplx.path.name: smplx.sha256}


def _config(models, experts=None) -> RunConfig:
    return RunConfig(
        dataset="samples",
        models=str(models),
        experts=None if experts is None else str(experts),
        detector="ground-truth",
    )


def test_fitting_experts_hashes_equal_the_loaded_models(synthetic_models_dir):
    config = _config(synthetic_models_dir)
    files = run_files(config)
    assert (files.experts, files.checkpoint_sha256, files.model_sha256) == _loaded(config)
    assert files.experts == {
        "body": "fit-smpl",
        "face": "fit-flame",
        "left_hand": "fit-mano",
        "right_hand": "fit-mano",
    }


def test_network_experts_hashes_equal_the_loaded_checkpoints(synthetic_models_dir, tmp_path):
    config = _config(synthetic_models_dir, write_experts_folder(tmp_path))
    files = run_files(config)
    assert (files.experts, files.checkpoint_sha256, files.model_sha256) == _loaded(config)
    assert set(files.experts.values()) == {"spin", "deca", "frankmocap"}


def test_a_missing_expert_file_is_named(synthetic_models_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="spin: expert file not found"):
        run_files(_config(synthetic_models_dir, tmp_path))


def test_the_synthetic_flag_comes_from_the_files_not_the_folder(synthetic_models_dir, tmp_path):
    """Issue 15 item 9: a --models DIR holding the synthetic family (its manifest left behind)
    recorded synthetic: false."""
    copy = tmp_path / "my-models"
    shutil.copytree(synthetic_models_dir, copy)
    (copy / SYNTHETIC_MANIFEST).unlink()
    config = _config(copy)
    assert not config.synthetic_labels  # the folder no longer says so
    assert run_files(config).synthetic  # the files do
    plain = tmp_path / "plain.npz"
    np.savez(plain, v_template=np.zeros((3, 3)))
    assert not carries_synthetic_marker(plain)
    (tmp_path / "empty.pkl").write_bytes(b"")
    assert not carries_synthetic_marker(tmp_path / "empty.pkl")
