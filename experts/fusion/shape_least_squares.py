"""Closed-form SMPL-X shape and translation for known poses: masked vertex least squares.

For N bodies with known pose, the posed vertices are ``offset_v + A_v betas + transl``
(:mod:`posed_shape_basis`). Fitting M target vertices ``y_v`` (metres) solves

    min_{betas, transl}  sum_v |A_v betas + transl - r_v|^2  +  ridge * M * |betas|^2,
    r_v = y_v - offset_v.

Eliminating the translation (``transl = mean_v(r_v - A_v betas)``) leaves the B x B normal
equations ``(H + ridge M I) betas = g`` with the centred Gram matrix
``H = sum_v A_v^T A_v - a^T a / M`` (``a = sum_v A_v``) and ``g = sum_v A_v^T (r_v - mean r)``.

``H`` never touches a vertex at run time. With ``A_v = sum_k w_vk (G_k S_v + D_k)``,

    sum_v A_v^T A_v = sum_{k,l} [ sum_ij (G_k^T G_l)_ij Q_kl,ij  +  T_kl + T_kl^T
                                  + omega_kl D_k^T D_l ],   T_kl = sum_i s_kl,i^T (G_k^T D_l)_i

over the ordered joint pairs (k, l) that share a vertex, with the pose-independent tables
``Q_kl,ij = sum_v w_vk w_vl S_v,i^T S_v,j`` (B x B), ``s_kl = sum_v w_vk w_vl S_v`` (3 x B) and
``omega_kl = sum_v w_vk w_vl`` precomputed once (``S_v,i``: row i of the (3, B) directions).
Only ``g`` needs one pass over the vertices.
"""

from __future__ import annotations

import torch
from torch import nn

from furpe_label.experts.fusion.posed_shape_basis import (
    PosedBodies,
    PosedShapeBasis,
    rotate_transposed,
)

DEFAULT_RIDGE = 1e-9
"""m^2 per unit beta^2 on the mean squared vertex residual: (0.03 mm)^2 -- far below the
curvature of every shape direction (mean squared displacement per unit beta, ~1e-6 to 1e-4
m^2), so it only keeps directions the vertices cannot see from drifting."""

_TABLE_CHUNK = 2048


class ShapeLeastSquares(nn.Module):
    """Batched closed-form betas + translation from target vertices at known pose.

    The pair tables hold P x 9 x B^2 float64 numbers (P ~ 150 joint pairs): ~1 MB for
    B = 10 betas, ~1 GB for all 300.

    Args:
        basis: the posed-shape basis of the SMPL-X layer on the masked vertices.
    """

    def __init__(self, basis: PosedShapeBasis) -> None:
        super().__init__()
        weights = basis.weights.double()  # (M, 22)
        dirs = basis.shapedirs.double()  # (M, 3, B)
        overlap = weights.T @ weights  # (22, 22) omega
        first, second = torch.nonzero(overlap > 0, as_tuple=True)
        pair_weights = weights[:, first] * weights[:, second]  # (M, P)
        self.register_buffer("first", first)
        self.register_buffer("second", second)
        self.register_buffer("overlap", overlap)
        self.register_buffer("pair_gram", _pair_gram(pair_weights, dirs))  # (P, 9 * B * B)
        self.register_buffer("pair_dirs", torch.einsum("vp,vib->pib", pair_weights, dirs))
        self.register_buffer("joint_dirs", torch.einsum("vk,vib->kib", weights, dirs))
        self.register_buffer("joint_weight", weights.sum(0))  # (22,)
        self.num_betas = basis.num_betas
        self.num_vertices = basis.num_vertices

    def solve(
        self,
        basis: PosedShapeBasis,
        posed: PosedBodies,
        target: torch.Tensor,
        ridge: float = DEFAULT_RIDGE,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Betas and translation that bring the posed SMPL-X vertices closest to ``target``.

        Args:
            basis: the basis this solver was built from; posed: ``basis.pose(...)``.
            target: (M, 3, N) target vertices in the masked order, metres.
            ridge: weight of ``|betas|^2`` against the mean squared vertex residual (m^2).

        Returns:
            (betas (N, B), transl (N, 3) metres) in the solver's precision (float64 unless
            the module was cast).
        """
        centred = target.to(posed.offset.dtype) - posed.offset  # residual (M, 3, N)
        precise = self.pair_gram.dtype
        mean_residual = centred.mean(0, dtype=precise)  # (3, N)
        centred -= mean_residual.to(centred.dtype)
        gram, column_sums = self._gram(posed)
        rhs = self._rhs(basis, posed, centred).to(precise)
        size = self.num_vertices
        eye = torch.eye(self.num_betas, dtype=gram.dtype, device=gram.device)
        system = gram - column_sums.transpose(1, 2) @ column_sums / size + ridge * size * eye
        betas = torch.linalg.solve(system, rhs)
        transl = mean_residual.T - (column_sums @ betas.unsqueeze(-1)).squeeze(-1) / size
        return betas, transl

    def _gram(self, posed: PosedBodies) -> tuple[torch.Tensor, torch.Tensor]:
        """(sum_v A_v^T A_v (N, B, B), a = sum_v A_v (N, 3, B)) in the solver's precision."""
        n, b = posed.rotations.shape[0], self.num_betas
        g_first, g_second = posed.rotations[:, self.first], posed.rotations[:, self.second]
        relative = g_first.transpose(-1, -2) @ g_second  # (N, P, 3, 3)
        gram = (relative.reshape(n, -1) @ self.pair_gram.reshape(-1, b * b)).reshape(n, b, b)
        cross = g_first.transpose(-1, -2) @ posed.shift_dirs[:, self.second]  # (N, P, 3, B)
        mixed_term = self.pair_dirs.reshape(-1, b).T @ cross.reshape(n, -1, b)  # (N, B, B)
        dirs = posed.shift_dirs
        joint_term = dirs.flatten(1, 2).transpose(1, 2) @ (
            torch.einsum("kl,nlib->nkib", self.overlap, dirs).flatten(1, 2)
        )
        gram = gram + mixed_term + mixed_term.transpose(1, 2) + joint_term
        column_sums = torch.einsum("nkij,kjb->nib", posed.rotations, self.joint_dirs)
        column_sums = column_sums + torch.einsum("k,nkib->nib", self.joint_weight, dirs)
        return gram, column_sums

    @staticmethod
    def _rhs(basis: PosedShapeBasis, posed: PosedBodies, centred: torch.Tensor) -> torch.Tensor:
        """g = sum_v A_v^T centred_v (N, B): one pass over the (M, 3, N) residuals."""
        n = centred.shape[-1]
        unrotated = rotate_transposed(posed.mixed, centred)  # M_v^T r_v, (M, 3, N)
        from_dirs = basis.shapedirs.reshape(-1, basis.num_betas).T @ unrotated.reshape(-1, n)
        per_joint = (basis.weights.T @ centred.reshape(centred.shape[0], -1)).reshape(-1, 3, n)
        precise = posed.shift_dirs.dtype
        from_joints = torch.einsum("nkib,kin->nb", posed.shift_dirs, per_joint.to(precise))
        return from_dirs.T.to(precise) + from_joints


def _pair_gram(pair_weights: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """(P, 3, 3, B, B) flattened to (P, 9 B^2): sum_v w_vk w_vl S_v,i^T S_v,j per pair."""
    n_vertices, _, b = dirs.shape
    out = torch.zeros(pair_weights.shape[1], 9 * b * b, dtype=dirs.dtype, device=dirs.device)
    for start in range(0, n_vertices, _TABLE_CHUNK):
        d = dirs[start : start + _TABLE_CHUNK]
        outer = torch.einsum("vib,vjc->vijbc", d, d).reshape(len(d), -1)
        out += pair_weights[start : start + _TABLE_CHUNK].T @ outer
    return out
