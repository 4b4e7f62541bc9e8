"""Synthetic truth for the label-quality benchmark: people, detections, part experts, gross errors.

* **People** (SMPL-X, SPIN's camera frame: y down, facing the camera at yaw 0): body poses of
  ``tests.support.plausible_smpl`` (natural limb ranges, any yaw) turned by a half turn about x;
  SMPL shapes ``N(0, 1)`` clipped to +-2, whose SMPL-X betas come from the shape transfer's
  correspondence (``tests.support.quality_models.BetasMap``); hands the mean hand +
  ``N(0, 0.2)`` rad; jaw opening 0-0.3 rad; expression ``N(0, 0.7)``.
* **Images and detections**: ``tests.benchmarks.reprojection_study.observe`` (pinhole cameras
  3-9 m away, detector noise, outliers, missing points, undetected hands and turned-away faces)
  and its SPIN-style body crops.
* **Part experts** = truth + the errors of good regressors (:class:`ExpertNoise`, radians
  unless stated): SPIN rotation matrices (SMPL form: joints 1..21 = SMPL-X's, 22/23 the SMPL
  hands) with noisier wrists (a body network sees no hand keypoints), SPIN SMPL betas and a
  weak-perspective camera fitted to its own body (``spin_camera``); DECA ``pose`` (head in
  DECA's y-up frame, jaw) and 50 expression coefficients; FrankMocap 48-D hands (global hand
  rotation in the camera frame, fingers relative to the mean hand; left hands un-mirrored).
  A part with fewer than 2 confident keypoints gets no output (``too_few_keypoints``, NaN).
* **Gross errors** (:data:`GROSS_ERRORS`, one per affected sample): ``flipped_hands`` (left and
  right hand outputs swapped), ``wrist_twist`` (one hand turned +-pi/2 about its forearm),
  ``swapped_limbs`` (the arms' or the legs' rotations swapped left <-> right, mirrored),
  ``backwards`` (body turned a half turn about its vertical). The body errors are made before
  the camera fit (SPIN's camera agrees with its own body).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from furpe_label.experts.expert_outputs import ExpertOutputs
from furpe_label.experts.fusion.head import DECA_TO_BODY_CAMERA
from furpe_label.experts.fusion.kinematics import HEAD, LEFT_WRIST, RIGHT_WRIST
from furpe_label.experts.geometry.kinematics import global_rotations
from furpe_label.experts.vocabulary import Part, Reason
from furpe_label.selection import BodyCropFrame, SelectionConfig, confident_mask
from tests.benchmarks.reprojection_study import model_keypoints, observe, spin_camera
from tests.support.doubles.expert_outputs import expert_outputs
from tests.support.plausible_smpl import sample_smpl_bodies
from tests.support.quality_models import QualityModels

GROSS_ERRORS = ("flipped_hands", "wrist_twist", "swapped_limbs", "backwards")
HELD_OUT_ERRORS = ("head_turn", "body_yaw", "shape_off")
"""Gross errors no threshold is chosen on (the benchmark reports them on another seed):
``head_turn`` (the body expert's head joint turned +-90 degrees about its vertical axis),
``body_yaw`` (the body turned +-90 degrees about its vertical axis), ``shape_off`` (SMPL betas
moved by 5 along a random direction)."""
HAND_ERRORS = ("flipped_hands", "wrist_twist")
CLEAN = "none"
WRISTS = (LEFT_WRIST, RIGHT_WRIST)
_ARMS = [(13, 14), (16, 17), (18, 19), (20, 21)]  # collars, shoulders, elbows, wrists
_LEGS = [(1, 2), (4, 5), (7, 8), (10, 11)]  # hips, knees, ankles, feet
_MIRROR = np.array([1.0, -1.0, -1.0])  # axis-angle mirrored across the body's x = 0 plane
_PART_OUTPUTS = {
    Part.BODY: ("body_rotmats", "body_betas"),
    Part.FACE: ("face_pose", "face_expression", "face_shape"),
    Part.LEFT_HAND: ("left_hand_pose",),
    Part.RIGHT_HAND: ("right_hand_pose",),
}


@dataclass(frozen=True)
class ExpertNoise:
    """Standard deviations of the simulated experts' errors (radians unless stated)."""

    global_orient: float = 0.08
    body_pose: float = 0.1
    wrists: float = 0.3
    smpl_betas: float = 0.3
    camera: float = 1.0  # x (3% scale, 2 cm translation) of ``spin_camera``
    hand_global: float = 0.1
    fingers: float = 0.15
    head: float = 0.1
    jaw: float = 0.05
    expression: float = 0.3

    def scaled(self, level: float) -> ExpertNoise:
        """Every error times ``level`` (0: perfect experts)."""
        return ExpertNoise(**{f.name: getattr(self, f.name) * level for f in fields(self)})


@dataclass(frozen=True)
class SimulatedPeople:
    """N simulated person instances.

    Attributes:
        truth: SMPL-X parameters by smplx name ((n, ...) float32, hands absolute, no transl).
        keypoints2d: (n, 137, 3) detections, image pixels + confidence.
        frame: the body crops.
        experts: the part experts' outputs (NaN and a reason where a part has none).
        body_camera: (n, 3) SPIN's weak-perspective camera in the body crop's [-1, 1] frame.
        gross: (n,) str, :data:`CLEAN` or the :data:`GROSS_ERRORS` kind injected.
        gross_side: (n,) int, the twisted hand of ``wrist_twist`` (0 left, 1 right), else -1.
    """

    truth: dict[str, np.ndarray]
    keypoints2d: np.ndarray
    frame: BodyCropFrame
    experts: ExpertOutputs
    body_camera: np.ndarray
    gross: np.ndarray
    gross_side: np.ndarray

    def __len__(self) -> int:
        return len(self.gross)


def _rotate(rotvec: np.ndarray, other: np.ndarray) -> np.ndarray:
    """(..., 3) rotation vectors of ``R(rotvec) @ R(other)``."""
    first, second = (
        Rotation.from_rotvec(np.array(r, np.float64).reshape(-1, 3)) for r in (rotvec, other)
    )
    return (first * second).as_rotvec().reshape(np.shape(rotvec))


def _matrices(rotvec: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(Rotation.from_rotvec(rotvec.reshape(-1, 3)).as_matrix()).reshape(
        *rotvec.shape[:-1], 3, 3
    )


def sample_truth(models: QualityModels, n: int, rng) -> dict[str, np.ndarray]:
    """Plausible SMPL-X people (module docstring), (n, ...) float32 by smplx name."""
    bodies = {
        k: v.double().numpy() for k, v in sample_smpl_bodies(n, int(rng.integers(2**31))).items()
    }
    upright = Rotation.from_euler("x", np.pi).as_rotvec()
    smpl_betas = rng.normal(0.0, 1.0, (n, 10)).clip(-2.0, 2.0)
    means = [models.rig.left_hand_mean.numpy(), models.rig.right_hand_mean.numpy()]
    truth = {
        "global_orient": _rotate(np.broadcast_to(upright, (n, 3)), bodies["global_orient"]),
        "body_pose": bodies["body_pose"][:, :21],
        "betas": models.betas.to_smplx(smpl_betas),
        "left_hand_pose": means[0] + rng.normal(0.0, 0.2, (n, 15, 3)),
        "right_hand_pose": means[1] + rng.normal(0.0, 0.2, (n, 15, 3)),
        "jaw_pose": np.stack([rng.uniform(0.0, 0.3, n), np.zeros(n), np.zeros(n)], 1),
        "leye_pose": np.zeros((n, 3)),
        "reye_pose": np.zeros((n, 3)),
        "expression": rng.normal(0.0, 0.7, (n, 10)),
    }
    return {k: v.astype(np.float32) for k, v in truth.items()}


def truth_globals(models: QualityModels, truth: dict[str, np.ndarray]) -> torch.Tensor:
    """(n, 22, 3, 3) float64 global rotations of the body joints 0..21 (camera frame)."""
    local = np.concatenate([truth["global_orient"][:, None], truth["body_pose"]], axis=1)
    return global_rotations(_matrices(local.astype(np.float64)), models.rig.parents)


def forearm_axes(models: QualityModels, betas: np.ndarray, globals_: torch.Tensor) -> np.ndarray:
    """(n, 2, 3) unit elbow->wrist directions (left, right) in the camera frame."""
    rest = models.rig.rest_joints(torch.from_numpy(np.asarray(betas, np.float64)))
    axes = [
        globals_[:, int(models.rig.parents[w])] @ models.rig.bone_direction(rest, w)[..., None]
        for w in WRISTS
    ]
    return torch.stack(axes, 1)[..., 0].numpy()


def _body_expert(models: QualityModels, truth: dict, gross: np.ndarray, rng, noise: ExpertNoise):
    """SPIN's (n, 24, 3) axis-angle (body gross errors made) and SMPL betas (n, 10)."""
    n = len(gross)
    smpl_hands = np.zeros((n, 2, 3))  # SMPL's hand joints: no SMPL-X counterpart, rest + noise
    body = np.concatenate([truth["global_orient"][:, None], truth["body_pose"], smpl_hands], 1)
    body = body.astype(np.float64)
    body[:, 0] = _rotate(body[:, 0], rng.normal(0.0, noise.global_orient, (n, 3)))
    sigma = np.full(23, noise.body_pose)
    sigma[[w - 1 for w in WRISTS]] = noise.wrists
    body[:, 1:] += rng.normal(0.0, 1.0, (n, 23, 3)) * sigma[:, None]
    betas = models.betas.to_smpl(truth["betas"]) + rng.normal(0.0, noise.smpl_betas, (n, 10))
    back = gross == "backwards"
    body[back, 0] = _rotate(body[back, 0], np.broadcast_to([0.0, np.pi, 0.0], (back.sum(), 3)))
    for kind, joint in (("body_yaw", 0), ("head_turn", HEAD)):
        rows = np.flatnonzero(gross == kind)
        turn = np.zeros((len(rows), 3))
        turn[:, 1] = rng.choice([-np.pi / 2, np.pi / 2], len(rows))
        body[rows, joint] = _rotate(body[rows, joint], turn)
    off = np.flatnonzero(gross == "shape_off")
    direction = rng.normal(0.0, 1.0, (len(off), 10))
    betas[off] += 5.0 * direction / np.linalg.norm(direction, axis=1, keepdims=True)
    for row in np.flatnonzero(gross == "swapped_limbs"):
        for left, right in _ARMS if rng.random() < 0.5 else _LEGS:
            body[row, [left, right]] = body[row, [right, left]] * _MIRROR
    return body, betas


def _hand_experts(
    models: QualityModels,
    truth: dict,
    globals_: torch.Tensor,
    gross: np.ndarray,
    side: np.ndarray,
    rng,
    noise: ExpertNoise,
) -> list[np.ndarray]:
    """FrankMocap's (n, 48) left and right outputs (hand gross errors made)."""
    n = len(gross)
    hands = []
    for index, (wrist, name) in enumerate(zip(WRISTS, ("left", "right"), strict=True)):
        hand = _rotate(
            Rotation.from_matrix(globals_[:, wrist].numpy()).as_rotvec(),
            rng.normal(0.0, noise.hand_global, (n, 3)),
        )
        fingers = truth[f"{name}_hand_pose"] - models.hand_mean[index].reshape(15, 3)
        fingers = fingers.reshape(n, 45) + rng.normal(0.0, noise.fingers, (n, 45))
        hands.append(np.concatenate([hand, fingers], 1))
    axes = forearm_axes(models, truth["betas"], globals_)
    turn = rng.choice([-np.pi / 2, np.pi / 2], n)
    for row in np.flatnonzero(side >= 0):
        hand = hands[side[row]]
        hand[row, :3] = _rotate(axes[row, side[row]] * turn[row], hand[row, :3])
    flip = gross == "flipped_hands"
    hands[0][flip], hands[1][flip] = hands[1][flip], hands[0][flip].copy()
    return hands


def _face_expert(truth: dict, globals_: torch.Tensor, rng, noise: ExpertNoise) -> tuple:
    """DECA's (n, 6) pose and (n, 50) expression."""
    n = len(globals_)
    head = DECA_TO_BODY_CAMERA.numpy().T @ globals_[:, HEAD].numpy()
    head = _rotate(Rotation.from_matrix(head).as_rotvec(), rng.normal(0.0, noise.head, (n, 3)))
    jaw = truth["jaw_pose"] + rng.normal(0.0, noise.jaw, (n, 3))
    expression = truth["expression"] + rng.normal(0.0, noise.expression, (n, 10))
    return np.concatenate([head, jaw], 1), np.c_[expression, rng.normal(0.0, 0.5, (n, 40))]


def simulate_people(
    models: QualityModels,
    n: int,
    seed: int,
    gross_fraction: float = 0.3,
    noise: ExpertNoise | None = None,
    detector_noise: float = 1.0,
    kinds: tuple[str, ...] = GROSS_ERRORS,
) -> SimulatedPeople:
    """``n`` people, their detections and expert outputs with ``gross_fraction`` gross errors
    spread evenly over ``kinds`` (:data:`GROSS_ERRORS`, :data:`HELD_OUT_ERRORS`; module
    docstring)."""
    noise = noise or ExpertNoise()
    rng = np.random.default_rng(seed)
    truth = sample_truth(models, n, rng)
    truth_px, keypoints, frame = observe(models.keypoints, truth, rng, detector_noise)
    gross = np.where(rng.random(n) < gross_fraction, rng.choice(kinds, n), CLEAN)
    side = np.where(gross == "wrist_twist", rng.integers(0, 2, n), -1)
    body, smpl_betas = _body_expert(models, truth, gross, rng, noise)
    own = {
        **truth,
        "global_orient": body[:, 0],
        "body_pose": body[:, 1:22],
        "betas": models.betas.to_smplx(smpl_betas),
    }
    camera = spin_camera(model_keypoints(models.keypoints, own), truth_px, frame, rng, noise.camera)
    globals_ = truth_globals(models, truth)
    hands = _hand_experts(models, truth, globals_, gross, side, rng, noise)
    face_pose, face_expression = _face_expert(truth, globals_, rng, noise)
    outputs = {
        "body_rotmats": _matrices(body).numpy(),
        "body_betas": smpl_betas,
        "face_pose": face_pose,
        "face_expression": face_expression,
        "face_shape": rng.normal(0.0, 1.0, (n, 100)),
        "left_hand_pose": hands[0],
        "right_hand_pose": hands[1],
    }
    reasons = np.full((n, 4), Reason.OK, dtype=object)
    confident = confident_mask(keypoints, SelectionConfig())
    for part, names in _PART_OUTPUTS.items():
        missing = confident[:, part.keypoint_slice].sum(1) < 2  # the crop rules' minimum
        reasons[missing, part.column] = Reason.TOO_FEW_KEYPOINTS
        for name in names:
            outputs[name][missing] = np.nan
    body_camera = camera.double().numpy()
    body_camera[reasons[:, Part.BODY.column] != Reason.OK] = np.nan
    cameras = np.ones((n, len(Part), 3), np.float32)
    cameras[:, Part.BODY.column] = body_camera
    experts = expert_outputs(
        n, **{k: v.astype(np.float32) for k, v in outputs.items()}, cameras=cameras, reasons=reasons
    )
    return SimulatedPeople(
        truth=truth,
        keypoints2d=keypoints,
        frame=frame,
        experts=experts,
        body_camera=body_camera.astype(np.float32),
        gross=gross,
        gross_side=side,
    )
