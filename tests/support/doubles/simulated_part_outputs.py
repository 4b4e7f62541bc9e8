"""Test double: simulated part-expert outputs (SPIN / DECA / FrankMocap layouts) for fusion.

Rows look like real expert outputs: a body facing the camera (SPIN's global orientation is a
half turn about x for an upright person, y down), moderate local rotations, hand global
rotations near the body's wrists with a controllable extra twist about the forearm, DECA head
rotations near the body's head (in DECA's y-up camera frame), and finger poses relative to the
mean hand. Nothing here is a real network output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.fusion.head import DECA_TO_BODY_CAMERA
from furpe_label.experts.fusion.kinematics import (
    HEAD,
    LEFT_ELBOW,
    LEFT_WRIST,
    RIGHT_ELBOW,
    RIGHT_WRIST,
    SmplxRig,
)
from furpe_label.experts.geometry.kinematics import global_rotations
from furpe_label.experts.geometry.rotations import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    rotation_about_axis,
)
from furpe_label.experts.vocabulary import Part, Reason
from tests.support.doubles.expert_outputs import expert_outputs

UPRIGHT = np.array([np.pi, 0.0, 0.0])  # SMPL global orientation of a person facing the camera


@dataclass(frozen=True)
class SimulatedParts:
    """The simulated values fusion reads, as flat (N, ...) float32 arrays, and their expert
    stage output (:attr:`outputs`: reason ``ok`` where ``part_valid``).

    Attributes:
        body_rotmats: (N, 24, 3, 3); body_camera: (N, 3) SPIN ``[s, tx, ty]``.
        face_pose: (N, 6) DECA axis-angle; face_expression: (N, 50).
        left_hand_pose, right_hand_pose: (N, 48) FrankMocap axis-angle.
        part_valid: (N, 4) bool usable parts.
    """

    body_rotmats: np.ndarray
    body_camera: np.ndarray
    face_pose: np.ndarray
    face_expression: np.ndarray
    left_hand_pose: np.ndarray
    right_hand_pose: np.ndarray
    part_valid: np.ndarray

    def __len__(self) -> int:
        return len(self.body_rotmats)

    @property
    def outputs(self) -> ExpertOutputs:
        """The expert stage's output holding these values (other parameters 0)."""
        n = len(self)
        cameras = np.tile(np.float32([1.0, 0.0, 0.0]), (n, len(Part), 1))
        cameras[:, Part.BODY.column] = self.body_camera
        return expert_outputs(
            n,
            body_rotmats=self.body_rotmats,
            face_pose=self.face_pose,
            face_expression=self.face_expression,
            left_hand_pose=self.left_hand_pose,
            right_hand_pose=self.right_hand_pose,
            cameras=cameras,
            reasons=np.where(self.part_valid, Reason.OK, Reason.EXPERT_DISABLED),
        )


def simulated_part_outputs(
    rig: SmplxRig,
    n: int,
    seed: int = 0,
    hand_twist: np.ndarray | None = None,
    part_valid: np.ndarray | None = None,
) -> tuple[SimulatedParts, np.ndarray]:
    """N rows of simulated expert outputs and SMPL-X betas.

    Args:
        rig: the SMPL-X rig (its kinematic tree places the hands).
        n: rows.
        hand_twist: (N, 2) radians of extra twist of each hand about its forearm, relative to
            the body's wrist (default: uniform in [-2.5, 2.5]).
        part_valid: (N, 4) bool, default all True.

    Returns:
        (SimulatedParts, betas (N, rig.num_betas) float32).
    """
    rng = np.random.default_rng(seed)
    local = rng.normal(0.0, 0.3, size=(n, 24, 3))
    local[:, 0] = UPRIGHT + rng.normal(0.0, 0.3, size=(n, 3))
    rotmats = axis_angle_to_matrix(torch.from_numpy(local))
    betas = rng.normal(0.0, 1.0, size=(n, rig.num_betas))
    glob = global_rotations(rotmats[:, :22], rig.parents)
    rest = rig.rest_joints(torch.from_numpy(betas))
    twist = rng.uniform(-2.5, 2.5, size=(n, 2)) if hand_twist is None else hand_twist
    hands = []
    for side, (elbow, wrist) in enumerate(((LEFT_ELBOW, LEFT_WRIST), (RIGHT_ELBOW, RIGHT_WRIST))):
        axis = rest[:, wrist] - rest[:, elbow]
        # The hand's global rotation: the body's wrist, twisted about the forearm and perturbed.
        twist_local = rotation_about_axis(axis, torch.from_numpy(twist[:, side]))
        noise = axis_angle_to_matrix(torch.from_numpy(rng.normal(0.0, 0.15, size=(n, 3))))
        hand_global = glob[:, elbow] @ twist_local @ rotmats[:, wrist] @ noise
        fingers = rng.normal(0.0, 0.25, size=(n, 45))
        hands.append(np.concatenate([matrix_to_axis_angle(hand_global).numpy(), fingers], 1))
    head_noise = axis_angle_to_matrix(torch.from_numpy(rng.normal(0.0, 0.2, size=(n, 3))))
    deca_head = DECA_TO_BODY_CAMERA.T @ glob[:, HEAD] @ head_noise
    face_pose = np.concatenate(
        [matrix_to_axis_angle(deca_head).numpy(), rng.normal(0.0, 0.15, size=(n, 3))], axis=1
    )
    outputs = SimulatedParts(
        body_rotmats=rotmats.numpy().astype(np.float32),
        body_camera=np.stack(
            [rng.uniform(0.6, 1.1, n), rng.normal(0, 0.1, n), rng.normal(0, 0.1, n)], axis=1
        ).astype(np.float32),
        face_pose=face_pose.astype(np.float32),
        face_expression=rng.normal(0.0, 1.0, size=(n, 50)).astype(np.float32),
        left_hand_pose=hands[0].astype(np.float32),
        right_hand_pose=hands[1].astype(np.float32),
        part_valid=np.ones((n, 4), bool) if part_valid is None else part_valid,
    )
    return outputs, betas.astype(np.float32)
