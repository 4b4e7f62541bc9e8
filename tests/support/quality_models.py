"""The models the label-quality benchmark loads once, and the SMPL-X -> SMPL shape map it needs.

The simulated body expert (SPIN) outputs SMPL betas; the truth is SMPL-X. :class:`BetasMap` gives
the SMPL shape of an SMPL-X body through the shape transfer's own SMPL -> SMPL-X correspondence,
so the simulation needs no knowledge of how the (synthetic) models were made.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.fusion.kinematics import SmplxRig, load_smplx_rig
from furpe_label.experts.fusion.shape_transfer import ShapeTransfer
from furpe_label.experts.keypoints.fast_openpose import OpenPoseFromSMPLX


@dataclass(frozen=True)
class BetasMap:
    """SMPL betas ``= matrix @ smplx_betas + offset``: the SMPL shape whose mesh, mapped through
    the transfer's correspondence, best fits the SMPL-X rest mesh (least squares, rest pose)."""

    matrix: np.ndarray  # (10, B) SMPL per SMPL-X beta
    offset: np.ndarray  # (10,)

    @classmethod
    def from_transfer(cls, transfer: ShapeTransfer, smplx_layer) -> BetasMap:
        """Least squares over the transfer's masked SMPL-X vertices, both models at rest: the
        mapped SMPL mesh is affine in the SMPL betas, the SMPL-X mesh in the SMPL-X betas."""
        exact = copy.deepcopy(transfer).double()
        count = exact.smpl_num_betas
        unit = torch.cat([torch.zeros(1, count), torch.eye(count)]).double()
        rest = torch.zeros(count + 1, 24, 3, dtype=torch.float64)
        mapped = exact.smpl_target(rest[:, 0], rest[:, 1:], unit)  # (M, 3, 1 + count)
        base, per_beta = mapped[..., 0].reshape(-1), (mapped[..., 1:] - mapped[..., :1])
        ids = transfer.mask_ids
        template = smplx_layer.v_template.double()[ids].reshape(-1)
        dirs = smplx_layer.shapedirs.double()[ids].reshape(len(template), -1)
        system = per_beta.reshape(len(template), count)
        matrix = torch.linalg.lstsq(system, dirs).solution
        offset = torch.linalg.lstsq(system, (template - base)[:, None]).solution[:, 0]
        return cls(matrix.numpy(), offset.numpy())

    def to_smpl(self, smplx_betas: np.ndarray) -> np.ndarray:
        """(n, B) SMPL-X betas -> (n, 10) SMPL betas."""
        return smplx_betas @ self.matrix.T + self.offset

    def to_smplx(self, smpl_betas: np.ndarray) -> np.ndarray:
        """(n, 10) SMPL betas -> (n, B) SMPL-X betas (least squares inverse of :meth:`to_smpl`)."""
        return np.linalg.lstsq(self.matrix, (smpl_betas - self.offset).T, rcond=None)[0].T


@dataclass(frozen=True)
class QualityModels:
    """Everything the benchmark loads once from a models folder (synthetic family)."""

    keypoints: OpenPoseFromSMPLX  # fast OpenPose-137, hand poses absolute
    smplx: torch.nn.Module  # unmodified smplx.SMPLX, flat_hand_mean=True, 10 betas / expr.
    rig: SmplxRig
    transfer: ShapeTransfer
    betas: BetasMap

    @classmethod
    def load(cls, models_dir: Path) -> QualityModels:
        """Load every model from ``models_dir`` with the project's safe loaders."""
        layer = load_body_model(
            models_dir, "smplx", flat_hand_mean=True, num_betas=10, num_expression_coeffs=10
        ).layer
        transfer = ShapeTransfer.from_models(models_dir)
        return cls(
            OpenPoseFromSMPLX(layer),
            layer,
            load_smplx_rig(models_dir),
            transfer,
            BetasMap.from_transfer(transfer, layer),
        )

    @property
    def hand_mean(self) -> np.ndarray:
        """(2, 45) mean left / right hand, radians."""
        return (
            torch.stack([self.rig.left_hand_mean, self.rig.right_hand_mean]).reshape(2, 45).numpy()
        )
