"""Test double: an expert stage output (:class:`ExpertOutputs`) built from given arrays.

Builds the records the expert stage would hold (expert name ``"double"``, no features) so the
tests of step 2 and fusion can hand in chosen parameter values. Nothing here is a real expert
output.
"""

from __future__ import annotations

import numpy as np

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.records import BodyParams, ExpertRecord, FaceParams, HandParams
from furpe_label.experts.vocabulary import Part, Reason


def _or_zeros(value: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    return np.zeros(shape, np.float32) if value is None else value


def expert_outputs(
    n: int,
    *,
    body_rotmats: np.ndarray | None = None,
    body_betas: np.ndarray | None = None,
    face_pose: np.ndarray | None = None,
    face_expression: np.ndarray | None = None,
    face_shape: np.ndarray | None = None,
    left_hand_pose: np.ndarray | None = None,
    right_hand_pose: np.ndarray | None = None,
    cameras: np.ndarray | None = None,
    reasons: np.ndarray | None = None,
) -> ExpertOutputs:
    """N rows of expert outputs; the arrays are held as given (tests may edit them in place).

    Args:
        body_rotmats: (N, 24, 3, 3) (default: identities); body_betas: (N, 10) (default 0).
        face_pose: (N, 6); face_expression: (N, 50); face_shape: (N, 100) (default 0).
        left_hand_pose, right_hand_pose: (N, 48) (default 0).
        cameras: (N, 4, 3) each part's crop camera in :class:`Part` order (default
            ``[1, 0, 0]``).
        reasons: (N, 4) :class:`Reason` members or strings (default all ``ok``).
    """
    if body_rotmats is None:
        body_rotmats = np.tile(np.eye(3, dtype=np.float32), (n, 24, 1, 1))
    if cameras is None:
        cameras = np.tile(np.float32([1.0, 0.0, 0.0]), (n, len(Part), 1))
    params = {
        Part.BODY: BodyParams(body_rotmats, _or_zeros(body_betas, (n, 10))),
        Part.FACE: FaceParams(
            shape=_or_zeros(face_shape, (n, 100)),
            expression=_or_zeros(face_expression, (n, 50)),
            pose=_or_zeros(face_pose, (n, 6)),
            tex=np.zeros((n, 50), np.float32),
            light=np.zeros((n, 9, 3), np.float32),
        ),
        Part.LEFT_HAND: HandParams(
            _or_zeros(left_hand_pose, (n, 48)), np.zeros((n, 10), np.float32), np.ones(n, bool)
        ),
        Part.RIGHT_HAND: HandParams(
            _or_zeros(right_hand_pose, (n, 48)), np.zeros((n, 10), np.float32), np.zeros(n, bool)
        ),
    }
    out = ExpertOutputs.empty(n, [Reason.OK] * n)
    out.reason = np.full((n, len(Part)), Reason.OK, dtype=object)
    if reasons is not None:
        out.reason = np.array(reasons, dtype=object)
    for part, part_params in params.items():
        camera = np.asarray(cameras[:, part.column], dtype=np.float32)
        out.records[part] = ExpertRecord(part, "double", part_params, camera, None, "")
        out.experts[part] = ("double", "")
    return out
