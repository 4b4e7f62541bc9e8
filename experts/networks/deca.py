"""DECA's coarse face encoder ``E_flame`` (yfeng95/DECA) with the official names.

``deca_model.tar`` is ``torch.save`` of ``DECA.model_dict()`` = ``{'E_flame': ...,
'E_detail': ..., 'D_detail': ...}`` (one state dict per sub-module). Only ``E_flame`` is used
here (the coarse FLAME parameters); ``E_detail`` / ``D_detail`` produce the displacement map
and are ignored.

``E_flame`` = ``ResnetEncoder(outsize=236)`` (``decalib/models/encoders.py``):

- ``encoder.*``: ``resnet.load_ResNet50Model()``, a ResNet-50 without classifier whose forward
  ends with ``AvgPool2d(7)`` + flatten (2048 features), keys ``encoder.conv1.weight``,
  ``encoder.bn1.*``, ``encoder.layer1.0.conv1.weight`` ... (torchvision names);
- ``layers`` = Sequential(Linear(2048, 1024), ReLU, Linear(1024, 236)): keys
  ``layers.0.weight`` (1024, 2048), ``layers.0.bias``, ``layers.2.weight`` (236, 1024),
  ``layers.2.bias``; no ``last_op``.

The 236 values are split by ``DECA.decompose_code`` in ``cfg.model.param_list`` order:
shape 100, tex 50, exp 50, pose 6, cam 3, light 27 (reshaped to (9, 3)). With the default
``jaw_type = 'aa'`` the pose is axis-angle: [0:3] head (neck) rotation, [3:6] jaw.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from furpe_label.experts.networks.resnet import FEATURE_DIM, ResNet50Trunk

__all__ = ["DECA_CODE_LAYOUT", "DECA_CODE_SIZE", "DecaCode", "DecaFlameEncoder", "decompose_code"]

DECA_CODE_LAYOUT: tuple[tuple[str, int], ...] = (
    ("shape", 100),
    ("tex", 50),
    ("exp", 50),
    ("pose", 6),
    ("cam", 3),
    ("light", 27),
)
DECA_CODE_SIZE = sum(size for _, size in DECA_CODE_LAYOUT)


class DecaCode(NamedTuple):
    """DECA's coarse code for B face crops (``decompose_code`` of the 236 outputs).

    Attributes:
        shape: (B, 100) FLAME identity coefficients.
        tex: (B, 50) albedo (BFM-derived FLAME texture) coefficients.
        exp: (B, 50) FLAME expression coefficients.
        pose: (B, 6) axis-angle radians: [0:3] global head rotation, [3:6] jaw.
        cam: (B, 3) orthographic camera [s, tx, ty] (``util.batch_orth_proj``): a FLAME
            point X projects to s * (X[:2] + [tx, ty]) in [-1, 1] normalised crop
            coordinates, after which DECA negates y (FLAME's y points up, the image's down).
        light: (B, 9, 3) second-order spherical-harmonics lighting, 9 bands x RGB.
    """

    shape: torch.Tensor
    tex: torch.Tensor
    exp: torch.Tensor
    pose: torch.Tensor
    cam: torch.Tensor
    light: torch.Tensor


def decompose_code(code: torch.Tensor) -> DecaCode:
    """Split (B, 236) DECA parameters into a :class:`DecaCode` (official order)."""
    if code.shape[-1] != DECA_CODE_SIZE:
        raise ValueError(f"DECA code must have {DECA_CODE_SIZE} values, got {code.shape[-1]}")
    parts = dict(
        zip(
            [name for name, _ in DECA_CODE_LAYOUT],
            torch.split(code, [size for _, size in DECA_CODE_LAYOUT], dim=-1),
            strict=True,
        )
    )
    parts["light"] = parts["light"].reshape(code.shape[0], 9, 3)
    return DecaCode(**parts)


class DecaFlameEncoder(nn.Module):
    """DECA ``E_flame``: ResNet-50 features -> 236 coarse FLAME / camera / light parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = ResNet50Trunk()
        self.layers = nn.Sequential(
            nn.Linear(FEATURE_DIM, 1024), nn.ReLU(), nn.Linear(1024, DECA_CODE_SIZE)
        )

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Crops (B, 3, 224, 224) RGB in [0, 1] -> (code (B, 236), pooled feature (B, 2048))."""
        feature = self.encoder.pooled_features(images)
        return self.layers(feature), feature

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Crops (B, 3, 224, 224) -> (code (B, 236), pooled feature (B, 2048), head feature
        (B, 1024)): the head feature is ``layers[0]``'s output (Linear 2048 -> 1024, before its
        ReLU), the project's distillation feature for the face."""
        feature = self.encoder.pooled_features(images)
        head = self.layers[0](feature)
        code = self.layers[2](self.layers[1](head))
        return code, feature, head
