"""FrankMocap's hand regressor ``H3DWEncoder`` (facebookresearch/frankmocap) with official names.

``extra_data/hand_module/pretrained_weights/pose_shape_best.pth`` is a bare state dict of
``H3DWEncoder`` (``handmocap/hand_modules/h3dw_networks.py``), loaded by ``H3DWModel`` with
``self.encoder.load_state_dict(torch.load(path))`` (strict, no ``module.`` prefix):

- ``main_encoder.*``: FrankMocap's ``resnet50`` (``hand_modules/resnet.py``): ResNet-50 with
  torchvision names whose classifier is replaced by ``fc1`` = Linear(2048, 1024); its forward
  is avgpool -> flatten -> ReLU -> fc1 -> ReLU (keys ``main_encoder.fc1.weight`` (1024, 2048),
  ``main_encoder.fc1.bias``);
- ``feat_encoder`` = Sequential(ReLU, Linear(1024, 1024), ReLU): keys ``feat_encoder.1.weight``,
  ``feat_encoder.1.bias``;
- ``regressor`` = Sequential(Linear(1024 + 61, 61)): keys ``regressor.0.weight`` (61, 1085),
  ``regressor.0.bias``.

The mean parameters are a plain attribute (not in the state dict), built by
``H3DWModel.load_params`` from ``mean_mano_params.pkl`` (a pickled dict whose ``mean_pose``
is the 48-value mean MANO pose): cam = [5, 0, 0], pose = [0, 0, 0] + ``mean_pose[3:]``,
shape = zeros(10). Forward: 3 iterations ``params <- params + regressor([feat, params])``.

The 61 outputs: cam 3 [s, tx, ty], pose 48 (hand global rotation 3 + 15 finger joints x 3,
axis-angle, relative to the mean hand: FrankMocap feeds them to ``smplx`` SMPL-X with
``use_pca=False`` and the default ``flat_hand_mean=False``), shape 10. The network always sees
a right hand; left-hand crops are mirrored before and the result un-mirrored after
(:func:`unflip_left_hand`, as ``HandMocap.regress`` in ``handmocap/hand_mocap_api.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from furpe_label.experts.networks.resnet import FEATURE_DIM, ResNet50Trunk
from furpe_label.experts.safe_load import safe_pickle_load

__all__ = [
    "HAND_PARAM_DIM",
    "FrankMocapHandEncoder",
    "FrankMocapOutput",
    "FrankMocapResNet",
    "hand_mean_params",
    "load_mean_mano_params",
    "unflip_left_hand",
]

CAM_DIM, POSE_DIM, SHAPE_DIM = 3, 48, 10
HAND_PARAM_DIM = CAM_DIM + POSE_DIM + SHAPE_DIM
MEAN_CAM_SCALE = 5.0


def load_mean_mano_params(path: Path) -> np.ndarray:
    """``mean_mano_params.pkl`` -> its ``mean_pose`` (48,) float64, read with a safe unpickler.

    Read by :func:`furpe_label.experts.safe_load.safe_pickle_load` (a global such as
    ``os.system``, or a memory-unsafe array, raises ``UnsafePickleError`` naming the file
    before anything runs or is used).

    Raises:
        SafeLoadError: the file is refused or unreadable (a ``ValueError``).
        ValueError: the file is not a dict with a 48-value finite ``mean_pose``.
    """
    path = Path(path)
    data: Any = safe_pickle_load(path)
    if not isinstance(data, Mapping) or "mean_pose" not in data:
        found = sorted(map(str, data)) if isinstance(data, Mapping) else type(data).__name__
        raise ValueError(f"{path}: expected a dict with 'mean_pose', found {found}")
    try:
        mean_pose = np.asarray(data["mean_pose"], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):  # not numbers (a dict, strings, ...): reported below
        mean_pose = np.zeros(0)
    if mean_pose.shape != (POSE_DIM,) or not np.all(np.isfinite(mean_pose)):
        raise ValueError(
            f"{path}: 'mean_pose' must be {POSE_DIM} finite values, "
            f"got shape {np.shape(data['mean_pose'])}"
        )
    return mean_pose


def hand_mean_params(mean_pose: np.ndarray) -> np.ndarray:
    """``H3DWModel.load_params``: (61,) float32 [5, 0, 0 | 0, 0, 0, mean_pose[3:] | 0 x 10].

    Args:
        mean_pose: (48,) mean MANO pose from ``mean_mano_params.pkl`` (axis-angle, radians).
    """
    params = np.zeros(HAND_PARAM_DIM, dtype=np.float32)
    params[0] = MEAN_CAM_SCALE
    params[CAM_DIM + 3 : CAM_DIM + POSE_DIM] = np.asarray(mean_pose, dtype=np.float32)[3:]
    return params


class FrankMocapOutput(NamedTuple):
    """FrankMocap predictions for B hand crops as the network sees them (right hands).

    Attributes:
        cam: (B, 3) weak-perspective [s, tx, ty] of the 224 x 224 crop (FrankMocap's
            ``convert_smpl_to_bbox``: pixels = (s * (X + t) + 1) * 112).
        pose: (B, 48) axis-angle radians, hand global rotation + 15 finger joints,
            relative to the mean hand (``flat_hand_mean=False``).
        shape: (B, 10) MANO/SMPL-X hand shape coefficients.
        feature: (B, 2048) pooled ResNet-50 feature (before ``fc1``).
        head_feature: (B, 1024) ``main_encoder`` output (``fc1`` 2048 -> 1024 after its ReLU),
            the input of ``feat_encoder``: the project's distillation feature for hands.
    """

    cam: torch.Tensor
    pose: torch.Tensor
    shape: torch.Tensor
    feature: torch.Tensor
    head_feature: torch.Tensor


class FrankMocapResNet(ResNet50Trunk):
    """FrankMocap's ``resnet50``: the trunk plus ``fc1`` Linear(2048, 1024) (keeps names)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(FEATURE_DIM, 1024)

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, 224, 224) -> (fc1 feature (B, 1024) after ReLU, pooled feature (B, 2048))."""
        pooled = self.pooled_features(images)
        return self.relu(self.fc1(self.relu(pooled))), pooled


class FrankMocapHandEncoder(nn.Module):
    """FrankMocap ``H3DWEncoder``: ``main_encoder``, ``feat_encoder``, ``regressor``."""

    def __init__(self, mean_params: np.ndarray) -> None:
        super().__init__()
        mean = np.asarray(mean_params, dtype=np.float32).reshape(-1)
        if mean.shape != (HAND_PARAM_DIM,):
            raise ValueError(f"mean params must have {HAND_PARAM_DIM} values, got {mean.size}")
        self.main_encoder = FrankMocapResNet()
        self.feat_encoder = nn.Sequential(nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU())
        self.regressor = nn.Sequential(nn.Linear(1024 + HAND_PARAM_DIM, HAND_PARAM_DIM))
        # Not part of the official state dict: a plain attribute there, non-persistent here.
        self.register_buffer("mean_params", torch.from_numpy(mean)[None], persistent=False)

    def forward(self, images: torch.Tensor, n_iter: int = 3) -> FrankMocapOutput:
        """Normalised BGR crops (B, 3, 224, 224) in [-1, 1] -> :class:`FrankMocapOutput`."""
        main_feat, pooled = self.main_encoder.encode(images)
        feat = self.feat_encoder(main_feat)
        params = self.mean_params.expand(feat.shape[0], -1)
        for _ in range(n_iter):
            params = params + self.regressor(torch.cat([feat, params], dim=1))
        params = params.float()
        cam, pose, shape = torch.split(params, [CAM_DIM, POSE_DIM, SHAPE_DIM], dim=1)
        return FrankMocapOutput(cam, pose, shape, pooled, main_feat)


def unflip_left_hand(
    pose: torch.Tensor, cam: torch.Tensor, is_left: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror predictions made on horizontally flipped left-hand crops back (hand_mocap_api).

    Args:
        pose: (B, 48) axis-angle; for left rows the y and z components of every joint
            (``pose[:, 1::3]``, ``pose[:, 2::3]``, global rotation included) change sign.
        cam: (B, 3) [s, tx, ty]; for left rows tx changes sign.
        is_left: (B,) bool.

    Returns:
        New (pose, cam) tensors; right-hand rows are unchanged.
    """
    sign_pose = torch.ones(POSE_DIM, dtype=pose.dtype, device=pose.device)
    sign_pose[1::3] = -1
    sign_pose[2::3] = -1
    sign_cam = torch.tensor([1.0, -1.0, 1.0], dtype=cam.dtype, device=cam.device)
    left = is_left.to(device=pose.device, dtype=torch.bool)[:, None]
    return torch.where(left, pose * sign_pose, pose), torch.where(left, cam * sign_cam, cam)
