"""The shape transfer of the body expert's output: SMPL bodies -> SMPL-X betas per instance.

Reads the body record of the expert stage's
:class:`~furpe_label.experts.expert_outputs.ExpertOutputs` (SMPL rotation matrices and betas)
and runs :class:`~furpe_label.experts.fusion.shape_transfer.ShapeTransfer` on the rows with a
usable body, at the origin (the label's translation is the transfer's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.fusion.shape_transfer import ShapeTransfer
from furpe_label.experts.geometry.rotations import matrix_to_axis_angle
from furpe_label.experts.vocabulary import Part

__all__ = ["BodyShapes", "transfer_bodies"]


@dataclass(frozen=True)
class BodyShapes:
    """The transfer's result for N instances (float64).

    Attributes:
        betas: (N, B) SMPL-X shape coefficients; 0 where the body is not usable.
        transl: (N, 3) SMPL-X translation, metres; NaN where the body is not usable.
        error_mm: (N,) the fit's vertex error, millimetres; NaN where the body is not usable.
    """

    betas: np.ndarray
    transl: np.ndarray
    error_mm: np.ndarray


def transfer_bodies(
    transfer: ShapeTransfer, experts: ExpertOutputs, body_ok: np.ndarray, num_betas: int
) -> BodyShapes:
    """SMPL-X shapes of the rows with a usable body.

    Args:
        transfer: the SMPL -> SMPL-X shape transfer.
        experts: the expert stage's output for N instances (its body record is read).
        body_ok: (N,) bool rows whose body is usable (finite, kept by the earlier steps).
        num_betas: B, the SMPL-X betas fusion takes.
    """
    count = len(body_ok)
    betas = np.zeros((count, num_betas))
    transl = np.full((count, 3), np.nan)
    error = np.full(count, np.nan)
    rows = np.flatnonzero(body_ok)
    if rows.size:
        body = experts.record(Part.BODY).params
        rotvecs = matrix_to_axis_angle(torch.as_tensor(body.rotmats[rows], dtype=torch.float64))
        result = transfer.transfer(
            rotvecs[:, 0],
            rotvecs[:, 1:],
            torch.as_tensor(body.betas[rows], dtype=torch.float64),
            torch.zeros(len(rows), 3, dtype=torch.float64),
        )
        betas[rows] = result.betas.numpy()
        transl[rows] = result.transl.numpy()
        error[rows] = result.error_mm.numpy()
    return BodyShapes(betas, transl, error)
