"""Joint regressors and semantic vertices of the synthetic family.

A joint is regressed from vertex rings built around it: the uniform mean of one ring, or an
affine combination of ring means (weights summing to one) fitted to hit a designed point where
no ring surrounds the joint (pelvis, collars, jaw, thumb base). Every row sums to one, so the
joints follow translations of the mesh, and SMPL-X joints 0..21 only use vertices SMPL shares.
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.bodymodels.synthetic import skeleton as sk
from furpe_label.experts.bodymodels.synthetic.assembly import Assembly

_FINGER_JOINTS = [(f, k) for f in sk.FINGERS for k in (1, 2, 3)]


def _mean_row(ids: np.ndarray, n: int) -> np.ndarray:
    row = np.zeros(n)
    row[np.asarray(ids)] = 1.0 / len(ids)
    return row


def _affine_row(groups: list[np.ndarray], target: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Least-norm affine combination of the group means that equals ``target`` (metres)."""
    rows = np.stack([_mean_row(g, len(vertices)) for g in groups])
    centers = rows @ vertices
    system = np.vstack([centers.T, np.ones(len(groups))])
    weights = np.linalg.lstsq(system, np.append(target, 1.0), rcond=None)[0]
    weights /= weights.sum()
    return weights @ rows


def smplx_regressor(a: Assembly) -> np.ndarray:
    """(55, 10475) dense SMPL-X joint regressor (construction vertex ids)."""
    v, n = a.smplx_vertices, len(a.smplx_vertices)
    r = a.rings
    reg = np.zeros((55, n))
    reg[0] = _affine_row([r["torso_bottom"], r["hip_l"], r["hip_r"]], a.design["pelvis"], v)
    simple = {
        3: "spine1",
        6: "spine2",
        9: "spine3",
        12: "neck",
        15: "head",
        1: "hip_l",
        2: "hip_r",
        4: "knee_l",
        5: "knee_r",
        7: "ankle_l",
        8: "ankle_r",
        10: "foot_l",
        11: "foot_r",
        16: "shoulder_l",
        17: "shoulder_r",
        18: "elbow_l",
        19: "elbow_r",
        20: "wrist_l",
        21: "wrist_r",
    }
    for joint, name in simple.items():
        reg[joint] = _mean_row(r[name], n)
    for joint, tag in ((13, "l"), (14, "r")):
        groups = [r["neck"], r[f"shoulder_{tag}"], r["torso_top"], r["spine3"]]
        reg[joint] = _affine_row(groups, a.design[f"collar_{tag}"], v)
    p = a.points
    face = [r["head"], np.array([p["ear_l"], p["ear_r"]]), np.array([p["chin"]]), [p["nose"]]]
    reg[sk.JAW] = _affine_row([np.asarray(g) for g in face], a.design["jaw"], v)
    reg[sk.LEFT_EYE] = _mean_row(a.groups["eyeball_l"], n)
    reg[sk.RIGHT_EYE] = _mean_row(a.groups["eyeball_r"], n)
    for tag, joints in (("l", sk.LEFT_HAND_JOINTS), ("r", sk.RIGHT_HAND_JOINTS)):
        for joint, (finger, k) in zip(joints, _FINGER_JOINTS, strict=True):
            if (finger, k) == ("thumb", 1):
                groups = [r[f"thumb_stub_{tag}"], r[f"wrist_{tag}"]]
                reg[joint] = _affine_row(groups, a.design[f"thumb_1_{tag}"], v)
            else:
                reg[joint] = _mean_row(r[f"{finger}_{k}_{tag}"], n)
    return reg


def smpl_regressor(a: Assembly, smplx_reg: np.ndarray) -> np.ndarray:
    """(24, 6890) SMPL regressor: SMPL-X rows 0..21, hand joints from wrist and knuckle rings."""
    n = len(a.smpl_vertices)
    reg = np.zeros((24, n))
    reg[:22] = smplx_reg[:22, :n]
    if np.abs(smplx_reg[:22, n:]).max() > 0:
        raise AssertionError("SMPL-X body joints must only use vertices shared with SMPL")
    for joint, tag in ((22, "l"), (23, "r")):
        knuckles = [_mean_row(a.rings[f"{f}_1_{tag}"], n) for f in sk.FINGERS if f != "thumb"]
        reg[joint] = 0.3 * _mean_row(a.rings[f"wrist_{tag}"], n) + 0.7 * np.mean(knuckles, 0)
    return reg


def semantic_points(a: Assembly) -> dict[str, int]:
    """SMPL-X construction ids of the OpenPose extra keypoint vertices.

    Keys follow ``smplx.vertex_ids``: nose, reye, leye, rear, lear, LBigToe, LSmallToe, LHeel,
    RBigToe, RSmallToe, RHeel, lthumb, lindex, lmiddle, lring, lpinky, rthumb ... rpinky; all
    but the eyes are SMPL vertices. ``reye_smpl``/``leye_smpl`` are the SMPL eye vertices
    (middle of the closed upper eyelid).
    """
    v, p = a.smpl_vertices, a.points
    out = {"nose": p["nose"], "rear": p["ear_r"], "lear": p["ear_l"]}
    out["leye"], out["reye"] = p["pupil_l"], p["pupil_r"]
    out["leye_smpl"] = int(a.groups["slit_eye_l_upper"][3])
    out["reye_smpl"] = int(a.groups["slit_eye_r_upper"][3])
    for tag, side, sign in (("l", "L", 1.0), ("r", "R", -1.0)):
        cand = np.flatnonzero((v[:, 1] < sk.FLOOR_Y + 0.012) & (sign * v[:, 0] > 0))
        medial = sk.FOOT_L[0] - sign * v[cand, 0]
        out[f"{side}BigToe"] = int(cand[np.argmax(v[cand, 2] + 0.3 * medial)])
        out[f"{side}SmallToe"] = int(cand[np.argmax(v[cand, 2] - 0.6 * medial)])
        out[f"{side}Heel"] = int(cand[np.argmin(v[cand, 2])])
        for finger in sk.FINGERS:
            out[f"{tag}{finger}"] = p[f"tip_{finger}_{tag}"]
    return out
