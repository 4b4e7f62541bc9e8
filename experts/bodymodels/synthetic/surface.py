"""Triangle-mesh construction primitives: rings, strips between rings, caps, hull junctions.

A body part is a tube: a sequence of planar rings around an axis, consecutive rings joined by
a triangle strip ("zipper", ring sizes may differ). Where tubes branch (hips, shoulders,
palm, foot) the ends of the tubes are joined by the convex hull of their end rings plus a few
shaping points, with the hull facets that close the rings removed. Every tube ends in a
junction or a cap, so the result is one closed genus-0 surface: F = 2 V - 4.

Orientation convention: ring angles increase counter-clockwise about the ring axis (right-hand
rule) and a tube runs along the axis, which makes every strip/cap triangle face outward.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull

TWO_PI = 2.0 * np.pi


@dataclass(frozen=True)
class Ring:
    """A closed planar loop of mesh vertices.

    Attributes:
        ids: (n,) vertex indices in angular order.
        angles: (n,) increasing ring parameters in [0, 2 pi), radians.
        center: (3,) ring centre, metres.
        axis: (3,) unit normal of the ring plane (the tube direction).
    """

    ids: np.ndarray
    angles: np.ndarray
    center: np.ndarray
    axis: np.ndarray


def ring_frame(axis: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orthonormal frame (d, u, v) with d along ``axis``, u the part of ``up`` normal to it."""
    d = np.asarray(axis, dtype=np.float64)
    d = d / np.linalg.norm(d)
    u = np.asarray(up, dtype=np.float64) - np.dot(up, d) * d
    u = u / np.linalg.norm(u)
    return d, u, np.cross(d, u)


def ring_points(
    center: np.ndarray,
    axis: np.ndarray,
    up: np.ndarray,
    radii: tuple[float, float],
    angles: np.ndarray,
    exponent: float = 2.0,
) -> np.ndarray:
    """(n, 3) points of a super-ellipse ring: radii[0] along ``up``, radii[1] across (metres)."""
    _, u, v = ring_frame(axis, up)
    c, s = np.cos(angles), np.sin(angles)
    power = 2.0 / exponent
    c = np.sign(c) * np.abs(c) ** power
    s = np.sign(s) * np.abs(s) ** power
    return np.asarray(center)[None] + radii[0] * c[:, None] * u[None] + radii[1] * s[:, None] * v


def uniform_angles(n: int, phase: float = 0.5) -> np.ndarray:
    """(n,) angles (k + phase) 2 pi / n, radians."""
    return (np.arange(n) + phase) * TWO_PI / n


class MeshBuilder:
    """Accumulates vertices (metres) and outward-oriented triangles."""

    def __init__(self) -> None:
        self._chunks: list[np.ndarray] = []
        self.n_vertices = 0
        self._faces: list[np.ndarray] = []
        self.junction_ids: list[int] = []
        """Shaping points added by :meth:`hull` (the only vertices smoothing may move)."""

    def add(self, points: np.ndarray) -> np.ndarray:
        """Append (n, 3) points; returns their (n,) indices."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        ids = np.arange(self.n_vertices, self.n_vertices + len(points))
        self._chunks.append(points)
        self.n_vertices += len(points)
        return ids

    def add_faces(self, faces: np.ndarray) -> None:
        """Append (m, 3) triangles (already oriented)."""
        self._faces.append(np.asarray(faces, dtype=np.int64).reshape(-1, 3))

    def points(self) -> np.ndarray:
        """(V, 3) vertices so far."""
        return np.concatenate(self._chunks) if self._chunks else np.zeros((0, 3))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """((V, 3) float64 vertices, (F, 3) int64 faces)."""
        faces = np.concatenate(self._faces) if self._faces else np.zeros((0, 3), np.int64)
        return self.points(), faces

    def ring(
        self,
        center: np.ndarray,
        axis: np.ndarray,
        up: np.ndarray,
        radii: tuple[float, float],
        n: int,
        exponent: float = 2.0,
        angles: np.ndarray | None = None,
    ) -> Ring:
        """Add a ring of ``n`` vertices (uniform angles unless given)."""
        angles = uniform_angles(n) if angles is None else np.asarray(angles, dtype=np.float64)
        ids = self.add(ring_points(center, axis, up, radii, angles, exponent))
        d = np.asarray(axis, dtype=np.float64)
        return Ring(ids, angles, np.asarray(center, dtype=np.float64), d / np.linalg.norm(d))

    def ring_from_ids(self, ids: np.ndarray, angles: np.ndarray, axis: np.ndarray) -> Ring:
        """A ring over existing vertices (centre = their mean)."""
        center = self.points()[ids].mean(axis=0)
        d = np.asarray(axis, dtype=np.float64)
        return Ring(np.asarray(ids), np.asarray(angles), center, d / np.linalg.norm(d))

    def zipper(self, a: Ring, b: Ring) -> None:
        """Join ring ``a`` to the next ring ``b`` along the axis by a triangle strip."""
        na, nb = len(a.ids), len(b.ids)
        ta = np.append(a.angles, a.angles[0] + TWO_PI)
        tb = np.append(b.angles, b.angles[0] + TWO_PI)
        tris = []
        i = j = 0
        while i < na or j < nb:
            if j >= nb or (i < na and ta[i + 1] <= tb[j + 1]):
                tris.append((a.ids[i % na], a.ids[(i + 1) % na], b.ids[j % nb]))
                i += 1
            else:
                tris.append((a.ids[i % na], b.ids[(j + 1) % nb], b.ids[j % nb]))
                j += 1
        self.add_faces(np.array(tris))

    def tube(self, rings: list[Ring]) -> None:
        """Zip consecutive rings."""
        for a, b in itertools.pairwise(rings):
            self.zipper(a, b)

    def cap(self, ring: Ring, apex: np.ndarray, start: bool = False) -> int:
        """Close a tube with a fan to ``apex``; returns the apex id.

        ``start=False``: the tube ends at the apex (axis points to it); True: it starts there.
        """
        apex_id = int(self.add(apex)[0])
        n = len(ring.ids)
        tris = [(ring.ids[k], ring.ids[(k + 1) % n], apex_id) for k in range(n)]
        if start:
            tris = [t[::-1] for t in tris]
        self.add_faces(np.array(tris))
        return apex_id

    def hull(self, rings: list[Ring], extra: np.ndarray) -> np.ndarray:
        """Join ring ends by their convex hull with ``extra`` (k, 3) shaping points.

        Every ring must be a facet of the hull (its plane supporting all other points); the
        hull triangles inside each ring are dropped. Shaping points that end up inside the
        hull are not added. Returns the indices of the shaping points that were added.

        Raises:
            ValueError: a ring is not a hull facet (bad geometry).
        """
        pts = self.points()
        extra = np.asarray(extra, dtype=np.float64).reshape(-1, 3)
        ring_ids = np.concatenate([r.ids for r in rings])
        owner = np.concatenate([np.full(len(r.ids), k) for k, r in enumerate(rings)])
        owner = np.concatenate([owner, np.full(len(extra), -1)])
        local = np.concatenate([pts[ring_ids], extra])
        hull = ConvexHull(local)
        simplices, normals = hull.simplices, hull.equations[:, :3]
        own = owner[simplices]
        cap = (own[:, 0] >= 0) & (own[:, 0] == own[:, 1]) & (own[:, 1] == own[:, 2])
        simplices, normals = simplices[~cap], normals[~cap]
        a, b, c = (local[simplices[:, k]] for k in range(3))
        flip = np.einsum("ij,ij->i", np.cross(b - a, c - a), normals) < 0
        simplices[flip] = simplices[flip][:, ::-1]
        used_extra = np.unique(simplices[simplices >= len(ring_ids)]) - len(ring_ids)
        extra_ids = self.add(extra[used_extra])
        self.junction_ids.extend(int(i) for i in extra_ids)
        lookup = np.concatenate([ring_ids, np.full(len(extra), -1)])
        lookup[len(ring_ids) + used_extra] = extra_ids
        faces = lookup[simplices]
        self._check_rings_on_hull(rings, faces)
        self.add_faces(faces)
        return extra_ids

    @staticmethod
    def _check_rings_on_hull(rings: list[Ring], faces: np.ndarray) -> None:
        directed = {(int(f[k]), int(f[(k + 1) % 3])) for f in faces for k in range(3)}
        for ring in rings:
            n = len(ring.ids)
            for k in range(n):
                # the hull side of a ring edge runs against the tube side (which runs a -> b)
                if (int(ring.ids[(k + 1) % n]), int(ring.ids[k])) not in directed and (
                    int(ring.ids[k]),
                    int(ring.ids[(k + 1) % n]),
                ) not in directed:
                    raise ValueError(
                        f"ring centred at {np.round(ring.center, 3)} is not a facet of its "
                        "junction hull (move its shaping points or tilt it)"
                    )
