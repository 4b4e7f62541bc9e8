"""Shared fixtures: the synthetic body-model family, a private cache folder, GPU skipping."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Sanitised model copies go to a per-session temporary folder, not ~/.cache."""
    monkeypatch.setenv("FURPE_CACHE", str(tmp_path_factory.getbasetemp() / "furpe-cache"))


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
