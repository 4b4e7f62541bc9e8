"""Where the official expert files live inside the user's experts folder.

Layout (``--experts DIR`` or the ``FURPE_EXPERTS`` environment variable)::

    DIR/spin/model_checkpoint.pt          SPIN data/model_checkpoint.pt
    DIR/spin/smpl_mean_params.npz         SPIN data/smpl_mean_params.npz
    DIR/deca/deca_model.tar               DECA data/deca_model.tar
    DIR/frankmocap/pose_shape_best.pth    FrankMocap extra_data/hand_module/pretrained_weights/
    DIR/frankmocap/mean_mano_params.pkl   FrankMocap extra_data/hand_module/
    DIR/frankmocap/SMPLX_HAND_INFO.pkl    FrankMocap extra_data/hand_module/ (optional)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = [
    "DECA_MODEL",
    "EXPERTS_ENV",
    "EXPERT_FILES",
    "FRANKMOCAP_CHECKPOINT",
    "FRANKMOCAP_HAND_INFO",
    "FRANKMOCAP_MEAN_PARAMS",
    "SPIN_CHECKPOINT",
    "SPIN_MEAN_PARAMS",
    "ExpertFile",
    "resolve_device",
    "resolve_experts_dir",
]

EXPERTS_ENV = "FURPE_EXPERTS"


@dataclass(frozen=True)
class ExpertFile:
    """One expected file of the experts folder.

    Attributes:
        component: human name of the file's role.
        relpath: location relative to the experts folder.
        required: whether a run refuses to start without it.
        source: where users obtain the official file, in words.
    """

    component: str
    relpath: str
    required: bool
    source: str

    def path(self, experts_dir: Path) -> Path:
        """Absolute location inside ``experts_dir``."""
        return Path(experts_dir) / self.relpath


SPIN_CHECKPOINT = ExpertFile(
    "SPIN checkpoint",
    "spin/model_checkpoint.pt",
    True,
    "SPIN repo fetch_data.sh (data/model_checkpoint.pt, "
    "http://visiondata.cis.upenn.edu/spin/model_checkpoint.pt)",
)
SPIN_MEAN_PARAMS = ExpertFile(
    "SPIN mean parameters",
    "spin/smpl_mean_params.npz",
    True,
    "SPIN repo fetch_data.sh (data.tar.gz -> data/smpl_mean_params.npz)",
)
DECA_MODEL = ExpertFile(
    "DECA model",
    "deca/deca_model.tar",
    True,
    "DECA repo README 'Prepare data' (trained model deca_model.tar, placed in data/)",
)
FRANKMOCAP_CHECKPOINT = ExpertFile(
    "FrankMocap hand checkpoint",
    "frankmocap/pose_shape_best.pth",
    True,
    "FrankMocap repo scripts/download_data_hand_module.sh "
    "(extra_data/hand_module/pretrained_weights/pose_shape_best.pth)",
)
FRANKMOCAP_MEAN_PARAMS = ExpertFile(
    "FrankMocap mean MANO parameters",
    "frankmocap/mean_mano_params.pkl",
    True,
    "FrankMocap repo scripts/download_data_hand_module.sh "
    "(extra_data/hand_module/mean_mano_params.pkl)",
)
FRANKMOCAP_HAND_INFO = ExpertFile(
    "FrankMocap SMPL-X hand info",
    "frankmocap/SMPLX_HAND_INFO.pkl",
    False,
    "FrankMocap repo scripts/download_data_hand_module.sh "
    "(extra_data/hand_module/SMPLX_HAND_INFO.pkl)",
)

EXPERT_FILES: tuple[ExpertFile, ...] = (
    SPIN_CHECKPOINT,
    SPIN_MEAN_PARAMS,
    DECA_MODEL,
    FRANKMOCAP_CHECKPOINT,
    FRANKMOCAP_MEAN_PARAMS,
    FRANKMOCAP_HAND_INFO,
)


def resolve_experts_dir(experts_dir: Path | str | None) -> Path:
    """``experts_dir`` if given, else ``$FURPE_EXPERTS``.

    Raises:
        ValueError: neither is set.
    """
    if experts_dir is None:
        env = os.environ.get(EXPERTS_ENV)
        if not env:
            raise ValueError(f"no experts folder given and ${EXPERTS_ENV} is not set")
        experts_dir = env
    return Path(experts_dir).expanduser()


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` or ``"auto"``: CUDA when available, else CPU; otherwise ``torch.device(device)``."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
