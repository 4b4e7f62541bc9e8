"""SMPL -> SMPL-X transfer at known pose: closed-form shape and translation, batched.

FuRPE copies SPIN's SMPL pose into SMPL-X and drops SPIN's shape. Here the shape is carried
over: the posed SMPL mesh is mapped onto the SMPL-X topology (:mod:`transfer_correspondence`),
the SMPL-X pose is the SMPL one (``global_orient`` and SMPL joints 1..21 -> SMPL-X
``body_pose``; jaw, eyes and fingers at rest, i.e. flat hands), and SMPL-X ``betas`` and
``transl`` minimise the masked vertex loss of smplx's ``transfer_model`` exactly, in closed form
(:mod:`shape_least_squares`). SMPL's hand joints (22, 23) have no SMPL-X counterpart at this
level and are not carried over (the hands come from the hand expert in fusion).

Shapes (N samples, B SMPL-X betas) and units: axis-angle in radians, lengths in metres,
errors in millimetres. Works on any device/float dtype the layers are moved to.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.bodymodels.locate import resolve_models_dir
from furpe_label.experts.fusion.posed_shape_basis import PosedShapeBasis
from furpe_label.experts.fusion.shape_least_squares import DEFAULT_RIDGE, ShapeLeastSquares
from furpe_label.experts.fusion.transfer_correspondence import (
    DEFAULT_MAX_DISTANCE,
    SmplToSmplxCorrespondence,
    correspondence_from_templates,
    official_correspondence,
)

SMPL_BODY_JOINTS = 23
"""Joints in SMPL's ``body_pose`` (1..23; 22 and 23 are the hands)."""
SMPLX_BODY_JOINTS = 21
DEFAULT_CHUNK = 64
"""Bodies per solve: per-vertex arrays of 64 bodies stay in a CPU's cache (fastest measured
on the project's CPU); any size gives the same results up to float rounding."""
NUM_POSED_JOINTS = 1 + SMPLX_BODY_JOINTS
"""SMPL-X joints posed by the transfer (pelvis + body); jaw, eyes, fingers stay at rest."""


@dataclass(frozen=True)
class TransferResult:
    """SMPL-X parameters (``smplx`` names) for N transferred SMPL bodies.

    Attributes:
        global_orient: (N, 3) axis-angle, radians (SMPL's, unchanged).
        body_pose: (N, 21, 3) axis-angle, radians (SMPL joints 1..21).
        betas: (N, B) SMPL-X shape coefficients.
        transl: (N, 3) metres, such that SMPL-X vertices + transl fit the SMPL mesh + its
            translation.
        error_mm: (N,) mean distance, millimetres, between the SMPL-X vertices and the SMPL
            mesh mapped onto them, over the masked vertices.
    """

    global_orient: torch.Tensor
    body_pose: torch.Tensor
    betas: torch.Tensor
    transl: torch.Tensor
    error_mm: torch.Tensor


class ShapeTransfer(nn.Module):
    """SMPL -> SMPL-X parameters with closed-form shape and translation.

    Args:
        smpl_layer: ``smplx.SMPL`` layer (its ``num_betas`` fixes the input betas count).
        smplx_layer: ``smplx.SMPLX`` layer (its ``num_betas`` is B, the output betas count).
        correspondence: SMPL-X vertices on the SMPL mesh and the mask of vertices to fit.
        ridge: weight of ``|betas|^2`` (m^2 per unit beta^2) against the mean squared vertex
            residual; see :data:`shape_least_squares.DEFAULT_RIDGE`.
        chunk_size: bodies solved together (memory ~ 0.6 MB per body in float32); larger
            chunks pay off on a GPU.
    """

    def __init__(
        self,
        smpl_layer: nn.Module,
        smplx_layer: nn.Module,
        correspondence: SmplToSmplxCorrespondence,
        ridge: float = DEFAULT_RIDGE,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> None:
        super().__init__()
        self.chunk_size = int(chunk_size)
        self.correspondence_source = correspondence.source
        self.ridge = float(ridge)
        rows = correspondence.masked_matrix().tocsr()
        columns, weights = _padded_rows(rows)
        self.register_buffer("mask_ids", torch.as_tensor(correspondence.mask_ids))
        self.register_buffer("row_columns", torch.as_tensor(columns.T.copy()))  # (K, M) SMPL ids
        self.register_buffer(
            "row_weights", torch.as_tensor(weights.T.copy(), dtype=torch.float32)[..., None, None]
        )  # (K, M, 1, 1)
        self.smpl_basis = PosedShapeBasis(smpl_layer)
        self.basis = PosedShapeBasis(smplx_layer, self.mask_ids, posed_joints=NUM_POSED_JOINTS)
        self.solver = ShapeLeastSquares(self.basis)
        self.provenance: dict[str, Any] = {}

    @classmethod
    def from_models(
        cls,
        models_dir: Path | str | None,
        gender: str = "neutral",
        num_betas: int = 10,
        smpl_num_betas: int = 10,
        ridge: float = DEFAULT_RIDGE,
        max_distance: float = DEFAULT_MAX_DISTANCE,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> ShapeTransfer:
        """Load SMPL, SMPL-X and the correspondence from a models folder (safe loaders).

        The official ``smpl2smplx_deftrafo_setup.pkl`` (+ ``smplx_mask_ids.npy``) is used when
        present, else the correspondence is computed from the two templates.

        Args:
            models_dir: models folder (None: ``$FURPE_MODELS``).
            gender: "neutral", "male" or "female" (both models).
            num_betas: B, SMPL-X betas to fit; smpl_num_betas: betas of the SMPL input.
            max_distance: metres, mask threshold of the template-derived correspondence.
            ridge, chunk_size: as in the constructor.
        """
        root = resolve_models_dir(models_dir)
        smpl = load_body_model(root, "smpl", gender, num_betas=smpl_num_betas)
        smplx_model = load_body_model(
            root, "smplx", gender, num_betas=num_betas, flat_hand_mean=True
        )
        correspondence = official_correspondence(root)
        if correspondence is None:
            correspondence = correspondence_from_templates(
                smpl.layer.v_template.double().numpy(),
                np.asarray(smpl.layer.faces, dtype=np.int64),
                smplx_model.layer.v_template.double().numpy(),
                np.asarray(smplx_model.layer.faces, dtype=np.int64),
                max_distance=max_distance,
            )
        transfer = cls(
            smpl.layer, smplx_model.layer, correspondence, ridge=ridge, chunk_size=chunk_size
        )
        transfer.provenance = {
            "smpl": {"path": str(smpl.path), "sha256": smpl.sha256},
            "smplx": {"path": str(smplx_model.path), "sha256": smplx_model.sha256},
            "correspondence": correspondence.source,
            "synthetic": smpl.synthetic is not None or smplx_model.synthetic is not None,
        }
        return transfer

    @property
    def num_betas(self) -> int:
        """B, the number of SMPL-X betas produced."""
        return self.basis.num_betas

    @property
    def smpl_num_betas(self) -> int:
        """Number of SMPL betas the input must have."""
        return self.smpl_basis.num_betas

    def smpl_target(
        self, global_orient: torch.Tensor, body_pose: torch.Tensor, betas: torch.Tensor
    ) -> torch.Tensor:
        """(M, 3, N) posed SMPL mesh (no translation) mapped onto the masked SMPL-X vertices,
        metres (batch last).

        Args:
            global_orient: (N, 3); body_pose: (N, 23, 3) radians; betas: (N, smpl_num_betas).
        """
        n = global_orient.shape[0]
        rotvecs = torch.cat([global_orient.reshape(n, 1, 3), body_pose.reshape(n, -1, 3)], 1)
        vertices = self.smpl_basis.vertices(rotvecs, betas)  # (6890, 3, N)
        weights = self.row_weights.to(vertices.dtype)
        target = vertices.index_select(0, self.row_columns[0]).mul_(weights[0])
        for slot in range(1, self.row_columns.shape[0]):
            target.addcmul_(vertices.index_select(0, self.row_columns[slot]), weights[slot])
        return target

    @torch.no_grad()
    def transfer(
        self,
        global_orient: torch.Tensor,
        body_pose: torch.Tensor,
        betas: torch.Tensor,
        transl: torch.Tensor,
    ) -> TransferResult:
        """SMPL parameters -> SMPL-X parameters with the fitted shape.

        Args:
            global_orient: (N, 3) axis-angle, radians.
            body_pose: (N, 23, 3) or (N, 69) SMPL joints 1..23, axis-angle, radians.
            betas: (N, smpl_num_betas) SMPL shape coefficients.
            transl: (N, 3) metres.

        Returns:
            :class:`TransferResult` in the input's dtype.

        Raises:
            ValueError: a shape does not fit (message names the argument).
        """
        n = _check_shapes(global_orient, body_pose, betas, transl, self.smpl_num_betas)
        body_pose = body_pose.reshape(n, SMPL_BODY_JOINTS, 3)
        parts = [
            self._transfer_chunk(
                global_orient[start : start + self.chunk_size].reshape(-1, 3),
                body_pose[start : start + self.chunk_size],
                betas[start : start + self.chunk_size],
                transl[start : start + self.chunk_size],
            )
            for start in range(0, n, self.chunk_size)
        ]
        if not parts:  # no bodies: empty arrays of the right trailing shapes
            empty = global_orient.new_zeros
            return TransferResult(
                empty(0, 3),
                empty(0, SMPLX_BODY_JOINTS, 3),
                empty(0, self.num_betas),
                empty(0, 3),
                empty(0),
            )
        return TransferResult(
            *(torch.cat([getattr(p, f.name) for p in parts]) for f in fields(TransferResult))
        )

    def _transfer_chunk(
        self,
        global_orient: torch.Tensor,
        body_pose: torch.Tensor,
        betas: torch.Tensor,
        transl: torch.Tensor,
    ) -> TransferResult:
        """:meth:`transfer` of one chunk; body_pose (n, 23, 3)."""
        smplx_pose = body_pose[:, :SMPLX_BODY_JOINTS]
        target = self.smpl_target(global_orient, body_pose, betas)
        rotvecs = torch.cat([global_orient.unsqueeze(1), smplx_pose], 1)
        posed = self.basis.pose(rotvecs)
        new_betas, shift = self.solver.solve(self.basis, posed, target, self.ridge)
        gap = self.basis.displacement(posed, new_betas).add_(posed.offset).sub_(target)
        gap += shift.T.to(gap.dtype)  # (M, 3, n) fitted - target
        distance = (gap[:, 0].square() + gap[:, 1].square() + gap[:, 2].square()).sqrt_()
        error_mm = 1000.0 * distance.mean(0, dtype=new_betas.dtype)
        dtype = global_orient.dtype
        return TransferResult(
            global_orient=global_orient.clone(),
            body_pose=smplx_pose.clone(),
            betas=new_betas.to(dtype),
            transl=(transl.to(shift.dtype) + shift).to(dtype),
            error_mm=error_mm.to(dtype),
        )


def _check_shapes(
    global_orient: torch.Tensor,
    body_pose: torch.Tensor,
    betas: torch.Tensor,
    transl: torch.Tensor,
    n_betas: int,
) -> int:
    n = global_orient.shape[0] if global_orient.ndim else -1
    wanted = {
        "global_orient": (global_orient, [(n, 3)]),
        "body_pose": (body_pose, [(n, SMPL_BODY_JOINTS, 3), (n, 3 * SMPL_BODY_JOINTS)]),
        "betas": (betas, [(n, n_betas)]),
        "transl": (transl, [(n, 3)]),
    }
    for name, (tensor, shapes) in wanted.items():
        if tuple(tensor.shape) not in shapes:
            options = " or ".join(str(s).replace(f"({n},", "(N,") for s in shapes)
            raise ValueError(f"{name}: expected shape {options}, found {tuple(tensor.shape)}")
    return n


def _padded_rows(rows: Any) -> tuple[np.ndarray, np.ndarray]:
    """CSR rows -> (columns (M, K) int64, weights (M, K)) padded with zero weights."""
    counts = np.diff(rows.indptr)
    width = max(int(counts.max(initial=1)), 1)
    columns = np.zeros((rows.shape[0], width), dtype=np.int64)
    weights = np.zeros((rows.shape[0], width), dtype=np.float64)
    slot = np.arange(rows.nnz) - np.repeat(rows.indptr[:-1], counts)
    owner = np.repeat(np.arange(rows.shape[0]), counts)
    columns[owner, slot] = rows.indices
    weights[owner, slot] = rows.data
    return columns, weights
