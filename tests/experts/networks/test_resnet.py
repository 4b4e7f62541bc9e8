"""The hand-written ResNet-50 trunk: torchvision names, shapes, v1.5 strides, forward."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from furpe_label.experts.networks.resnet import ResNet50Trunk
from tests.support.doubles.official_key_tables import random_state_dict, resnet50_entries

# torchvision.models.resnet50().state_dict(): 320 tensors, 25 557 032 parameters (with fc).
TORCHVISION_RESNET50_TENSORS = 320
TORCHVISION_RESNET50_PARAMS = 25_557_032
TORCHVISION_FC_PARAMS = 2048 * 1000 + 1000


@pytest.fixture(scope="module")
def classifier() -> ResNet50Trunk:
    """A trunk with a small torchvision-style ``fc`` and seeded random weights."""
    net = ResNet50Trunk(num_classes=7).eval()
    state = random_state_dict(
        [*resnet50_entries(), ("fc.weight", (7, 2048)), ("fc.bias", (7,))], seed=3
    )
    net.load_state_dict(state)
    return net


def test_names_and_shapes_match_torchvision_table():
    net = ResNet50Trunk(num_classes=1000)
    got = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    expected = dict(resnet50_entries())
    expected.update({"fc.weight": (1000, 2048), "fc.bias": (1000,)})
    assert got == expected
    assert len(got) == TORCHVISION_RESNET50_TENSORS
    assert sum(p.numel() for p in net.parameters()) == TORCHVISION_RESNET50_PARAMS


def test_without_fc_has_no_classifier():
    net = ResNet50Trunk()
    assert not any(k.startswith("fc") for k in net.state_dict())
    n_params = sum(p.numel() for p in net.parameters())
    assert n_params == TORCHVISION_RESNET50_PARAMS - TORCHVISION_FC_PARAMS


def test_stride_on_the_3x3_convolution_v1_5():
    net = ResNet50Trunk()
    for stage in (2, 3, 4):
        block = getattr(net, f"layer{stage}")[0]
        assert block.conv1.stride == (1, 1)
        assert block.conv2.stride == (2, 2)
        assert block.downsample[0].stride == (2, 2)
    assert net.layer1[0].conv2.stride == (1, 1)
    assert net.layer1[0].downsample is not None  # 64 -> 256 channels
    assert net.layer1[1].downsample is None


def _reference_forward(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """torchvision's ResNet-50 forward written with torch.nn.functional only."""

    def bn(name: str, t: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(
            t,
            state[f"{name}.running_mean"],
            state[f"{name}.running_var"],
            state[f"{name}.weight"],
            state[f"{name}.bias"],
            False,
            0.0,
            1e-5,
        )

    x = F.relu(bn("bn1", F.conv2d(x, state["conv1.weight"], stride=2, padding=3)))
    x = F.max_pool2d(x, 3, 2, 1)
    for stage, blocks in enumerate((3, 4, 6, 3), start=1):
        for block in range(blocks):
            p = f"layer{stage}.{block}."
            stride = 2 if (block == 0 and stage > 1) else 1
            out = F.relu(bn(p + "bn1", F.conv2d(x, state[p + "conv1.weight"])))
            out = F.conv2d(out, state[p + "conv2.weight"], stride=stride, padding=1)
            out = bn(p + "bn3", F.conv2d(F.relu(bn(p + "bn2", out)), state[p + "conv3.weight"]))
            if block == 0:
                x = bn(
                    p + "downsample.1", F.conv2d(x, state[p + "downsample.0.weight"], stride=stride)
                )
            x = F.relu(out + x)
    return x.mean(dim=(2, 3))


def test_forward_matches_functional_reference(classifier):
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    state = classifier.state_dict()
    with torch.no_grad():
        logits = classifier(x)
        features = _reference_forward(state, x)
    assert logits.shape == (1, 7)
    expected = features @ state["fc.weight"].T + state["fc.bias"]
    torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-4)
