"""Shared pieces of the fusion tests: synthetic models loaded once, smplx driven unmodified."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from furpe_label.experts.bodymodels.loading import CACHE_ENV, load_body_model
from furpe_label.experts.fusion.fuse import FusedSmplx
from furpe_label.experts.fusion.kinematics import SmplxRig

TOL_M = 1e-5


@dataclass(frozen=True)
class FusionModels:
    """The synthetic family as the fusion tests need it (all ``smplx`` layers, unmodified).

    Attributes:
        rig: the fusion rig (from the SMPL-X layer with the mean hands).
        smplx_flat: SMPL-X, ``flat_hand_mean=True`` (absolute hand poses), 10 betas/expressions.
        smplx_relative: SMPL-X, ``flat_hand_mean=False`` (hand poses relative to the mean).
        flame: FLAME; mano: {"left": MANO_LEFT, "right": MANO_RIGHT}, ``flat_hand_mean=False``.
    """

    rig: SmplxRig
    smplx_flat: nn.Module
    smplx_relative: nn.Module
    flame: nn.Module
    mano: dict[str, nn.Module]


def load_fusion_models(models_dir: Path, cache_dir: Path) -> FusionModels:
    """Load the synthetic family once per test module, caching sanitised copies privately."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(cache_dir))
        options = {"num_betas": 10, "num_expression_coeffs": 10}
        relative = load_body_model(models_dir, "smplx", flat_hand_mean=False, **options).layer
        return FusionModels(
            rig=SmplxRig.from_layer(relative),
            smplx_flat=load_body_model(models_dir, "smplx", flat_hand_mean=True, **options).layer,
            smplx_relative=relative,
            flame=load_body_model(models_dir, "flame", **options).layer,
            mano={
                side: load_body_model(models_dir, "mano", side, flat_hand_mean=False).layer
                for side in ("left", "right")
            },
        )


def as_tensors(params: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """smplx keyword arrays -> flat (N, D) float32 tensors."""
    return {
        k: torch.from_numpy(np.asarray(v, np.float32)).reshape(len(v), -1)
        for k, v in params.items()
    }


def smplx_joints(layer: nn.Module, fused: FusedSmplx, **overrides: np.ndarray) -> torch.Tensor:
    """(N, 127, 3) float64 ``joints`` of the unmodified smplx layer driven by the fused labels."""
    params = {**fused.smplx_params(), **overrides}
    with torch.no_grad():
        return layer(**as_tensors(params)).joints.double()
