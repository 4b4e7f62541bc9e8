"""The body piece of the synthetic template: torso, legs with feet, arms up to the wrists.

Tubes of super-elliptic rings follow the designed skeleton (:mod:`skeleton`); hips,
shoulders and feet are convex-hull junctions (:class:`surface.MeshBuilder.hull`). The piece
is open at the neck ring (30 vertices, where the head piece starts) and at the two wrist rings
(16 vertices, where the hand pieces start). Right limbs mirror the left ones (x -> -x), so the
right ring vertex k is the mirror of the left ring vertex n-1-k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from furpe_label.experts.bodymodels.synthetic import skeleton as sk
from furpe_label.experts.bodymodels.synthetic.surface import MeshBuilder, Ring

NECK_RING_SIZE = 30
WRIST_RING_SIZE = 16
_X = np.array([1.0, 0.0, 0.0])
_Y = np.array([0.0, 1.0, 0.0])
_Z = np.array([0.0, 0.0, 1.0])
_M = np.array([-1.0, 1.0, 1.0])


@dataclass
class BodyPiece:
    """Open body surface plus the named rings other pieces and the rig attach to.

    Attributes:
        vertices: (V, 3) metres.
        faces: (F, 3) outward triangles.
        rings: name -> Ring (e.g. "neck", "wrist_l", "knee_r", "spine2", "foot_l").
        groups: name -> (k,) vertex ids ("foot_l", "foot_r", "toe_apex_l", ...).
        fixed: (V,) True where smoothing must not move a vertex (all but junction points).
    """

    vertices: np.ndarray
    faces: np.ndarray
    rings: dict[str, Ring]
    groups: dict[str, np.ndarray]
    fixed: np.ndarray


def _interp(x: float, xs: list[float], ys: list[float]) -> float:
    order = np.argsort(xs)
    return float(np.interp(x, np.asarray(xs)[order], np.asarray(ys)[order]))


def _side(points: np.ndarray, left: bool) -> np.ndarray:
    return np.asarray(points, dtype=np.float64) * (1.0 if left else _M)


def _torso(b: MeshBuilder, rings: dict[str, Ring]) -> list[Ring]:
    ys = [-0.20, -0.175, -0.15, -0.13, -0.105, -0.08, -0.055, -0.03, -0.005, 0.01, 0.035]
    ys += [0.055, 0.07, 0.095, 0.12]
    key_y = [-0.20, -0.13, -0.07, 0.0, 0.07, 0.12]
    half_x = [0.165, 0.15, 0.138, 0.142, 0.152, 0.158]
    half_z = [0.105, 0.098, 0.094, 0.098, 0.105, 0.108]
    center_z = [0.0, 0.0, 0.0, 0.005, 0.01, 0.01]
    out = []
    for y in ys:
        center = np.array([0.0, y, _interp(y, key_y, center_z)])
        radii = (_interp(y, key_y, half_z), _interp(y, key_y, half_x))
        out.append(b.ring(center, _Y, _Z, radii, 48, exponent=2.4))
    b.tube(out)
    for name, y in zip(("spine1", "spine2", "spine3"), sk.SPINE_Y, strict=True):
        rings[name] = out[ys.index(y)]
    rings["torso_bottom"], rings["torso_top"] = out[0], out[-1]
    return out


def _leg(b: MeshBuilder, left: bool, rings: dict[str, Ring], tag: str) -> tuple[Ring, Ring]:
    """Thigh to ankle; returns (tilted hip ring, ankle ring)."""
    tilt = np.radians(25.0)
    hip = _side(sk.HIP_L, left)
    hip_axis = _side(np.array([np.sin(tilt), -np.cos(tilt), 0.0]), left)
    out = [b.ring(hip, hip_axis, _Z, (0.085, 0.080), 24)]
    key_y = [-0.32, -0.40, -0.52, -0.64, -0.70, -0.72, -0.76, -0.84, -0.92, -1.0, -1.045]
    half_x = [0.080, 0.075, 0.066, 0.054, 0.050, 0.049, 0.048, 0.052, 0.045, 0.034, 0.032]
    half_z = [0.085, 0.080, 0.070, 0.057, 0.053, 0.052, 0.052, 0.058, 0.048, 0.036, 0.036]
    dz = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.004, -0.01, -0.008, -0.004, 0.0]
    ys = [*list(np.round(np.arange(-0.40, -0.70, -0.022), 4)), -0.72]
    ys += [*list(np.round(np.arange(-0.745, -1.03, -0.022), 4)), -1.045]
    joints_y = [sk.HIP_L[1], sk.KNEE_L[1], sk.ANKLE_L[1]]
    centers = []
    for y in ys:
        x = _interp(y, joints_y, [sk.HIP_L[0], sk.KNEE_L[0], sk.ANKLE_L[0]])
        z = _interp(y, joints_y, [sk.HIP_L[2], sk.KNEE_L[2], sk.ANKLE_L[2] + 0.005])
        centers.append(np.array([x, y, z + _interp(y, key_y, dz)]))
    for k, (y, c) in enumerate(zip(ys, centers, strict=True)):
        nxt = centers[min(k + 1, len(ys) - 1)]
        prv = centers[max(k - 1, 0)]
        axis = nxt - prv if k > 0 else nxt - c
        radii = (_interp(y, key_y, half_z), _interp(y, key_y, half_x))
        out.append(b.ring(_side(c, left), _side(axis, left), _Z, radii, 24))
    b.tube(out)
    rings[f"hip_{tag}"], rings[f"ankle_{tag}"] = out[0], out[-1]
    rings[f"knee_{tag}"] = out[ys.index(-0.72) + 1]
    return out[0], out[-1]


def _foot(b: MeshBuilder, ankle: Ring, left: bool, rings: dict, groups: dict, tag: str) -> None:
    xc = sk.FOOT_L[0]
    xa = sk.ANKLE_L[0]
    front = b.ring(_side(sk.FOOT_L, left), _Z, _Y, (0.024, 0.045), 16, exponent=2.6)
    toe1 = b.ring(_side([xc, -1.108, 0.127], left), _Z, _Y, (0.0216, 0.0405), 16, exponent=2.6)
    toe2 = b.ring(_side([xc, -1.1125, 0.149], left), _Z, _Y, (0.0145, 0.031), 16, exponent=2.4)
    b.tube([front, toe1, toe2])
    apex = b.cap(toe2, _side(sk.TOE_TIP_L, left))
    floor = sk.FLOOR_Y
    extra = [
        [xa + 0.021, floor + 0.002, -0.058],
        [xa - 0.021, floor + 0.002, -0.058],
        [xa, floor + 0.005, -0.079],
        [xa + 0.018, floor + 0.03, -0.077],
        [xa - 0.018, floor + 0.03, -0.077],
        [xa, floor + 0.06, -0.071],
        [xa + 0.037, floor + 0.001, 0.02],
        [xa - 0.029, floor + 0.001, 0.02],
        [xc + 0.044, floor + 0.001, 0.072],
        [xc - 0.040, floor + 0.001, 0.072],
        [xa, -1.062, 0.045],
        [xc + 0.031, -1.085, 0.062],
        [xc - 0.030, -1.080, 0.062],
        [xa + 0.037, -1.062, -0.028],
        [xa - 0.035, -1.058, -0.028],
    ]
    extra_ids = b.hull([ankle, front], _side(np.array(extra), left))
    rings[f"foot_{tag}"] = front
    foot_ids = [front.ids, toe1.ids, toe2.ids, [apex], extra_ids]
    groups[f"foot_{tag}"] = np.concatenate([np.asarray(i) for i in foot_ids])
    groups[f"toe_apex_{tag}"] = np.array([apex])
    groups[f"toe_ring_{tag}"] = toe1.ids


def _arm(b: MeshBuilder, left: bool, rings: dict[str, Ring], tag: str) -> Ring:
    """Shoulder ring to wrist ring; returns the shoulder ring."""
    key_x = [0.19, 0.25, 0.33, 0.40, 0.44, 0.50, 0.56, 0.63, 0.70]
    half_y = [0.055, 0.047, 0.042, 0.038, 0.036, 0.039, 0.035, 0.026, 0.019]
    half_z = [0.052, 0.046, 0.042, 0.038, 0.037, 0.042, 0.038, 0.032, 0.028]
    joints_x = [sk.SHOULDER_L[0], sk.ELBOW_L[0], sk.WRIST_L[0]]
    xs = [0.19, *list(np.round(np.arange(0.215, 0.44, 0.0225), 4)), 0.44]
    xs += [*list(np.round(np.arange(0.4625, 0.70, 0.0225), 4)), 0.70]
    out = []
    for x in xs:
        y = _interp(x, joints_x, [sk.SHOULDER_L[1], sk.ELBOW_L[1], sk.WRIST_L[1]])
        z = _interp(x, joints_x, [sk.SHOULDER_L[2], sk.ELBOW_L[2], sk.WRIST_L[2]])
        n = 20 if x < 0.575 else WRIST_RING_SIZE
        radii = (_interp(x, key_x, half_y), _interp(x, key_x, half_z))
        out.append(b.ring(_side([x, y, z], left), _side(_X, left), _Y, radii, n))
    b.tube(out)
    rings[f"shoulder_{tag}"] = out[0]
    rings[f"elbow_{tag}"] = out[xs.index(0.44)]
    rings[f"wrist_{tag}"] = out[-1]
    return out[0]


def build_body_piece() -> BodyPiece:
    """Build the open body surface (deterministic, no randomness)."""
    b = MeshBuilder()
    rings: dict[str, Ring] = {}
    groups: dict[str, np.ndarray] = {}
    torso = _torso(b, rings)
    hips, ankles = {}, {}
    for left, tag in ((True, "l"), (False, "r")):
        hips[tag], ankles[tag] = _leg(b, left, rings, tag)
    pelvis_extra = []
    for s in (1.0, -1.0):
        pelvis_extra += [
            [s * 0.085, -0.30, -0.118],
            [s * 0.05, -0.33, -0.10],
            [s * 0.07, -0.27, 0.097],
            [s * 0.162, -0.255, 0.0],
        ]
    pelvis_extra += [[0.0, -0.352, 0.035], [0.0, -0.352, -0.04], [0.0, -0.30, 0.085]]
    b.hull([torso[0], hips["l"], hips["r"]], np.array(pelvis_extra))
    for left, tag in ((True, "l"), (False, "r")):
        _foot(b, ankles[tag], left, rings, groups, tag)
    neck = b.ring(sk.NECK, _Y, _Z, (0.058, 0.055), NECK_RING_SIZE)
    rings["neck"] = neck
    arm_rings = [_arm(b, left, rings, tag) for left, tag in ((True, "l"), (False, "r"))]
    shoulder_extra = []
    for s in (1.0, -1.0):
        shoulder_extra += [
            [s * 0.165, 0.262, -0.015],
            [s * 0.12, 0.268, -0.022],
            [s * 0.075, 0.274, -0.03],
            [s * 0.09, 0.185, 0.112],
            [s * 0.10, 0.20, -0.104],
            [s * 0.152, 0.150, 0.072],
            [s * 0.152, 0.150, -0.082],
        ]
    shoulder_extra += [[0.0, 0.19, 0.104], [0.0, 0.215, -0.092]]
    b.hull([torso[-1], neck, *arm_rings], np.array(shoulder_extra))
    vertices, faces = b.arrays()
    fixed = np.ones(len(vertices), dtype=bool)
    fixed[b.junction_ids] = False
    for tag in ("l", "r"):  # keep the heel and the flat sole where they were designed
        foot = groups[f"foot_{tag}"]
        sole = foot[(vertices[foot, 1] < sk.FLOOR_Y + 0.04) & (vertices[foot, 2] < 0.08)]
        fixed[sole] = True
    return BodyPiece(vertices, faces, rings, groups, fixed)
