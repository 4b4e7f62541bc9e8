"""Assemble the SMPL and SMPL-X template meshes (construction vertex order) from the pieces.

SMPL = body piece + head piece + two hand pieces, each refined by edge bisection to fixed
vertex budgets (body and palm junctions smoothed). SMPL-X = SMPL (vertices copied, same
index) + the head and hand pieces bisected further (new vertices appended, each exactly on an
SMPL triangle) + two eyeballs, with the mouth and eyelid strips removed. MANO is the SMPL-X
right-hand piece (778 vertices), FLAME the SMPL-X head piece plus the eyeballs (5023).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from furpe_label.experts.bodymodels import specs
from furpe_label.experts.bodymodels.synthetic import skeleton as sk
from furpe_label.experts.bodymodels.synthetic.body import (
    NECK_RING_SIZE,
    WRIST_RING_SIZE,
    BodyPiece,
    build_body_piece,
)
from furpe_label.experts.bodymodels.synthetic.hand import HandPiece, build_hand_piece
from furpe_label.experts.bodymodels.synthetic.head import (
    HeadPiece,
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
HEAD_SMPL = (
    specs.FLAME.n_vertices
    + 2 * specs.MANO.n_vertices
    - (specs.SMPLX.n_vertices - specs.SMPL.n_vertices)
    - 2 * HAND_SMPL
)
"""Head piece (neck ring included) in SMPL: SMPL-X then adds exactly what FLAME/MANO need."""
BODY_SMPL = specs.SMPL.n_vertices - (HEAD_SMPL - NECK_RING_SIZE) - 2 * (HAND_SMPL - WRIST_RING_SIZE)
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
        groups: name -> SMPL-X ids ("eyeball_l", "foot_r", "slit_mouth_upper", ...).
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
    rings: dict[str, np.ndarray]
    points: dict[str, int]
    groups: dict[str, np.ndarray]
    design: dict[str, np.ndarray]


@dataclass
class _Refined:
    """A piece at SMPL level (first ``n_smpl`` vertices) and SMPL-X level.

    rows: (n_smplx, n_smpl) barycentric rows of every SMPL-X-level vertex.
    """

    vertices: np.ndarray
    smpl_faces: np.ndarray
    smplx_faces: np.ndarray
    n_smpl: int
    rows: sp.csr_matrix


def _refine(
    vertices: np.ndarray,
    faces: np.ndarray,
    n_smpl: int,
    n_smplx: int,
    protected: np.ndarray | None,
    movable: np.ndarray | None,
) -> _Refined:
    """Bisect a piece to ``n_smpl`` vertices, smooth its ``movable`` (and new) vertices, then
    bisect further to ``n_smplx`` (new vertices exactly on the SMPL-level triangles)."""
    v1, f1, _ = bisect_longest_edges(vertices, faces, n_smpl, protected)
    if movable is not None:
        move = np.concatenate([movable, np.ones(len(v1) - len(vertices), bool)])
        v1 = taubin_smooth(v1, f1, move)
    _, f2, parents = bisect_longest_edges(v1, f1, n_smplx, protected)
    rows = midpoint_rows(n_smpl, parents)  # vertices below: exactly rows @ v1
    return _Refined(rows @ v1, f1, f2, n_smpl, rows)


def _mirror(piece: _Refined) -> _Refined:
    return _Refined(
        sk.mirror_points(piece.vertices),
        piece.smpl_faces[:, ::-1].copy(),
        piece.smplx_faces[:, ::-1].copy(),
        piece.n_smpl,
        piece.rows,
    )


def _piece_map(boundary: np.ndarray, piece: _Refined, off_smpl: int, off_new: int) -> np.ndarray:
    """(n_smplx,) SMPL-X construction id of every vertex of a piece."""
    nb, ns = len(boundary), piece.n_smpl
    out = np.empty(len(piece.vertices), np.int64)
    out[:nb] = boundary
    out[nb:ns] = off_smpl + np.arange(ns - nb)
    out[ns:] = off_new + np.arange(len(piece.vertices) - ns)
    return out


def build_assembly() -> Assembly:
    """Build every template mesh of the family (deterministic)."""
    body = build_body_piece()
    bv, bf, _ = bisect_longest_edges(body.vertices, body.faces, BODY_SMPL)
    move = np.concatenate([~body.fixed, np.ones(len(bv) - len(body.vertices), bool)])
    bv = taubin_smooth(bv, bf, move)
    bv[:, 1] = np.maximum(bv[:, 1], sk.FLOOR_Y)
    neck = body.rings["neck"]
    head = build_head_piece(bv[neck.ids], neck.angles)
    protect = np.zeros(len(head.vertices), bool)
    for upper, lower in head.slits.values():
        protect[upper], protect[lower] = True, True
    head_r = _refine(head.vertices, head.faces, HEAD_SMPL, HEAD_SMPLX, protect, None)
    wrist = body.rings["wrist_l"]
    hand = build_hand_piece(bv[wrist.ids], wrist.angles)
    movable = np.zeros(len(hand.vertices), bool)
    movable[hand.junction] = True
    left = _refine(hand.vertices, hand.faces, HAND_SMPL, specs.MANO.n_vertices, None, movable)
    pieces = {"head": head_r, "hand_l": left, "hand_r": _mirror(left)}
    return _combine(body, bv, bf, head, hand, pieces)


def _combine(
    body: BodyPiece,
    bv: np.ndarray,
    bf: np.ndarray,
    head: HeadPiece,
    hand: HandPiece,
    pieces: dict[str, _Refined],
) -> Assembly:
    """Glue the refined body (bv (B, 3), bf (F, 3)), head and hand pieces and the eyeballs.

    SMPL-X faces are ordered body, head, left hand, right hand, left eye, right eye.
    """
    n_smpl, n_x = specs.SMPL.n_vertices, specs.SMPLX.n_vertices
    boundaries = {
        "head": body.rings["neck"].ids,
        "hand_l": body.rings["wrist_l"].ids,
        "hand_r": body.rings["wrist_r"].ids[::-1],
    }
    maps, off_s, off_x = {}, len(bv), n_smpl
    for name in ("head", "hand_l", "hand_r"):
        piece = pieces[name]
        maps[name] = _piece_map(boundaries[name], piece, off_s, off_x)
        off_s += piece.n_smpl - len(boundaries[name])
        off_x += len(piece.vertices) - piece.n_smpl
    if off_s != n_smpl or off_x != n_x - 2 * EYEBALL_VERTICES:
        raise AssertionError("vertex budgets of the pieces do not add up to the official counts")
    smplx = np.zeros((n_x, 3))
    smplx[: len(bv)] = bv
    smpl_faces, smplx_faces, triplets = [bf], [bf], []
    strips = slit_strip_faces(pieces["head"].smplx_faces, head.slits)
    for name, piece in pieces.items():
        m = maps[name]
        smplx[m] = piece.vertices
        smpl_faces.append(m[piece.smpl_faces])
        kept = piece.smplx_faces[~strips] if name == "head" else piece.smplx_faces
        smplx_faces.append(m[kept])
        coo = piece.rows[piece.n_smpl :].tocoo()
        triplets.append((m[piece.n_smpl + coo.row], m[coo.col], coo.data))
    eyes, groups, points = {}, {}, {}
    for side in ("l", "r"):
        center = eyeball_center(smplx, tuple(maps["head"][s] for s in head.slits[f"eye_{side}"]))
        ev, ef, pupil = build_eyeball(center)
        ids = off_x + np.arange(len(ev))
        smplx[ids] = ev
        smplx_faces.append(ids[ef])
        eyes[side], groups[f"eyeball_{side}"], points[f"pupil_{side}"] = ef, ids, int(ids[pupil])
        off_x += len(ev)
    rows = np.concatenate([np.arange(n_smpl)] + [t[0] for t in triplets])
    cols = np.concatenate([np.arange(n_smpl)] + [t[1] for t in triplets])
    vals = np.concatenate([np.ones(n_smpl)] + [t[2] for t in triplets])
    corr = sp.csr_matrix((vals, (rows, cols)), shape=(n_x, n_smpl))
    n_body_faces, n_head_faces = len(bf), int((~strips).sum())
    eye_face_start = sum(len(f) for f in smplx_faces[:4])
    n_eye = len(eyes["l"])
    flame_faces = np.concatenate(
        [
            pieces["head"].smplx_faces[~strips],
            eyes["l"] + HEAD_SMPLX,
            eyes["r"] + HEAD_SMPLX + EYEBALL_VERTICES,
        ]
    )
    flame_face_ids = np.concatenate(
        [n_body_faces + np.arange(n_head_faces), eye_face_start + np.arange(2 * n_eye)]
    )
    flame_ids = np.concatenate([maps["head"], groups["eyeball_l"], groups["eyeball_r"]])
    assembly = Assembly(
        smpl_vertices=smplx[:n_smpl].copy(),
        smpl_faces=np.concatenate(smpl_faces),
        smplx_vertices=smplx,
        smplx_faces=np.concatenate(smplx_faces),
        correspondence=corr,
        flame_ids=flame_ids,
        flame_faces=flame_faces,
        flame_face_ids=flame_face_ids,
        mano_ids={"left": maps["hand_l"], "right": maps["hand_r"]},
        mano_faces={"left": pieces["hand_l"].smplx_faces, "right": pieces["hand_r"].smplx_faces},
        rings={},
        points=points,
        groups=groups,
        design={},
    )
    _name_sets(assembly, body, head, hand, maps)
    return assembly


def _name_sets(
    a: Assembly, body: BodyPiece, head: HeadPiece, hand: HandPiece, maps: dict[str, np.ndarray]
) -> None:
    """Fill the named rings / points / groups / design joints (SMPL-X construction ids)."""
    a.rings.update({name: ring.ids for name, ring in body.rings.items()})
    a.rings["head"] = maps["head"][head.rings["head"].ids]
    for key in ("nose", "crown", "ear_l", "ear_r", "chin"):
        a.points[key] = int(maps["head"][head.points[key]])
    for name, (upper, lower) in head.slits.items():
        a.groups[f"slit_{name}_upper"] = maps["head"][upper]
        a.groups[f"slit_{name}_lower"] = maps["head"][lower]
    for tag in ("l", "r"):
        a.groups[f"foot_{tag}"] = body.groups[f"foot_{tag}"]
        a.groups[f"toe_ring_{tag}"] = body.groups[f"toe_ring_{tag}"]
        a.points[f"toe_apex_{tag}"] = int(body.groups[f"toe_apex_{tag}"][0])
        m = maps[f"hand_{tag}"]
        for name, ring in hand.rings.items():
            a.rings[f"{name}_{tag}"] = m[ring.ids]
        for finger, vid in hand.tips.items():
            a.points[f"tip_{finger}_{tag}"] = int(m[vid])
            a.points[f"pad_{finger}_{tag}"] = int(m[hand.pads[finger]])
        a.groups[f"hand_{tag}"] = m
        mirror = (lambda p: p) if tag == "l" else sk.mirror_points
        for key, value in hand.design.items():
            a.design[f"{key}_{tag}"] = mirror(value)
        a.design[f"collar_{tag}"] = mirror(sk.COLLAR_L)
    a.groups["head"] = a.flame_ids
    a.design["pelvis"], a.design["jaw"] = sk.PELVIS, sk.JAW_POINT
