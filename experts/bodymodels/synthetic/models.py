"""Build every array of the synthetic family in memory (final vertex orders).

Pipeline: template meshes (:mod:`assembly`) -> joint regressors (:mod:`rigging`) -> skinning
(:mod:`skinning`) -> blend shapes (:mod:`blendshapes`, :mod:`expressions`,
:mod:`partshapes`) -> hand PCA (:mod:`handpose`) -> landmark embeddings (:mod:`landmarks`)
-> SMPL / MANO / FLAME derived from SMPL-X -> final vertex orders (:mod:`correspondence`).
Randomness (shape/expression details, the SMPL -> SMPL-X betas map, hand-pose samples)
comes from ``numpy.random.SeedSequence(seed)`` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from furpe_label.experts.bodymodels import specs
from furpe_label.experts.bodymodels.synthetic import correspondence as corr
from furpe_label.experts.bodymodels.synthetic import skeleton as sk
from furpe_label.experts.bodymodels.synthetic.assembly import (
    EYEBALL_VERTICES,
    HEAD_SMPLX,
    Assembly,
    build_assembly,
)
from furpe_label.experts.bodymodels.synthetic.blendshapes import (
    bone_offsets,
    pose_dirs,
    smplx_shape_dirs,
    vertex_normals,
)
from furpe_label.experts.bodymodels.synthetic.expressions import expression_dirs
from furpe_label.experts.bodymodels.synthetic.handpose import (
    MIRROR_AXIS_ANGLE,
    hand_pca,
    sample_right_hand_poses,
)
from furpe_label.experts.bodymodels.synthetic.landmarks import head_embeddings
from furpe_label.experts.bodymodels.synthetic.partshapes import flame_shape_dirs, mano_shape_dirs
from furpe_label.experts.bodymodels.synthetic.rigging import (
    semantic_points,
    smpl_regressor,
    smplx_regressor,
)
from furpe_label.experts.bodymodels.synthetic.skinning import (
    part_weights,
    smpl_weights,
    smplx_bones,
    smplx_weights,
)

GENDER_BETAS = {
    "neutral": np.zeros(10),
    "male": np.array([0.8, -0.2, 1.0, 0.3, -0.8, 0.3, 0.0, 0.6, 0.2, 0.4]),
    "female": np.array([-0.9, 0.1, -1.0, 0.2, 1.2, -0.3, -0.2, -0.6, 0.1, -0.3]),
}
"""SMPL-X betas[:10] added to the neutral template to make the gendered templates."""
FLAME_TRANSLATION = sk.HEAD_CENTER
"""FLAME vertex = SMPL-X vertex - this (metres); MANO vertex = SMPL-X vertex - wrist joint."""


@dataclass
class FamilyModels:
    """Plain arrays of every file (dicts in the official key layouts) and the ground truth."""

    smplx: dict[str, dict[str, Any]] = field(default_factory=dict)
    smpl: dict[str, dict[str, Any]] = field(default_factory=dict)
    mano: dict[str, dict[str, Any]] = field(default_factory=dict)
    flame: dict[str, dict[str, Any]] = field(default_factory=dict)
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)
    mtx: sp.csr_matrix | None = None
    mask_ids: np.ndarray | None = None
    truth: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Rig:
    """SMPL-X rig in construction vertex order (V = 10475, metres).

    reg (55, V); weights (V, 55); normals (V, 3); offsets (V, 3) from the bones; dirs
    (V, 3, 400) shape + expression; posedirs (V, 3, 486); points: semantic vertex ids.
    """

    a: Assembly
    reg: np.ndarray
    weights: np.ndarray
    normals: np.ndarray
    offsets: np.ndarray
    dirs: np.ndarray
    posedirs: np.ndarray
    points: dict[str, int]


def _pose_cols(joints: tuple[int, ...]) -> np.ndarray:
    return np.concatenate([np.arange(9 * (j - 1), 9 * j) for j in joints])


def _rig(a: Assembly, seeds: list[np.random.SeedSequence]) -> _Rig:
    v = a.smplx_vertices
    reg = smplx_regressor(a)
    joints = reg @ v
    points = semantic_points(a)
    weights, jaw = smplx_weights(a, joints, points)
    normals = vertex_normals(v, a.smplx_faces)
    offsets = bone_offsets(v, weights, smplx_bones(a, joints, points))
    eyes = [a.groups["eyeball_l"], a.groups["eyeball_r"]]
    shape = smplx_shape_dirs(v, weights, offsets, eyes, np.random.default_rng(seeds[0]))
    expr = expression_dirs(a, jaw, normals, np.random.default_rng(seeds[1]))
    dirs = np.concatenate([shape, expr], axis=2)
    # inserted vertices follow their SMPL triangle exactly (shape keeps the correspondence)
    n = specs.SMPL.n_vertices
    rows = a.correspondence[n:]
    inserted = n + np.flatnonzero(np.asarray(rows.sum(axis=1)).ravel() > 0)
    mixed = a.correspondence[inserted] @ dirs[:n].reshape(n, -1)
    dirs[inserted] = mixed.reshape(len(inserted), 3, -1)
    posedirs = pose_dirs(v, normals, joints, sk.SMPLX_PARENTS, weights)
    return _Rig(a, reg, weights, normals, offsets, dirs, posedirs, points)


def build_family_models(seed: int, genders: tuple[str, ...]) -> FamilyModels:
    """Every model of the family as arrays in the official layouts (final vertex orders)."""
    seeds = np.random.SeedSequence(seed).spawn(6)
    a = build_assembly()
    rig = _rig(a, seeds)
    v = a.smplx_vertices
    betas_map = corr.betas_map(np.random.default_rng(seeds[2]))
    order_s, order_x = corr.body_orders(rig.points, specs.SMPL.n_vertices, len(v))
    inv_x, inv_s = corr.inverse(order_x), corr.inverse(order_s)
    mano_joints = rig.reg[list(sk.MANO_FROM_SMPLX["right"])] @ v
    poses = sample_right_hand_poses(mano_joints, np.random.default_rng(seeds[3]))
    mean, comps, coeffs = hand_pca(poses)
    hands = {"right": (mean, comps, coeffs)}
    hands["left"] = (mean * MIRROR_AXIS_ANGLE, comps * MIRROR_AXIS_ANGLE, coeffs)
    embed = head_embeddings(a)
    out = FamilyModels(embeddings=embed)
    for gender in genders:
        template = v + rig.dirs[:, :, :10] @ GENDER_BETAS[gender]
        out.smplx[gender] = {
            "v_template": template[order_x],
            "f": inv_x[a.smplx_faces].astype(np.int32),
            "shapedirs": rig.dirs[order_x].astype(np.float32),
            "posedirs": rig.posedirs[order_x].astype(np.float32),
            "J_regressor": rig.reg[:, order_x],
            "weights": rig.weights[order_x],
            "kintree_table": sk.kintree_table(sk.SMPLX_PARENTS),
            "hands_componentsl": hands["left"][1],
            "hands_componentsr": hands["right"][1],
            "hands_meanl": hands["left"][0],
            "hands_meanr": hands["right"][0],
            "hands_coeffsl": hands["left"][2],
            "hands_coeffsr": hands["right"][2],
            "lmk_faces_idx": a.flame_face_ids[embed["static_faces"]],
            "lmk_bary_coords": embed["static_bary"],
            "dynamic_lmk_faces_idx": a.flame_face_ids[embed["dynamic_faces"]],
            "dynamic_lmk_bary_coords": embed["dynamic_bary"],
        }
        out.smpl[gender] = _reorder(_smpl(rig, template, betas_map), order_s, inv_s)
        out.flame[gender] = _flame(rig, template, seeds[4])
    out.truth = _truth(a, inv_x, order_s, betas_map)
    for side in ("right", "left"):
        model, ids, wrist = _mano(rig, side, hands[side], seeds[5])
        out.mano[side] = model
        out.truth[f"mano_{side}_vertex_to_smplx_vertex"] = inv_x[ids]
        out.truth[f"mano_{side}_translation"] = wrist
    complete = corr.complete_rows(a.correspondence, v, a.smpl_vertices, a.smpl_faces)
    out.mtx = corr.deformation_matrix(complete, order_x, order_s)
    out.mask_ids = corr.mask_ids(a.correspondence, order_x)
    return out


def _reorder(model: dict[str, Any], order: np.ndarray, inv: np.ndarray) -> dict[str, Any]:
    """Vertex arrays of a model permuted to the final order (final index -> construction)."""
    model = dict(model)
    for key in ("v_template", "shapedirs", "posedirs", "weights"):
        model[key] = model[key][order]
    model["f"] = inv[model["f"]].astype(np.uint32)
    model["J_regressor"] = model["J_regressor"][:, order]
    return model


def _smpl(rig: _Rig, template: np.ndarray, betas_map: np.ndarray) -> dict[str, Any]:
    """SMPL: SMPL-X's first 6890 vertices, restricted / summed rig, mixed betas."""
    n = specs.SMPL.n_vertices
    reg = smpl_regressor(rig.a, rig.reg)
    v = template[:n]
    weights = smpl_weights(rig.weights, n)
    joints = reg @ v
    posedirs = pose_dirs(v, rig.normals[:n], joints, sk.SMPL_PARENTS, weights)
    posedirs[:, :, : 21 * 9] = rig.posedirs[:n, :, : 21 * 9]
    return {
        "v_template": v,
        "f": rig.a.smpl_faces,
        "shapedirs": np.einsum("vck,kl->vcl", rig.dirs[:n, :, :10], betas_map),
        "posedirs": posedirs,
        "J_regressor": sp.csc_matrix(reg),
        "weights": weights,
        "kintree_table": sk.kintree_table(sk.SMPL_PARENTS),
        "J": joints,
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }


def _part_regressor(reg: np.ndarray, joints: tuple[int, ...], ids: np.ndarray) -> np.ndarray:
    rows = reg[list(joints)]
    if np.abs(rows).sum() - np.abs(rows[:, ids]).sum() > 1e-9:
        raise AssertionError("a part joint uses vertices outside the part")
    return rows[:, ids]


def _flame(rig: _Rig, template: np.ndarray, seed: np.random.SeedSequence) -> dict[str, Any]:
    """FLAME: the SMPL-X head piece + eyeballs, own identity space, SMPL-X expressions."""
    a, ids = rig.a, rig.a.flame_ids
    v = template[ids]
    marks = {key: template[a.points[key]] for key in ("nose", "chin")}
    for tag in ("l", "r"):
        marks[f"eye_{tag}"] = template[a.groups[f"eyeball_{tag}"]].mean(axis=0)
    eyes = [
        HEAD_SMPLX + np.arange(EYEBALL_VERTICES),
        HEAD_SMPLX + EYEBALL_VERTICES + np.arange(EYEBALL_VERTICES),
    ]
    shape = flame_shape_dirs(v, rig.normals[ids], marks, eyes, np.random.default_rng(seed))
    reg = _part_regressor(rig.reg, sk.FLAME_FROM_SMPLX, ids)
    v_t = v - FLAME_TRANSLATION
    return {
        "v_template": v_t,
        "f": a.flame_faces.astype(np.uint32),
        "shapedirs": np.concatenate([shape, rig.dirs[ids, :, 300:]], axis=2).astype(np.float32),
        "posedirs": rig.posedirs[ids][:, :, _pose_cols(sk.FLAME_FROM_SMPLX[1:])].astype(np.float32),
        "J_regressor": sp.csc_matrix(reg),
        "weights": part_weights(rig.weights, ids, sk.FLAME_FROM_SMPLX),
        "kintree_table": sk.kintree_table(sk.FLAME_PARENTS),
        "J": reg @ v_t,
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }


def _mano(
    rig: _Rig, side: str, hand: tuple, seed: np.random.SeedSequence
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """(MANO model, (778,) SMPL-X construction ids, (3,) translation) of one hand.

    ``hand`` is (mean (45,), components (45, 45), coefficients (N, 45)) of that side.
    """
    a, tag = rig.a, side[0]
    ids, joints = a.mano_ids[side], sk.MANO_FROM_SMPLX[side]
    right_ids, right_joints = a.mano_ids["right"], sk.MANO_FROM_SMPLX["right"]
    right_w = part_weights(rig.weights, right_ids, right_joints)
    right_j = rig.reg[list(right_joints)] @ a.smplx_vertices
    shape = mano_shape_dirs(
        a.smplx_vertices[right_ids],
        right_w,
        right_j,
        rig.offsets[right_ids],
        np.random.default_rng(seed),
    )
    if side == "left":
        shape = shape * np.array([-1.0, 1.0, 1.0])[None, :, None]
    tips = {f: int(np.flatnonzero(ids == a.points[f"tip_{f}_{tag}"])[0]) for f in sk.FINGERS}
    pads = {f: int(np.flatnonzero(ids == a.points[f"pad_{f}_{tag}"])[0]) for f in sk.FINGERS}
    order = corr.mano_order(len(ids), tips, pads)
    wrist = rig.reg[joints[0]] @ a.smplx_vertices
    reg = sp.csc_matrix(_part_regressor(rig.reg, joints, ids)[:, order])
    v = (a.smplx_vertices[ids] - wrist)[order]
    model = {
        "v_template": v,
        "f": corr.inverse(order)[a.mano_faces[side]].astype(np.uint32),
        "shapedirs": shape[order],
        "posedirs": rig.posedirs[ids][:, :, _pose_cols(joints[1:])][order],
        "J_regressor": reg,
        "weights": part_weights(rig.weights, ids, joints)[order],
        "kintree_table": sk.kintree_table(sk.MANO_PARENTS),
        "J": reg @ v,
        "hands_components": hand[1],
        "hands_mean": hand[0],
        "hands_coeffs": hand[2],
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }
    return model, ids[order], wrist


def _truth(
    a: Assembly, inv_x: np.ndarray, order_s: np.ndarray, betas_map: np.ndarray
) -> dict[str, Any]:
    """Ground truth of the correspondences, in final vertex ids."""
    masked = np.flatnonzero(np.asarray(a.correspondence.sum(axis=1)).ravel() == 0)
    return {
        "smpl_betas_to_smplx_betas": betas_map,
        "smpl_vertex_to_smplx_vertex": inv_x[order_s],
        "smplx_vertices_without_smpl_correspondence": np.sort(inv_x[masked]),
        "flame_vertex_to_smplx_vertex": inv_x[a.flame_ids],
        "flame_translation": FLAME_TRANSLATION,
    }
