"""DECA's ``deca_model.tar`` in the legacy torch container (``torch.save(model_dict, path,
_use_new_zipfile_serialization=False)``, what a PyTorch before 1.6 wrote): it loads and builds,
and the nesting and size checks hold inside it (a dict of three state dicts, one container)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from furpe_label.experts.networks.loading import build_deca, check_deca_checkpoint
from furpe_label.experts.safe_load import (
    CheckpointFormatError,
    UnsafeCheckpointError,
    read_checkpoint,
)
from furpe_label.experts.safe_load.limits import MAX_NESTING
from tests.support.doubles.fuzz_seeds import deca_like_checkpoint
from tests.support.doubles.legacy_storage_bombs import legacy_storage_bomb
from tests.support.doubles.official_checkpoints import write_deca_file
from tests.support.paths import REPO_ROOT


def _legacy_save(obj: object, path: Path) -> Path:
    torch.save(obj, path, _use_new_zipfile_serialization=False)
    return path


def _same(loaded: object, reference: object, where: str = "") -> None:
    if torch.is_tensor(reference):
        assert torch.is_tensor(loaded) and torch.equal(loaded, reference), where
    elif isinstance(reference, dict):
        assert isinstance(loaded, dict) and list(loaded) == list(reference), where
        for key in reference:
            _same(loaded[key], reference[key], f"{where}.{key}")
    else:
        assert loaded == reference, where


def test_deca_model_tar_written_in_the_legacy_format_loads_and_builds(tmp_path):
    path = write_deca_file(tmp_path / "deca", seed=3, legacy_format=True)
    assert path.read_bytes()[:2] == b"\x80\x02"  # the magic number's pickle, not a zip archive
    reference = torch.load(path, map_location="cpu", weights_only=False)
    loaded = read_checkpoint(path)
    assert sorted(loaded) == ["D_detail", "E_detail", "E_flame", "batch_size", "global_step", "opt"]
    for part in ("E_flame", "E_detail", "D_detail"):
        _same(loaded[part], reference[part], part)
    assert check_deca_checkpoint(path) == len(reference["E_flame"])
    model, _ = build_deca(tmp_path)
    assert torch.equal(
        model.state_dict()["layers.2.weight"], reference["E_flame"]["layers.2.weight"]
    )


def test_the_small_deca_like_seed_loads_as_torch_reads_it(tmp_path):
    path = _legacy_save(deca_like_checkpoint(), tmp_path / "deca_model.tar")
    reference = torch.load(path, map_location="cpu", weights_only=False)
    _same(read_checkpoint(path), reference)


def test_nesting_inside_a_legacy_deca_tar_is_refused(tmp_path):
    key: tuple = ()
    for _ in range(MAX_NESTING + 8):
        key = (key,)
    checkpoint = deca_like_checkpoint()
    checkpoint["E_flame"] = {**checkpoint["E_flame"], key: 1}
    path = _legacy_save(checkpoint, tmp_path / "deca_model.tar")
    with pytest.raises(
        UnsafeCheckpointError, match=rf"deca_model\.tar: .*deeper than {MAX_NESTING}"
    ):
        read_checkpoint(path)


MEMORY_DRIVER = """
import resource, sys
from furpe_label.experts.safe_load import read_checkpoint
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    read_checkpoint(sys.argv[1])
except Exception as error:
    print(type(error).__name__, error)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


def test_storages_claiming_more_than_the_file_holds_are_refused_before_allocating(tmp_path):
    path = tmp_path / "deca_model.tar"
    path.write_bytes(legacy_storage_bomb(storages=400, numel=250_000))  # 400 x 1 MB named
    assert path.stat().st_size < 1_200_000
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_DRIVER, str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        check=True,
    )
    *message, grown = result.stdout.strip().splitlines()
    assert "UnsafeCheckpointError" in message[0], result.stdout
    assert "together, more than the file's" in message[0], message
    assert int(grown) < 100 * 2**20, f"reading it grew the process by {grown} bytes"


def test_a_single_storage_of_the_bomb_layout_is_a_valid_file(tmp_path):
    path = tmp_path / "deca_model.tar"
    path.write_bytes(legacy_storage_bomb(storages=1, numel=6))
    assert read_checkpoint(path)["E_flame"][0].tolist() == [0.0]
    path.write_bytes(legacy_storage_bomb(storages=1, numel=6)[:-3])
    with pytest.raises(CheckpointFormatError, match=r"deca_model\.tar: .*truncated"):
        read_checkpoint(path)
