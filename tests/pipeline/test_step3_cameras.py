"""Step 3 scores with the dataset's intrinsics where the manifest has them, else weakly."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import torch

from furpe_label.experts.geometry.cameras import WeakPerspectiveCamera
from furpe_label.experts.vocabulary import Reason
from furpe_label.pipeline.step3_cameras import intrinsics, perspective_from_weak, score_step3
from furpe_label.selection import BodyCropFrame, SelectionConfig
from tests.support.selection_data import body_crop_affines, keypoint_layer, plausible_smplx_params

N = 6


def _crops(rng: np.random.Generator) -> BodyCropFrame:
    centre = rng.uniform(300, 700, (N, 2))
    side = rng.uniform(200, 500, N)
    corners = np.stack([centre - side[:, None] / 2, centre + side[:, None] / 2], axis=1)
    return BodyCropFrame(body_crop_affines(corners, np.ones((N, 2), bool)))


def test_the_pinhole_camera_agrees_with_the_weak_one_at_the_root_depth():
    rng = np.random.default_rng(0)
    frame = _crops(rng)
    cam = np.stack([rng.uniform(0.6, 1.2, N), rng.normal(0, 0.1, N), rng.normal(0, 0.1, N)], 1)
    focal = np.full((N, 2), 1145.0)
    principal = np.full((N, 2), 500.0)
    pinhole = perspective_from_weak(cam, frame, focal, principal)
    flat = torch.as_tensor(rng.normal(0, 0.4, (N, 30, 3)) * [1, 1, 0], dtype=torch.float32)
    weak = frame.norm_to_image(
        WeakPerspectiveCamera(torch.as_tensor(cam)).project(flat).double().numpy()
    )
    np.testing.assert_allclose(pinhole.project(flat).double().numpy(), weak, atol=2e-3)
    deep = flat + torch.tensor([0.0, 0.0, 0.3])  # out of the root's plane: perspective differs
    moved = np.abs(pinhole.project(deep).double().numpy() - weak).max()
    assert moved > 1.0


def test_rows_with_intrinsics_are_scored_in_perspective_the_others_weak(synthetic_models_dir):
    rng = np.random.default_rng(1)
    layer = keypoint_layer(synthetic_models_dir)
    params = plausible_smplx_params(N, seed=2)
    frame = _crops(rng)
    cam = np.stack([rng.uniform(0.7, 1.0, N), rng.normal(0, 0.05, N), rng.normal(0, 0.05, N)], 1)
    focal = np.full((N, 2), 600.0)  # a wide lens: perspective matters
    principal = np.full((N, 2), 500.0)
    has = np.array([True, True, True, False, False, True])
    truth = perspective_from_weak(cam, frame, focal, principal)
    with torch.no_grad():
        points, _ = layer(**{k: torch.as_tensor(v) for k, v in params.items()})
    detected = np.zeros((N, 137, 3))
    detected[..., :2] = truth.project(points).double().numpy()  # what the camera saw
    detected[..., 2] = 0.9
    table = pa.table(
        {
            "focal": pa.array(
                [list(f) if h else None for f, h in zip(focal, has, strict=True)],
                pa.list_(pa.float32(), 2),
            ),
            "principal_point": pa.array([list(p) for p in principal], pa.list_(pa.float32(), 2)),
        }
    )
    affines = np.repeat(frame.affine[:, None], 4, axis=1)
    models = SimpleNamespace(openpose_layer=layer, selection=SelectionConfig())
    candidate = SimpleNamespace(smplx_params=lambda: params, camera=cam)
    experts = SimpleNamespace(affines=affines)
    status = np.full((N, 4), Reason.OK, dtype=object)
    rows = np.ones(N, bool)
    out, projected = score_step3(
        models, candidate, np.zeros((N, 3)), experts, detected, status == Reason.OK, rows, table
    )
    assert out["step3_scored"].all()
    error = out["reproj_mse_px"]
    assert (error[has] < 1e-6).all()  # perspective rows reproject onto what the camera saw
    assert (error[~has] > 1.0).all()  # weak perspective cannot, on this wide lens
    mapped = layer.op_mask.numpy()
    np.testing.assert_allclose(projected[has][:, mapped], detected[has][:, mapped, :2], atol=0.05)
    assert intrinsics(table)[2].tolist() == has.tolist()
    assert (out["reproj_n_kp_body"] > 0).all()
