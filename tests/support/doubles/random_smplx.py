"""Test double: a *random* SMPL-X model file with the official keys, sizes and layout.

Licensed SMPL-X files cannot be shipped, so exactness tests (our fast keypoints against the
``smplx`` package's full forward pass) run on a random model: the arithmetic does not care
whether the template looks like a person, only that every array has the official shape and
meaning. Sizes follow ``SMPLX_NEUTRAL.npz`` (10 475 vertices, 20 908 faces, 55 joints, 300 shape
+ 100 expression directions, 486 = 54 x 9 pose correctives, 51 static + 79 x 17 dynamic face
landmarks), so the ``smplx`` package's fixed vertex ids (up to 9 929) are valid.

This is only a random double; the human-like synthetic family lives in
``furpe_label.experts.bodymodels.synthetic``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

NUM_VERTICES = 10475
NUM_FACES = 20908
NUM_JOINTS = 55
NUM_SHAPE_DIRS = 400  # 300 shape + 100 expression
NUM_POSE_DIRS = (NUM_JOINTS - 1) * 9
NUM_STATIC_LMK = 51
NUM_DYNAMIC_ROWS = 79  # one row per degree of neck yaw, as in smplx's look-up table
NUM_CONTOUR = 17

# Official SMPL-X kinematic tree (smplx.SMPLX parents): body 0-21, jaw 22, eyes 23-24,
# left-hand fingers 25-39 (children of 20), right-hand fingers 40-54 (children of 21).
SMPLX_PARENTS = (
    -1,
    0,
    0,
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    9,
    9,
    12,
    13,
    14,
    16,
    17,
    18,
    19,
    15,
    15,
    15,
    20,
    25,
    26,
    20,
    28,
    29,
    20,
    31,
    32,
    20,
    34,
    35,
    20,
    37,
    38,
    21,
    40,
    41,
    21,
    43,
    44,
    21,
    46,
    47,
    21,
    49,
    50,
    21,
    52,
    53,
)
# Official files store the root's parent as the unsigned 32-bit "-1".
_ROOT_PARENT = 4294967295


def _joint_regressor(rng: np.random.Generator, v_template: np.ndarray) -> np.ndarray:
    """(55, V) float32: each joint a convex combination of the 6 vertices nearest a random point."""
    regressor = np.zeros((NUM_JOINTS, NUM_VERTICES), dtype=np.float64)
    centres = v_template[rng.choice(NUM_VERTICES, size=NUM_JOINTS, replace=False)]
    for joint, centre in enumerate(centres):
        nearest = np.argsort(np.linalg.norm(v_template - centre, axis=1))[:6]
        regressor[joint, nearest] = rng.dirichlet(np.ones(6))
    return regressor.astype(np.float32)


def _skinning_weights(rng: np.random.Generator, v_template: np.ndarray, joints: np.ndarray):
    """(V, 55) float32 weights on the 4 nearest joints of each vertex, rows summing to 1."""
    dist = np.linalg.norm(v_template[:, None, :] - joints[None, :, :], axis=2)
    nearest = np.argsort(dist, axis=1)[:, :4]
    weights = np.zeros((NUM_VERTICES, NUM_JOINTS), dtype=np.float64)
    raw = rng.dirichlet(np.ones(4), size=NUM_VERTICES)
    np.put_along_axis(weights, nearest, raw, axis=1)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def _faces(rng: np.random.Generator) -> np.ndarray:
    """(F, 3) int64 triangles with three distinct vertex ids each."""
    faces = rng.integers(0, NUM_VERTICES, size=(NUM_FACES, 3))
    while True:
        bad = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2])
        bad |= faces[:, 0] == faces[:, 2]
        if not bad.any():
            return faces.astype(np.int64)
        faces[bad] = rng.integers(0, NUM_VERTICES, size=(int(bad.sum()), 3))


def random_smplx_arrays(seed: int) -> dict[str, np.ndarray]:
    """All arrays of an official-layout SMPL-X npz, filled with seeded random values.

    Units follow the official file: metres for positions and blend-shape directions.
    """
    rng = np.random.default_rng(seed)
    v_template = (rng.uniform(-1.0, 1.0, size=(NUM_VERTICES, 3)) * [0.4, 0.9, 0.15]).astype(
        np.float32
    )
    j_regressor = _joint_regressor(rng, v_template.astype(np.float64))
    joints = j_regressor.astype(np.float64) @ v_template.astype(np.float64)
    kintree = np.stack([np.array(SMPLX_PARENTS, dtype=np.int64), np.arange(NUM_JOINTS)])
    kintree[0, 0] = _ROOT_PARENT
    faces = _faces(rng)
    # Each contour landmark slides over a small pool of faces as the head turns.
    pools = rng.choice(NUM_FACES, size=(NUM_CONTOUR, 6), replace=False)
    pick = rng.integers(0, 6, size=(NUM_DYNAMIC_ROWS, NUM_CONTOUR))
    dynamic_faces = pools[np.arange(NUM_CONTOUR)[None, :], pick]
    hands = {}
    for side in ("l", "r"):
        q, _ = np.linalg.qr(rng.standard_normal((45, 45)))
        hands[f"hands_components{side}"] = q.T.astype(np.float32)
        hands[f"hands_mean{side}"] = (0.2 * rng.standard_normal(45)).astype(np.float32)
    return {
        "v_template": v_template,
        "f": faces,
        "shapedirs": (0.01 * rng.standard_normal((NUM_VERTICES, 3, NUM_SHAPE_DIRS))).astype(
            np.float32
        ),
        "posedirs": (0.01 * rng.standard_normal((NUM_VERTICES, 3, NUM_POSE_DIRS))).astype(
            np.float32
        ),
        "J_regressor": j_regressor,
        "weights": _skinning_weights(rng, v_template.astype(np.float64), joints),
        "kintree_table": kintree,
        **hands,
        "lmk_faces_idx": rng.choice(NUM_FACES, size=NUM_STATIC_LMK, replace=False).astype(np.int64),
        "lmk_bary_coords": rng.dirichlet(np.ones(3), size=NUM_STATIC_LMK).astype(np.float32),
        "dynamic_lmk_faces_idx": dynamic_faces.astype(np.int64),
        "dynamic_lmk_bary_coords": rng.dirichlet(
            np.ones(3), size=(NUM_DYNAMIC_ROWS, NUM_CONTOUR)
        ).astype(np.float32),
    }


def write_random_smplx_npz(path: str | Path, seed: int = 0) -> Path:
    """Write a random SMPL-X model as ``<path>/smplx/SMPLX_NEUTRAL.npz`` and return that file.

    ``smplx.create(path, model_type='smplx', ext='npz')`` loads it unmodified.
    """
    out = Path(path) / "smplx" / "SMPLX_NEUTRAL.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **random_smplx_arrays(seed))
    return out
