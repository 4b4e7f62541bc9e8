"""Identity shape directions of the part models: FLAME (head, 300) and MANO (hand, 10).

They are the parts' own spaces (like the public models, unrelated to SMPL-X betas), smooth
fields in metres per unit coefficient, strongest first.
FLAME: 0 head size, 1 face width, 2 lower-face length, 3 nose, 4 jaw width, 5 chin,
6 forehead, 7 head depth, 8 cheekbones, 9 brow ridge, then random symmetric fields.
MANO (right hand; the left hand uses the mirror image): 0 hand size, 1 finger length,
2 palm width, 3 finger thickness, 4 thumb length, then random fields.
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.bodymodels.synthetic import skeleton as sk
from furpe_label.experts.bodymodels.synthetic.blendshapes import random_fields, rigid_eyes


def _bump(points: np.ndarray, center: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-((points - center) ** 2).sum(axis=1) / sigma**2)


def flame_shape_dirs(
    vertices: np.ndarray,
    normals: np.ndarray,
    points: dict[str, np.ndarray],
    eye_ids: list[np.ndarray],
    rng: np.random.Generator,
    n_dirs: int = 300,
) -> np.ndarray:
    """(5023, 3, n_dirs) FLAME identity directions on FLAME-ordered vertices (metres).

    ``points`` gives (3,) landmarks: "nose", "chin", "eye_l", "eye_r".
    """
    c = sk.HEAD_CENTER
    x, y, z = vertices.T
    lower = np.clip((c[1] + 0.01 - y) / 0.05, 0.0, 1.0)
    out = np.zeros((len(vertices), 3, n_dirs))
    out[:, :, 0] = 0.05 * (vertices - c)
    out[:, 0, 1] = 0.05 * x
    out[:, 1, 2] = 0.05 * np.minimum(y - (c[1] + 0.01), 0.0)
    out[:, 2, 3] = 0.008 * _bump(vertices, points["nose"], 0.02)
    out[:, 0, 4] = 0.08 * x * lower
    out[:, 2, 5] = 0.006 * _bump(vertices, points["chin"], 0.02)
    out[:, 1, 6] = 0.01 * np.clip((y - 0.5) / 0.07, 0.0, 1.0)
    out[:, 2, 7] = 0.06 * np.minimum(z - c[2], 0.0)
    for tag in ("l", "r"):
        eye = points[f"eye_{tag}"]
        cheek = eye + np.array([0.02 * np.sign(eye[0]), -0.03, -0.01])
        out[:, :, 8] += 0.004 * _bump(vertices, cheek, 0.02)[:, None] * normals
        brow = eye + np.array([0.0, 0.017, 0.003])
        out[:, :, 9] += 0.003 * _bump(vertices, brow, 0.02)[:, None] * normals
    amplitude = 0.006 / (1.0 + 0.03 * np.arange(n_dirs - 10))
    pool = np.flatnonzero(y > sk.HEAD[1])
    out[:, :, 10:] = random_fields(vertices, rng, n_dirs - 10, amplitude, (0.02, 0.06), 3, pool)
    return rigid_eyes(out, eye_ids)


def mano_shape_dirs(
    vertices: np.ndarray,
    weights: np.ndarray,
    joints: np.ndarray,
    offsets: np.ndarray,
    rng: np.random.Generator,
    n_dirs: int = 10,
) -> np.ndarray:
    """(778, 3, n_dirs) MANO identity directions of the right hand (metres).

    Args:
        vertices: (778, 3) right-hand vertices; weights: (778, 16) MANO skinning weights;
        joints: (16, 3) MANO joints; offsets: (778, 3) offsets from the bones.
    """
    out = np.zeros((len(vertices), 3, n_dirs))
    out[:, :, 0] = 0.06 * (vertices - joints[0])
    for f in range(5):
        chain = [1 + 3 * f, 2 + 3 * f, 3 + 3 * f]
        w = weights[:, chain].sum(axis=1)
        base = joints[chain[0]]
        d = joints[chain[2]] - base
        d /= np.linalg.norm(d)
        along = np.clip((vertices - base) @ d, 0.0, None)
        target = 4 if f == 4 else 1
        out[:, :, target] += 0.12 * (w * along)[:, None] * d
        out[:, :, 3] += 0.15 * w[:, None] * offsets
    palm = weights[:, 0]
    out[:, 2, 2] = 0.08 * (vertices[:, 2] - joints[0, 2]) * palm
    amplitude = np.full(n_dirs - 5, 0.003)
    out[:, :, 5:] = random_fields(
        vertices, rng, n_dirs - 5, amplitude, (0.01, 0.03), 3, np.arange(len(vertices))
    )
    return out
