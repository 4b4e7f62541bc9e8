"""ResNet-50 trunk with torchvision's parameter and buffer names, built without torchvision.

The three part experts (SPIN, DECA, FrankMocap) each carry a copy of the same ResNet-50
("v1.5": the stride-2 convolution of a down-sampling block is the 3x3 ``conv2``) whose
state-dict names are torchvision's: ``conv1``, ``bn1``, ``layer1`` .. ``layer4`` made of
Bottleneck blocks (``conv1``/``bn1``/``conv2``/``bn2``/``conv3``/``bn3`` and, in the first
block of each stage, ``downsample.0`` (1x1 conv) / ``downsample.1`` (BatchNorm)), and an
optional classifier ``fc``. ``maxpool``, ``relu`` and ``avgpool`` hold no state.

Nothing here downloads weights: the official experts start from ImageNet weights only when
*training*; their released checkpoints contain every trunk tensor.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FEATURE_DIM", "RESNET50_STAGES", "Bottleneck", "ResNet50Trunk"]

# (planes, blocks, stride) per stage; output channels are planes * Bottleneck.expansion.
RESNET50_STAGES: tuple[tuple[int, int, int], ...] = (
    (64, 3, 1),
    (128, 4, 2),
    (256, 6, 2),
    (512, 3, 2),
)

FEATURE_DIM = 2048
"""Channels of ``layer4`` and length of the pooled feature vector."""


class Bottleneck(nn.Module):
    """torchvision's Bottleneck block (1x1 -> 3x3 (stride) -> 1x1, expansion 4)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        width = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, width, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Sequential | None = None
        if stride != 1 or inplanes != width:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, width, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(width),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, inplanes, H, W) -> (B, 4 * planes, H / stride, W / stride)."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


def _make_stage(inplanes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    layers = [Bottleneck(inplanes, planes, stride)]
    layers += [Bottleneck(planes * Bottleneck.expansion, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class ResNet50Trunk(nn.Module):
    """ResNet-50 up to global average pooling, torchvision state-dict names.

    Args:
        num_classes: when given, adds torchvision's classifier ``fc`` = Linear(2048,
            num_classes) (used only to load a plain torchvision state dict); the experts'
            heads are added by subclasses / owners under their official names instead.

    ``avgpool`` is ``AvgPool2d(7, stride=1)`` exactly as in the three official code bases
    (SPIN ``models/hmr.py``, DECA ``decalib/models/resnet.py``, FrankMocap
    ``handmocap/hand_modules/resnet.py``): it equals global average pooling for the 224 x 224
    input all of them use, so inputs must be 224 x 224.
    """

    def __init__(self, num_classes: int | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        inplanes = 64
        for index, (planes, blocks, stride) in enumerate(RESNET50_STAGES, start=1):
            self.add_module(f"layer{index}", _make_stage(inplanes, planes, blocks, stride))
            inplanes = planes * Bottleneck.expansion
        self.avgpool = nn.AvgPool2d(7, stride=1)
        self.fc: nn.Linear | None = None
        if num_classes is not None:
            self.fc = nn.Linear(FEATURE_DIM, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        """He-normal convolutions, unit BatchNorm (overwritten by any checkpoint)."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def pooled_features(self, images: torch.Tensor) -> torch.Tensor:
        """Normalised images (B, 3, 224, 224) -> pooled ``layer4`` features (B, 2048)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, 224, 224) -> (B, 2048) pooled features, or (B, num_classes) logits with fc."""
        features = self.pooled_features(images)
        return features if self.fc is None else self.fc(features)
