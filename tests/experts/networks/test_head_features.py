"""The 1024-d distillation features: each is the documented layer's activation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from furpe_label.experts.networks.loading import load_deca, load_frankmocap, load_spin
from furpe_label.experts.networks.preprocess import deca_tensor, frankmocap_tensor, spin_tensor
from tests.support.doubles.official_checkpoints import write_experts_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_experts_folder(tmp_path_factory.mktemp("experts"), seed=3)


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (2, 224, 224, 3), dtype=np.uint8)


def test_spin_head_feature_is_fc1_of_the_last_iteration(folder, crops):
    expert = load_spin(folder, device="cpu")
    record = expert(crops)
    model = expert.model
    with torch.no_grad():
        x = spin_tensor(crops, torch.device("cpu"))
        feature = model.pooled_features(x)
        pose, shape, cam = (
            b.expand(2, -1) for b in (model.init_pose, model.init_shape, model.init_cam)
        )
        for _ in range(3):
            fc1 = model.fc1(torch.cat([feature, pose, shape, cam], 1))
            hidden = model.fc2(fc1)
            pose, shape, cam = (
                pose + model.decpose(hidden),
                shape + model.decshape(hidden),
                cam + model.deccam(hidden),
            )
    assert record.head_feature.shape == (2, 1024) and record.head_feature.dtype == np.float16
    np.testing.assert_allclose(record.head_feature, fc1.numpy(), rtol=2e-3, atol=2e-3)


def test_deca_head_feature_is_the_first_linear_layer(folder, crops):
    expert = load_deca(folder, device="cpu")
    record = expert(crops)
    with torch.no_grad():
        x = deca_tensor(crops, torch.device("cpu"))
        code, feature = expert.model(x)
        head = expert.model.layers[0](feature)
        code_again, _, head_again = expert.model.encode(x)
    torch.testing.assert_close(code, code_again)
    torch.testing.assert_close(head, head_again)
    np.testing.assert_allclose(record.head_feature, head.numpy(), rtol=2e-3, atol=2e-3)
    assert (head.numpy() < 0).any()  # before the ReLU


def test_frankmocap_head_feature_is_the_main_encoder_output(folder, crops):
    expert = load_frankmocap(folder, device="cpu")
    is_left = np.array([False, True])
    record = expert(crops, is_left)
    with torch.no_grad():
        x = frankmocap_tensor(crops, is_left, torch.device("cpu"))
        main, _ = expert.model.main_encoder.encode(x)
    np.testing.assert_allclose(record.head_feature, main.numpy(), rtol=2e-3, atol=2e-3)
    assert (record.head_feature >= 0).all()  # after the encoder's ReLU
