"""Build the three network experts from the official files (never downloads anything).

``load_spin`` / ``load_deca`` / ``load_frankmocap`` return ready runners; the ``build_*``
functions return the bare network (eval mode, CPU) and the checkpoint's SHA-256; the
``check_*`` functions verify a checkpoint's keys and shapes without building real weights
(the network skeleton lives on the ``meta`` device), for the folder check.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from furpe_label.experts.networks.checkpoints import (
    check_state_dict,
    load_into,
    sha256_of_file,
    state_dict_entry,
)
from furpe_label.experts.networks.deca import DecaFlameEncoder
from furpe_label.experts.networks.frankmocap import (
    HAND_PARAM_DIM,
    FrankMocapHandEncoder,
    hand_mean_params,
    load_mean_mano_params,
)
from furpe_label.experts.networks.layout import (
    DECA_MODEL,
    FRANKMOCAP_CHECKPOINT,
    FRANKMOCAP_MEAN_PARAMS,
    SPIN_CHECKPOINT,
    SPIN_MEAN_PARAMS,
    resolve_device,
    resolve_experts_dir,
)
from furpe_label.experts.networks.runners import (
    DEFAULT_BATCH_SIZE,
    DecaExpert,
    FrankMocapExpert,
    SpinExpert,
)
from furpe_label.experts.networks.spin import (
    SPIN_INIT_BUFFERS,
    SmplMeanParams,
    SpinHMR,
    load_smpl_mean_params,
)
from furpe_label.experts.safe_load import read_checkpoint

__all__ = [
    "build_deca",
    "build_frankmocap",
    "build_spin",
    "check_deca_checkpoint",
    "check_frankmocap_checkpoint",
    "check_spin_checkpoint",
    "load_deca",
    "load_frankmocap",
    "load_spin",
]

SPIN_SECTION = "model"
DECA_SECTION = "E_flame"


def _spin_state(path: Path) -> Mapping[str, torch.Tensor]:
    return state_dict_entry(read_checkpoint(path), SPIN_SECTION, path)


def _deca_state(path: Path) -> Mapping[str, torch.Tensor]:
    return state_dict_entry(read_checkpoint(path), DECA_SECTION, path)


def _frankmocap_state(path: Path) -> Mapping[str, torch.Tensor]:
    return state_dict_entry(read_checkpoint(path), None, path)


def _meta_spin() -> SpinHMR:
    zeros = SmplMeanParams(
        np.zeros(144, np.float32), np.zeros(10, np.float32), np.zeros(3, np.float32)
    )
    with torch.device("meta"):
        return SpinHMR(zeros)


def check_spin_checkpoint(path: Path) -> int:
    """Check ``model_checkpoint.pt``'s ``'model'`` entry; returns its tensor count.

    Raises:
        CheckpointFormatError, CheckpointMismatchError: naming the file and the broken keys.
    """
    state = _spin_state(Path(path))
    check_state_dict(_meta_spin().state_dict(), state, Path(path), SPIN_SECTION, SPIN_INIT_BUFFERS)
    return len(state)


def check_deca_checkpoint(path: Path) -> int:
    """Check ``deca_model.tar``'s ``'E_flame'`` entry; returns its tensor count."""
    state = _deca_state(Path(path))
    with torch.device("meta"):
        skeleton = DecaFlameEncoder()
    check_state_dict(skeleton.state_dict(), state, Path(path), DECA_SECTION)
    return len(state)


def check_frankmocap_checkpoint(path: Path) -> int:
    """Check ``pose_shape_best.pth`` (a bare ``H3DWEncoder`` state dict); returns its size."""
    state = _frankmocap_state(Path(path))
    with torch.device("meta"):
        skeleton = FrankMocapHandEncoder(np.zeros(HAND_PARAM_DIM, np.float32))
    check_state_dict(skeleton.state_dict(), state, Path(path))
    return len(state)


def build_spin(experts_dir: Path | str | None = None) -> tuple[SpinHMR, str]:
    """SPIN ``HMR`` with the official weights (CPU, eval) and the checkpoint's SHA-256."""
    root = resolve_experts_dir(experts_dir)
    path = SPIN_CHECKPOINT.path(root)
    model = SpinHMR(load_smpl_mean_params(SPIN_MEAN_PARAMS.path(root)))
    load_into(model, _spin_state(path), path, SPIN_SECTION, SPIN_INIT_BUFFERS)
    return model.eval(), sha256_of_file(path)


def build_deca(experts_dir: Path | str | None = None) -> tuple[DecaFlameEncoder, str]:
    """DECA ``E_flame`` with the official weights (CPU, eval) and the file's SHA-256."""
    path = DECA_MODEL.path(resolve_experts_dir(experts_dir))
    model = DecaFlameEncoder()
    load_into(model, _deca_state(path), path, DECA_SECTION)
    return model.eval(), sha256_of_file(path)


def build_frankmocap(
    experts_dir: Path | str | None = None,
) -> tuple[FrankMocapHandEncoder, str]:
    """FrankMocap ``H3DWEncoder`` with the official weights (CPU, eval) and its SHA-256."""
    root = resolve_experts_dir(experts_dir)
    path = FRANKMOCAP_CHECKPOINT.path(root)
    mean = hand_mean_params(load_mean_mano_params(FRANKMOCAP_MEAN_PARAMS.path(root)))
    model = FrankMocapHandEncoder(mean)
    load_into(model, _frankmocap_state(path), path)
    return model.eval(), sha256_of_file(path)


def load_spin(
    experts_dir: Path | str | None = None,
    device: str | torch.device | None = None,
    fp16: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> SpinExpert:
    """SPIN runner from ``experts_dir`` (default ``$FURPE_EXPERTS``); device ``None`` = auto."""
    model, sha = build_spin(experts_dir)
    return SpinExpert(model, sha, resolve_device(device), fp16=fp16, batch_size=batch_size)


def load_deca(
    experts_dir: Path | str | None = None,
    device: str | torch.device | None = None,
    fp16: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> DecaExpert:
    """DECA runner from ``experts_dir`` (default ``$FURPE_EXPERTS``); device ``None`` = auto."""
    model, sha = build_deca(experts_dir)
    return DecaExpert(model, sha, resolve_device(device), fp16=fp16, batch_size=batch_size)


def load_frankmocap(
    experts_dir: Path | str | None = None,
    device: str | torch.device | None = None,
    fp16: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> FrankMocapExpert:
    """FrankMocap runner from ``experts_dir`` (default ``$FURPE_EXPERTS``); ``None`` = auto."""
    model, sha = build_frankmocap(experts_dir)
    return FrankMocapExpert(model, sha, resolve_device(device), fp16=fp16, batch_size=batch_size)
