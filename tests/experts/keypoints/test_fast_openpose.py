"""SMPL-X -> OpenPose-137 mapping and the fast keypoints, against smplx's full forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import smplx
import torch

from furpe_label.experts.keypoints.conventions import mapping
from furpe_label.experts.keypoints.fast_openpose import OpenPoseFromSMPLX
from furpe_label.experts.keypoints.smplx_openpose import (
    num_smplx_joints,
    smplifyx_joint_map,
    smplx_joints_to_openpose137,
    smplx_to_openpose137,
)
from tests.support.doubles.random_smplx import SMPLX_PARENTS, write_random_smplx_npz

TOL_M = 1e-5


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bodymodels")
    write_random_smplx_npz(folder, seed=3)
    return folder


def _load(model_dir, **kwargs):
    return smplx.create(str(model_dir), model_type="smplx", ext="npz", use_pca=False, **kwargs)


def _params(batch, num_betas=10, num_expr=10, seed=0):
    """Random parameters with moderate pose magnitudes (radians) and a wide head yaw spread."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=1.0):
        return torch.randn(*shape, generator=g) * scale

    global_orient = rnd(batch, 3, scale=0.3)
    global_orient[:, 1] = torch.linspace(-1.2, 1.2, batch)  # sweeps the contour table rows
    return {
        "global_orient": global_orient,
        "body_pose": rnd(batch, 21, 3, scale=0.3),
        "betas": rnd(batch, num_betas),
        "left_hand_pose": rnd(batch, 15, 3, scale=0.3),
        "right_hand_pose": rnd(batch, 15, 3, scale=0.3),
        "jaw_pose": rnd(batch, 3, scale=0.2),
        "leye_pose": rnd(batch, 3, scale=0.2),
        "reye_pose": rnd(batch, 3, scale=0.2),
        "expression": rnd(batch, num_expr),
        "transl": rnd(batch, 3),
    }


def _reference(model, params):
    flat = {k: v.reshape(v.shape[0], -1) for k, v in params.items()}
    with torch.no_grad():
        return model(**flat).joints


def test_random_double_has_the_official_layout(model_dir):
    data = np.load(model_dir / "smplx" / "SMPLX_NEUTRAL.npz")
    shapes = {k: data[k].shape for k in data.files}
    assert shapes["v_template"] == (10475, 3) and shapes["f"] == (20908, 3)
    assert shapes["shapedirs"] == (10475, 3, 400) and shapes["posedirs"] == (10475, 3, 486)
    assert shapes["J_regressor"] == (55, 10475) and shapes["weights"] == (10475, 55)
    assert shapes["kintree_table"] == (2, 55) and shapes["lmk_faces_idx"] == (51,)
    assert shapes["hands_componentsl"] == (45, 45) and shapes["hands_meanr"] == (45,)
    assert shapes["dynamic_lmk_faces_idx"] == (79, 17)
    assert shapes["dynamic_lmk_bary_coords"] == (79, 17, 3)
    np.testing.assert_allclose(data["weights"].sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(data["J_regressor"].sum(1), 1.0, atol=1e-5)
    model = _load(model_dir)
    assert model.parents.tolist() == list(SMPLX_PARENTS)


def test_smplifyx_table_matches_names_and_layout():
    assert len(smplifyx_joint_map(False)) == 118 and len(smplifyx_joint_map(True)) == 135
    for contour, convention in ((False, "smplx"), (True, "smplx144")):
        index, mask = smplx_to_openpose137(contour)
        src, dst = mapping(convention, "openpose137")
        assert np.flatnonzero(mask).tolist() == sorted(dst.tolist())
        np.testing.assert_array_equal(index[dst], src)
        assert index.max() < num_smplx_joints(contour)
    index, mask = smplx_to_openpose137(False)
    assert index[:9].tolist() == [55, 12, 17, 19, 21, 16, 18, 20, 0]
    assert index[25] == 20 and index[29] == 66 and index[46] == 21 and index[66] == 75
    assert not mask[67:84].any() and not mask[135:].any() and mask[84:135].all()


@pytest.mark.parametrize("use_face_contour", [False, True])
@pytest.mark.parametrize("flat_hand_mean", [False, True])
def test_fast_keypoints_equal_full_forward(model_dir, use_face_contour, flat_hand_mean):
    model = _load(model_dir, use_face_contour=use_face_contour, flat_hand_mean=flat_hand_mean)
    fast = OpenPoseFromSMPLX(model)
    params = _params(24, seed=int(use_face_contour) + 2 * int(flat_hand_mean))
    ref_joints = _reference(model, params)
    ref, ref_mask = smplx_joints_to_openpose137(ref_joints, use_face_contour)
    with torch.no_grad():
        joints = fast.joints(**params)
        keypoints, mask = fast(**params)
    assert joints.shape == ref_joints.shape
    assert (joints - ref_joints).abs().max().item() < TOL_M
    assert keypoints.shape == (24, 137, 3) and keypoints.dtype == torch.float32
    assert (keypoints - ref).abs().max().item() < TOL_M
    assert torch.equal(mask, ref_mask)
    assert (keypoints[:, ~mask] == 0).all()
    if use_face_contour:  # the yaw sweep must exercise several rows of the contour table
        rows = fast._lut_rows(_full_pose(model, params))
        assert len(torch.unique(rows)) > 5


def _full_pose(model, params):
    """(B, 165) axis-angle full pose as smplx builds it (hand mean included)."""
    names = (
        "global_orient",
        "body_pose",
        "jaw_pose",
        "leye_pose",
        "reye_pose",
        "left_hand_pose",
        "right_hand_pose",
    )
    batch = params["global_orient"].shape[0]
    return torch.cat([params[n].reshape(batch, -1) for n in names], 1) + model.pose_mean


def test_other_sizes_defaults_and_input_shapes(model_dir):
    model = _load(model_dir, num_betas=16, num_expression_coeffs=12, use_face_contour=True)
    fast = OpenPoseFromSMPLX(model)
    params = _params(6, num_betas=16, num_expr=12, seed=7)
    params["betas"] = params["betas"][:1]  # one shape for the whole batch
    for name in ("jaw_pose", "leye_pose", "reye_pose"):
        params[name] = torch.zeros(6, 3)
    params["expression"] = torch.zeros(6, 12)
    ref, _ = smplx_joints_to_openpose137(_reference(model, params), True)
    flat = {k: v.reshape(v.shape[0], -1) for k, v in params.items()}
    defaults = {
        k: v
        for k, v in flat.items()
        if k not in ("jaw_pose", "leye_pose", "reye_pose", "expression")
    }
    with torch.no_grad():
        for kwargs in (params, flat, defaults):
            keypoints, _ = fast(**kwargs)
            assert (keypoints - ref).abs().max().item() < TOL_M


def test_gradients_match_full_forward(model_dir):
    model = _load(model_dir, use_face_contour=True)
    fast = OpenPoseFromSMPLX(model)
    params = _params(3, seed=11)
    grads = []
    for use_fast in (False, True):
        body_pose = params["body_pose"].clone().requires_grad_(True)
        kwargs = {**params, "body_pose": body_pose}
        if use_fast:
            keypoints, _ = fast(**kwargs)
        else:
            flat = {k: v.reshape(v.shape[0], -1) for k, v in kwargs.items()}
            keypoints, _ = smplx_joints_to_openpose137(model(**flat).joints, True)
        (keypoints**2).sum().backward()
        grads.append(body_pose.grad)
    torch.testing.assert_close(grads[1], grads[0], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("use_face_contour", [False, True])
def test_fast_keypoints_on_synthetic_family(synthetic_models_dir, use_face_contour):
    """The human-like family, loaded through the project's safe loader, gives the same result,
    and its semantic keypoints land where a person's would (nose above neck, toes low)."""
    from furpe_label.experts.bodymodels.loading import load_body_model

    model = load_body_model(
        synthetic_models_dir, "smplx", use_face_contour=use_face_contour, flat_hand_mean=True
    ).layer
    fast = OpenPoseFromSMPLX(model)
    params = _params(16, seed=7)
    ref, ref_mask = smplx_joints_to_openpose137(_reference(model, params), use_face_contour)
    with torch.no_grad():
        keypoints, mask = fast(**params)
        rest, _ = fast(**{name: torch.zeros_like(value[:1]) for name, value in params.items()})
    assert (keypoints - ref).abs().max().item() < TOL_M
    assert torch.equal(mask, ref_mask)
    nose, neck, big_toe = rest[0, 0], rest[0, 1], rest[0, 19]
    assert nose[1] > neck[1] > big_toe[1] + 1.0
    assert big_toe[2] > rest[0, 21, 2]  # big toe in front of the heel
