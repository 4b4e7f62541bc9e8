"""The SMPL-X rig as fusion needs it: parents, shaped rest joints, mean hands, joint ids.

SMPL-X (like SMPL, MANO and FLAME) rotates each joint in its parent's frame, and every joint
frame is parallel to the model frame in the rest pose. So

* the global rotation of joint ``j`` is ``G_j = G_parent(j) @ R_j`` (``G_0 = R_0`` = global
  orient: :func:`furpe_label.experts.geometry.kinematics.global_rotations`), and a local
  rotation follows back as ``R_j = G_parent(j).T @ G_j``;
* a rest-pose bone vector ``J_child - J_j`` (model frame, metres) is also the bone's direction
  in joint ``j``'s local frame, for any pose.

:class:`SmplxRig` holds what fusion reads from an SMPL-X model: the parents (``smplx``'s
``parents``, from the file's ``kintree_table``), the joint regressor folded into the shape
and expression blend shapes (rest joints are linear in ``[betas, expression]``:
:func:`~furpe_label.experts.geometry.kinematics.fold_joint_regressor`), and the MANO mean
hand poses ``hands_meanl`` / ``hands_meanr`` (left and right differ: mirror images).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import smplx
import torch
from smplx.joint_names import JOINT_NAMES

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.geometry.kinematics import fold_joint_regressor

logger = logging.getLogger(__name__)

__all__ = [
    "HEAD",
    "LEFT_ELBOW",
    "LEFT_WRIST",
    "NECK",
    "NUM_BODY_JOINTS",
    "RIGHT_ELBOW",
    "RIGHT_WRIST",
    "SmplxRig",
    "load_smplx_rig",
]

NUM_BODY_JOINTS = 22
"""Root + the 21 body joints (SMPL joints 0..21 map 1:1 onto SMPL-X joints 0..21)."""
NECK = JOINT_NAMES.index("neck")  # 12
HEAD = JOINT_NAMES.index("head")  # 15
LEFT_ELBOW = JOINT_NAMES.index("left_elbow")  # 18
RIGHT_ELBOW = JOINT_NAMES.index("right_elbow")  # 19
LEFT_WRIST = JOINT_NAMES.index("left_wrist")  # 20
RIGHT_WRIST = JOINT_NAMES.index("right_wrist")  # 21
_MIRROR = torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64)  # axis-angle x, y, z mirror


@dataclass(frozen=True)
class SmplxRig:
    """What fusion needs from one SMPL-X model (all float64, CPU).

    Attributes:
        parents: (55,) int64 parent of each joint (-1 for the root), ``smplx``'s ``parents``.
        joint_template: (55, 3) rest joints of the template, metres (``J_regressor @
            v_template``).
        joint_shape_dirs: (num_betas, 55, 3) rest-joint displacement per unit beta, metres.
        joint_expression_dirs: (num_expression, 55, 3) the same per unit expression coefficient.
        left_hand_mean: (15, 3) MANO mean left hand (``hands_meanl``), axis-angle radians.
        right_hand_mean: (15, 3) MANO mean right hand (``hands_meanr``), axis-angle radians.
    """

    parents: torch.Tensor
    joint_template: torch.Tensor
    joint_shape_dirs: torch.Tensor
    joint_expression_dirs: torch.Tensor
    left_hand_mean: torch.Tensor
    right_hand_mean: torch.Tensor

    @property
    def num_betas(self) -> int:
        """Number of shape coefficients the rig takes."""
        return int(self.joint_shape_dirs.shape[0])

    @property
    def num_expression(self) -> int:
        """Number of expression coefficients the rig takes."""
        return int(self.joint_expression_dirs.shape[0])

    @classmethod
    def from_layer(cls, layer: smplx.SMPLX) -> SmplxRig:
        """The rig of a loaded ``smplx.SMPLX`` layer built with ``flat_hand_mean=False``.

        The layer must keep the mean hands (``smplx`` zeroes ``left_hand_mean`` and
        ``right_hand_mean`` when ``flat_hand_mean=True``), so such a layer is refused.
        """
        if not hasattr(layer, "left_hand_mean") or not hasattr(layer, "expr_dirs"):
            raise TypeError(f"SmplxRig needs an smplx.SMPLX layer, got {type(layer).__name__}")
        if layer.flat_hand_mean:
            raise ValueError(
                "SmplxRig reads the MANO mean hands from the layer, but a layer built with "
                "flat_hand_mean=True has them zeroed: build it with flat_hand_mean=False"
            )
        dirs = torch.cat([layer.shapedirs, layer.expr_dirs], dim=-1)
        template, joint_dirs = fold_joint_regressor(layer.J_regressor, layer.v_template, dirs)
        joint_dirs = joint_dirs.cpu().permute(2, 0, 1)  # (num_betas + num_expression, 55, 3)
        shape, expr = joint_dirs.split([layer.shapedirs.shape[-1], layer.expr_dirs.shape[-1]])
        left = layer.left_hand_mean.detach().double().cpu().reshape(15, 3)
        right = layer.right_hand_mean.detach().double().cpu().reshape(15, 3)
        if not torch.allclose(left, right * _MIRROR, atol=1e-3):
            logger.warning(
                "hands_meanl is not the mirror image of hands_meanr: FrankMocap's left hands "
                "(mirrored right-hand predictions) then land on a slightly different mean"
            )
        return cls(
            parents=layer.parents.detach().cpu().long().clone(),
            joint_template=template.cpu(),
            joint_shape_dirs=shape.contiguous(),
            joint_expression_dirs=expr.contiguous(),
            left_hand_mean=left,
            right_hand_mean=right,
        )

    def rest_joints(
        self, betas: torch.Tensor, expression: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Rest-pose (unposed) joints shaped by ``betas`` (and ``expression``).

        Args:
            betas: (N, num_betas) SMPL-X shape coefficients.
            expression: (N, E) the first E <= num_expression expression coefficients (the
                rest count as 0), default 0. In SMPL-X they move only face joints.

        Returns:
            (N, 55, 3) float64 joint positions, metres, model frame.
        """
        if betas.shape[-1] != self.num_betas:
            raise ValueError(f"betas have {betas.shape[-1]} coefficients, rig has {self.num_betas}")
        joints = self.joint_template + torch.einsum(
            "nb,bjc->njc", betas.double(), self.joint_shape_dirs
        )
        if expression is not None:
            count = expression.shape[-1]
            if count > self.num_expression:
                raise ValueError(f"{count} expression coefficients, rig has {self.num_expression}")
            joints = joints + torch.einsum(
                "ne,ejc->njc", expression.double(), self.joint_expression_dirs[:count]
            )
        return joints

    def bone_direction(self, rest_joints: torch.Tensor, joint: int) -> torch.Tensor:
        """(N, 3) unit rest-pose direction from ``joint``'s parent to ``joint``.

        It is the bone's axis in the parent's local frame (and the joint's own), for any pose.
        """
        parent = int(self.parents[joint])
        bone = rest_joints[:, joint] - rest_joints[:, parent]
        return bone / bone.norm(dim=-1, keepdim=True)


def load_smplx_rig(
    models_dir: Path | str | None,
    gender: str = "neutral",
    num_betas: int = 10,
    num_expression_coeffs: int = 10,
) -> SmplxRig:
    """Load an official (or synthetic) SMPL-X file with the project's safe loader as a rig.

    Args:
        models_dir: the models folder (None: ``$FURPE_MODELS``).
        gender: "neutral", "male" or "female".
        num_betas: shape coefficients the caller's betas have.
        num_expression_coeffs: expression coefficients the rest joints may take.
    """
    model = load_body_model(
        models_dir,
        "smplx",
        gender,
        num_betas=num_betas,
        num_expression_coeffs=num_expression_coeffs,
        flat_hand_mean=False,
    )
    return SmplxRig.from_layer(model.layer)
