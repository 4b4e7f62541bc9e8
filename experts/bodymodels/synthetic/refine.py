"""Refinement by edge bisection, and smoothing, of an (open) triangle mesh piece.

Bisecting an interior edge adds one vertex (the edge midpoint) and two triangles, keeps the
orientation and the boundary, so a closed genus-0 surface keeps F = 2 V - 4 and a piece
keeps its boundary rings. Edges are bisected longest first (ties broken by vertex ids), so the
result is deterministic. Every new vertex is the midpoint of two earlier vertices; since each
edge of a refined mesh lies inside one triangle of the mesh it was refined from, every new
vertex is a barycentric combination of the three vertices of one original triangle (the
exact correspondence SMPL-X -> SMPL of the synthetic family).
"""

from __future__ import annotations

import heapq

import numpy as np
import scipy.sparse as sp


def _edge(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def bisect_longest_edges(
    vertices: np.ndarray,
    faces: np.ndarray,
    n_vertices: int,
    protected: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bisect interior edges, longest first, until the mesh has ``n_vertices`` vertices.

    Args:
        vertices: (V, 3) metres.
        faces: (F, 3) oriented triangles.
        n_vertices: wanted vertex count (>= V).
        protected: (V,) bool; an edge whose two ends are protected is never split.

    Returns:
        (n_vertices, 3) vertices (old ones first, unchanged), (F + 2 (n_vertices - V), 3) faces,
        (n_vertices - V, 2) the two parent vertices of each new vertex (its edge).

    Raises:
        ValueError: not enough splittable edges.
    """
    pts = [tuple(p) for p in np.asarray(vertices, dtype=np.float64)]
    tris = [list(map(int, f)) for f in faces]
    guard = np.zeros(len(pts), bool) if protected is None else np.asarray(protected, bool)
    edge_faces: dict[tuple[int, int], list[int]] = {}
    for fid, tri in enumerate(tris):
        for k in range(3):
            edge_faces.setdefault(_edge(tri[k], tri[(k + 1) % 3]), []).append(fid)
    heap: list[tuple[float, int, int]] = []

    def push(a: int, b: int) -> None:
        if a < len(guard) and b < len(guard) and guard[a] and guard[b]:
            return
        pa, pb = pts[a], pts[b]
        length2 = (pa[0] - pb[0]) ** 2 + (pa[1] - pb[1]) ** 2 + (pa[2] - pb[2]) ** 2
        heapq.heappush(heap, (-round(length2, 14), a, b))

    for (a, b), owners in edge_faces.items():
        if len(owners) == 2:
            push(a, b)
    parents = []
    while len(pts) < n_vertices:
        if not heap:
            raise ValueError(f"cannot reach {n_vertices} vertices: no splittable edge left")
        _, a, b = heapq.heappop(heap)
        owners = edge_faces.get((a, b))
        if owners is None or len(owners) != 2:
            continue
        m = len(pts)
        pts.append(tuple(0.5 * (np.array(pts[a]) + np.array(pts[b]))))
        parents.append((a, b))
        del edge_faces[(a, b)]
        for fid in owners:
            tri = tris[fid]
            k = next(k for k in range(3) if {tri[k], tri[(k + 1) % 3]} == {a, b})
            p, q, r = tri[k], tri[(k + 1) % 3], tri[(k + 2) % 3]
            gid = len(tris)
            tris[fid] = [p, m, r]
            tris.append([m, q, r])
            owners_qr = edge_faces[_edge(q, r)]
            owners_qr[owners_qr.index(fid)] = gid
            edge_faces.setdefault(_edge(p, m), []).append(fid)
            edge_faces.setdefault(_edge(m, q), []).append(gid)
            edge_faces[_edge(m, r)] = [fid, gid]
            push(*_edge(m, r))
        push(*_edge(a, m))
        push(*_edge(m, b))
    return np.array(pts), np.array(tris, dtype=np.int64), np.array(parents, dtype=np.int64)


def midpoint_rows(n_base: int, parents: np.ndarray) -> sp.csr_matrix:
    """(n_base + len(parents), n_base) rows expressing every vertex in the base vertices.

    Base vertex i is one-hot; new vertex n_base + k is the mean of the rows of its parents.
    """
    rows: list[dict[int, float]] = [{i: 1.0} for i in range(n_base)]
    for a, b in parents:
        row: dict[int, float] = {}
        for parent in (a, b):
            for col, val in rows[parent].items():
                row[col] = row.get(col, 0.0) + 0.5 * val
        rows.append(row)
    indptr = np.cumsum([0] + [len(r) for r in rows])
    cols = np.fromiter((c for r in rows for c in sorted(r)), dtype=np.int64, count=indptr[-1])
    vals = np.fromiter((r[c] for r in rows for c in sorted(r)), dtype=np.float64, count=indptr[-1])
    return sp.csr_matrix((vals, cols, indptr), shape=(len(rows), n_base))


def uniform_adjacency(faces: np.ndarray, n_vertices: int) -> sp.csr_matrix:
    """(V, V) symmetric 0/1 vertex adjacency of a triangle mesh."""
    i = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2]])
    j = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0]])
    adj = sp.coo_matrix((np.ones(len(i)), (i, j)), shape=(n_vertices, n_vertices)).tocsr()
    adj = adj + adj.T
    adj.data[:] = 1.0
    return adj


def taubin_smooth(
    vertices: np.ndarray,
    faces: np.ndarray,
    movable: np.ndarray,
    iterations: int = 12,
    lam: float = 0.5,
    mu: float = -0.53,
) -> np.ndarray:
    """Taubin (lambda|mu) smoothing of the ``movable`` (V,) vertices; returns (V, 3) metres."""
    adj = uniform_adjacency(faces, len(vertices))
    degree = np.asarray(adj.sum(axis=1)).ravel()
    mean_op = sp.diags(1.0 / np.maximum(degree, 1.0)) @ adj
    out = np.array(vertices, dtype=np.float64, copy=True)
    move = np.asarray(movable, bool)[:, None]
    for _ in range(iterations):
        for factor in (lam, mu):
            out = out + np.where(move, factor * (mean_op @ out - out), 0.0)
    return out
