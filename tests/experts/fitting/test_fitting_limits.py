"""Joint limits of the fitters: the mean pose is inside, impossible bends are outside."""

from __future__ import annotations

import numpy as np
import torch

from furpe_label.experts.fitting.hand import ManoHandFitter
from furpe_label.experts.fitting.limits import SMPL_JOINT_NAMES, finger_limits, smpl_body_limits


def _component(joint: str, axis: int) -> int:
    return (SMPL_JOINT_NAMES.index(joint) - 1) * 3 + axis


def test_smpl_limits_allow_rest_and_forbid_backward_knees_and_elbows():
    low, high = smpl_body_limits()
    assert low.shape == high.shape == (69,) and bool((low < high).all())
    assert bool((low <= 0).all() and (high >= 0).all())  # the T-pose is allowed
    # SMPLify's angle prior signs: knees bend with +x, left elbow -y, right elbow +y.
    for joint, axis, bent in (
        ("left_knee", 0, 1.5),
        ("right_knee", 0, 1.5),
        ("left_elbow", 1, -1.5),
        ("right_elbow", 1, 1.5),
    ):
        k = _component(joint, axis)
        assert low[k] < bent < high[k] and not (low[k] < -bent < high[k])


def test_smpl_limits_are_left_right_mirror_images():
    low, high = smpl_body_limits()
    for left in (n for n in SMPL_JOINT_NAMES if n.startswith("left_")):
        right = left.replace("left_", "right_")
        i, j = _component(left, 0), _component(right, 0)
        assert low[i] == low[j] and high[i] == high[j]  # x kept
        for axis in (1, 2):  # y and z negated
            i, j = _component(left, axis), _component(right, axis)
            assert low[i] == -high[j] and high[i] == -low[j]


def test_finger_frames_are_orthonormal_and_the_mean_hand_curls(synthetic_models_dir):
    fitter = ManoHandFitter(synthetic_models_dir, iterations=1)
    frames = fitter.frames
    eye = torch.eye(3).expand(15, 3, 3)
    assert torch.allclose(frames @ frames.transpose(1, 2), eye, atol=1e-5)
    anatomical = (frames * fitter.hand_mean[:, None, :]).sum(-1)  # (15, 3)
    fingers = [j for j in range(15) if j not in (12, 13, 14)]  # thumb = MANO joints 13-15
    assert (anatomical[fingers, 0] > 0).all()  # flexion toward the palm
    low, high = finger_limits()
    assert bool(((anatomical >= low) & (anatomical <= high)).all())  # mean hand inside
    assert np.isclose(float(low[0, 0]), -0.35) and float(high[1, 0]) > 1.5
