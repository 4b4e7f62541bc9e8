"""Official checkpoints as each producer's torch wrote them load (one fixture per era).

- SPIN: PyTorch 1.1, legacy container (:func:`save_like_torch_1_1`), optimizer with
  ``id(p)`` parameter ids and int ``step``, tensors on ``cuda:0``;
- FrankMocap: PyTorch 1.x before 1.6, the same legacy container, a bare state dict;
- DECA: PyTorch 1.6, zip container without ``byteorder`` whose archive is named after the
  trainer's ``model.tar`` (:func:`save_like_torch_1_6`);
- all three with the running torch (2.x), zip and legacy (``torch.save`` itself).

Each era double is first checked to be a real torch file (``torch.load`` reads it back equal),
then read by the project's loader and built into its network.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from furpe_label.experts.filecheck import CheckStatus
from furpe_label.experts.networks.folder_check import check_experts_folder
from furpe_label.experts.networks.loading import (
    build_deca,
    build_frankmocap,
    build_spin,
    check_deca_checkpoint,
    check_frankmocap_checkpoint,
    check_spin_checkpoint,
)
from furpe_label.experts.safe_load import read_checkpoint
from tests.support.doubles.official_checkpoints import (
    deca_model_dict,
    frankmocap_state,
    spin_training_checkpoint,
    write_deca_file,
    write_experts_folder,
    write_frankmocap_files,
    write_spin_files,
)
from tests.support.doubles.old_torch_writers import (
    adam_state_like_torch_1_1,
    adam_state_like_torch_1_6,
    save_like_torch_1_1,
    save_like_torch_1_6,
)


def _same(loaded: object, written: object) -> None:
    """``loaded`` holds exactly ``written``'s data (tensors equal, same keys and types)."""
    if torch.is_tensor(written):
        assert torch.is_tensor(loaded) and loaded.dtype == written.dtype
        assert torch.equal(loaded, written)
    elif isinstance(written, dict):
        assert isinstance(loaded, dict) and list(loaded) == list(written)
        for key in written:
            _same(loaded[key], written[key])
    elif isinstance(written, list | tuple):
        assert type(loaded) is type(written) and len(loaded) == len(written)
        for a, b in zip(loaded, written, strict=True):
            _same(a, b)
    else:
        assert type(loaded) is type(written) and loaded == written


def _spin_1_1(checkpoint: dict) -> dict:
    return {**checkpoint, "optimizer": adam_state_like_torch_1_1(checkpoint["optimizer"])}


def _save_spin_1_1(checkpoint: dict, path: Path) -> None:
    save_like_torch_1_1(_spin_1_1(checkpoint), path)


@pytest.fixture(scope="module")
def spin_1_1(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("experts")
    write_spin_files(root / "spin", seed=4, save=_save_spin_1_1)
    return root, _spin_1_1(spin_training_checkpoint(4))


def test_spin_torch_1_1_legacy_file_is_a_real_torch_file(spin_1_1):
    root, written = spin_1_1
    path = root / "spin/model_checkpoint.pt"
    assert path.read_bytes()[:2] == b"\x80\x02"  # legacy: starts with the magic number pickle
    _same(torch.load(path, map_location="cpu", weights_only=False), written)


def test_spin_torch_1_1_legacy_file_loads(spin_1_1):
    root, written = spin_1_1
    path = root / "spin/model_checkpoint.pt"
    loaded = read_checkpoint(path)
    _same(loaded, written)
    optimizer = loaded["optimizer"]
    first = optimizer["param_groups"][0]
    assert set(first) == {"lr", "betas", "eps", "weight_decay", "amsgrad", "params"}
    assert min(first["params"]) > 2**40  # id(p) of the training process
    assert all(type(m["step"]) is int for m in optimizer["state"].values())
    assert check_spin_checkpoint(path) == len(written["model"])
    model, _ = build_spin(root)
    for key, value in written["model"].items():
        assert torch.equal(model.state_dict()[key], value), key


def test_frankmocap_torch_1_x_legacy_file_loads(tmp_path):
    path = write_frankmocap_files(tmp_path / "frankmocap", seed=5, save=save_like_torch_1_1)
    written = frankmocap_state(5)
    _same(torch.load(path, map_location="cpu", weights_only=False), written)
    _same(read_checkpoint(path), written)
    assert check_frankmocap_checkpoint(path) == len(written)
    model, _ = build_frankmocap(tmp_path)
    assert torch.equal(model.state_dict()["regressor.0.weight"], written["regressor.0.weight"])


def _deca_1_6(model_dict: dict) -> dict:
    return {**model_dict, "opt": adam_state_like_torch_1_6(model_dict["opt"])}


def _save_deca_1_6(model_dict: dict, path: Path) -> None:
    # the trainer wrote model.tar, released renamed as deca_model.tar
    save_like_torch_1_6(_deca_1_6(model_dict), path, written_as="model.tar")


def test_deca_torch_1_6_zip_file_loads(tmp_path):
    path = write_deca_file(tmp_path / "deca", seed=6, save=_save_deca_1_6)
    written = _deca_1_6(deca_model_dict(6))
    _same(torch.load(path, map_location="cpu", weights_only=False), written)
    loaded = read_checkpoint(path)
    _same(loaded, written)
    assert loaded["opt"]["param_groups"][0]["params"][:3] == [0, 1, 2]
    assert check_deca_checkpoint(path) == len(written["E_flame"])
    model, _ = build_deca(tmp_path)
    assert torch.equal(model.state_dict()["layers.2.weight"], written["E_flame"]["layers.2.weight"])


@pytest.mark.parametrize("legacy_format", [False, True], ids=["zip", "legacy"])
def test_current_torch_files_of_both_formats_check_valid(tmp_path, legacy_format):
    root = write_experts_folder(tmp_path / "experts", seed=7, legacy_format=legacy_format)
    rows = check_experts_folder(root)
    assert all(row.status is CheckStatus.OK for row in rows), [row.detail for row in rows]
    loaded = read_checkpoint(root / "spin/model_checkpoint.pt")
    steps = [m["step"] for m in loaded["optimizer"]["state"].values()]
    assert steps and all(torch.is_tensor(step) for step in steps)  # torch >= 1.12: tensor step
    assert sorted(loaded["dataset_perm"]) == list(range(100))
    assert np.isfinite(loaded["model"]["fc1.weight"].numpy()).all()


def test_state_dicts_carry_the_version_table_the_loader_drops(tmp_path):
    state = frankmocap_state(8)
    versions = state._metadata
    assert versions[""] == {"version": 1} and versions["main_encoder.bn1"]["version"] == 2
    path = tmp_path / "pose_shape_best.pth"
    torch.save(state, path)
    loaded = read_checkpoint(path)
    assert list(loaded) == list(state) and not hasattr(loaded, "_metadata")
