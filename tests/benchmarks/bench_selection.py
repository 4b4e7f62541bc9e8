"""Benchmarks of selection step 3: throughput, and the distribution its default comes from.

Throughput: ``score_reprojection`` (fast OpenPose-137 path, projection, errors in two frames,
per part) against the same function fed by the baseline keypoints of ``smplx.SMPLX.forward``
(whole mesh) + the SMPLify-X mapping — same process, same people, CPU, float32, no autograd,
median of repeats after a warm-up. Goal: >= 10 000 samples/s. Reported as wall-clock rate
(default threads) and as samples per CPU-second of one thread (``time.process_time`` with
``torch.set_num_threads(1)``): on a shared machine the wall-clock rate measures the load.

Threshold study: step 3 on synthetic truth (``reprojection_study``) at three expert error
levels; prints quantiles and what the default keeps and drops.

    pytest tests/benchmarks -m benchmark -s -k selection
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.experts.geometry.cameras import WeakPerspectiveCamera
from furpe_label.experts.keypoints.smplx_openpose import smplx_joints_to_openpose137
from furpe_label.selection import BodyCropFrame, SelectionConfig, score_reprojection
from tests.benchmarks.reprojection_study import GROSS_KINDS, simulate
from tests.benchmarks.timing import median_wall_and_cpu
from tests.support.selection_data import keypoint_layer, plausible_smplx_params

SHARD = 10_240
BASELINE_ROWS = 1_024
REPEATS = 5
TARGET_SAMPLES_PER_S = 10_000


class FullForwardKeypoints(torch.nn.Module):
    """Baseline: OpenPose-137 keypoints from ``smplx.SMPLX.forward`` (the whole mesh)."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model
        _, mask = smplx_joints_to_openpose137(torch.zeros(1, 127, 3), False)
        self.op_mask = mask
        self.pose_mean = model.pose_mean.reshape(-1, 3)

    def forward(self, **params):
        flat = {k: v.reshape(len(v), -1) for k, v in params.items()}
        return smplx_joints_to_openpose137(self.model(**flat).joints, False)


def _inputs(n: int, seed: int):
    rng = np.random.default_rng(seed)
    params = plausible_smplx_params(n, seed)
    cam = np.stack([rng.uniform(0.8, 1.1, n), rng.normal(0, 0.1, n), rng.normal(0, 0.1, n)], 1)
    side = rng.uniform(200, 600, n)
    affine = np.zeros((n, 2, 3))
    affine[:, 0, 0] = affine[:, 1, 1] = 224 / side
    affine[:, :, 2] = 111.5 - rng.uniform(300, 700, (n, 2)) * (224 / side)[:, None]
    keypoints = np.concatenate([rng.uniform(0, 1000, (n, 137, 2)), rng.random((n, 137, 1))], -1)
    camera = WeakPerspectiveCamera(torch.as_tensor(cam, dtype=torch.float32))
    return params, camera, BodyCropFrame(affine), keypoints, np.ones((n, 4), dtype=bool)


@pytest.mark.benchmark
def test_selection_step3_throughput(synthetic_models_dir):
    fast = keypoint_layer(synthetic_models_dir)
    model = load_body_model(
        synthetic_models_dir, "smplx", flat_hand_mean=True, num_expression_coeffs=10
    ).layer
    baseline = FullForwardKeypoints(model)
    config = SelectionConfig()
    shard = _inputs(SHARD, seed=0)
    small = _inputs(BASELINE_ROWS, seed=0)

    def run(layer, inputs):
        return score_reprojection(layer, *inputs[:3], inputs[3], inputs[4], config)

    diff = np.nanmax(np.abs(run(fast, small)[1] - run(baseline, small)[1]))
    rates = {}
    cases = (
        ("baseline", baseline, small, 3),
        ("fast", fast, small, REPEATS),
        ("fast shard", fast, shard, 3),
    )
    threads = torch.get_num_threads()
    for name, layer, inputs, repeats in cases:
        wall, _ = median_wall_and_cpu(lambda lay=layer, inp=inputs: run(lay, inp), repeats)
        torch.set_num_threads(1)  # CPU seconds of one thread: robust to a shared machine
        try:
            _, cpu = median_wall_and_cpu(lambda lay=layer, inp=inputs: run(lay, inp), repeats)
        finally:
            torch.set_num_threads(threads)
        rates[name] = (len(inputs[3]) / wall, len(inputs[3]) / cpu)
    print(
        f"\nstep 3 (keypoints + projection + errors in 2 frames, per part), CPU; samples/s: "
        f"wall-clock with {threads} threads | per CPU-second of 1 thread"
    )
    for name, (wall_rate, cpu_rate) in rates.items():
        print(f"  {name:10s} {wall_rate:10,.0f} | {cpu_rate:10,.0f}")
    base, quick = rates["baseline"], rates["fast"]
    print(
        f"  speed-up {quick[0] / base[0]:.1f}x wall, {quick[1] / base[1]:.1f}x CPU; goal >= "
        f"{TARGET_SAMPLES_PER_S:,} samples/s; max |projection diff| {diff:.2e} px"
    )
    assert diff < 1e-2


@pytest.mark.benchmark
def test_selection_step3_threshold_study(synthetic_models_dir):
    layer = keypoint_layer(synthetic_models_dir)
    default = SelectionConfig().max_mse
    print(f"\nstep 3 threshold study, default max_mse {default} (normalised frame)")
    for level in (0.0, 0.5, 1.0):
        result = simulate(layer, 8_192, seed=1, expert_error=level)
        good = result["kind"] == "good"
        for frame in ("mse_norm", "mse_px"):
            values = result[frame]
            q = np.percentile(values[good], [50, 90, 95, 99])
            at95 = q[2]
            gross_q = np.round(np.percentile(values[~good], [10, 50]), 4)
            print(
                f"  expert error x{level} {frame}: good q50/90/95/99 {np.round(q, 4)}; gross "
                f"q10/50 {gross_q}; a threshold at the good 95th percentile drops "
                f"{(values[~good] > at95).mean():.3f} of gross"
            )
        values = result["mse_norm"]
        by_kind = {
            k: round(float((values[result["kind"] == k] > default).mean()), 3) for k in GROSS_KINDS
        }
        keep_good, drop_gross = (values[good] <= default).mean(), (values[~good] > default).mean()
        print(
            f"    default keeps {keep_good:.3f} of good, drops {drop_gross:.3f} of gross {by_kind}"
        )
        if level == 1.0:
            assert keep_good > 0.9 and drop_gross > 0.85
