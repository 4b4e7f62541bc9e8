"""The model cache never runs code and never uses a planted or stale file.

A first load fills the cache; then every file in it (and smplx's embedding names, which older
versions cached as pickles) is replaced by a pickle whose ``__reduce__`` writes a marker file,
or by an ``.npz`` with such an object member and a forged manifest. The next load, in a child
process, must not write the marker, must rebuild the files (saying so in the log) and must give
the same layers.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from furpe_label.experts.bodymodels.model_cache import (
    MANIFEST_SUFFIX,
    cache_file_problem,
    cached_plain_npz,
)
from tests.support.paths import REPO_ROOT

DRIVER = """
import logging, sys
import torch
from furpe_label.experts.bodymodels.loading import load_body_model
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
for kind in ("smplx", "flame"):
    options = {"use_face_contour": True} if kind == "flame" else {}
    model = load_body_model(sys.argv[1], kind, **options)
    vertices = model.layer().vertices.detach().double()
    extra = float(model.layer.dynamic_lmk_bary_coords.sum()) if kind == "flame" else 0.0
    print(kind, float(vertices.abs().sum()), extra, flush=True)
"""


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "code ran"))


def _load(models: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FURPE_CACHE": str(cache)}
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, str(models)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _plant_pickles(cache: Path, marker: Path) -> list[Path]:
    folders = sorted({path.parent for path in (cache / "models").rglob("*") if path.is_file()})
    planted = [path for path in (cache / "models").rglob("*") if path.is_file()]
    for folder in folders:  # the names smplx unpickles, as the cache once held them
        planted += [folder / "flame_static_embedding.pkl", folder / "flame_dynamic_embedding.npy"]
    for path in planted:
        path.write_bytes(pickle.dumps(_Payload(marker)))
    return planted


def _plant_object_members(cache: Path, marker: Path) -> list[Path]:
    """Each cache npz gets an object member; its manifest is forged to match the new bytes."""
    planted = []
    for path in sorted((cache / "models").rglob("*.npz")):
        arrays = {key: value for key, value in np.load(path).items()}
        holder = np.empty((), dtype=object)
        holder[()] = _Payload(marker)
        with open(path, "wb") as handle:
            np.savez(handle, **arrays, trap=holder)
        manifest_path = path.with_name(path.name + MANIFEST_SUFFIX)
        manifest = json.loads(manifest_path.read_text())
        manifest["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        manifest["members"]["trap"] = ["|O", []]
        manifest_path.write_text(json.dumps(manifest))
        planted.append(path)
    return planted


@pytest.mark.slow
def test_planted_cache_files_never_run_and_are_rebuilt(synthetic_models_dir, tmp_path):
    cache, marker = tmp_path / "cache", tmp_path / "code-ran"
    first = _load(synthetic_models_dir, cache)
    for plant in (_plant_pickles, _plant_object_members):
        planted = plant(cache, marker)
        assert len(planted) >= 3
        again = _load(synthetic_models_dir, cache)
        assert not marker.exists(), f"a cache file planted by {plant.__name__} ran code"
        assert again.stdout == first.stdout  # the same layers, from rebuilt files
        assert "rebuilding it from the source" in again.stderr, again.stderr[-2000:]
        for npz in (cache / "models").rglob("*.npz"):
            assert cache_file_problem(npz, _manifest(npz)["source_sha256"]) is None


def _manifest(npz: Path) -> dict:
    return json.loads(npz.with_name(npz.name + MANIFEST_SUFFIX).read_text())


def test_stale_edited_or_unlisted_cache_files_are_rebuilt(tmp_path, caplog):
    target = tmp_path / "models" / "x" / "M.npz"
    arrays = {"v": np.arange(6.0).reshape(2, 3), "name": np.asarray("lbs")}
    built: list[str] = []

    def build(sha: str) -> dict:
        built.append(sha)
        return arrays

    assert cached_plain_npz(target, "a" * 64, lambda: build("a")) == target
    assert cached_plain_npz(target, "a" * 64, lambda: build("again")) == target
    assert built == ["a"]  # verified, used as it is
    assert "stale" in (cache_file_problem(target, "b" * 64) or "")
    cached_plain_npz(target, "b" * 64, lambda: build("b"))
    data = target.read_bytes()
    target.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert "digest mismatch" in (cache_file_problem(target, "b" * 64) or "")
    with caplog.at_level("WARNING"):
        cached_plain_npz(target, "b" * 64, lambda: build("edited"))
    assert built == ["a", "b", "edited"]
    assert "digest mismatch" in caplog.text and "rebuilding" in caplog.text
    with np.load(target, allow_pickle=False) as loaded:
        np.testing.assert_array_equal(loaded["v"], arrays["v"])
