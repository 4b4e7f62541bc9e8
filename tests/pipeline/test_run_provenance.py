"""run.json's file hashes come from hashing the files and equal what the loaded models report."""

from __future__ import annotations

import pytest

from furpe_label.experts.bodymodels.loading import load_body_model
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
