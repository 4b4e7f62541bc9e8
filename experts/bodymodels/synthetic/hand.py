"""The hand piece (built as the LEFT hand; the right hand is its mirror image).

Hand frame at rest (T-pose, left hand): fingers along +x, back of the hand +y (palm faces
down), thumb side +z (front). The palm is the convex hull of the wrist ring, the four finger
base rings (on a knuckle arc, so each ring plane supports the hull), a thumb stub ring on the
front of the palm and a few shaping points. Fingers are tubes of 8-vertex rings closed by a
tip apex; the thumb leaves its stub forwards and bends towards the fingers (opposed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from furpe_label.experts.bodymodels.synthetic import skeleton as sk
from furpe_label.experts.bodymodels.synthetic.surface import MeshBuilder, Ring

_Y = np.array([0.0, 1.0, 0.0])
KNUCKLE_RADIUS = 0.12
FINGER_SPECS = {
    # name: (spread angle (rad), length MCP->tip, base radius) -- all metres
    "index": (0.25, 0.080, 0.0088),
    "middle": (0.083, 0.088, 0.0090),
    "pinky": (-0.25, 0.066, 0.0075),
    "ring": (-0.083, 0.083, 0.0085),
}
THUMB = {  # offsets from the wrist joint, metres
    "stub": np.array([0.035, -0.008, 0.057]),
    "cmc": np.array([0.022, -0.006, 0.030]),
    "mcp": np.array([0.056, -0.018, 0.067]),
    "ip": np.array([0.083, -0.026, 0.077]),
    "tip": np.array([0.108, -0.032, 0.082]),
}
THUMB_STUB_AXIS = np.array([0.25, -0.3, 0.92]) / np.linalg.norm([0.25, -0.3, 0.92])
FINGER_RING = 8


@dataclass
class HandPiece:
    """Open hand surface; boundary = the wrist ring (local vertices 0..15).

    Attributes:
        vertices: (V, 3) metres.
        faces: (F, 3) outward triangles.
        rings: "wrist", "<finger>_<k>" (k = 1, 2, 3: ring at joint k), "thumb_stub".
        tips: finger -> local vertex id of the tip apex (order skeleton.FINGERS).
        pads: finger -> local vertex id on the palmar side of the last ring before the tip.
        design: name -> (3,) designed joint / tip positions (e.g. "thumb_1", "index_tip").
        junction: (k,) ids of the palm shaping points (the only vertices smoothing moves).
    """

    vertices: np.ndarray
    faces: np.ndarray
    rings: dict[str, Ring]
    tips: dict[str, int]
    pads: dict[str, int]
    design: dict[str, np.ndarray]
    junction: np.ndarray


class _Parts:
    """Named rings, tips, pads and designed joints collected while building a hand."""

    def __init__(self) -> None:
        self.rings: dict[str, Ring] = {}
        self.tips: dict[str, int] = {}
        self.pads: dict[str, int] = {}
        self.design: dict[str, np.ndarray] = {}


def _finger(
    b: MeshBuilder, joints: list[np.ndarray], radii: list[float], name: str, out: _Parts
) -> Ring:
    """Tube of 8-vertex rings through (3,) ``joints`` (base, j2, j3, tip), radii in metres.

    Records the rings at the 3 joints, the tip apex and a pad vertex in ``out``; returns the
    base ring (closed by the palm hull).
    """
    base, j2, j3, tip = joints
    stops = [
        (base, j2 - base, radii[0], 1),
        (0.5 * (base + j2), j2 - base, 0.5 * (radii[0] + radii[1]), None),
        (j2, j3 - base, radii[1], 2),
        (0.5 * (j2 + j3), j3 - j2, 0.5 * (radii[1] + radii[2]), None),
        (j3, tip - j2, radii[2], 3),
        (j3 + 0.45 * (tip - j3), tip - j3, 0.95 * radii[2], None),
        (j3 + 0.78 * (tip - j3), tip - j3, 0.72 * radii[2], None),
    ]
    rings = []
    for center, axis, r, joint in stops:
        ring = b.ring(center, axis, _Y, (0.86 * r, r), FINGER_RING, exponent=2.2)
        rings.append(ring)
        if joint is not None:
            out.rings[f"{name}_{joint}"] = ring
    b.tube(rings)
    out.tips[name] = b.cap(rings[-1], tip)
    out.pads[name] = int(rings[-1].ids[FINGER_RING // 2 - 1])
    return rings[0]


def build_hand_piece(wrist: np.ndarray, wrist_angles: np.ndarray) -> HandPiece:
    """Build the left hand on a wrist ring of (16, 3) points and angles (16,) (axis +x)."""
    b = MeshBuilder()
    parts = _Parts()
    wrist_ring = b.ring_from_ids(b.add(wrist), wrist_angles, np.array([1.0, 0.0, 0.0]))
    parts.rings["wrist"] = wrist_ring
    w = sk.WRIST_L
    bases = []
    for name in ("index", "middle", "ring", "pinky"):
        spread, length, r0 = FINGER_SPECS[name]
        d = np.array([np.cos(spread), 0.0, np.sin(spread)])
        mcp = w + np.array([0.095 - KNUCKLE_RADIUS * (1 - np.cos(spread)), 0.0, 0.0])
        mcp[2] += KNUCKLE_RADIUS * np.sin(spread)
        joints = [mcp, mcp + 0.46 * length * d, mcp + 0.75 * length * d, mcp + length * d]
        for k, joint in enumerate(joints):
            parts.design[f"{name}_{k + 1}" if k < 3 else f"{name}_tip"] = joint
        bases.append(_finger(b, joints, [r0, 0.9 * r0, 0.82 * r0], name, parts))
    stub_center = w + THUMB["stub"]
    stub = b.ring(stub_center, THUMB_STUB_AXIS, _Y, (0.0115, 0.0115), FINGER_RING)
    parts.rings["thumb_stub"] = stub
    mcp, ip, tip = w + THUMB["mcp"], w + THUMB["ip"], w + THUMB["tip"]
    bend_axis = THUMB_STUB_AXIS + (ip - mcp) / np.linalg.norm(ip - mcp)
    bend = b.ring(0.5 * (stub_center + mcp), bend_axis, _Y, (0.0108, 0.0112), FINGER_RING)
    rest = _finger(b, [mcp, ip, 0.5 * (ip + tip), tip], [0.0105, 0.0095, 0.0085], "thumb", parts)
    # _finger named the rings at (mcp, ip, ...) thumb_1, thumb_2: shift to SMPL-X's numbering
    # (thumb1 = carpo-metacarpal joint inside the palm, thumb2 = MCP, thumb3 = IP)
    r = parts.rings
    r["thumb_2"], r["thumb_3"] = r.pop("thumb_1"), r.pop("thumb_2")
    b.tube([stub, bend, rest])
    for key, value in (("thumb_1", THUMB["cmc"]), ("thumb_2", THUMB["mcp"])):
        parts.design[key] = w + value
    parts.design["thumb_3"], parts.design["thumb_tip"] = ip, tip
    extra = [
        [0.02, 0.017, 0.022],
        [0.02, 0.017, -0.022],
        [0.05, 0.017, 0.025],
        [0.05, 0.017, -0.03],
        [0.075, 0.016, 0.02],
        [0.075, 0.016, -0.022],
        [0.075, 0.017, 0.0],
        [0.045, 0.018, 0.0],
        [0.02, -0.017, -0.02],
        [0.045, -0.02, -0.03],
        [0.045, -0.017, 0.0],
        [0.075, -0.017, 0.02],
        [0.075, -0.017, -0.022],
        [0.075, -0.018, 0.0],
        [0.04, 0.0, -0.04],
        [0.07, 0.0, -0.041],
        [0.075, 0.0, 0.036],
        [0.02, -0.017, 0.02],
    ]
    junction = b.hull([wrist_ring, *bases, stub], w + np.array(extra))
    vertices, faces = b.arrays()
    return HandPiece(vertices, faces, parts.rings, parts.tips, parts.pads, parts.design, junction)
