"""Checkpoint reading (weights-only), the strict key policy, and the experts folder check."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from furpe_label.experts.filecheck import CheckStatus, any_blocking, sha256_of_file
from furpe_label.experts.networks.checkpoints import (
    CheckpointMismatchError,
    check_state_dict,
    load_into,
    state_dict_entry,
)
from furpe_label.experts.networks.folder_check import check_experts_folder
from furpe_label.experts.networks.layout import EXPERT_FILES, resolve_experts_dir
from furpe_label.experts.safe_load import CheckpointFormatError, read_checkpoint
from tests.support.doubles.official_checkpoints import write_experts_folder


class _Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.bn = nn.BatchNorm1d(3)


def _state() -> OrderedDict:
    return OrderedDict((k, v.clone()) for k, v in _Small().state_dict().items())


# ----------------------------------------------------------------------------- reading


def test_read_checkpoint_refuses_code_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": _state(), "extra": np.arange(3)}, path)  # numpy needs full unpickling
    with pytest.raises(CheckpointFormatError, match=r"evil\.pt.*'numpy\.[\w.]+_reconstruct'"):
        read_checkpoint(path)


def test_read_checkpoint_rejects_non_torch_file(tmp_path):
    path = tmp_path / "noise.pt"
    path.write_bytes(b"this is not a checkpoint" * 10)
    with pytest.raises(CheckpointFormatError, match=r"noise\.pt"):
        read_checkpoint(path)
    with pytest.raises(FileNotFoundError, match=r"absent\.pt"):
        read_checkpoint(tmp_path / "absent.pt")


def test_legacy_and_zip_formats_both_load(tmp_path):
    for legacy in (True, False):
        path = tmp_path / f"ckpt_{legacy}.pt"
        torch.save(
            {"model": _state(), "dataset_perm": [2, 0, 1]},
            path,
            _use_new_zipfile_serialization=not legacy,
        )
        obj = read_checkpoint(path)
        assert set(state_dict_entry(obj, "model", path)) == set(_Small().state_dict())


def test_state_dict_entry_names_missing_section(tmp_path):
    with pytest.raises(CheckpointFormatError, match="'E_flame'"):
        state_dict_entry({"E_detail": _state()}, "E_flame", tmp_path / "deca_model.tar")
    with pytest.raises(CheckpointFormatError, match="not named tensors"):
        state_dict_entry({"w": [1, 2]}, None, tmp_path / "x.pth")


# ----------------------------------------------------------------------------- key policy


def test_missing_renamed_and_misshaped_keys_are_all_listed(tmp_path):
    expected = _Small().state_dict()
    found = _state()
    del found["fc.bias"]
    found["bn.scale"] = found.pop("bn.weight")
    found["fc.weight"] = torch.zeros(3, 5)
    with pytest.raises(CheckpointMismatchError) as info:
        check_state_dict(expected, found, tmp_path / "ckpt.pt", "model")
    err = info.value
    assert sorted(err.missing) == ["bn.weight", "fc.bias"]
    assert err.unexpected == ["bn.scale"]
    assert [(m.name, m.expected, m.found) for m in err.mismatched] == [
        ("fc.weight", (3, 4), (3, 5))
    ]
    message = str(err)
    for text in (
        "ckpt.pt",
        "[model]",
        "fc.bias",
        "bn.scale",
        "fc.weight (expected [3, 4], found [3, 5])",
    ):
        assert text in message
    assert err.first_problem.startswith("wrong shape fc.weight")


def test_only_documented_keys_are_tolerated(tmp_path):
    module = _Small()
    found = _state()
    del found["bn.num_batches_tracked"]  # BatchNorm counter: tolerated everywhere
    del found["fc.bias"]  # tolerated only when named by the caller
    with pytest.raises(CheckpointMismatchError, match=r"fc\.bias"):
        load_into(module, found, tmp_path / "a.pt")
    before = module.fc.bias.detach().clone()
    load_into(module, found, tmp_path / "a.pt", tolerated_missing=("fc.bias",))
    torch.testing.assert_close(module.fc.weight, found["fc.weight"])
    torch.testing.assert_close(module.fc.bias, before)


def test_unexpected_key_is_an_error(tmp_path):
    found = _state()
    found["module.fc.weight"] = found["fc.weight"].clone()
    with pytest.raises(CheckpointMismatchError, match=r"1 unexpected: module\.fc\.weight"):
        load_into(_Small(), found, tmp_path / "b.pt")


# ----------------------------------------------------------------------------- folder check


@pytest.fixture(scope="module")
def experts_dir(tmp_path_factory) -> Path:
    return write_experts_folder(tmp_path_factory.mktemp("experts"), seed=0)


def _variant(tmp_path: Path, experts_dir: Path, skip: str) -> Path:
    """A copy of the folder made of symlinks to the good files, except ``skip``."""
    for spec in EXPERT_FILES:
        if spec.relpath == skip:
            continue
        target = tmp_path / spec.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(spec.path(experts_dir))
    (tmp_path / skip).parent.mkdir(parents=True, exist_ok=True)
    return tmp_path / skip


def test_good_folder_is_all_ok(experts_dir):
    rows = check_experts_folder(experts_dir)
    assert [row.expected for row in rows] == [spec.relpath for spec in EXPERT_FILES]
    assert all(row.status is CheckStatus.OK for row in rows), [r.detail for r in rows]
    assert not any_blocking(rows)
    assert "fetch_data.sh" in rows[0].source


def test_empty_folder_names_every_missing_file(tmp_path):
    rows = check_experts_folder(tmp_path)
    status = {row.expected: row.status for row in rows}
    assert status["frankmocap/SMPLX_HAND_INFO.pkl"] is CheckStatus.OPTIONAL_MISSING
    assert sum(s is CheckStatus.MISSING for s in status.values()) == 5
    assert any_blocking(rows)


def test_damaged_spin_checkpoint_row_names_the_key(tmp_path, experts_dir):
    target = _variant(tmp_path, experts_dir, "spin/model_checkpoint.pt")
    checkpoint = torch.load(experts_dir / "spin/model_checkpoint.pt", weights_only=True)
    checkpoint["model"]["decshape.weight"] = torch.zeros(11, 1024)
    torch.save(checkpoint, target)
    row = check_experts_folder(tmp_path)[0]
    assert row.status is CheckStatus.INVALID and row.blocking
    assert "decshape.weight (expected [10, 1024], found [11, 1024])" in row.detail


def test_unsafe_mean_mano_pickle_is_invalid_and_not_run(tmp_path, experts_dir):
    target = _variant(tmp_path, experts_dir, "frankmocap/mean_mano_params.pkl")
    marker = tmp_path / "ran"
    target.write_bytes(b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.")
    rows = {row.expected: row for row in check_experts_folder(tmp_path)}
    row = rows["frankmocap/mean_mano_params.pkl"]
    assert row.status is CheckStatus.INVALID
    assert "os.system" in row.detail and "mean_mano_params.pkl" in row.detail
    assert not marker.exists()


def test_spin_file_without_model_entry_is_invalid(tmp_path, experts_dir):
    target = _variant(tmp_path, experts_dir, "spin/model_checkpoint.pt")
    torch.save({"state_dict": _state()}, target)
    row = check_experts_folder(tmp_path)[0]
    assert row.status is CheckStatus.INVALID and "no 'model' entry" in row.detail


def test_sha256_matches_file(experts_dir):
    path = experts_dir / "frankmocap/mean_mano_params.pkl"
    assert sha256_of_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_experts_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FURPE_EXPERTS", str(tmp_path))
    assert resolve_experts_dir(None) == tmp_path
    monkeypatch.delenv("FURPE_EXPERTS")
    with pytest.raises(ValueError, match="FURPE_EXPERTS"):
        resolve_experts_dir(None)
