"""Benchmark: batched keypoint fitting vs per-sample L-BFGS on the same loss (CPU).

For each part (SMPL body, MANO hand, FLAME face) a batch of 256 synthetic instances is drawn
(tests/support/fitting_truth.py: plausible parameters and cameras, keypoints with 2 px noise, 10%
missing and 5% outliers 40-80 px away), then fitted twice in the same process:

* batched: ``fitter.fit(...)`` (per-sample L-BFGS run for the whole batch in lock step,
  converged samples dropped from the evaluated batch);
* baseline: ``fitter.fit(..., solver=lbfgs_per_sample)``, i.e. ``torch.optim.LBFGS`` with
  strong-Wolfe line search on one instance at a time: the same stages, multi-start, loss,
  iteration limits and history size. Its throughput is measured on the first
  ``BASELINE_SAMPLES`` instances (per-sample cost does not depend on the batch).

Reported per part: samples/s of both (median of ``REPEATS`` interleaved runs) and their
ratio (goal >= 20x); on the baseline's instances the mean final loss of both and its ratio
(goal <= 1.1x), the mean keypoint error in crop pixels against the noise-free projections,
and the 3D error against the truth in mm (body: the 25 OpenPose keypoints after aligning
the mid-hip (pelvis joint); hand: the 21 keypoints after aligning the wrist; face: the 68
landmarks after aligning their centroids). From 2D keypoints alone the body's depth is
ambiguous (weak perspective), so its 3D error is large for both solvers; with world
landmarks it drops to ~35 mm (tests/experts/fitting/test_fitting_body.py).
Torch runs single-threaded (shared 2-core machines: OpenMP spinning would otherwise make the
one-sample baseline many times slower than it is).

    pytest tests/benchmarks -m benchmark -s -k fitting
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest
import torch

from furpe_label.experts.fitting.body import SmplBodyFitter
from furpe_label.experts.fitting.face import FlameFaceFitter
from furpe_label.experts.fitting.hand import ManoHandFitter
from furpe_label.experts.fitting.solver import lbfgs_per_sample
from tests.support.fitting_errors import keypoint_error_px, truth_error_mm
from tests.support.fitting_truth import body_truth, face_truth, hand_truth

BATCH = 256
BASELINE_SAMPLES = 8
REPEATS = 3
NOISE = {"noise_px": 2.0, "missing": 0.1, "outliers": 0.05}
GOAL_SPEEDUP, GOAL_ERROR_RATIO = 20.0, 1.1


def _setup(part: str, models_dir):
    if part == "body":
        fitter = SmplBodyFitter(models_dir)
        truth = body_truth(fitter, BATCH, seed=11, **NOISE)
        return fitter, truth, lambda rows, **kw: fitter.fit(truth.keypoints[rows], **kw)
    if part == "hand":
        fitter = ManoHandFitter(models_dir)
        truth = hand_truth(fitter, BATCH, seed=12, **NOISE)
        is_left = np.zeros(BATCH, bool)
        return (
            fitter,
            truth,
            lambda rows, **kw: fitter.fit(truth.keypoints[rows], is_left[rows], **kw),
        )
    fitter = FlameFaceFitter(models_dir)
    truth = face_truth(fitter, BATCH, seed=13, **NOISE)
    return fitter, truth, lambda rows, **kw: fitter.fit(truth.keypoints[rows], **kw)


def _timed(run, rows, **kwargs):
    start = time.perf_counter()
    result = run(rows, **kwargs)
    return time.perf_counter() - start, result


@pytest.mark.benchmark
@pytest.mark.parametrize("part", ["body", "hand", "face"])
def test_fitting_speedup(synthetic_models_dir, part):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fitter, truth, run = _setup(part, synthetic_models_dir)
        everything = np.arange(BATCH)
        subset = np.arange(BASELINE_SAMPLES)
        # Interleaved repeats: both see the same load on a shared machine.
        times_batched, times_base = [], []
        for _ in range(REPEATS):
            seconds, batched = _timed(run, everything)
            times_batched.append(seconds)
            seconds, base = _timed(run, subset, solver=lbfgs_per_sample)
            times_base.append(seconds)
        t_batched, t_base = statistics.median(times_batched), statistics.median(times_base)
    finally:
        torch.set_num_threads(threads)
    rate_batched, rate_base = BATCH / t_batched, BASELINE_SAMPLES / t_base
    loss_batched = float(np.nanmean(batched.loss[subset]))
    loss_base = float(np.nanmean(base.loss))
    kp = {
        k: keypoint_error_px(fitter, r, truth, rows)
        for k, r, rows in (("batched", batched, everything), ("base", base, subset))
    }
    mm = {
        k: truth_error_mm(fitter, r, truth, rows)
        for k, r, rows in (("batched", batched, everything), ("base", base, subset))
    }
    speedup, error_ratio = rate_batched / rate_base, loss_batched / loss_base
    print(
        f"\n{part}: batch {BATCH}, 1 thread | batched {rate_batched:.1f} samples/s, "
        f"per-sample L-BFGS {rate_base:.2f} samples/s -> {speedup:.1f}x (goal >= "
        f"{GOAL_SPEEDUP:.0f}x)\n  on the baseline's {BASELINE_SAMPLES}: final loss "
        f"batched {loss_batched:.5f} vs baseline {loss_base:.5f} -> {error_ratio:.3f}x "
        f"(goal <= {GOAL_ERROR_RATIO}x); keypoint error px {kp['batched'][subset].mean():.2f} "
        f"vs {kp['base'].mean():.2f}; 3D error mm {mm['batched'][subset].mean():.1f} vs "
        f"{mm['base'].mean():.1f}\n  all {BATCH} batched: keypoint error px mean "
        f"{kp['batched'].mean():.2f} median {np.median(kp['batched']):.2f}; 3D error mm mean "
        f"{mm['batched'].mean():.1f} median {np.median(mm['batched']):.1f}"
    )
    assert np.isfinite(batched.loss).all() and np.isfinite(base.loss).all()
