"""Vertex orders of the final files and the SMPL -> SMPL-X ground-truth correspondence.

The construction order of the meshes is permuted so that the vertex indices hard-coded by
the ``smplx`` package (``smplx.vertex_ids.vertex_ids``: OpenPose nose, eyes, ears, toes,
heels, finger tips for 'smplh' (= SMPL) and 'smplx') and the MANO fingertip convention of
FrankMocap / manopth land on the right semantic vertices. The deformation-transfer matrix
of ``smpl2smplx_deftrafo_setup.pkl`` maps SMPL vertices onto SMPL-X vertices exactly:
one-hot rows for the SMPL-X vertices copied from SMPL, barycentric rows (3 non-zeros) for
the vertices inserted on SMPL triangles. As in the official file, the eyeballs (no SMPL
counterpart) get the nearest point on the SMPL surface, and ``smplx_mask_ids.npy`` lists the
vertices with a real counterpart (every vertex but the eyeballs).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from smplx.vertex_ids import vertex_ids as SMPLX_VERTEX_IDS

from furpe_label.experts.geometry.closest_point import closest_points_on_mesh

MANO_TIP_VERTICES = {"thumb": 745, "index": 317, "middle": 444, "ring": 556, "pinky": 673}
"""MANO fingertip vertex ids used by FrankMocap and manopth (thumb, index, middle, ring, pinky)."""
MANO_SMPLX_TIP_VERTICES = {k: int(v) for k, v in SMPLX_VERTEX_IDS["mano"].items()}
"""The fingertip ids of ``smplx.vertex_ids`` for MANO (one ring below the tip here)."""


def placement_order(n: int, wanted: dict[int, int]) -> np.ndarray:
    """(n,) order with ``order[target] = vertex`` for every wanted item, others kept in order.

    Args:
        n: number of vertices; wanted: final index -> construction vertex id.
    """
    order = np.arange(n)
    where = np.arange(n)
    for target, vertex in wanted.items():
        here = where[vertex]
        moved = order[target]
        order[target], order[here] = vertex, moved
        where[vertex], where[moved] = target, here
    if len(set(wanted.values())) != len(wanted):
        raise ValueError("two semantic vertices coincide")
    return order


def body_orders(points: dict[str, int], n_smpl: int, n_smplx: int) -> tuple[np.ndarray, np.ndarray]:
    """(SMPL order (6890,), SMPL-X order (10475,)): final index -> construction id.

    ``points`` are the construction ids of :func:`rigging.semantic_points`.
    """
    smpl = {}
    for name, index in SMPLX_VERTEX_IDS["smplh"].items():
        smpl[int(index)] = points[f"{name}_smpl"] if name in ("reye", "leye") else points[name]
    smplx = {int(index): points[name] for name, index in SMPLX_VERTEX_IDS["smplx"].items()}
    return placement_order(n_smpl, smpl), placement_order(n_smplx, smplx)


def mano_order(n: int, tips: dict[str, int], pads: dict[str, int]) -> np.ndarray:
    """(778,) MANO order: final index -> hand-piece id (tips/pads on the conventional ids)."""
    wanted = {MANO_TIP_VERTICES[f]: tips[f] for f in MANO_TIP_VERTICES}
    wanted.update({MANO_SMPLX_TIP_VERTICES[f]: pads[f] for f in MANO_SMPLX_TIP_VERTICES})
    return placement_order(n, wanted)


def inverse(order: np.ndarray) -> np.ndarray:
    """Inverse permutation: construction id -> final index."""
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    return inv


def betas_map(rng: np.random.Generator, n: int = 10) -> np.ndarray:
    """(n, n) invertible map with SMPL-X betas[:n] = M @ SMPL betas (near-identity mixing).

    A rotation close to the identity (exp of a small antisymmetric matrix) times a diagonal
    scaling in [0.86, 1.16]: SMPL's first directions keep their meaning (height, girth) but
    every SMPL beta moves several SMPL-X betas.
    """
    a = rng.normal(size=(n, n)) * 0.25
    rotation = scipy.linalg.expm(0.5 * (a - a.T))
    return rotation @ np.diag(np.exp(rng.uniform(-0.15, 0.15, size=n)))


def deformation_matrix(
    correspondence: sp.csr_matrix, smplx_order: np.ndarray, smpl_order: np.ndarray
) -> sp.csr_matrix:
    """(10475, 2 * 6890) ``mtx`` in final vertex orders; the second half of columns is zero."""
    rows = correspondence[smplx_order][:, smpl_order]
    zeros = sp.csr_matrix((rows.shape[0], rows.shape[1]))
    mtx = sp.hstack([rows, zeros], format="csr")
    mtx.sort_indices()
    return mtx


def complete_rows(
    correspondence: sp.csr_matrix,
    smplx_vertices: np.ndarray,
    smpl_vertices: np.ndarray,
    smpl_faces: np.ndarray,
) -> sp.csr_matrix:
    """The correspondence with its zero rows (eyeballs) set to the barycentric weights of the
    nearest point on the SMPL template surface, as the official transfer data does.

    Args:
        correspondence: (10475, 6890) rows, zero where SMPL-X has no SMPL counterpart.
        smplx_vertices: (10475, 3) and smpl_vertices: (6890, 3) templates, metres (same
            construction order as ``correspondence``); smpl_faces: (13776, 3).
    """
    empty = np.flatnonzero(np.asarray(correspondence.sum(axis=1)).ravel() == 0)
    found = closest_points_on_mesh(smplx_vertices[empty], smpl_vertices, smpl_faces)
    rows = np.repeat(empty, 3)
    cols = np.asarray(smpl_faces, dtype=np.int64)[found.face].ravel()
    filled = sp.csr_matrix((found.barycentric.ravel(), (rows, cols)), shape=correspondence.shape)
    filled.eliminate_zeros()
    return (correspondence + filled).tocsr()


def mask_ids(correspondence: sp.csr_matrix, smplx_order: np.ndarray) -> np.ndarray:
    """(M,) int64 sorted final SMPL-X ids of the vertices with an exact SMPL counterpart
    (non-zero rows of the construction-order ``correspondence``): ``smplx_mask_ids.npy``."""
    exact = np.asarray(correspondence.sum(axis=1)).ravel() != 0
    return np.sort(inverse(smplx_order)[np.flatnonzero(exact)]).astype(np.int64)
