"""DECA face expert: deca_model.tar loads (E_flame only) and runs; code layout; damaged files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from furpe_label.experts.networks.checkpoints import CheckpointFormatError, CheckpointMismatchError
from furpe_label.experts.networks.loading import check_deca_checkpoint, load_deca
from furpe_label.experts.networks.preprocess import deca_tensor
from furpe_label.experts.records import FaceParams
from furpe_label.experts.vocabulary import Part
from tests.support.doubles.official_checkpoints import write_deca_file


@pytest.fixture(scope="module")
def deca_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("experts")
    write_deca_file(root / "deca", seed=2)
    return root


@pytest.fixture(scope="module")
def expert(deca_root):
    return load_deca(deca_root, device="cpu")


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    rng = np.random.default_rng(11)
    return rng.integers(0, 256, size=(2, 224, 224, 3), dtype=np.uint8)


def test_record_layout_and_official_code_order(expert, crops):
    record = expert(crops)
    assert record.part is Part.FACE and record.expert == "deca" and len(record) == 2
    assert isinstance(record.params, FaceParams)
    with torch.no_grad():
        code, feature = expert.model(deca_tensor(crops, torch.device("cpu")))
    code = code.numpy()
    # decompose_code with param_list ['shape', 'tex', 'exp', 'pose', 'cam', 'light']
    np.testing.assert_allclose(record.params.shape, code[:, 0:100], atol=1e-6)
    np.testing.assert_allclose(record.params.tex, code[:, 100:150], atol=1e-6)
    np.testing.assert_allclose(record.params.expression, code[:, 150:200], atol=1e-6)
    np.testing.assert_allclose(record.params.pose, code[:, 200:206], atol=1e-6)
    np.testing.assert_allclose(record.camera, code[:, 206:209], atol=1e-6)
    np.testing.assert_allclose(record.params.light, code[:, 209:236].reshape(2, 9, 3), atol=1e-6)
    np.testing.assert_allclose(record.feature, feature.numpy(), rtol=2e-3, atol=1e-4)
    assert all(np.all(np.isfinite(getattr(record.params, k))) for k in FaceParams.SHAPES)


def test_only_e_flame_is_loaded(expert, deca_root):
    tar = torch.load(deca_root / "deca/deca_model.tar", map_location="cpu", weights_only=True)
    assert {"E_flame", "E_detail", "D_detail"} <= set(tar)
    state = expert.model.state_dict()
    torch.testing.assert_close(state["layers.2.weight"], tar["E_flame"]["layers.2.weight"])
    torch.testing.assert_close(
        state["encoder.layer1.0.conv1.weight"], tar["E_flame"]["encoder.layer1.0.conv1.weight"]
    )
    assert not torch.equal(state["encoder.conv1.weight"], tar["E_detail"]["encoder.conv1.weight"])


def test_normalisation_matches_official_transform(crops):
    # datasets.TestData: RGB image / 255., transpose(2, 0, 1); no mean / std
    expected = (crops.astype(np.float32) / 255.0).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(deca_tensor(crops, torch.device("cpu")).numpy(), expected, atol=1e-7)


def test_float_crops_from_the_official_warp_pass_unchanged(expert, crops):
    # deca_inputs returns DECA's float warp as float32 in [0, 1]: fed as is, no / 255
    unit = (crops / 255.0).astype(np.float32)
    tensor = deca_tensor(unit, torch.device("cpu"))
    assert tensor.dtype == torch.float32
    np.testing.assert_array_equal(tensor.numpy(), unit.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(tensor.numpy(), deca_tensor(crops, torch.device("cpu")).numpy())
    record = expert(unit)
    np.testing.assert_allclose(record.params.shape, expert(crops).params.shape, atol=1e-5)
    with pytest.raises(TypeError, match="uint8 or float32"):
        expert(unit.astype(np.float64))


def _rewrite(deca_root: Path, tmp_path: Path, edit) -> Path:
    tar = torch.load(deca_root / "deca/deca_model.tar", map_location="cpu", weights_only=True)
    edit(tar)
    path = tmp_path / "deca_model.tar"
    torch.save(tar, path)
    return path


def test_wrong_output_size_is_named(deca_root, tmp_path):
    def shrink(tar):
        tar["E_flame"]["layers.2.weight"] = tar["E_flame"]["layers.2.weight"][:235]
        tar["E_flame"]["layers.2.bias"] = tar["E_flame"]["layers.2.bias"][:235]

    path = _rewrite(deca_root, tmp_path, shrink)
    with pytest.raises(CheckpointMismatchError) as info:
        check_deca_checkpoint(path)
    names = {m.name: (m.expected, m.found) for m in info.value.mismatched}
    assert names == {
        "layers.2.weight": ((236, 1024), (235, 1024)),
        "layers.2.bias": ((236,), (235,)),
    }
    assert "[E_flame]" in str(info.value)


def test_missing_and_prefixed_keys_are_named(deca_root, tmp_path):
    def damage(tar):
        flame = tar["E_flame"]
        del flame["encoder.layer2.0.downsample.1.running_var"]
        flame["encoder.encoder.fc.weight"] = torch.zeros(1)

    path = _rewrite(deca_root, tmp_path, damage)
    with pytest.raises(CheckpointMismatchError, match=r"downsample\.1\.running_var") as info:
        check_deca_checkpoint(path)
    assert info.value.unexpected == ["encoder.encoder.fc.weight"]


def test_file_without_e_flame_is_refused(deca_root, tmp_path):
    path = _rewrite(deca_root, tmp_path, lambda tar: tar.pop("E_flame"))
    with pytest.raises(CheckpointFormatError, match="no 'E_flame' entry"):
        check_deca_checkpoint(path)
