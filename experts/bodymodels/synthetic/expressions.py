"""Expression directions (SMPL-X = FLAME, 100 of them) on the face of the synthetic head.

Displacements in metres per unit coefficient, exactly zero outside the head piece and on the
eyeballs: 0 mouth open (the jaw region drops), 1 smile, 2 brows up, 3 pucker, 4 frown,
5 eyes closed (upper lids down), 6 cheeks puffed, 7 wide mouth, 8 lips pressed, 9 sneer;
10-99 random smooth local fields of decreasing amplitude (half of them mirror-symmetric).
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.bodymodels.synthetic import skeleton as sk
from furpe_label.experts.bodymodels.synthetic.assembly import Assembly

N_EXPRESSIONS = 100


def _bump(points: np.ndarray, center: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-((points - center) ** 2).sum(axis=1) / sigma**2)


def expression_dirs(
    a: Assembly, jaw: np.ndarray, normals: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(10475, 3, 100) expression directions (construction ids); ``jaw`` is the (V,) jaw mask."""
    v = a.smplx_vertices
    eyes = np.concatenate([a.groups["eyeball_l"], a.groups["eyeball_r"]])
    ids = np.setdiff1d(a.groups["head"], eyes)
    p, n, m = v[ids], normals[ids], jaw[ids]
    g = a.groups
    upper, lower = v[g["slit_mouth_upper"]], v[g["slit_mouth_lower"]]
    corners = [upper[0], upper[-1]]
    mouth = 0.5 * (upper.mean(0) + lower.mean(0))
    out = np.zeros((len(ids), 3, N_EXPRESSIONS))
    front = np.clip((p[:, 2] - sk.HEAD_CENTER[2]) / 0.03, 0.0, 1.0)
    out[:, 1, 0] = -0.010 * m * front
    out[:, 2, 0] = -0.003 * m * front
    for c in corners:
        side = np.sign(c[0])
        bump = _bump(p, c, 0.018)
        out[:, :, 1] += bump[:, None] * np.array([0.004 * side, 0.005, -0.002])
        out[:, 0, 7] += 0.006 * side * _bump(p, c, 0.015)
    out[:, 0, 3] = -0.25 * (p[:, 0] - mouth[0]) * _bump(p, mouth, 0.02)
    out[:, 2, 3] = 0.006 * _bump(p, mouth, 0.02)
    near_mouth = _bump(p, mouth, 0.015)
    out[:, 1, 8] = 0.003 * near_mouth * (2.0 * m - 1.0)
    nose = v[a.points["nose"]]
    for tag in ("l", "r"):
        lid_up, lid_low = v[g[f"slit_eye_{tag}_upper"]], v[g[f"slit_eye_{tag}_lower"]]
        eye = 0.5 * (lid_up.mean(0) + lid_low.mean(0))
        side = np.sign(eye[0])
        brow = eye + np.array([0.0, 0.018, 0.004])
        out[:, 1, 2] += 0.006 * _bump(p, brow, 0.025)
        frown = _bump(p, brow - np.array([0.008 * side, 0.0, 0.0]), 0.018)
        out[:, :, 4] += frown[:, None] * np.array([-0.003 * side, -0.004, 0.0])
        above = p[:, 1] >= eye[1]
        out[:, 1, 5] += -0.007 * _bump(p, lid_up[3], 0.01) * above
        cheek = eye + np.array([0.012 * side, -0.038, -0.005])
        out[:, :, 6] += 0.006 * _bump(p, cheek, 0.025)[:, None] * n
        ala = nose + np.array([0.012 * side, 0.012, -0.012])
        out[:, :, 9] += _bump(p, ala, 0.012)[:, None] * np.array([0.0, 0.004, 0.001])
    face = np.flatnonzero((p[:, 2] > sk.HEAD_CENTER[2] + 0.03) & (np.abs(p[:, 1] - 0.43) < 0.1))
    for k in range(10, N_EXPRESSIONS):
        amplitude = 0.004 / (1.0 + 0.03 * (k - 10))
        symmetric = rng.random() < 0.5
        for _ in range(3):
            c = p[rng.choice(face)]
            sigma = rng.uniform(0.008, 0.025)
            vec = rng.normal(size=3) * amplitude
            out[:, :, k] += _bump(p, c, sigma)[:, None] * vec
            if symmetric:
                mirror = np.array([-1.0, 1.0, 1.0])
                out[:, :, k] += _bump(p, c * mirror, sigma)[:, None] * (vec * mirror)
    full = np.zeros((len(v), 3, N_EXPRESSIONS))
    full[ids] = out
    return full
