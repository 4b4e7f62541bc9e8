"""SPIN's body regressor ``HMR`` (nkolot/SPIN ``models/hmr.py``) with the official names.

State-dict keys of the released ``data/model_checkpoint.pt`` (entry ``'model'``), as built by
``HMR(Bottleneck, [3, 4, 6, 3], smpl_mean_params)``:

- ResNet-50 trunk at the top level: ``conv1.weight``, ``bn1.*``, ``layer1.0.conv1.weight`` ...
  ``layer4.2.bn3.*`` (torchvision names, see :mod:`.resnet`); ``avgpool`` has no state;
- ``fc1`` Linear(2048 + 144 + 13 -> 1024), ``fc2`` Linear(1024 -> 1024) (``drop1``/``drop2``
  are Dropout, inactive in eval), heads ``decpose`` (144 = 24 joints x 6D), ``decshape`` (10),
  ``deccam`` (3);
- buffers ``init_pose`` (1, 144), ``init_shape`` (1, 10), ``init_cam`` (1, 3), filled by the
  constructor from ``smpl_mean_params.npz`` (keys ``pose`` (144,), ``shape`` (10,), ``cam``
  (3,)) and overwritten by the checkpoint when it has them.

Forward: 3 iterative refinements ``theta <- theta + dec(fc2(fc1([feature, theta])))`` from the
mean; the 6D pose becomes rotation matrices with SPIN's ``rot6d_to_rotmat`` (view (-1, 3, 2),
Gram-Schmidt on the two columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from furpe_label.experts.geometry.rotations import rot6d_to_matrix
from furpe_label.experts.networks.resnet import FEATURE_DIM, ResNet50Trunk
from furpe_label.experts.safe_load import NpzMembers

__all__ = [
    "SPIN_INIT_BUFFERS",
    "SPIN_N_ITER",
    "SmplMeanParams",
    "SpinHMR",
    "SpinOutput",
    "load_smpl_mean_params",
]

N_JOINTS = 24
POSE_6D_DIM = N_JOINTS * 6
SPIN_N_ITER = 3
SPIN_INIT_BUFFERS: tuple[str, ...] = ("init_pose", "init_shape", "init_cam")
_MEAN_SHAPES = {"pose": (POSE_6D_DIM,), "shape": (10,), "cam": (3,)}


@dataclass(frozen=True)
class SmplMeanParams:
    """SPIN's ``smpl_mean_params.npz``.

    Attributes:
        pose: (144,) float32, mean pose as 24 x SPIN 6D rotations.
        shape: (10,) float32, mean SMPL betas.
        cam: (3,) float32, mean weak-perspective camera [s, tx, ty].
    """

    pose: np.ndarray
    shape: np.ndarray
    cam: np.ndarray


def load_smpl_mean_params(path: Path) -> SmplMeanParams:
    """Read ``smpl_mean_params.npz`` with the safe loader and check its keys and sizes.

    Raises:
        SafeLoadError: the file is refused or unreadable (a ``ValueError`` naming the file).
        ValueError: naming the file and the missing / mis-sized / non-numeric key.
    """
    path = Path(path)
    arrays = NpzMembers(path)  # only the three members read below are inflated
    values = {}
    for key, shape in _MEAN_SHAPES.items():
        if key not in arrays:
            raise ValueError(f"{path}: missing key '{key}' (found {sorted(arrays)})")
        if not isinstance(arrays[key], np.ndarray) or arrays[key].dtype.kind not in "iuf":
            raise ValueError(f"{path}: key '{key}' is not a numeric array")
        value = np.asarray(arrays[key], dtype=np.float32).reshape(-1)
        if value.shape != shape:
            raise ValueError(f"{path}: key '{key}' has {value.size} values, expected {shape[0]}")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{path}: key '{key}' has non-finite values")
        values[key] = value
    return SmplMeanParams(**values)


class SpinOutput(NamedTuple):
    """SPIN predictions for a batch of B crops.

    Attributes:
        rotmats: (B, 24, 3, 3) SMPL joint rotations (global orient + 23 body joints).
        betas: (B, 10) SMPL shape coefficients.
        cam: (B, 3) weak-perspective camera [s, tx, ty]: a body point X projects to
            s * (X[:2] + [tx, ty]) in [-1, 1] normalised coordinates of the 224 x 224 crop
            (SPIN's perspective equivalent: translation [tx, ty, 2 * 5000 / (224 * s)]).
        feature: (B, 2048) pooled ResNet-50 feature.
        head_feature: (B, 1024) output of ``fc1`` at the final iteration (before dropout,
            which is the identity in eval mode): the regressor's 1024-d input representation,
            the project's distillation feature for the body (see ``experts.records.ExpertRecord``).
    """

    rotmats: torch.Tensor
    betas: torch.Tensor
    cam: torch.Tensor
    feature: torch.Tensor
    head_feature: torch.Tensor


class SpinHMR(ResNet50Trunk):
    """SPIN ``HMR``: the trunk's keys at the top level plus the iterative regressor."""

    def __init__(self, mean_params: SmplMeanParams) -> None:
        super().__init__()
        in_dim = FEATURE_DIM + POSE_6D_DIM + 10 + 3
        self.fc1 = nn.Linear(in_dim, 1024)
        self.drop1 = nn.Dropout()
        self.fc2 = nn.Linear(1024, 1024)
        self.drop2 = nn.Dropout()
        self.decpose = nn.Linear(1024, POSE_6D_DIM)
        self.decshape = nn.Linear(1024, 10)
        self.deccam = nn.Linear(1024, 3)
        for head in (self.decpose, self.decshape, self.deccam):
            nn.init.xavier_uniform_(head.weight, gain=0.01)
        self.register_buffer("init_pose", torch.from_numpy(mean_params.pose.copy())[None])
        self.register_buffer("init_shape", torch.from_numpy(mean_params.shape.copy())[None])
        self.register_buffer("init_cam", torch.from_numpy(mean_params.cam.copy())[None])

    def forward(self, images: torch.Tensor, n_iter: int = SPIN_N_ITER) -> SpinOutput:
        """Normalised crops (B, 3, 224, 224) -> :class:`SpinOutput`."""
        feature = self.pooled_features(images)
        batch = feature.shape[0]
        pose = self.init_pose.expand(batch, -1)
        shape = self.init_shape.expand(batch, -1)
        cam = self.init_cam.expand(batch, -1)
        head_feature = feature.new_zeros(batch, 1024)
        for _ in range(n_iter):
            head_feature = self.fc1(torch.cat([feature, pose, shape, cam], dim=1))
            x = self.drop2(self.fc2(self.drop1(head_feature)))
            pose = self.decpose(x) + pose
            shape = self.decshape(x) + shape
            cam = self.deccam(x) + cam
        rotmats = rot6d_to_matrix(pose.float().reshape(batch, N_JOINTS, 6))
        return SpinOutput(rotmats, shape.float(), cam.float(), feature, head_feature)
