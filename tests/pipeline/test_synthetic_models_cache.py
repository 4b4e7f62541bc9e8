"""``--models synthetic``: the family written into the model cache is checked against its
``SYNTHETIC_MODELS.json`` digests before each use; a planted or edited file is never used (the
family is rebuilt, with a log line) and nothing in it runs."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.pipeline.config import RunConfig
from furpe_label.pipeline.worker_models import models_folder


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "code ran"))


@pytest.mark.slow
def test_a_planted_synthetic_family_file_is_rebuilt(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("FURPE_CACHE", str(tmp_path / "cache"))
    config = RunConfig(dataset="samples", models="synthetic", detector="ground-truth")
    folder = models_folder(config)
    listed = json.loads((folder / "SYNTHETIC_MODELS.json").read_text())["files"]
    marker = tmp_path / "code-ran"
    for entry in listed:
        (folder / entry["path"]).write_bytes(pickle.dumps(_Payload(marker)))
    (folder / "smpl" / "extra.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    with caplog.at_level("WARNING"):
        assert models_folder(config) == folder
    assert "digest mismatch" in caplog.text and "rebuilding" in caplog.text
    assert not (folder / "smpl" / "extra.pkl").exists()
    model = load_body_model(folder, "smpl")
    assert model.synthetic is not None and not marker.exists()
