"""Benchmark: OpenPose-137 keypoints from SMPL-X parameters, fast path vs full forward.

Baseline: ``smplx.SMPLX.forward`` (whole mesh) followed by the SMPLify-X mapping. The model
is the synthetic SMPL-X (official sizes) loaded through the project's loader. Both run in
the same process on the same random batch of 1024 (CPU, float32, no autograd), after a
warm-up; the median of several repeats is reported with the speed-up ratio.

    pytest tests/benchmarks -m benchmark -s
"""

from __future__ import annotations

import pytest
import torch

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.keypoints.fast_openpose import OpenPoseFromSMPLX
from furpe_label.experts.keypoints.smplx_openpose import smplx_joints_to_openpose137
from tests.benchmarks.timing import median_seconds

BATCH = 1024
REPEATS = 7
TARGET_SPEEDUP = 10.0


@pytest.mark.benchmark
@pytest.mark.parametrize("use_face_contour", [False, True])
def test_fast_openpose_speedup(synthetic_models_dir, use_face_contour):
    model = load_body_model(
        synthetic_models_dir,
        "smplx",
        use_face_contour=use_face_contour,
        num_betas=10,
        num_expression_coeffs=10,
    ).layer
    fast = OpenPoseFromSMPLX(model)
    g = torch.Generator().manual_seed(0)
    params = {
        "global_orient": 0.5 * torch.randn(BATCH, 3, generator=g),
        "body_pose": 0.3 * torch.randn(BATCH, 63, generator=g),
        "betas": torch.randn(BATCH, 10, generator=g),
        "left_hand_pose": 0.3 * torch.randn(BATCH, 45, generator=g),
        "right_hand_pose": 0.3 * torch.randn(BATCH, 45, generator=g),
        "jaw_pose": 0.2 * torch.randn(BATCH, 3, generator=g),
        "leye_pose": 0.2 * torch.randn(BATCH, 3, generator=g),
        "reye_pose": 0.2 * torch.randn(BATCH, 3, generator=g),
        "expression": torch.randn(BATCH, 10, generator=g),
        "transl": torch.randn(BATCH, 3, generator=g),
    }

    def full():
        return smplx_joints_to_openpose137(model(**params).joints, use_face_contour)

    def sparse():
        return fast(**params)

    with torch.no_grad():
        err = (full()[0] - sparse()[0]).abs().max().item()
        t_full = median_seconds(full, REPEATS)
        t_fast = median_seconds(sparse, REPEATS)
    ratio = t_full / t_fast
    print(
        f"\nOpenPose-137 from SMPL-X, batch {BATCH}, CPU x{torch.get_num_threads()} threads, "
        f"contour={use_face_contour}: full forward + mapping {t_full * 1e3:.1f} ms, "
        f"OpenPoseFromSMPLX {t_fast * 1e3:.1f} ms, speed-up {ratio:.1f}x "
        f"(target >= {TARGET_SPEEDUP:.0f}x), max |diff| {err:.2e} m"
    )
    assert err < 1e-5
