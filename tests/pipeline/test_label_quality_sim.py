"""The label-quality simulator (tests/support/quality_sim.py, tests/support/quality_eval.py)
checked on itself: perfect experts and detector give back the truth through selection +
fusion, and every gross error is exactly the error it claims to be."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from furpe_label.experts.vocabulary import Part
from tests.support.quality_eval import label_errors, label_people, transfer_shapes
from tests.support.quality_models import QualityModels
from tests.support.quality_sim import (
    CLEAN,
    GROSS_ERRORS,
    WRISTS,
    ExpertNoise,
    forearm_axes,
    simulate_people,
    truth_globals,
)

PERFECT = ExpertNoise().scaled(0.0)
RULES = ("furpe", "copy-paste", "adaptive")


@pytest.fixture(scope="module")
def models(synthetic_models_dir):
    return QualityModels.load(synthetic_models_dir)


def test_perfect_experts_give_back_the_truth(models):
    n = 16
    people = simulate_people(
        models, n, seed=3, gross_fraction=0.0, noise=PERFECT, detector_noise=0.0
    )
    assert (people.gross == CLEAN).all()
    betas = people.truth["betas"]
    np.testing.assert_allclose(models.betas.to_smplx(models.betas.to_smpl(betas)), betas, atol=1e-6)
    shapes = transfer_shapes(models, people)
    labels = {rule: label_people(models, people, shapes, rule) for rule in RULES}
    errors = label_errors(models, people.truth, {r: labels[r].stored for r in RULES}, np.arange(n))
    for rule in RULES:
        assert labels[rule].outcome.kept.all(), rule
        assert labels[rule].outcome.part_valid[:, 2:].all()  # no detector noise: hands seen
        error = errors[rule]
        assert error.vertex_mm.max() < 0.1, rule  # transfer round trip + float32
        assert np.nanmax(error.part_vertex_mm) < 0.1
        assert error.wrist_deg.max() < 0.01 and error.hand_keypoints_mm.max() < 0.05


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.rad2deg((Rotation.from_rotvec(a).inv() * Rotation.from_rotvec(b)).magnitude())


def test_each_gross_error_is_what_it_claims(models):
    n = 64
    people = simulate_people(
        models, n, seed=4, gross_fraction=1.0, noise=PERFECT, detector_noise=0.0
    )
    gross, experts, truth = people.gross, people.experts, people.truth
    assert set(gross) == set(GROSS_ERRORS)
    globals_ = truth_globals(models, truth).numpy()
    hand_truth = [Rotation.from_matrix(globals_[:, w]).as_rotvec() for w in WRISTS]
    hands = [experts.record(hand).params.pose[:, :3] for hand in (Part.LEFT_HAND, Part.RIGHT_HAND)]

    flipped = gross == "flipped_hands"
    for side in (0, 1):
        angle = _angle_deg(hands[side][flipped], hand_truth[1 - side][flipped])
        assert angle.max() < 0.01  # the other hand's rotation

    twist = np.flatnonzero(gross == "wrist_twist")
    side = people.gross_side[twist]
    expert = np.stack(hands, 1)[twist, side]
    true = np.stack(hand_truth, 1)[twist, side]
    np.testing.assert_allclose(_angle_deg(true, expert), 90.0, atol=0.01)
    change = (Rotation.from_rotvec(expert) * Rotation.from_rotvec(true).inv()).as_rotvec()
    axis = forearm_axes(models, truth["betas"], truth_globals(models, truth))[twist, side]
    cosine = np.abs((change * axis).sum(1)) / np.linalg.norm(change, axis=1)
    np.testing.assert_allclose(cosine, 1.0, atol=1e-4)  # about the forearm
    for index in (0, 1):  # every other hand is the truth
        exact = ~flipped & ~((gross == "wrist_twist") & (people.gross_side == index))
        assert _angle_deg(hands[index][exact], hand_truth[index][exact]).max() < 0.01

    rotmats = experts.record(Part.BODY).params.rotmats
    body = Rotation.from_matrix(rotmats.reshape(-1, 3, 3)).as_rotvec()
    body = body.reshape(n, 24, 3)
    back = gross == "backwards"
    turned = Rotation.from_rotvec(truth["global_orient"][back]) * Rotation.from_euler("y", np.pi)
    assert _angle_deg(turned.as_rotvec(), body[back, 0]).max() < 0.01
    swapped = gross == "swapped_limbs"
    moved = np.abs(body[swapped, 1:22] - truth["body_pose"][swapped]).max(-1) > 1e-4  # (rows, 21)
    arms = np.array([13, 14, 16, 17, 18, 19, 20, 21]) - 1  # body_pose rows of the joints
    legs = np.array([1, 2, 4, 5, 7, 8, 10, 11]) - 1
    assert not np.delete(moved, np.r_[arms, legs], axis=1).any()
    assert (moved[:, arms].any(1) ^ moved[:, legs].any(1)).all()  # arms or legs, never both
    mirrored = truth["body_pose"][swapped][:, [1, 0]] * np.array([1.0, -1.0, -1.0])
    legs_swapped = ~moved[:, arms].any(1)
    np.testing.assert_allclose(
        body[swapped][legs_swapped][:, 1:3], mirrored[legs_swapped], atol=1e-5
    )
