"""Test doubles: the official expert checkpoints' state-dict key tables (name, shape).

Written from the official sources (SPIN ``models/hmr.py``, DECA ``decalib/models/encoders.py``
and ``decoders.py``, FrankMocap ``handmocap/hand_modules/h3dw_networks.py`` and ``resnet.py``)
independently of ``experts/networks``, so that a wrong name there makes the tests fail: the
fixtures load these tables strictly into the project's modules before saving them.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch

Entry = tuple[str, tuple[int, ...]]

# torchvision ResNet-50: (planes, blocks) per stage, expansion 4, stride on the 3x3 conv.
_STAGES = ((64, 3), (128, 4), (256, 6), (512, 3))
_BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _bn(name: str, channels: int) -> list[Entry]:
    return [
        (f"{name}.{key}", () if key == "num_batches_tracked" else (channels,)) for key in _BN_KEYS
    ]


def _linear(name: str, fan_in: int, fan_out: int) -> list[Entry]:
    return [(f"{name}.weight", (fan_out, fan_in)), (f"{name}.bias", (fan_out,))]


def resnet50_entries(prefix: str = "") -> list[Entry]:
    """torchvision ResNet-50 state-dict entries without ``fc`` (name, shape), in order."""
    out: list[Entry] = [(f"{prefix}conv1.weight", (64, 3, 7, 7)), *_bn(f"{prefix}bn1", 64)]
    inplanes = 64
    for stage, (planes, blocks) in enumerate(_STAGES, start=1):
        for block in range(blocks):
            p = f"{prefix}layer{stage}.{block}."
            out += [(p + "conv1.weight", (planes, inplanes, 1, 1)), *_bn(p + "bn1", planes)]
            out += [(p + "conv2.weight", (planes, planes, 3, 3)), *_bn(p + "bn2", planes)]
            out += [(p + "conv3.weight", (planes * 4, planes, 1, 1)), *_bn(p + "bn3", planes * 4)]
            if block == 0:
                out += [
                    (p + "downsample.0.weight", (planes * 4, inplanes, 1, 1)),
                    *_bn(p + "downsample.1", planes * 4),
                ]
            inplanes = planes * 4
    return out


def spin_model_entries() -> list[Entry]:
    """SPIN ``HMR`` state dict (root buffers first, as ``state_dict()`` orders them)."""
    head = [("init_pose", (1, 144)), ("init_shape", (1, 10)), ("init_cam", (1, 3))]
    tail = _linear("fc1", 2048 + 144 + 13, 1024) + _linear("fc2", 1024, 1024)
    tail += _linear("decpose", 1024, 144) + _linear("decshape", 1024, 10)
    tail += _linear("deccam", 1024, 3)
    return head + resnet50_entries() + tail


def deca_encoder_entries(outsize: int) -> list[Entry]:
    """DECA ``ResnetEncoder(outsize)``: ``encoder.*`` + ``layers.0`` / ``layers.2``."""
    return (
        resnet50_entries("encoder.")
        + _linear("layers.0", 2048, 1024)
        + _linear("layers.2", 1024, outsize)
    )


def deca_detail_decoder_entries(latent_dim: int = 128 + 50 + 3) -> list[Entry]:
    """DECA ``Generator`` (``D_detail``): ``l1.0`` then ``conv_blocks`` convs / BatchNorms."""
    out = _linear("l1.0", latent_dim, 128 * 8 * 8) + _bn("conv_blocks.0", 128)
    convs = ((2, 128, 128), (6, 128, 64), (10, 64, 64), (14, 64, 32), (18, 32, 16))
    for index, cin, cout in convs:
        out += [
            (f"conv_blocks.{index}.weight", (cout, cin, 3, 3)),
            (f"conv_blocks.{index}.bias", (cout,)),
            *_bn(f"conv_blocks.{index + 1}", cout),
        ]
    return [*out, ("conv_blocks.21.weight", (1, 16, 3, 3)), ("conv_blocks.21.bias", (1,))]


def frankmocap_entries() -> list[Entry]:
    """FrankMocap ``H3DWEncoder`` state dict (no prefix, no mean params)."""
    out = _linear("feat_encoder.1", 1024, 1024) + _linear("regressor.0", 1024 + 61, 61)
    return out + resnet50_entries("main_encoder.") + _linear("main_encoder.fc1", 2048, 1024)


def _value(
    name: str, shape: tuple[int, ...], gen: torch.Generator, head_std: float
) -> torch.Tensor:
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked":
        return torch.tensor(1000, dtype=torch.long)
    if leaf in ("running_mean", "bias"):
        return 0.01 * torch.randn(shape, generator=gen)
    if leaf == "running_var":
        return 1.0 + 0.1 * torch.rand(shape, generator=gen)
    if len(shape) == 1:  # BatchNorm weight; damp residual branches so depth stays stable
        scale = 0.2 if (".bn3" in name or name.endswith("downsample.1.weight")) else 1.0
        return scale * (1.0 + 0.05 * torch.randn(shape, generator=gen))
    if len(shape) == 4:  # He init, as the official constructors
        return torch.randn(shape, generator=gen) * math.sqrt(2.0 / (shape[1] * shape[2] * shape[3]))
    std = head_std if name.startswith(("dec", "regressor", "layers.2")) else shape[1] ** -0.5
    return std * torch.randn(shape, generator=gen)


def random_state_dict(entries: list[Entry], seed: int, head_std: float = 1e-2) -> OrderedDict:
    """Seeded random tensors for ``entries`` (an OrderedDict, as ``state_dict()`` returns)."""
    gen = torch.Generator().manual_seed(seed)
    return OrderedDict((name, _value(name, shape, gen, head_std)) for name, shape in entries)
