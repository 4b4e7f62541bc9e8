"""The head piece: neck tube above the neck ring and a head grid carved into a face.

The head is a (polar angle phi, azimuth theta) grid on an ellipsoid (theta = 0 faces +z,
theta grows towards +x, phi = 0 at the crown), displaced along the ellipsoid normal by smooth
bumps: face plane, nose, eye sockets, brows, cheeks, lips, chin, ears. Columns and rows are
denser on the face. The mouth and the two eyes are slits between two adjacent grid rows over
6 columns whose corner vertices are shared: each slit is a strip of 10 triangles whose 12
boundary vertices are listed in ``slits``; SMPL keeps the strips (closed lips and eyelids),
SMPL-X removes them (mouth and eyelid openings, eyeballs behind).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from furpe_label.experts.bodymodels.synthetic import skeleton as sk
from furpe_label.experts.bodymodels.synthetic.surface import TWO_PI, MeshBuilder, Ring

PHI_EYE = float(np.arccos(0.028 / sk.HEAD_RADII[1]))
PHI_MOUTH = float(np.arccos(-0.04 / sk.HEAD_RADII[1]))
PHI_NOSE_TIP, PHI_NOSE_BASE, PHI_CHIN, PHI_EAR = 1.72, 1.79, 2.36, 1.5
"""Polar angles (radians from the crown) of the eye and mouth slits and of face features."""
ROW_STEP = (PHI_MOUTH - PHI_EYE) / 16.0
EYE_COLUMN = 5
"""Column offset of the eye centres from the front column."""


@dataclass
class HeadPiece:
    """Open head surface (boundary: the neck ring = local vertices 0..29).

    Attributes:
        vertices: (V, 3) metres.
        faces: (F, 3) outward triangles, slit strips included.
        grid: (rows, columns) local vertex id of each grid node (rows bottom -> top).
        thetas: (columns,) azimuth of each grid column in [0, 2 pi).
        phis: (rows,) polar angle of each grid row.
        slits: "mouth", "eye_l", "eye_r" -> (upper (7,), lower (5,)) vertex ids, corners first
            and last in ``upper``; ordered by increasing x.
        rings: "neck" (the boundary), "head" (neck top ring, the head joint).
        points: named vertex ids: "nose", "crown", "ear_l", "ear_r", "chin".
    """

    vertices: np.ndarray
    faces: np.ndarray
    grid: np.ndarray
    thetas: np.ndarray
    phis: np.ndarray
    slits: dict[str, tuple[np.ndarray, np.ndarray]]
    rings: dict[str, Ring]
    points: dict[str, int]


def head_columns() -> np.ndarray:
    """(46,) grid azimuths in [0, 2 pi): 0.082 rad apart on the face, coarser behind."""
    front = np.arange(12) * (0.9 / 11)
    side = 0.9 + np.arange(1, 5) * ((np.pi / 2 - 0.9) / 4)
    back = np.pi / 2 + np.arange(1, 8) * (np.pi / 16)
    half = np.concatenate([front, side, back])
    return np.concatenate([half, [np.pi], TWO_PI - half[1:][::-1]])


def head_rows() -> np.ndarray:
    """(43,) polar angles, bottom (under the chin) to top; 3.8e-2 rad apart on the face."""
    fine = PHI_EYE + (np.arange(-5, 30) + 0.5) * ROW_STEP
    coarse = fine[0] - np.arange(1, 9) * ((fine[0] - 0.22) / 8)
    return np.concatenate([fine[::-1], coarse])


def _g(x: np.ndarray, s: float) -> np.ndarray:
    return np.exp(-((x / s) ** 2))


def head_surface(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """(..., 3) points (metres) of the carved head at azimuth/polar angles (radians)."""
    theta = np.where(theta > np.pi, theta - TWO_PI, theta)
    e = np.stack([np.sin(phi) * np.sin(theta), np.cos(phi), np.sin(phi) * np.cos(theta)], -1)
    base = sk.HEAD_CENTER + sk.HEAD_RADII * e
    normal = e / sk.HEAD_RADII
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    at = np.abs(theta)
    ridge = np.clip((phi - PHI_EYE) / (PHI_NOSE_TIP - PHI_EYE), 0.0, 1.0) ** 1.3
    ridge = np.where(phi > PHI_NOSE_TIP, _g(phi - PHI_NOSE_TIP, 0.05), ridge)
    h = 0.014 * np.exp(-((theta / 0.75) ** 4)) * np.exp(-(((phi - 1.75) / 0.7) ** 4))
    h += 0.020 * ridge * _g(theta, 0.085 + 0.05 * ridge)
    h += 0.007 * _g(at - 0.13, 0.06) * _g(phi - (PHI_NOSE_TIP + 0.02), 0.06)
    h -= 0.007 * _g(at - EYE_COLUMN * 0.9 / 11, 0.22) * _g(phi - PHI_EYE, 0.14)
    h += 0.005 * _g(at - 0.40, 0.30) * _g(phi - (PHI_EYE - 0.22), 0.07)
    h += 0.006 * _g(at - 0.60, 0.22) * _g(phi - 1.72, 0.16)
    h += 0.007 * _g(theta, 0.28) * _g(phi - PHI_MOUTH, 0.09)
    h += 0.014 * _g(theta, 0.32) * _g(phi - PHI_CHIN, 0.10)
    h += 0.016 * _g(at - np.pi / 2, 0.11) * _g(phi - PHI_EAR, 0.20)
    return base + h[..., None] * normal


def _slit(grid: np.ndarray, lower_row: int, center_col: int) -> tuple[np.ndarray, np.ndarray]:
    n_cols = grid.shape[1]
    cols = [(center_col + k) % n_cols for k in range(-3, 4)]
    return grid[lower_row + 1, cols].copy(), grid[lower_row, cols[1:-1]].copy()


def build_head_piece(neck: np.ndarray, neck_angles: np.ndarray) -> HeadPiece:
    """Build the head above a neck ring of (30, 3) points with ring angles (30,)."""
    b = MeshBuilder()
    up = np.array([0.0, 1.0, 0.0])
    front = np.array([0.0, 0.0, 1.0])
    neck_ring = b.ring_from_ids(b.add(neck), neck_angles, up)
    tube = [neck_ring]
    for y, rz, rx, cz in ((0.305, 0.057, 0.054, -0.003), (0.33, 0.055, 0.052, -0.001)):
        tube.append(b.ring(np.array([0.0, y, cz]), up, front, (rz, rx), len(neck)))
    tube.append(b.ring(sk.HEAD, up, front, (0.054, 0.051), len(neck)))
    b.tube(tube)
    thetas, phis = head_columns(), head_rows()
    n_rows, n_cols = len(phis), len(thetas)
    tt, pp = np.meshgrid(thetas, phis)
    points = head_surface(tt, pp)
    mouth_row = int(np.argmin(np.abs(phis - (PHI_MOUTH + ROW_STEP / 2))))
    eye_row = int(np.argmin(np.abs(phis - (PHI_EYE + ROW_STEP / 2))))
    eye_cols = (n_cols - EYE_COLUMN, EYE_COLUMN)
    for row, cols, (du, dl) in (
        (mouth_row, (0,), (-0.0024, 0.0024)),
        (eye_row, eye_cols, (0.0015, -0.001)),
    ):
        for c in cols:
            for k in range(-3, 4):
                bump = 1.0 - (k / 3.0) ** 2
                points[row + 1, (c + k) % n_cols, 1] += du * bump
                points[row, (c + k) % n_cols, 1] += dl * bump
            for k in (-3, 3):
                col = (c + k) % n_cols
                points[row + 1, col] = 0.5 * (points[row + 1, col] + points[row, col])
    grid = b.add(points.reshape(-1, 3)).reshape(n_rows, n_cols)
    for row, c in ((mouth_row, 0), (eye_row, eye_cols[0]), (eye_row, eye_cols[1])):
        for k in (-3, 3):
            col = (c + k) % n_cols
            grid[row, col] = grid[row + 1, col]
    rows = [b.ring_from_ids(grid[i], thetas, up) for i in range(n_rows)]
    b.zipper(tube[-1], rows[0])
    b.add_faces(_grid_faces(grid, thetas))
    crown = b.cap(rows[-1], sk.HEAD_CENTER + np.array([0.0, sk.HEAD_RADII[1] + 0.002, -0.004]))
    vertices, faces = b.arrays()
    used = np.unique(faces)
    vertices, faces, grid = _drop_unused(vertices, faces, grid, used)
    slits = {
        "mouth": _slit(grid, mouth_row, 0),
        "eye_r": _slit(grid, eye_row, eye_cols[0]),
        "eye_l": _slit(grid, eye_row, eye_cols[1]),
    }
    nose_row = int(np.argmax(vertices[grid[:, 0], 2]))
    ear_row = int(np.argmin(np.abs(phis - PHI_EAR)))
    chin_row = int(np.argmin(np.abs(phis - PHI_CHIN)))
    points_ids = {
        "nose": int(grid[nose_row, 0]),
        "crown": int(np.searchsorted(used, crown)),
        "ear_l": int(grid[ear_row, int(np.argmin(np.abs(thetas - np.pi / 2)))]),
        "ear_r": int(grid[ear_row, int(np.argmin(np.abs(thetas - 3 * np.pi / 2)))]),
        "chin": int(grid[chin_row, 0]),
    }
    rings = {"neck": Ring(np.arange(len(neck)), neck_angles, neck_ring.center, up)}
    head_ids = np.searchsorted(used, tube[-1].ids)
    rings["head"] = Ring(head_ids, tube[-1].angles, tube[-1].center, up)
    return HeadPiece(vertices, faces, grid, thetas, phis, slits, rings, points_ids)


def _grid_faces(grid: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    """Triangles of the grid quads (mirror-symmetric diagonals), degenerate ones dropped."""
    n_rows, n_cols = grid.shape
    faces = []
    for i in range(n_rows - 1):
        for k in range(n_cols):
            a0, a1 = grid[i, k], grid[i, (k + 1) % n_cols]
            b0, b1 = grid[i + 1, k], grid[i + 1, (k + 1) % n_cols]
            if thetas[k] < np.pi:
                faces += [(a0, a1, b1), (a0, b1, b0)]
            else:
                faces += [(a0, a1, b0), (a1, b1, b0)]
    faces = np.array(faces)
    keep = (
        (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
    )
    return faces[keep]


def _drop_unused(
    vertices: np.ndarray, faces: np.ndarray, grid: np.ndarray, used: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the ``used`` vertices; faces and grid re-indexed."""
    remap = np.full(len(vertices), -1)
    remap[used] = np.arange(len(used))
    return vertices[used], remap[faces], remap[grid]


def slit_strip_faces(
    faces: np.ndarray, slits: dict[str, tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """(F,) True for the triangles that close a slit (all three vertices on its rows)."""
    mask = np.zeros(len(faces), dtype=bool)
    for upper, lower in slits.values():
        on = np.isin(faces, np.concatenate([upper, lower]))
        mask |= on.all(axis=1)
    return mask


EYEBALL_RADIUS = 0.0115
EYEBALL_DEPTH = 0.0105
"""Eyeball radius and depth of its centre behind the middle of the eye slit (metres)."""


def eyeball_center(vertices: np.ndarray, slit: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(3,) eyeball centre behind an eye slit (upper (7,), lower (5,) ids), metres."""
    upper, lower = slit
    middle = 0.5 * (vertices[upper[3]] + vertices[lower[2]])
    return middle - np.array([0.0, 0.0, EYEBALL_DEPTH])


def build_eyeball(center: np.ndarray, n_rings: int = 10, n_around: int = 20):
    """Closed UV sphere looking along +z.

    Returns:
        (n_rings * n_around + 2, 3) vertices (metres), (F, 3) outward faces, the local id of
        the front pole (the pupil centre).
    """
    b = MeshBuilder()
    axis, up = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    rings = []
    for i in range(n_rings):
        alpha = np.pi * (n_rings - i) / (n_rings + 1)
        c = center + axis * EYEBALL_RADIUS * np.cos(alpha)
        r = EYEBALL_RADIUS * np.sin(alpha)
        rings.append(b.ring(c, axis, up, (r, r), n_around))
    b.tube(rings)
    b.cap(rings[0], center - axis * EYEBALL_RADIUS, start=True)
    pupil = b.cap(rings[-1], center + axis * EYEBALL_RADIUS)
    vertices, faces = b.arrays()
    return vertices, faces, pupil
