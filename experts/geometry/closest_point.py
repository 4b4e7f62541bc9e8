"""Closest points on a triangle mesh, with barycentric coordinates (numpy + scipy KD-tree).

Used to build the SMPL -> SMPL-X correspondence from the two templates (ExPose's method:
for each SMPL-X template vertex, the nearest point on the SMPL template surface) when the
official ``smpl2smplx_deftrafo_setup.pkl`` is not available.

The search is exact, not approximate: a first pass takes the nearest triangle centroids,
then every triangle whose bounding sphere reaches within the best distance found so far is
tested, so no triangle that could be closer is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

_FIRST_PASS_TRIANGLES = 8


@dataclass(frozen=True)
class ClosestPoints:
    """Closest surface point of each query point.

    Attributes:
        face: (M,) int64 index of the triangle holding the closest point.
        barycentric: (M, 3) float64 weights of the triangle's three vertices (>= 0, sum 1).
        distance: (M,) float64 distance to the surface, in the units of the inputs.
    """

    face: np.ndarray
    barycentric: np.ndarray
    distance: np.ndarray


def closest_points_on_triangles(
    points: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Closest point of each point on its own triangle (a, b, c), by Voronoi regions.

    Args:
        points, a, b, c: (M, 3) query points and triangle corners (same units).

    Returns:
        (closest (M, 3), barycentric (M, 3)) with ``closest = bary @ [a, b, c]``.
        Degenerate triangles fall back to their closest edge or corner.
    """
    ab, ac, ap = b - a, c - a, points - a
    d1, d2 = _dot(ab, ap), _dot(ac, ap)
    bp = points - b
    d3, d4 = _dot(ab, bp), _dot(ac, bp)
    cp = points - c
    d5, d6 = _dot(ab, cp), _dot(ac, cp)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    bary = np.zeros((len(points), 3))
    done = np.zeros(len(points), dtype=bool)

    def settle(region: np.ndarray, weights: np.ndarray) -> None:
        region = region & ~done
        bary[region] = weights[region]
        done[region] = True

    one, zero = np.ones(len(points)), np.zeros(len(points))
    settle((d1 <= 0) & (d2 <= 0), np.stack([one, zero, zero], 1))  # corner a
    settle((d3 >= 0) & (d4 <= d3), np.stack([zero, one, zero], 1))  # corner b
    settle((d6 >= 0) & (d5 <= d6), np.stack([zero, zero, one], 1))  # corner c
    t = _safe_ratio(d1, d1 - d3)
    settle((vc <= 0) & (d1 >= 0) & (d3 <= 0), np.stack([1 - t, t, zero], 1))  # edge ab
    t = _safe_ratio(d2, d2 - d6)
    settle((vb <= 0) & (d2 >= 0) & (d6 <= 0), np.stack([1 - t, zero, t], 1))  # edge ac
    t = _safe_ratio(d4 - d3, (d4 - d3) + (d5 - d6))
    settle((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0), np.stack([zero, 1 - t, t], 1))  # bc
    total = va + vb + vc  # = |ab x ac|^2 >= 0
    inside = total > 1e-14 * _dot(ab, ab) * _dot(ac, ac)
    v, w = _safe_ratio(vb, total), _safe_ratio(vc, total)
    settle(inside, np.stack([1 - v - w, v, w], 1))  # face interior
    bary[~done] = _closest_on_edges(points[~done], a[~done], b[~done], c[~done])
    closest = bary[:, :1] * a + bary[:, 1:2] * b + bary[:, 2:] * c
    return closest, bary


def closest_points_on_mesh(
    points: np.ndarray, vertices: np.ndarray, faces: np.ndarray
) -> ClosestPoints:
    """Exact closest point on a triangle mesh for every query point.

    Args:
        points: (M, 3) query points.
        vertices: (V, 3) mesh vertices; faces: (F, 3) vertex indices.
    """
    points = np.asarray(points, dtype=np.float64)
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    corners = vertices[faces]  # (F, 3, 3)
    centroids = corners.mean(axis=1)
    reach = np.linalg.norm(corners - centroids[:, None], axis=2).max()
    tree = cKDTree(centroids)
    k = min(_FIRST_PASS_TRIANGLES, len(faces))
    _, first = tree.query(points, k=k)
    first = first.reshape(len(points), k)
    owner = np.repeat(np.arange(len(points)), k)
    best = _distances(points[owner], corners[first.ravel()]).reshape(len(points), k).min(1)
    candidates = tree.query_ball_point(points, r=best + reach + 1e-12)
    counts = np.fromiter((len(c) for c in candidates), dtype=np.int64, count=len(points))
    face_ids = np.concatenate([np.asarray(c, dtype=np.int64) for c in candidates])
    owner = np.repeat(np.arange(len(points)), counts)
    closest, bary = closest_points_on_triangles(
        points[owner], *(corners[face_ids, i] for i in range(3))
    )
    dist = np.linalg.norm(closest - points[owner], axis=1)
    order = np.lexsort((face_ids, dist, owner))  # per point: smallest distance, then face id
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pick = order[starts]
    return ClosestPoints(face=face_ids[pick], barycentric=bary[pick], distance=dist[pick])


def _dot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, y)


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros_like(num)
    ok = np.abs(den) > 1e-300
    out[ok] = num[ok] / den[ok]
    return np.clip(out, 0.0, 1.0)


def _distances(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    closest, _ = closest_points_on_triangles(points, corners[:, 0], corners[:, 1], corners[:, 2])
    return np.linalg.norm(closest - points, axis=1)


def _closest_on_edges(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Barycentric weights of the closest point on the three edges (degenerate triangles)."""
    options = []
    for i, j, x, y in ((0, 1, a, b), (0, 2, a, c), (1, 2, b, c)):
        d = y - x
        t = _safe_ratio(_dot(p - x, d), _dot(d, d))
        w = np.zeros((len(p), 3))
        w[:, i], w[:, j] = 1 - t, t
        q = x + t[:, None] * d
        options.append((np.linalg.norm(q - p, axis=1), w))
    best = np.argmin(np.stack([o[0] for o in options]), axis=0)
    return np.stack([o[1] for o in options])[best, np.arange(len(p))]
