"""Closed-form SMPL -> SMPL-X shape transfer on the synthetic family (exactness, round trip)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from furpe_label.experts.bodymodels import specs
from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.fusion.posed_shape_basis import PosedShapeBasis
from furpe_label.experts.fusion.shape_transfer import ShapeTransfer
from furpe_label.experts.fusion.transfer_correspondence import (
    SmplToSmplxCorrespondence,
    official_correspondence,
)
from tests.support.plausible_smpl import sample_smpl_bodies

F64 = torch.float64


@pytest.fixture(scope="module")
def truth(synthetic_models_dir):
    """Ground truth of the family: the SMPL -> SMPL-X betas map and the copied vertex ids."""
    manifest = json.loads((synthetic_models_dir / specs.SYNTHETIC_MANIFEST).read_text())
    gt = manifest["ground_truth"]
    return {
        "betas_map": torch.tensor(gt["smpl_betas_to_smplx_betas"]["matrix"], dtype=F64),
        "copied": np.sort(np.array(gt["smpl_vertex_to_smplx_vertex"])),
    }


@pytest.fixture(scope="module")
def layers(synthetic_models_dir):
    """(SMPL, SMPL-X) float64 layers of the synthetic family."""
    smpl = load_body_model(synthetic_models_dir, "smpl", dtype=F64).layer
    smplx = load_body_model(
        synthetic_models_dir, "smplx", num_betas=10, flat_hand_mean=True, dtype=F64
    ).layer
    return smpl, smplx


@pytest.fixture(scope="module")
def correspondence(synthetic_models_dir):
    return official_correspondence(synthetic_models_dir)


def _smplx_vertices(layer, global_orient, body_pose, betas, transl=None):
    """Reference: the unmodified smplx forward, hands / jaw / eyes at rest (flat hands)."""
    n = global_orient.shape[0]
    zeros = {k: torch.zeros(n, 3, dtype=F64) for k in ("jaw_pose", "leye_pose", "reye_pose")}
    return layer(
        global_orient=global_orient,
        body_pose=body_pose.reshape(n, -1),
        betas=betas,
        transl=torch.zeros(n, 3, dtype=F64) if transl is None else transl,
        left_hand_pose=torch.zeros(n, 45, dtype=F64),
        right_hand_pose=torch.zeros(n, 45, dtype=F64),
        expression=torch.zeros(n, 10, dtype=F64),
        **zeros,
    ).vertices


def _bodies(n, seed, hand_joints=False):
    return {k: v.to(F64) for k, v in sample_smpl_bodies(n, seed, hand_joints=hand_joints).items()}


def test_posed_basis_matches_the_smplx_forward(layers):
    """To 0.1 um in float64: smplx's Rodrigues adds 1e-8 to every angle (~1e-8 m here)."""
    smpl, smplx = layers
    bodies = _bodies(6, seed=1, hand_joints=True)
    rotvecs = torch.cat([bodies["global_orient"][:, None], bodies["body_pose"]], 1)
    with torch.no_grad():
        mine = PosedShapeBasis(smpl).vertices(rotvecs, bodies["betas"]).permute(2, 0, 1)
        ref = smpl(
            global_orient=bodies["global_orient"],
            body_pose=bodies["body_pose"].reshape(6, 69),
            betas=bodies["betas"],
        ).vertices
        assert (mine - ref).abs().max() < 1e-7
        basis = PosedShapeBasis(smplx, torch.arange(10475), posed_joints=22)
        posed = basis.pose(rotvecs[:, :22])
        betas = 1.5 * torch.randn(6, 10, generator=torch.Generator().manual_seed(2), dtype=F64)
        mine = (posed.offset + basis.displacement(posed, betas)).permute(2, 0, 1)
        ref = _smplx_vertices(smplx, bodies["global_orient"], bodies["body_pose"][:, :21], betas)
    assert (mine - ref).abs().max() < 1e-7


def test_closed_form_equals_dense_least_squares(layers, correspondence):
    """The pair-table normal equations solve the same problem as an explicit Jacobian."""
    smpl, smplx = layers
    transfer = ShapeTransfer(smpl, smplx, correspondence, ridge=0.0).to(F64)
    bodies = _bodies(3, seed=3, hand_joints=True)  # SMPL hands posed: a non-zero residual
    with torch.no_grad():
        result = transfer.transfer(**bodies)
        target = transfer.smpl_target(bodies["global_orient"], bodies["body_pose"], bodies["betas"])
        rotvecs = torch.cat([bodies["global_orient"][:, None], bodies["body_pose"][:, :21]], 1)
        posed = transfer.basis.pose(rotvecs)
        columns = [
            transfer.basis.displacement(posed, e.expand(3, 10)) for e in torch.eye(10, dtype=F64)
        ]
    jacobian = torch.stack(columns, -1).permute(2, 0, 1, 3).reshape(3, -1, 10)  # (N, 3M, B)
    design = torch.cat(
        [jacobian, torch.eye(3, dtype=F64).repeat(target.shape[0], 1).expand(3, -1, 3)], 2
    )
    rhs = (target - posed.offset).permute(2, 0, 1).reshape(3, -1, 1)
    solution = torch.linalg.lstsq(design, rhs).solution.squeeze(-1)
    torch.testing.assert_close(result.betas, solution[:, :10], rtol=0, atol=1e-7)
    torch.testing.assert_close(
        result.transl - bodies["transl"], solution[:, 10:], rtol=0, atol=1e-9
    )


def _round_trip_inputs(truth, n, seed):
    """SMPL-X bodies (betas ~ N(0, 1), plausible body poses, flat hands) and the SMPL
    parameters of the very same bodies, through the family's exact betas map."""
    bodies = _bodies(n, seed)
    smplx_betas = torch.randn(n, 10, generator=torch.Generator().manual_seed(seed), dtype=F64)
    smpl_betas = torch.linalg.solve(truth["betas_map"], smplx_betas.T).T
    return {**bodies, "betas": smpl_betas}, smplx_betas


def test_round_trip_is_exact_on_the_shared_vertices(layers, correspondence, truth):
    """On the SMPL-X vertices copied from SMPL, SMPL and SMPL-X skin identically, so SMPL-X
    body -> SMPL -> back to SMPL-X must return the same body. Without ridge the only error
    left is rounding (the family stores some arrays in float32): betas to 1e-6, vertices to
    1e-5 mm. With the default ridge the betas move by at most ridge |betas| / lambda_min
    (lambda_min: smallest eigenvalue of the Gram matrix per vertex), which the test computes
    rather than guesses."""
    smpl, smplx = layers
    shared = SmplToSmplxCorrespondence(correspondence.matrix, truth["copied"], "shared vertices")
    smpl_params, smplx_betas = _round_trip_inputs(truth, 32, seed=11)
    exact = ShapeTransfer(smpl, smplx, shared, ridge=0.0).to(F64).transfer(**smpl_params)
    torch.testing.assert_close(exact.betas, smplx_betas, rtol=0, atol=1e-6)
    torch.testing.assert_close(exact.transl, smpl_params["transl"], rtol=0, atol=1e-8)
    assert exact.error_mm.max() < 1e-5
    transfer = ShapeTransfer(smpl, smplx, shared).to(F64)  # default ridge
    ridged = transfer.transfer(**smpl_params)
    rotvecs = torch.cat(
        [smpl_params["global_orient"][:, None], smpl_params["body_pose"][:, :21]], 1
    )
    gram, sums = transfer.solver._gram(transfer.basis.pose(rotvecs))
    size = transfer.basis.num_vertices
    lambda_min = torch.linalg.eigvalsh((gram - sums.transpose(1, 2) @ sums / size) / size)[:, 0]
    bound = transfer.ridge * smplx_betas.norm(dim=1) / lambda_min
    assert ((ridged.betas - smplx_betas).norm(dim=1) <= 1.001 * bound + 1e-6).all()
    assert ridged.error_mm.max() < 0.01


def test_round_trip_on_all_masked_vertices(layers, correspondence, truth):
    """With every masked vertex, the head and hand vertices inserted on SMPL triangles are
    skinned with their own weights in SMPL-X but as the blend of three skinned SMPL vertices
    in the target: no parameters fit exactly. The least-squares fit must do at least as well
    as the true parameters (RMS over vertices, the quantity it minimises) and stay close."""
    smpl, smplx = layers
    smpl_params, smplx_betas = _round_trip_inputs(truth, 16, seed=12)
    transfer = ShapeTransfer(smpl, smplx, correspondence).to(F64)
    result = transfer.transfer(**smpl_params)
    ids = torch.as_tensor(correspondence.mask_ids)
    target = (
        transfer.smpl_target(
            smpl_params["global_orient"], smpl_params["body_pose"], smpl_params["betas"]
        ).permute(2, 0, 1)
        + smpl_params["transl"][:, None]
    )
    pose = (smpl_params["global_orient"], smpl_params["body_pose"][:, :21])
    with torch.no_grad():
        fitted = _smplx_vertices(smplx, *pose, result.betas, result.transl)[:, ids]
        true = _smplx_vertices(smplx, *pose, smplx_betas, smpl_params["transl"])[:, ids]
    rms = lambda v: (v - target).square().sum(-1).mean(1).sqrt()  # noqa: E731
    assert (rms(fitted) <= rms(true) + 1e-9).all()
    assert rms(true).max() < 2e-4  # the inherent mismatch: below 0.2 mm RMS
    reference = 1000 * (fitted - target).norm(dim=-1).mean(1)  # smplx forward: 1e-8 m apart
    torch.testing.assert_close(result.error_mm, reference, rtol=0, atol=1e-4)
    assert (result.betas - smplx_betas).abs().max() < 0.02


def test_reported_error_matches_an_independent_evaluation(synthetic_models_dir, correspondence):
    """float32 defaults from the models folder; SMPL hands posed, so the error is non-zero.
    Reference: smplx's own SMPL and SMPL-X forwards and the correspondence as a scipy matrix."""
    transfer = ShapeTransfer.from_models(synthetic_models_dir)
    assert "smplx_mask_ids.npy" in transfer.correspondence_source
    bodies = sample_smpl_bodies(8, seed=4)
    result = transfer.transfer(**bodies)
    smpl = load_body_model(synthetic_models_dir, "smpl", dtype=F64).layer
    smplx = load_body_model(synthetic_models_dir, "smplx", flat_hand_mean=True, dtype=F64).layer
    params = {k: v.double() for k, v in bodies.items()}
    with torch.no_grad():
        posed_smpl = smpl(
            global_orient=params["global_orient"],
            body_pose=params["body_pose"].reshape(8, 69),
            betas=params["betas"],
            transl=params["transl"],
        ).vertices.numpy()
        fitted = _smplx_vertices(
            smplx,
            result.global_orient.double(),
            result.body_pose.double(),
            result.betas.double(),
            result.transl.double(),
        ).numpy()[:, correspondence.mask_ids]
    rows = correspondence.masked_matrix()
    mapped = np.stack([rows @ one for one in posed_smpl])
    reference = 1000 * np.linalg.norm(fitted - mapped, axis=-1).mean(1)
    np.testing.assert_allclose(result.error_mm.numpy(), reference, rtol=0, atol=5e-3)
    assert result.error_mm.min() > 0.05  # SMPL's hand joints are not carried over
    assert result.body_pose.shape == (8, 21, 3) and result.betas.shape == (8, 10)
    torch.testing.assert_close(result.body_pose, bodies["body_pose"][:, :21])


def test_body_pose_layouts_and_shape_errors(synthetic_models_dir):
    transfer = ShapeTransfer.from_models(synthetic_models_dir)
    bodies = sample_smpl_bodies(4, seed=6)
    flat = {**bodies, "body_pose": bodies["body_pose"].reshape(4, 69)}
    torch.testing.assert_close(transfer.transfer(**flat).betas, transfer.transfer(**bodies).betas)
    empty = transfer.transfer(**{k: v[:0] for k, v in bodies.items()})
    assert empty.betas.shape == (0, 10) and empty.body_pose.shape == (0, 21, 3)
    transfer.chunk_size = 3  # chunks of 3, 1: the same solve per body
    torch.testing.assert_close(transfer.transfer(**flat).betas, transfer.transfer(**bodies).betas)
    with pytest.raises(ValueError, match="body_pose: expected shape"):
        transfer.transfer(**{**bodies, "body_pose": torch.zeros(4, 72)})
    with pytest.raises(ValueError, match="betas: expected shape"):
        transfer.transfer(**{**bodies, "betas": torch.zeros(4, 16)})
    with pytest.raises(ValueError, match="transl"):
        transfer.transfer(**{**bodies, "transl": torch.zeros(3, 3)})


@pytest.mark.gpu
def test_runs_on_cuda(synthetic_models_dir):
    transfer = ShapeTransfer.from_models(synthetic_models_dir)
    bodies = sample_smpl_bodies(16, seed=7)
    cpu = transfer.transfer(**bodies)
    gpu = transfer.to("cuda").transfer(**{k: v.cuda() for k, v in bodies.items()})
    torch.testing.assert_close(gpu.betas.cpu(), cpu.betas, rtol=0, atol=1e-3)
    torch.testing.assert_close(gpu.error_mm.cpu(), cpu.error_mm, rtol=0, atol=1e-3)
