"""Hand-pose PCA of the synthetic family (MANO ``hands_components``/``hands_mean``).

Synthetic grasps are sampled for the right hand in the joint frames of the rest pose (the
SMPL-X / MANO hand joints are axis aligned at rest): a global grip closes every finger
about its flexion axis (finger direction x palm normal), plus per-finger curl, spread about
the palm normal, thumb opposition and small noise. The PCA of these 45-D axis-angle vectors
gives ``hands_mean`` (a relaxed, slightly curled hand), orthonormal ``hands_components``
(45, 45) (rows, by decreasing variance) and the sample coefficients ``hands_coeffs``.
Left-hand quantities are the mirror images: axis-angle (x, y, z) -> (x, -y, -z).
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.bodymodels.synthetic import skeleton as sk

N_SAMPLES = 1554
PALM_NORMAL = np.array([0.0, -1.0, 0.0])
MIRROR_AXIS_ANGLE = np.tile(np.array([1.0, -1.0, -1.0]), 15)
"""(45,) sign flips turning a right-hand pose into the left-hand pose (and back)."""


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def sample_right_hand_poses(joints: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N_SAMPLES, 45) axis-angle poses of the 15 right finger joints (radians).

    Args:
        joints: (16, 3) right-hand rest joints in MANO order (wrist first), metres.
    """
    grip = rng.uniform(-0.15, 1.3, size=N_SAMPLES)
    spread = rng.normal(0.0, 0.12, size=N_SAMPLES)
    oppose = rng.uniform(0.0, 0.9, size=N_SAMPLES)
    poses = np.zeros((N_SAMPLES, 15, 3))
    spread_sign = {"index": 1.0, "middle": 0.3, "pinky": -1.0, "ring": -0.4}
    for f, finger in enumerate(sk.FINGERS):
        base = joints[1 + 3 * f]
        direction = _unit(joints[3 + 3 * f] - base)
        flex = _unit(np.cross(direction, PALM_NORMAL))
        curl = grip + rng.normal(0.0, 0.2, size=N_SAMPLES)
        if finger == "thumb":
            across = _unit(np.cross(direction, flex))
            angles = np.stack([0.5 * curl, 0.6 * curl, 0.5 * curl], axis=1)
            poses[:, 3 * f] += (0.6 * oppose)[:, None] * across
        else:
            angles = np.stack([0.9 * curl, 1.1 * curl, 0.7 * curl], axis=1)
            sideways = spread * spread_sign[finger] * (1.0 - 0.5 * np.clip(grip, 0, 1))
            poses[:, 3 * f] += sideways[:, None] * PALM_NORMAL
        poses[:, 3 * f : 3 * f + 3] += angles[:, :, None] * flex
    poses = poses.reshape(N_SAMPLES, 45)
    return poses + rng.normal(0.0, 0.03, size=poses.shape)


def hand_pca(poses: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean (45,), components (45, 45) orthonormal rows, coefficients (N, 45)) of poses."""
    mean = poses.mean(axis=0)
    _, _, vt = np.linalg.svd(poses - mean, full_matrices=False)
    signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
    vt = vt * signs[:, None]
    return mean, vt, (poses - mean) @ vt.T
