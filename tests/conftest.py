"""Shared fixtures: the synthetic body-model family, a private cache folder, GPU skipping."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Sanitised model copies go to a per-session temporary folder, not ~/.cache (session
    scope: module- and session-scoped runs are made before any function-scoped fixture)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FURPE_CACHE", str(tmp_path_factory.getbasetemp() / "furpe-cache"))
        yield


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def synthetic_models_dir(tmp_path_factory):
    """The synthetic body-model family (seed 0), written once per test session."""
    from furpe_label.experts.bodymodels.synthetic.family import write_synthetic_family

    out_dir = tmp_path_factory.mktemp("synthetic-models")
    write_synthetic_family(out_dir, seed=0)
    return out_dir


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The no-download demo run (`furpe-label run --dataset samples`: the shipped real photos,
    keypoint-fitting experts, synthetic body models), made once per test session."""
    from tests.support.pipeline_support import run_cli

    out = tmp_path_factory.mktemp("demo-run") / "demo"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FURPE_CACHE", str(tmp_path_factory.getbasetemp() / "furpe-cache"))
        code, output = run_cli(
            "run",
            "--dataset",
            "samples",
            "--out",
            str(out),
            "--executor",
            "inline",
            "--fitting-iterations",
            "8",
        )
    assert code == 0, output
    return out
