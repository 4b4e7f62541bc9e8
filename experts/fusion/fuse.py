"""Fuse the part experts' outputs of N person instances into SMPL-X parameters.

* Body (SPIN): SMPL global orientation and joints 1..21 map 1:1 onto SMPL-X ``global_orient``
  and ``body_pose`` (SMPL's hand joints 22, 23 are dropped); the camera is SPIN's crop camera.
  Shape: SPIN's SMPL betas are not SMPL-X betas, so the caller passes SMPL-X ``betas`` (the
  shape transfer's result).
* Face (DECA): ``jaw_pose = pose[3:6]``; ``expression`` = the first 10 FLAME expression
  coefficients, all 50 kept in ``flame_expression``. DECA's head rotation ``pose[0:3]`` is
  stored for the audit; with ``head_from_face`` it replaces the body's head joint (PyMAF-X).
* Hands (FrankMocap): the 15 finger rotations become absolute (``flat_hand_mean=True``
  meaning: FrankMocap's pose relative to the mean hand plus the model's ``hands_meanl`` /
  ``hands_meanr``, added in axis-angle exactly as ``smplx`` does); the wrist follows the
  configured rule (:mod:`.wrists`).
* A part that is not usable keeps the body's rotations and neutral values (mean hand, zero
  jaw and expression) and is marked in ``part_valid``; without a usable body no part is placed
  (decided here only; the shard runner passes its masks as they are).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
import torch

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.fusion.config import FusionConfig
from furpe_label.experts.fusion.head import (
    head_global_from_deca,
    head_local_from_face,
    rotation_angle,
)
from furpe_label.experts.fusion.inputs import fused_array, usable_parts
from furpe_label.experts.fusion.kinematics import (
    HEAD,
    LEFT_WRIST,
    NECK,
    NUM_BODY_JOINTS,
    RIGHT_WRIST,
    SmplxRig,
)
from furpe_label.experts.fusion.wrists import integrate_wrists
from furpe_label.experts.geometry.kinematics import global_rotations
from furpe_label.experts.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from furpe_label.experts.vocabulary import Part

__all__ = ["SMPLX_EXPRESSION_COEFFS", "FusedSmplx", "fuse_parts"]

SMPLX_EXPRESSION_COEFFS = 10
"""SMPL-X ``expression`` length: the first FLAME expression coefficients."""

_LABEL_FIELDS = (
    "global_orient",
    "body_pose",
    "betas",
    "jaw_pose",
    "leye_pose",
    "reye_pose",
    "left_hand_pose",
    "right_hand_pose",
    "expression",
)


@dataclass(frozen=True)
class FusedSmplx:
    """SMPL-X labels of N instances (float32 numpy; axis-angle radians; smplx names).

    Attributes:
        global_orient: (N, 3) root rotation, body camera frame (x right, y down).
        body_pose: (N, 21, 3) SMPL-X body joints 1..21, local.
        betas: (N, B) SMPL-X shape (as passed in).
        jaw_pose, leye_pose, reye_pose: (N, 3) local; eyes are always 0 (no eye expert).
        left_hand_pose, right_hand_pose: (N, 15, 3) ABSOLUTE finger rotations (drive ``smplx``
            with ``flat_hand_mean=True``); the mean hand where the hand is suppressed.
        expression: (N, 10) SMPL-X expression = first 10 FLAME coefficients.
        flame_expression: (N, 50) all DECA FLAME expression coefficients.
        camera: (N, 3) SPIN weak-perspective ``[s, tx, ty]`` in the body crop's [-1, 1] frame.
        part_valid: (N, 4) bool labels usable (body, face, left hand, right hand).
        hand_suppressed: (N, 2) bool (left, right): the hand label was not fused (mean hand,
            body wrist), because the hand or the body was not usable.
        face_head_pose: (N, 3) DECA ``pose[0:3]`` as predicted (DECA camera frame, y up);
            NaN where the face is not usable. Audit only.
        head_disagreement_rad: (N,) angle between the body's and the face's global head
            rotations (both in the body camera frame); NaN where the face is not usable.
        wrist_disagreement_rad: (N, 2) angle between the body expert's wrist global rotation
            and the hand expert's hand rotation; NaN where the hand is not used.
        wrist_twist_excess_rad: (N, 2) twist moved from wrist to elbow (``adaptive``), else 0.
        wrist_rule: the rule used; head_from_face: whether the head came from the face.
    """

    global_orient: np.ndarray
    body_pose: np.ndarray
    betas: np.ndarray
    jaw_pose: np.ndarray
    leye_pose: np.ndarray
    reye_pose: np.ndarray
    left_hand_pose: np.ndarray
    right_hand_pose: np.ndarray
    expression: np.ndarray
    flame_expression: np.ndarray
    camera: np.ndarray
    part_valid: np.ndarray
    hand_suppressed: np.ndarray
    face_head_pose: np.ndarray
    head_disagreement_rad: np.ndarray
    wrist_disagreement_rad: np.ndarray
    wrist_twist_excess_rad: np.ndarray
    wrist_rule: str
    head_from_face: bool

    flat_hand_mean: ClassVar[bool] = True
    """Hand poses are absolute finger rotations (``smplx``'s ``flat_hand_mean=True``)."""

    def __len__(self) -> int:
        return int(self.global_orient.shape[0])

    def smplx_params(self) -> dict[str, np.ndarray]:
        """The label arrays by ``smplx`` keyword (for a layer built with flat_hand_mean=True)."""
        return {name: getattr(self, name) for name in _LABEL_FIELDS}

    def take(self, rows: np.ndarray | slice) -> FusedSmplx:
        """The selected rows only (indices, bool mask or slice)."""
        values = {}
        for field in fields(self):
            value = getattr(self, field.name)
            values[field.name] = value[rows] if isinstance(value, np.ndarray) else value
        return FusedSmplx(**values)


def _tensor(array: np.ndarray, keep: np.ndarray, fill: torch.Tensor | float = 0.0) -> torch.Tensor:
    """float64 tensor of ``array`` with rows where ``keep`` is False replaced by ``fill``."""
    out = torch.from_numpy(np.asarray(array, dtype=np.float64))
    mask = torch.from_numpy(keep).reshape(-1, *([1] * (out.ndim - 1)))
    return torch.where(mask, out, torch.as_tensor(fill, dtype=torch.float64))


def _f32(x: torch.Tensor) -> np.ndarray:
    return x.numpy().astype(np.float32)


def fuse_parts(
    experts: ExpertOutputs,
    betas: np.ndarray,
    rig: SmplxRig,
    config: FusionConfig | None = None,
    usable: np.ndarray | None = None,
) -> FusedSmplx:
    """Merge the part outputs of N instances into SMPL-X parameters (batched, CPU).

    Args:
        experts: the expert stage's output for N instances (:class:`ExpertOutputs`).
        betas: (N, rig.num_betas) SMPL-X shape coefficients (from the shape transfer); with
            the expression they shape the rest joints, whose elbow->wrist bone is the twist
            axis of the ``adaptive`` rule (PyMAF-X: the shaped T-pose joints).
        rig: the SMPL-X rig (kinematic tree, shaped rest joints, mean hands).
        config: the merge rules (default :class:`FusionConfig`).
        usable: (N, 4) bool rows to merge per part (default: every expert output); checked
            by :func:`~.inputs.usable_parts`. This is where "no usable body, no part" is
            decided: rows without a usable body place no part.

    Returns:
        :class:`FusedSmplx` with N rows, row-aligned with ``experts``.
    """
    config = config or FusionConfig()
    n = len(experts)
    betas = np.asarray(betas)
    if betas.shape != (n, rig.num_betas):
        raise ValueError(f"betas must have shape ({n}, {rig.num_betas}), got {betas.shape}")
    valid = usable_parts(experts, usable)
    body_ok = valid[:, Part.BODY.column]
    bad = np.flatnonzero(body_ok & ~np.isfinite(betas).all(axis=1))
    if len(bad):
        raise ValueError(f"betas of usable bodies are not finite in rows {bad[:10].tolist()}")
    valid[~body_ok] = False  # without a body no part can be placed
    face_ok = valid[:, Part.FACE.column]
    hands_ok = valid[:, [Part.LEFT_HAND.column, Part.RIGHT_HAND.column]]

    eye = torch.eye(3, dtype=torch.float64)
    body_rotmats = fused_array(experts, Part.BODY, "rotmats")
    body_local = _tensor(body_rotmats[:, :NUM_BODY_JOINTS], body_ok, eye)
    body_global = global_rotations(body_local, rig.parents)
    hands = (Part.LEFT_HAND, Part.RIGHT_HAND)
    hand_poses = np.stack([fused_array(experts, hand, "pose") for hand in hands], 1)  # (N, 2, 48)
    hand_poses = torch.where(
        torch.from_numpy(hands_ok)[..., None], torch.from_numpy(hand_poses.astype(np.float64)), 0.0
    )
    hand_global = axis_angle_to_matrix(hand_poses[..., :3])  # (N, 2, 3, 3)
    betas_t = _tensor(betas, body_ok)
    flame_expression = _tensor(fused_array(experts, Part.FACE, "expression"), face_ok)
    expression = flame_expression[:, : min(SMPLX_EXPRESSION_COEFFS, rig.num_expression)]
    rest = rig.rest_joints(betas_t, expression)  # the joints smplx poses for these labels
    axes = torch.stack(
        [rig.bone_direction(rest, LEFT_WRIST), rig.bone_direction(rest, RIGHT_WRIST)], dim=1
    )
    hands_use = torch.from_numpy(hands_ok)
    wrists = integrate_wrists(
        body_local, body_global, hand_global, hands_use, axes, config.wrist, config.twist_limit_rad
    )
    local = wrists.body_local

    face_t = torch.from_numpy(face_ok)
    face_pose = _tensor(fused_array(experts, Part.FACE, "pose"), face_ok)
    head_face_global = head_global_from_deca(face_pose[:, :3])
    if config.head_from_face:
        head_local = head_local_from_face(body_global[:, NECK], face_pose[:, :3])
        local = local.clone()
        local[:, HEAD] = torch.where(face_t[:, None, None], head_local, local[:, HEAD])
    nan = torch.tensor(float("nan"), dtype=torch.float64)
    head_angle = torch.where(face_t, rotation_angle(body_global[:, HEAD], head_face_global), nan)
    body_wrists = body_global[:, [LEFT_WRIST, RIGHT_WRIST]]
    wrist_angle = torch.where(hands_use, rotation_angle(body_wrists, hand_global), nan)

    pose = matrix_to_axis_angle(local)  # (N, 22, 3)
    means = torch.stack([rig.left_hand_mean, rig.right_hand_mean])  # (2, 15, 3)
    fingers = hand_poses[..., 3:].reshape(n, 2, 15, 3) + means  # relative 0 where suppressed
    zeros3 = np.zeros((n, 3), np.float32)
    return FusedSmplx(
        global_orient=_f32(pose[:, 0]),
        body_pose=_f32(pose[:, 1:]),
        betas=_f32(betas_t),
        jaw_pose=_f32(face_pose[:, 3:]),
        leye_pose=zeros3,
        reye_pose=zeros3.copy(),
        left_hand_pose=_f32(fingers[:, 0]),
        right_hand_pose=_f32(fingers[:, 1]),
        expression=_f32(flame_expression[:, :SMPLX_EXPRESSION_COEFFS]),
        flame_expression=_f32(flame_expression),
        camera=_f32(_tensor(fused_array(experts, Part.BODY, "camera"), body_ok)),
        part_valid=valid,
        hand_suppressed=~hands_ok,
        face_head_pose=_f32(torch.where(face_t[:, None], face_pose[:, :3], nan)),
        head_disagreement_rad=_f32(head_angle),
        wrist_disagreement_rad=_f32(wrist_angle),
        wrist_twist_excess_rad=_f32(wrists.twist_excess),
        wrist_rule=config.wrist,
        head_from_face=config.head_from_face,
    )
