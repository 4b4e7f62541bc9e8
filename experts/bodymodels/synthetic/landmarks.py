"""68-point facial landmark embeddings (face index + barycentric coordinates) of the head.

Landmarks follow the iBUG-68 order (0-16 jaw contour from the subject's right ear to the
left, 17-26 brows, 27-35 nose, 36-47 eyes, 48-67 lips). Eye and inner-lip points are the
eye/mouth slit vertices; the others are where rays from the head centre, at designed
(azimuth theta, polar phi) directions, hit the surface. The static embedding holds points
17-67 (51); the dynamic contour table holds points 0-16 for each head yaw bin used by
``smplx.lbs.find_dynamic_lmk_idx_and_bcoords`` (bins 0..39: yaw angle a = 0..39 degrees,
turning the head to the subject's right; bins 40..78: a = -1..-39, turning left): the contour
points of the side turning away slide along the jaw line towards the chin so that they stay
on the visible outline.
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.bodymodels.synthetic import skeleton as sk
from furpe_label.experts.bodymodels.synthetic.assembly import HEAD_SMPLX, Assembly
from furpe_label.experts.bodymodels.synthetic.head import (
    PHI_CHIN,
    PHI_EAR,
    PHI_EYE,
    PHI_MOUTH,
    PHI_NOSE_BASE,
)

N_BINS = 79
CONTOUR_THETA_MAX = 1.35
CONTOUR_PHI_TOP = PHI_EAR + 0.05
CONTOUR_PHI_CHIN = PHI_CHIN + 0.06


def _direction(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    return np.stack([np.sin(phi) * np.sin(theta), np.cos(phi), np.sin(phi) * np.cos(theta)], -1)


def cast_rays(vertices: np.ndarray, faces: np.ndarray, origin: np.ndarray, dirs: np.ndarray):
    """First hits of rays from ``origin`` along (n, 3) ``dirs``: ((n,) face ids, (n, 3) bary)."""
    tri = vertices[faces]
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    s = origin - tri[:, 0]
    q = np.cross(s, e1)
    face_ids, bary = np.zeros(len(dirs), np.int64), np.zeros((len(dirs), 3))
    for i, d in enumerate(dirs):
        p = np.cross(d, e2)
        det = np.einsum("ij,ij->i", e1, p)
        ok = np.abs(det) > 1e-14
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        u = np.einsum("ij,ij->i", s, p) * inv
        v = (q @ d) * inv
        t = np.einsum("ij,ij->i", e2, q) * inv
        hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        if not hit.any():
            raise ValueError(f"landmark ray {d} misses the head")
        best = np.flatnonzero(hit)[np.argmin(t[hit])]
        face_ids[i], bary[i] = best, (1.0 - u[best] - v[best], u[best], v[best])
    return face_ids, bary


def _vertex_embedding(faces: np.ndarray, vertex: int) -> tuple[int, np.ndarray]:
    face = int(np.flatnonzero((faces == vertex).any(axis=1))[0])
    bary = (faces[face] == vertex).astype(np.float64)
    return face, bary


def contour_directions(yaw_degrees: float) -> np.ndarray:
    """(17, 3) ray directions of the jaw contour points for a head yaw (degrees)."""
    alpha = -np.pi / 2 + np.arange(17) * np.pi / 16
    theta = CONTOUR_THETA_MAX * np.sin(alpha)
    limit = np.pi / 2 - np.radians(abs(yaw_degrees)) - 0.12
    factor = min(1.0, limit / CONTOUR_THETA_MAX)
    far = theta < 0 if yaw_degrees > 0 else theta > 0
    theta = np.where(far, theta * factor, theta)
    phi = CONTOUR_PHI_TOP + (CONTOUR_PHI_CHIN - CONTOUR_PHI_TOP) * np.cos(
        np.arcsin(np.clip(theta / CONTOUR_THETA_MAX, -1, 1))
    )
    return _direction(theta, phi)


def static_directions() -> dict[int, np.ndarray]:
    """iBUG index -> ray direction for the static points that are not slit/nose vertices."""
    out: dict[int, np.ndarray] = {}
    brows = [-0.78, -0.62, -0.46, -0.31, -0.17, 0.17, 0.31, 0.46, 0.62, 0.78]
    for k, theta in enumerate(brows):
        phi = PHI_EYE - 0.25 + 0.15 * (abs(theta) - 0.45) ** 2
        out[17 + k] = _direction(np.array(theta), np.array(phi))
    for k, phi in enumerate((PHI_EYE - 0.02, PHI_EYE + 0.11, PHI_EYE + 0.24)):
        out[27 + k] = _direction(np.array(0.0), np.array(phi))
    for k, (theta, phi) in enumerate(
        zip(
            (-0.2, -0.1, 0.0, 0.1, 0.2),
            PHI_NOSE_BASE + np.array([0, 0.015, 0.025, 0.015, 0]),
            strict=True,
        )
    ):
        out[31 + k] = _direction(np.array(theta), np.array(phi))
    out[48] = _direction(np.array(-0.29), np.array(PHI_MOUTH))
    out[54] = _direction(np.array(0.29), np.array(PHI_MOUTH))
    for k, theta in enumerate((-0.19, -0.09, 0.0, 0.09, 0.19)):
        out[49 + k] = _direction(np.array(theta), np.array(PHI_MOUTH - 0.07))
        out[59 - k] = _direction(np.array(theta), np.array(PHI_MOUTH + 0.07))
    return out


def slit_vertices(slits: dict[str, tuple[np.ndarray, np.ndarray]], nose: int) -> dict[int, int]:
    """iBUG index -> vertex id for the nose tip, eye corners/lids and inner lips."""
    out = {30: nose}
    up, low = slits["eye_r"]
    out.update({36: up[0], 37: up[2], 38: up[4], 39: up[6], 40: low[3], 41: low[1]})
    up, low = slits["eye_l"]
    out.update({42: up[0], 43: up[2], 44: up[4], 45: up[6], 46: low[3], 47: low[1]})
    up, low = slits["mouth"]
    out.update({60: up[0], 61: up[2], 62: up[3], 63: up[4], 64: up[6]})
    out.update({65: low[3], 66: low[2], 67: low[1]})
    return {k: int(v) for k, v in out.items()}


def landmark_embeddings(
    vertices: np.ndarray, faces: np.ndarray, slits: dict, nose: int
) -> dict[str, np.ndarray]:
    """Embeddings on a head mesh (its face indices).

    Args:
        vertices: (V, 3) head vertices in the SMPL-X frame (metres); faces: (F, 3) face
            triangles without the eyeballs; slits: "mouth", "eye_l", "eye_r" -> (upper (7,),
            lower (5,)) vertex ids; nose: vertex id of the nose tip.

    Returns:
        "static_faces" (51,), "static_bary" (51, 3), "dynamic_faces" (79, 17),
        "dynamic_bary" (79, 17, 3), "full_faces" (68,), "full_bary" (68, 3).
    """
    origin = sk.HEAD_CENTER
    faces68, bary68 = np.zeros(68, np.int64), np.zeros((68, 3))
    rays = static_directions()
    keys = sorted(rays)
    hit_faces, hit_bary = cast_rays(vertices, faces, origin, np.array([rays[k] for k in keys]))
    faces68[keys], bary68[keys] = hit_faces, hit_bary
    for index, vertex in slit_vertices(slits, nose).items():
        faces68[index], bary68[index] = _vertex_embedding(faces, vertex)
    dyn_faces, dyn_bary = np.zeros((N_BINS, 17), np.int64), np.zeros((N_BINS, 17, 3))
    for b in range(N_BINS):
        yaw = b if b <= 39 else 39 - b
        dyn_faces[b], dyn_bary[b] = cast_rays(vertices, faces, origin, contour_directions(yaw))
    faces68[:17], bary68[:17] = dyn_faces[0], dyn_bary[0]
    return {
        "static_faces": faces68[17:].copy(),
        "static_bary": bary68[17:].copy(),
        "dynamic_faces": dyn_faces,
        "dynamic_bary": dyn_bary,
        "full_faces": faces68,
        "full_bary": bary68,
    }


def head_embeddings(a: Assembly) -> dict[str, np.ndarray]:
    """:func:`landmark_embeddings` of the FLAME head of an assembly (FLAME face ids)."""
    inv = np.full(len(a.smplx_vertices), -1)
    inv[a.flame_ids] = np.arange(len(a.flame_ids))
    slits = {
        k: (inv[a.groups[f"slit_{k}_upper"]], inv[a.groups[f"slit_{k}_lower"]])
        for k in ("mouth", "eye_l", "eye_r")
    }
    head_faces = a.flame_faces[(a.flame_faces < HEAD_SMPLX).all(axis=1)]
    vertices = a.smplx_vertices[a.flame_ids]
    return landmark_embeddings(vertices, head_faces, slits, int(inv[a.points["nose"]]))
