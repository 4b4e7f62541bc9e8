"""Assemble the SMPL and SMPL-X template meshes (construction vertex order) from the pieces.

SMPL = body piece + head piece + two hand pieces, each refined by edge bisection to fixed
vertex budgets (body junctions smoothed). SMPL-X = SMPL (vertices copied, same index) + the
head and hand pieces bisected further (new vertices appended, each exactly on an SMPL
triangle) + two eyeballs, with the mouth and eyelid strips removed. MANO is the SMPL-X right
hand piece (778 vertices), FLAME the SMPL-X head piece plus the eyeballs (5023 vertices).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from furpe_label.experts.bodymodels import specs
from furpe_label.experts.bodymodels.synthetic import skeleton as sk
from furpe_label.experts.bodymodels.synthetic.body import NECK_RING_SIZE, WRIST_RING_SIZE
from furpe_label.experts.bodymodels.synthetic.body import build_body_piece
from furpe_label.experts.bodymodels.synthetic.hand import build_hand_piece, mirror_hand
from furpe_label.experts.bodymodels.synthetic.head import (
    build_eyeball,
    build_head_piece,
    eyeball_center,
    slit_strip_faces,
)
from furpe_label.experts.bodymodels.synthetic.refine import (
    bisect_longest_edges,
    midpoint_rows,
    taubin_smooth,
)

EYEBALL_VERTICES = 10 * 20 + 2
HAND_SMPL = 400
"""Vertices of one hand piece (wrist ring included) in SMPL; MANO has 778."""
HEAD_SMPL = (specs.FLAME.n_vertices + 2 * specs.MANO.n_vertices) - (
    specs.SMPLX.n_vertices - specs.SMPL.n_vertices
) - 2 * HAND_SMPL
"""Vertices of the head piece (neck ring included) in SMPL, so that SMPL-X adds exactly the
vertices FLAME and MANO need (2194)."""
BODY_SMPL = (
    specs.SMPL.n_vertices - (HEAD_SMPL - NECK_RING_SIZE) - 2 * (HAND_SMPL - WRIST_RING_SIZE)
)
HEAD_SMPLX = specs.FLAME.n_vertices - 2 * EYEBALL_VERTICES


@dataclass
class Assembly:
    """Template meshes and the named vertex sets the rig is built from.

    All vertex ids are SMPL-X construction ids; SMPL vertex i is SMPL-X vertex i (i < 6890).

    Attributes:
        smpl_vertices: (6890, 3) metres; smpl_faces: (13776, 3).
        smplx_vertices: (10475, 3) metres; smplx_faces: (20908, 3).
        correspondence: (10475, 6890) sparse barycentric rows (zero rows: eyeballs).
        flame_ids: (5023,) SMPL-X ids of the FLAME vertices (FLAME order).
        flame_faces: (9976, 3) in FLAME ids; flame_face_ids: (9976,) their SMPL-X face ids.
        mano_ids / mano_faces: side -> (778,) SMPL-X ids / (1538, 3) MANO-local faces.
        rings: name -> SMPL-X ids of a vertex ring ("spine1", "knee_l", "index_2_r", ...).
        points: name -> one SMPL-X id ("nose", "ear_l", "tip_thumb_r", "pupil_l", ...).
        groups: name -> SMPL-X ids ("eyeball_l", "foot_r", "head", "hand_l", "slit_mouth"...).
        design: name -> (3,) designed joint positions used to fit regressors (metres).
    """

    smpl_vertices: np.ndarray
    smpl_faces: np.ndarray
    smplx_vertices: np.ndarray
    smplx_faces: np.ndarray
    correspondence: sp.csr_matrix
    flame_ids: np.ndarray
    flame_faces: np.ndarray
    flame_face_ids: np.ndarray
    mano_ids: dict[str, np.ndarray]
    mano_faces: dict[str, np.ndarray]
    rings: dict[str, np.ndarray] = field(default_factory=dict)
    points: dict[str, int] = field(default_factory=dict)
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    design: dict[str, np.ndarray] = field(default_factory=dict)


def _refine_piece(vertices, faces, n_smpl, n_smplx, protected, movable_base):
    """SMPL-level bisection (+ smoothing of junction/new vertices), then SMPL-X level."""
    v1, f1, _ = bisect_longest_edges(vertices, faces, n_smpl, protected)
    if movable_base is not None:
        movable = np.concatenate([movable_base, np.ones(len(v1) - len(vertices), bool)])
        v1 = taubin_smooth(v1, f1, movable)
    if n_smplx is None:
        return v1, f1, None, None
    v2, f2, parents = bisect_longest_edges(v1, f1, n_smplx, protected)
    return v1, f1, v2, f2, midpoint_rows(n_smpl, parents)


def build_assembly() -> Assembly:
    """Build every template mesh of the family (deterministic, about a second)."""
    body = build_body_piece()
    bv, bf, _, _ = _refine_piece(body.vertices, body.faces, BODY_SMPL, None, None, ~body.fixed)
    for tag in ("l", "r"):
        foot = body.groups[f"foot_{tag}"]
        bv[foot, 1] = np.maximum(bv[foot, 1], sk.FLOOR_Y)
    neck = body.rings["neck"]
    head = build_head_piece(bv[neck.ids], neck.angles)
    slit_ids = np.concatenate([np.concatenate(s) for s in head.slits.values()])
    protect = np.zeros(len(head.vertices), bool)
    protect[slit_ids] = True
    hv1, hf1, hv2, hf2, h_rows = _refine_piece(
        head.vertices, head.faces, HEAD_SMPL, HEAD_SMPLX, protect, None
    )
    wrist = body.rings["wrist_l"]
    hand_l = build_hand_piece(bv[wrist.ids], wrist.angles)
    movable = np.ones(len(hand_l.vertices), bool)
    movable[: len(hand_l.vertices) - 0] = False
    movable[_hand_junction_ids(hand_l)] = True
    lv1, lf1, lv2, lf2, l_rows = _refine_piece(
        hand_l.vertices, hand_l.faces, HAND_SMPL, specs.MANO.n_vertices, None, movable
    )
    return _combine(body, bv, bf, head, (hv1, hf1, hv2, hf2, h_rows), hand_l, (lv1, lf1, lv2, lf2, l_rows))


def _hand_junction_ids(hand) -> np.ndarray:
    ring_ids = np.concatenate([r.ids for r in hand.rings.values()])
    tips = np.array(list(hand.tips.values()))
    all_ids = np.arange(len(hand.vertices))
    fixed = np.zeros(len(hand.vertices), bool)
    fixed[ring_ids] = True
    fixed[tips] = True
    return all_ids[~fixed & (all_ids >= WRIST_RING_SIZE)]
