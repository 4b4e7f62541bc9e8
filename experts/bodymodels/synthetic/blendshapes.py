"""Identity shape directions of SMPL-X and pose-corrective blend shapes.

Shape directions are smooth displacement fields (metres per unit coefficient), strongest first:
0 height (legs and trunk stretch, head and eyes carried rigidly), 1 girth (offset from the
bones, belly most), 2 shoulder breadth, 3 leg length, 4 hip width, 5 head size, 6 trunk
length, 7 arm and 8 leg thickness, 9 chest depth, then symmetric random fields (sums of
Gaussian bumps) of decreasing amplitude. Eyeballs always move rigidly with their centre.

Pose correctives (posedirs): for joint j with rotation R, the skin where the weights of j and
its parent overlap (g = 4 w_j w_parent) bulges along the normal by c (1 - cos angle) (a linear
function of the diagonal of R - I) and slides by c' g (s x r) with s = vee(R - R^T) / 2 and
r the unit offset from the joint (linear in the off-diagonal entries). Both vanish at rest.
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.bodymodels.synthetic import skeleton as sk
from furpe_label.experts.bodymodels.synthetic.skinning import segment_distances

BULGE = 0.012
SLIDE = 0.006


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit area-weighted vertex normals."""
    tri = vertices[faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    out = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(out, faces[:, k], n)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def rigid_eyes(field: np.ndarray, eye_ids: list[np.ndarray]) -> np.ndarray:
    """Replace the (V, 3, K) field on each eyeball by its mean (a rigid translation)."""
    for ids in eye_ids:
        field[ids] = field[ids].mean(axis=0, keepdims=True)
    return field


def bone_offsets(vertices: np.ndarray, weights: np.ndarray, bones: tuple) -> np.ndarray:
    """(V, 3) offset of each vertex from its weighted closest bone points (metres)."""
    labels, starts, ends = bones
    seg = ends - starts
    rel = vertices[:, None] - starts[None]
    t = np.clip(np.einsum("psk,sk->ps", rel, seg) / np.maximum((seg**2).sum(1), 1e-12), 0, 1)
    closest = starts[None] + t[..., None] * seg[None]
    dist = segment_distances(vertices, starts, ends)
    anchor = np.zeros_like(vertices)
    total = np.zeros(len(vertices))
    for j in np.unique(labels):
        mine = np.flatnonzero(labels == j)
        pick = mine[np.argmin(dist[:, mine], axis=1)]
        w = weights[:, j]
        anchor += w[:, None] * closest[np.arange(len(vertices)), pick]
        total += w
    anchor += (1.0 - total)[:, None] * vertices
    return vertices - anchor


def random_fields(
    vertices: np.ndarray,
    rng: np.random.Generator,
    n_fields: int,
    amplitude: np.ndarray,
    sigma: tuple[float, float],
    n_bumps: int,
    pool: np.ndarray,
) -> np.ndarray:
    """(V, 3, n_fields) sums of mirror-symmetric Gaussian bumps centred on ``pool`` vertices."""
    picks = rng.choice(pool, size=(n_fields, n_bumps))
    widths = rng.uniform(*sigma, size=(n_fields, n_bumps))
    vectors = rng.normal(size=(n_fields, n_bumps, 3)) * amplitude[:, None, None]
    mirror = np.array([-1.0, 1.0, 1.0])
    centers = np.concatenate([vertices[picks], vertices[picks] * mirror], axis=1)
    vectors = np.concatenate([vectors, vectors * mirror], axis=1)
    widths = np.concatenate([widths, widths], axis=1)
    out = np.zeros((len(vertices), 3, n_fields))
    norms = (vertices**2).sum(axis=1)[:, None]
    for start in range(0, n_fields, 32):
        block = slice(start, min(start + 32, n_fields))
        c = centers[block].reshape(-1, 3)
        d2 = np.maximum(norms + (c**2).sum(axis=1)[None] - 2.0 * vertices @ c.T, 0.0)
        g = np.exp(-d2 / widths[block].reshape(-1)[None] ** 2)
        g = g.reshape(len(vertices), -1, 2 * n_bumps)
        out[:, :, block] = np.einsum("vkb,kbc->vck", g, vectors[block])
    return out


def _gain(weights: np.ndarray, gains: dict[tuple[int, ...], float]) -> np.ndarray:
    g = np.zeros(len(weights))
    for joints, value in gains.items():
        g += value * weights[:, list(joints)].sum(axis=1)
    return g


def smplx_shape_dirs(
    vertices: np.ndarray,
    weights: np.ndarray,
    offsets: np.ndarray,
    eye_ids: list[np.ndarray],
    rng: np.random.Generator,
    n_dirs: int = 300,
) -> np.ndarray:
    """(V, 3, n_dirs) SMPL-X identity directions (metres per unit beta).

    Args:
        vertices: (V, 3) template; weights: (V, 55) skinning weights; offsets: (V, 3) offsets
            from the bones (:func:`bone_offsets`); eye_ids: the two eyeballs' vertex ids.
    """
    x, y, z = vertices.T
    head = weights[:, [12, 15, sk.JAW, sk.LEFT_EYE, sk.RIGHT_EYE]].sum(1) * (y > sk.NECK[1] - 0.03)
    arms = weights[:, [16, 17, 18, 19, 20, 21]].sum(1)
    legs = weights[:, [1, 2, 4, 5, 7, 8]].sum(1)
    out = np.zeros((len(vertices), 3, n_dirs))
    out[:, 0, 0] = 0.045 * (0.25 * x + 0.55 * np.sign(x) * np.maximum(np.abs(x) - 0.19, 0.0))
    out[:, 1, 0] = 0.045 * (np.minimum(y, sk.NECK[1]) - sk.PELVIS[1])
    out[:, 2, 0] = 0.045 * 0.25 * z * (1.0 - head)
    trunk = {(0, 3, 6, 9): 1.0, (1, 2): 0.9, (4, 5): 0.6, (7, 8, 10, 11): 0.15, (12,): 0.6}
    trunk.update({(13, 14): 0.6, (16, 17): 0.7, (18, 19): 0.5, (15,): 0.08, (sk.JAW,): 0.25})
    belly = 0.5 * np.exp(-(((y + 0.05) / 0.1) ** 2)) * np.clip(z / 0.05, 0.0, 1.0)
    out[:, :, 1] = 0.25 * ((_gain(weights, trunk) + belly)[:, None] * offsets)
    out[:, 0, 2] = 0.02 * np.tanh(x / 0.06) * np.clip((y + 0.05) / 0.15, 0.0, 1.0) * (1 - head)
    out[:, 1, 3] = -0.03 * np.clip((-0.30 - y) / 0.83, 0.0, 1.0)
    out[:, 0, 4] = 0.015 * np.tanh(x / 0.06) * np.exp(-(((y + 0.3) / 0.12) ** 2))
    out[:, :, 5] = 0.04 * head[:, None] * (vertices - sk.HEAD_CENTER)
    out[:, 1, 6] = 0.025 * np.clip((y + 0.2) / 0.5, 0.0, 1.0)
    out[:, :, 7] = 0.25 * arms[:, None] * offsets
    out[:, :, 8] = 0.2 * legs[:, None] * offsets
    chest = np.exp(-(((y - 0.08) / 0.1) ** 2)) * np.exp(-((x / 0.18) ** 4))
    out[:, 2, 9] = 0.015 * chest * np.clip(z / 0.04, -0.3, 1.0)
    amplitude = 0.012 / (1.0 + 0.05 * np.arange(n_dirs - 10))
    pool = np.arange(len(vertices))
    out[:, :, 10:] = random_fields(vertices, rng, n_dirs - 10, amplitude, (0.08, 0.25), 4, pool)
    return rigid_eyes(out, eye_ids)


def pose_dirs(
    vertices: np.ndarray,
    normals: np.ndarray,
    joints: np.ndarray,
    parents: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """(V, 3, 9 (J - 1)) pose-corrective directions (metres per unit of R - I entry)."""
    n_v, n_j = weights.shape
    out = np.zeros((n_v, 3, 9 * (n_j - 1)))
    for j in range(1, n_j):
        g = 4.0 * weights[:, j] * weights[:, parents[j]]
        if not np.any(g > 0):
            continue
        rel = vertices - joints[j]
        r = rel / np.maximum(np.linalg.norm(rel, axis=1, keepdims=True), 1e-9)
        base = 9 * (j - 1)
        for a in range(3):
            out[:, :, base + 4 * a] = -0.5 * BULGE * g[:, None] * normals
        cross = {  # coefficient vector of s_x, s_y, s_z in s x r
            0: np.stack([0 * r[:, 0], -r[:, 2], r[:, 1]], 1),
            1: np.stack([r[:, 2], 0 * r[:, 0], -r[:, 0]], 1),
            2: np.stack([-r[:, 1], r[:, 0], 0 * r[:, 0]], 1),
        }
        for axis, (plus, minus) in {0: (7, 5), 1: (2, 6), 2: (3, 1)}.items():
            term = 0.5 * SLIDE * g[:, None] * cross[axis]
            out[:, :, base + plus] += term
            out[:, :, base + minus] -= term
    return out
