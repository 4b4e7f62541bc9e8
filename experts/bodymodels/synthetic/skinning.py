"""Skinning weights: bone-heat diffusion on the SMPL-X template, then the other models.

Bone heat (Baran & Popovic 2007): for every joint j solve (L + M H) w_j = M H p_j on the
mesh, with L the (non-negative) cotangent Laplacian, M the vertex areas, H = 1/d^2 the
inverse squared distance of each vertex to its nearest bone and p_j = 1 where that bone
belongs to joint j. The solution is smooth, in [0, 1] and sums to one per vertex; weights are
then limited to the 4 largest (> 1 %). The jaw takes the head weight times a harmonic mask
that is 1 on the lower lip and chin and 0 above the mouth (the mouth slit separates them); the
eyeballs follow their eye joint. The SMPL, MANO and FLAME weights are sums of SMPL-X weights,
which makes them pose exactly like SMPL-X where their extra joints are at rest.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from furpe_label.experts.bodymodels.synthetic import skeleton as sk
from furpe_label.experts.bodymodels.synthetic.assembly import Assembly
from furpe_label.experts.bodymodels.synthetic.refine import uniform_adjacency

MAX_INFLUENCES = 4
MIN_WEIGHT = 0.01


def cotangent_laplacian(
    vertices: np.ndarray, faces: np.ndarray
) -> tuple[sp.csr_matrix, np.ndarray]:
    """(V, V) positive semi-definite cotangent Laplacian (cotangents clamped at 0) and (V,)
    vertex areas (m^2, a third of the adjacent triangle areas)."""
    n = len(vertices)
    tri = vertices[faces]
    rows, cols, vals = [], [], []
    for k in range(3):  # the angle at corner k weighs the opposite edge (i, j)
        i, j = faces[:, (k + 1) % 3], faces[:, (k + 2) % 3]
        e1 = tri[:, (k + 1) % 3] - tri[:, k]
        e2 = tri[:, (k + 2) % 3] - tri[:, k]
        cross = np.linalg.norm(np.cross(e1, e2), axis=1)
        cot = np.einsum("ij,ij->i", e1, e2) / np.maximum(cross, 1e-12)
        w = 0.5 * np.maximum(cot, 0.0)
        rows += [i, j]
        cols += [j, i]
        vals += [w, w]
    off = sp.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    ).tocsr()
    lap = sp.diags(np.asarray(off.sum(axis=1)).ravel()) - off
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    mass = np.bincount(faces.ravel(), np.repeat(area / 3.0, 3), minlength=n)
    return lap.tocsr(), mass


def segment_distances(points: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """(P, S) distances (metres) from points (P, 3) to segments (S, 3)-(S, 3)."""
    seg = ends - starts
    length2 = np.maximum(np.einsum("ij,ij->i", seg, seg), 1e-12)
    rel = points[:, None, :] - starts[None]
    t = np.clip(np.einsum("psk,sk->ps", rel, seg) / length2, 0.0, 1.0)
    return np.linalg.norm(rel - t[..., None] * seg[None], axis=-1)


def smplx_bones(a: Assembly, joints: np.ndarray, tips: dict[str, int]) -> tuple:
    """Bone segments (labels (S,), starts (S, 3), ends (S, 3)) of the SMPL-X joints.

    A joint owns the segments to its children; the head owns segments to crown, nose, chin
    and ears (jaw and eyes get no bone); leaves end at finger tips / toe tips; ankles also
    own a segment to the heel.
    """
    v = a.smplx_vertices
    labels, starts, ends = [], [], []

    def add(j: int, end: np.ndarray) -> None:
        labels.append(j)
        starts.append(joints[j])
        ends.append(end)

    for child, parent in enumerate(sk.SMPLX_PARENTS):
        if parent >= 0 and parent != 15:
            add(int(parent), joints[child])
    for key in ("crown", "nose", "chin", "ear_l", "ear_r"):
        add(15, v[a.points[key]])
    for tag, joints_range in (("l", sk.LEFT_HAND_JOINTS), ("r", sk.RIGHT_HAND_JOINTS)):
        for f, finger in enumerate(sk.FINGERS):
            add(joints_range[3 * f + 2], v[a.points[f"tip_{finger}_{tag}"]])
    for foot, ankle, tag, side in ((10, 7, "l", "L"), (11, 8, "r", "R")):
        add(foot, v[a.points[f"toe_apex_{tag}"]])
        add(ankle, v[tips[f"{side}Heel"]])
    return np.array(labels), np.array(starts), np.array(ends)


def bone_heat(vertices: np.ndarray, faces: np.ndarray, bones: tuple, n_joints: int) -> np.ndarray:
    """(V, n_joints) bone-heat weights (rows sum to 1)."""
    labels, starts, ends = bones
    dist = segment_distances(vertices, starts, ends)
    nearest = np.argmin(dist, axis=1)
    d = np.maximum(dist[np.arange(len(vertices)), nearest], 1e-3)
    lap, mass = cotangent_laplacian(vertices, faces)
    heat = mass / d**2
    system = (lap + sp.diags(heat)).tocsc()
    rhs = np.zeros((len(vertices), n_joints))
    rhs[np.arange(len(vertices)), labels[nearest]] = heat
    used = np.unique(labels)
    weights = np.zeros_like(rhs)
    weights[:, used] = spla.splu(system).solve(rhs[:, used])
    return weights


def limit_influences(weights: np.ndarray) -> np.ndarray:
    """Keep the MAX_INFLUENCES largest weights above MIN_WEIGHT per row, renormalised."""
    w = np.clip(weights, 0.0, None)
    kth = -np.sort(-w, axis=1)[:, MAX_INFLUENCES - 1 : MAX_INFLUENCES]
    w = np.where((w >= kth) & (w > MIN_WEIGHT), w, 0.0)
    return w / w.sum(axis=1, keepdims=True)


def _smoothstep(t: np.ndarray) -> np.ndarray:
    """0 below -1, 1 above 1, smooth (C1) in between."""
    t = np.clip(t, -1.0, 1.0)
    return 0.5 + 0.75 * t - 0.25 * t**3


def jaw_mask(a: Assembly, jaw: np.ndarray) -> np.ndarray:
    """(V,) mask in [0, 1]: the part of the head the jaw (joint position ``jaw``) carries.

    Geometric prior: below the plane through the jaw hinge axis and the mouth, in front of
    the hinge, above the neck. It is imposed where clearly 0 or 1 and on the lips (upper 0,
    lower 1); elsewhere the mask is harmonic on the SMPL-X head, so it changes smoothly and
    jumps only across the mouth slit.
    """
    v = a.smplx_vertices
    eyes = np.concatenate([a.groups["eyeball_l"], a.groups["eyeball_r"]])
    head = np.setdiff1d(a.groups["head"], eyes)
    upper, lower = a.groups["slit_mouth_upper"], a.groups["slit_mouth_lower"]
    mouth = 0.5 * (v[upper].mean(axis=0) + v[lower].mean(axis=0))
    direction = (mouth - jaw) / np.linalg.norm(mouth - jaw)
    up = np.cross(direction, [1.0, 0.0, 0.0])
    up *= np.sign(up[1])
    rel = v[head] - jaw
    prior = _smoothstep(-(rel @ up) / 0.012)
    prior *= _smoothstep((rel[:, 2] + 0.004) / 0.012)
    prior *= _smoothstep(
        (v[head, 1] - (a.smplx_vertices[a.rings["head"], 1].mean() - 0.005)) / 0.012
    )
    value = np.full(len(v), np.nan)
    value[head[prior > 0.97]] = 1.0
    value[head[prior < 0.03]] = 0.0
    value[upper], value[a.rings["head"]], value[lower] = 0.0, 0.0, 1.0
    adj = uniform_adjacency(a.smplx_faces, len(v))[head][:, head]
    lap = sp.diags(np.asarray(adj.sum(axis=1)).ravel()) - adj
    known = ~np.isnan(value[head])
    free = ~known
    rhs = -lap[free][:, known] @ value[head][known]
    sol = spla.spsolve(lap[free][:, free].tocsc(), rhs)
    mask = np.zeros(len(v))
    mask[head[known]] = value[head][known]
    mask[head[free]] = np.clip(sol, 0.0, 1.0)
    return mask


def smplx_weights(
    a: Assembly, joints: np.ndarray, tips: dict[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    """((10475, 55) SMPL-X skinning weights, (10475,) jaw mask), construction vertex ids."""
    bones = smplx_bones(a, joints, tips)
    weights = limit_influences(bone_heat(a.smplx_vertices, a.smplx_faces, bones, 55))
    jaw = jaw_mask(a, joints[sk.JAW])
    weights[:, sk.JAW] = weights[:, 15] * jaw
    weights[:, 15] *= 1.0 - jaw
    for joint, side in ((sk.LEFT_EYE, "l"), (sk.RIGHT_EYE, "r")):
        ids = a.groups[f"eyeball_{side}"]
        weights[ids] = 0.0
        weights[ids, joint] = 1.0
    return weights, jaw


def smpl_weights(smplx_w: np.ndarray, n_smpl: int) -> np.ndarray:
    """(6890, 24): SMPL-X weights summed into SMPL joints (jaw/eyes -> head, fingers -> hand)."""
    w = np.zeros((n_smpl, 24))
    w[:, :22] = smplx_w[:n_smpl, :22]
    w[:, 15] += smplx_w[:n_smpl, [sk.JAW, sk.LEFT_EYE, sk.RIGHT_EYE]].sum(axis=1)
    w[:, 22] = smplx_w[:n_smpl, list(sk.LEFT_HAND_JOINTS)].sum(axis=1)
    w[:, 23] = smplx_w[:n_smpl, list(sk.RIGHT_HAND_JOINTS)].sum(axis=1)
    return w


def part_weights(smplx_w: np.ndarray, ids: np.ndarray, joints: tuple[int, ...]) -> np.ndarray:
    """(len(ids), len(joints)) weights of a part model (MANO, FLAME); joint 0 takes the rest."""
    w = smplx_w[ids][:, list(joints)]
    w[:, 0] = np.clip(1.0 - w[:, 1:].sum(axis=1), 0.0, None)
    w[w[:, 0] < 1e-12, 0] = 0.0
    return w / w.sum(axis=1, keepdims=True)
