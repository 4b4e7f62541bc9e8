"""The SMPL -> SMPL-X vertex correspondence used by the shape transfer.

Two sources, in this order:

1. **Official files** (SMPL-X website, "Model transfer data"; read through the project's
   safe loader, nothing is executed): ``smpl2smplx_deftrafo_setup.pkl`` whose key ``mtx`` is a
   sparse (10 475, 2 x 6 890) matrix -- the first 6 890 columns are the barycentric weights
   of each SMPL-X vertex on the SMPL mesh, the second half multiplies SMPL normals and is not
   used (as in smplx's ``transfer_model``) -- and ``smplx_mask_ids.npy`` beside it: the SMPL-X
   vertex ids the loss may use. Without the mask file every vertex with a non-zero row is used.
2. **The two templates** (ExPose's method), when no official matrix is found: the nearest point
   on the SMPL template surface of each SMPL-X template vertex, as barycentric weights. The
   mask keeps the vertices of the largest connected component of the SMPL-X mesh (the eyeballs
   are separate components) that lie within ``max_distance`` of the SMPL surface.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from furpe_label.experts.bodymodels import specs
from furpe_label.experts.bodymodels.locate import find_file
from furpe_label.experts.bodymodels.validate import BodyModelFileError, load_and_validate
from furpe_label.experts.geometry.closest_point import closest_points_on_mesh
from furpe_label.experts.safe_load import UnsafePickleError, safe_load_npy

logger = logging.getLogger(__name__)

N_SMPL = specs.SMPL.n_vertices
N_SMPLX = specs.SMPLX.n_vertices
DEFAULT_MAX_DISTANCE = 0.01
"""Metres: template-derived correspondences farther than this from the SMPL surface (inner
mouth, anything not registered) are left out of the mask."""


class TransferDataError(ValueError):
    """A transfer file (correspondence matrix or mask) is unreadable or not in the official
    layout; the message names the file and the problem."""


@dataclass(frozen=True)
class SmplToSmplxCorrespondence:
    """Where each SMPL-X vertex lies on the SMPL mesh.

    Attributes:
        matrix: (10475, 6890) float64 CSR; SMPL-X vertices = ``matrix @ SMPL vertices``
            (metres in, metres out). Rows are barycentric (3 non-zeros summing to 1) or
            one-hot.
        mask_ids: (M,) int64 sorted unique SMPL-X vertex ids with a real counterpart; the
            transfer loss and its error use these vertices only.
        source: human-readable origin (file paths, or "computed from the templates").
    """

    matrix: sp.csr_matrix
    mask_ids: np.ndarray
    source: str

    def masked_matrix(self) -> sp.csr_matrix:
        """(M, 6890) rows of :attr:`matrix` for :attr:`mask_ids`."""
        return self.matrix[self.mask_ids]


def find_official_files(models_dir: Path) -> tuple[Path | None, Path | None]:
    """(``smpl2smplx_deftrafo_setup.pkl``, ``smplx_mask_ids.npy``) in the models folder; the
    mask is looked for beside the matrix first, then in the usual transfer folders."""
    models_dir = Path(models_dir)
    matrix = find_file(models_dir, "transfer", specs.SMPL2SMPLX_FILE_NAMES)
    mask = None
    if matrix is not None:
        beside = matrix.parent / specs.SMPLX_MASK_IDS_FILE_NAMES[0]
        mask = beside if beside.is_file() else None
    if mask is None:
        mask = find_file(models_dir, "transfer", specs.SMPLX_MASK_IDS_FILE_NAMES)
    return matrix, mask


def load_matrix(path: Path) -> sp.csr_matrix:
    """(10475, 6890) weights from an official ``smpl2smplx_deftrafo_setup.pkl`` (safe loader).

    Raises:
        TransferDataError: unreadable, refused by the safe loader, wrong shape, non-finite,
            or rows that are not barycentric (each used row must sum to 1).
    """
    try:
        loaded = load_and_validate(path, {"mtx": specs.SMPL2SMPLX_MTX})
    except BodyModelFileError as error:
        raise TransferDataError(str(error)) from error
    mtx = loaded.data["mtx"]
    matrix = sp.csr_matrix(mtx if sp.issparse(mtx) else np.asarray(mtx), dtype=np.float64)
    matrix = matrix[:, :N_SMPL].tocsr()
    matrix.eliminate_zeros()
    if not np.isfinite(matrix.data).all():
        raise TransferDataError(f"{path}: 'mtx' holds non-finite values")
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    used = sums != 0
    if np.abs(sums[used] - 1.0).max(initial=0.0) > 1e-3:
        raise TransferDataError(
            f"{path}: rows of 'mtx' (first {N_SMPL} columns) must be barycentric weights "
            f"summing to 1; found sums from {sums[used].min():.4f} to {sums[used].max():.4f}"
        )
    return matrix


def load_mask_ids(path: Path) -> np.ndarray:
    """(M,) sorted int64 SMPL-X vertex ids from ``smplx_mask_ids.npy`` (no pickle).

    Accepts the official 1-D integer id array; a boolean (10475,) mask is converted.

    Raises:
        TransferDataError: unreadable, pickled objects, wrong dtype/shape, ids out of range
            or repeated.
    """
    try:
        ids = safe_load_npy(path)
    except (UnsafePickleError, OSError, ValueError) as error:
        raise TransferDataError(f"{path}: cannot be read ({error})") from error
    if not isinstance(ids, np.ndarray) or ids.dtype.hasobject:
        raise TransferDataError(f"{path}: expected a plain integer array of SMPL-X vertex ids")
    if ids.dtype == np.bool_ and ids.shape == (N_SMPLX,):
        ids = np.flatnonzero(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise TransferDataError(
            f"{path}: expected a 1-D integer array of SMPL-X vertex ids, found dtype "
            f"{ids.dtype} with shape {ids.shape}"
        )
    ids = ids.astype(np.int64)
    if ids.size == 0 or ids.min() < 0 or ids.max() >= N_SMPLX:
        raise TransferDataError(f"{path}: vertex ids must lie in [0, {N_SMPLX}) and be non-empty")
    if np.unique(ids).size != ids.size:
        raise TransferDataError(f"{path}: vertex ids repeat")
    return np.sort(ids)


def correspondence_from_templates(
    smpl_vertices: np.ndarray,
    smpl_faces: np.ndarray,
    smplx_vertices: np.ndarray,
    smplx_faces: np.ndarray,
    max_distance: float = DEFAULT_MAX_DISTANCE,
) -> SmplToSmplxCorrespondence:
    """ExPose's correspondence: nearest SMPL surface point of every SMPL-X template vertex.

    Args:
        smpl_vertices: (6890, 3) SMPL template, metres; smpl_faces: (13776, 3).
        smplx_vertices: (10475, 3) SMPL-X template, metres; smplx_faces: (20908, 3).
        max_distance: metres; farther vertices are left out of the mask.
    """
    found = closest_points_on_mesh(smplx_vertices, smpl_vertices, smpl_faces)
    rows = np.repeat(np.arange(len(smplx_vertices)), 3)
    cols = np.asarray(smpl_faces, dtype=np.int64)[found.face].ravel()
    matrix = sp.csr_matrix(
        (found.barycentric.ravel(), (rows, cols)), shape=(len(smplx_vertices), len(smpl_vertices))
    )
    matrix.eliminate_zeros()
    main = _largest_component(smplx_faces, len(smplx_vertices))
    mask = np.flatnonzero(main & (found.distance <= max_distance))
    return SmplToSmplxCorrespondence(matrix, mask, "computed from the SMPL and SMPL-X templates")


def official_correspondence(models_dir: Path) -> SmplToSmplxCorrespondence | None:
    """The official matrix (+ mask when shipped) from the models folder, or None if absent."""
    matrix_path, mask_path = find_official_files(models_dir)
    if matrix_path is None:
        return None
    matrix = load_matrix(matrix_path)
    if mask_path is not None:
        mask = load_mask_ids(mask_path)
        source = f"{matrix_path} + {mask_path}"
    else:
        mask = np.flatnonzero(np.asarray(matrix.sum(axis=1)).ravel() != 0)
        source = f"{matrix_path} (no {specs.SMPLX_MASK_IDS_FILE_NAMES[0]}: every mapped vertex)"
        logger.info(
            "%s: no mask file beside it; using all %d mapped vertices", matrix_path, mask.size
        )
    empty = np.asarray(matrix[mask].sum(axis=1)).ravel() == 0
    if empty.any():
        raise TransferDataError(
            f"{mask_path}: {int(empty.sum())} masked SMPL-X vertices have no correspondence "
            f"in {matrix_path} (first: {mask[empty][:5].tolist()})"
        )
    return SmplToSmplxCorrespondence(matrix, mask, source)


def _largest_component(faces: np.ndarray, n_vertices: int) -> np.ndarray:
    """(V,) bool: vertices of the largest edge-connected component of the mesh."""
    faces = np.asarray(faces, dtype=np.int64)
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    graph = sp.coo_matrix(
        (np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n_vertices, n_vertices)
    )
    _, labels = connected_components(graph, directed=False)
    return labels == np.bincount(labels).argmax()
