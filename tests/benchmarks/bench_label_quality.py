"""Benchmark: label quality on synthetic truth (issue 7, section 5).

One simulated shard (``tests/support/quality_sim.py``: plausible SMPL-X people, pinhole cameras,
noisy OpenPose-137 detections with missing points, part experts = truth + the errors of good
regressors, 30% gross errors spread over flipped hands, a hand twisted +-90 degrees about its
forearm, left/right limbs swapped, a body facing backwards) is labelled the way a shard run does
(``tests/support/quality_eval.py``: selection steps 1-3 at the default thresholds, shape transfer,
fusion) with each wrist rule, and the labels are measured against the truth by driving the
unmodified ``smplx`` SMPL-X layer with both. Reported:

* selection: precision / recall of rejecting (step 2 body or step 3) the gross errors among the
  rows that pass step 1, per kind, and how many gross errors reach a kept label;
* vertex error (mm, pelvis-aligned, over the valid parts) of the kept labels vs the truth;
* wrist rules ``furpe`` / ``copy-paste`` / ``adaptive``: wrist rotation error (degrees), hand
  keypoint error (mm, wrist-aligned), forearm skin error (mm, elbow-aligned);
* (the selection beyond FuRPE's three steps: ``bench_selection_beyond_furpe.py``)
* step 3 throughput (``score_reprojection`` on the simulated labels: fast OpenPose-137 path) in
  samples/s against the baseline ``smplx.SMPLX.forward`` (whole mesh) + the same projection and
  errors, same process, median of repeats after a warm-up, wall-clock at the default thread
  count and per CPU-second of one thread, with the load average (the machine is shared).

    pytest tests/benchmarks -m benchmark -s -k label_quality
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import torch

from furpe_label.experts.fusion.config import FusionConfig
from furpe_label.experts.geometry.rotations import matrix_to_axis_angle
from furpe_label.experts.vocabulary import Part
from furpe_label.selection import SelectionConfig, score_reprojection
from tests.benchmarks.bench_selection import FullForwardKeypoints
from tests.benchmarks.timing import median_wall_and_cpu
from tests.support.quality_eval import (
    HANDS,
    label_errors,
    label_people,
    reached_label,
    rejected,
    transfer_shapes,
)
from tests.support.quality_models import QualityModels
from tests.support.quality_sim import CLEAN, GROSS_ERRORS, simulate_people

N = 4096
SEED = 7
GROSS_FRACTION = 0.3
RULES = ("furpe", "copy-paste", "adaptive")
DEFAULT_RULE = FusionConfig().wrist
BASELINE_ROWS = 1024
REPEATS = 5
TARGET_SAMPLES_PER_S = 10_000


@pytest.fixture(scope="module")
def world(synthetic_models_dir):
    start = time.perf_counter()
    models = QualityModels.load(synthetic_models_dir)
    people = simulate_people(models, N, SEED, GROSS_FRACTION)
    shapes = transfer_shapes(models, people)
    labels = {rule: label_people(models, people, shapes, rule) for rule in RULES}
    kept = np.stack([labels[rule].outcome.kept for rule in RULES])
    rows = np.flatnonzero(kept.any(0))
    errors = label_errors(models, people.truth, {r: labels[r].stored for r in RULES}, rows)
    print(
        f"\n[{N} simulated people, seed {SEED}, built and labelled in "
        f"{time.perf_counter() - start:.0f} s; load average {_load()}]"
    )
    return models, people, shapes, labels, rows, errors


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _twisted_hands(people) -> np.ndarray:
    """(n, 2) bool: the hand (left, right) a ``wrist_twist`` error turned."""
    twisted = np.zeros((len(people), 2), dtype=bool)
    rows = np.flatnonzero(people.gross == "wrist_twist")
    twisted[rows, people.gross_side[rows]] = True
    return twisted


def _median(values: np.ndarray) -> str:
    values = values[np.isfinite(values)]
    return f"{np.median(values):7.1f}" if len(values) else "    n/a"


@pytest.mark.benchmark
def test_label_quality_gross_error_rejection(world):
    _, people, _, labels, _, _ = world
    run = labels[DEFAULT_RULE]
    outcome = run.outcome
    scored = run.metrics["n_confident_kp"] >= SelectionConfig().min_count  # passed step 1
    gross = (people.gross != CLEAN) & scored
    flagged = rejected(outcome) & scored
    precision = (flagged & gross).sum() / max(flagged.sum(), 1)
    recall = (flagged & gross).sum() / max(gross.sum(), 1)
    print(
        f"\nselection at the default thresholds, wrist rule {DEFAULT_RULE}: {scored.sum()} of "
        f"{N} rows pass step 1, {gross.sum()} of them with a gross error"
    )
    print(
        f"  rejecting gross errors (step 2 body or step 3): precision {precision:.3f}, "
        f"recall {recall:.3f}"
    )
    print("  kind            rows  rejected  in a kept label")
    reached = reached_label(people, outcome)
    for kind in (CLEAN, *GROSS_ERRORS):
        rows = (people.gross == kind) & scored
        print(
            f"  {kind:14s} {rows.sum():5d}  {flagged[rows].mean():8.3f}  "
            f"{reached[rows].mean() if kind != CLEAN else float('nan'):15.3f}"
        )
    clean = (people.gross == CLEAN) & scored
    reasons, counts = np.unique(outcome.drop_reason[clean].astype(str), return_counts=True)
    print(f"  clean rows by outcome: {dict(zip(reasons.tolist(), counts.tolist(), strict=True))}")
    # Diagnostics (not keep rules): per-hand signals a hand rule could use, each thresholded
    # at the 95th percentile of the clean rows' usable hands.
    for name, signal in (
        ("per-hand reprojection mse (norm)", lambda h: run.metrics[f"reproj_mse_norm_{h.value}"]),
        (
            "body-wrist vs hand rotation (rad)",
            lambda h: run.stored.wrist_disagreement_rad[:, HANDS.index(h)],
        ),
    ):
        values = np.stack([signal(h) for h in HANDS], 1).astype(np.float64)
        usable = outcome.part_valid[:, [h.column for h in HANDS]]
        cut = np.nanpercentile(values[usable & clean[:, None]], 95)
        twisted = _twisted_hands(people)
        flipped = usable & (people.gross == "flipped_hands")[:, None]
        print(
            f"  diagnostic {name} > {cut:.4f}: flags {(values[flipped] > cut).mean():.3f} of "
            f"flipped, {(values[twisted & usable] > cut).mean():.3f} of twisted hands"
        )
    assert (flagged[clean]).mean() < 0.1
    assert flagged[(people.gross == "backwards") & scored].mean() > 0.5


@pytest.mark.benchmark
def test_label_quality_vertex_error(world):
    models, people, shapes, labels, rows, errors = world
    outcome, error = labels[DEFAULT_RULE].outcome, errors[DEFAULT_RULE]
    kept = outcome.kept[rows]
    kind = people.gross[rows]
    print(
        f"\nkept labels vs truth, wrist rule {DEFAULT_RULE}: mean vertex distance over the "
        "valid parts, pelvis-aligned, mm (per row; then median / mean / 90th percentile)"
    )
    for name, chosen in (
        ("clean kept", kept & (kind == CLEAN)),
        ("gross kept", kept & (kind != CLEAN)),
        ("all kept", kept),
    ):
        values = error.vertex_mm[chosen]
        parts = "  ".join(
            f"{p.value} {_median(error.part_vertex_mm[chosen, p.column])}" for p in Part
        )
        print(
            f"  {name:10s} {chosen.sum():5d} rows: {np.median(values):6.1f} / "
            f"{values.mean():6.1f} / {np.percentile(values, 90):6.1f}; part medians {parts}"
        )
    for kind_name in GROSS_ERRORS:
        chosen = kept & (kind == kind_name)
        print(
            f"    {kind_name:14s} kept {chosen.sum():4d}: median {_median(error.vertex_mm[chosen])}"
        )
    # The shape transfer on clean bodies: SMPL-X betas vs the truth, and the share of it that
    # SPIN's SMPL hand joints (22, 23: posed SMPL hands, flat SMPL-X hands) cause.
    clean = np.flatnonzero((people.gross == CLEAN) & outcome.kept)[:512]
    body = people.experts.record(Part.BODY).params
    rotvecs = matrix_to_axis_angle(torch.as_tensor(body.rotmats[clean]).double())
    rotvecs[:, 22:] = 0.0
    zero = torch.zeros(len(clean), 3, dtype=torch.float64)
    no_hands = models.transfer.transfer(
        rotvecs[:, 0],
        rotvecs[:, 1:],
        torch.as_tensor(body.betas[clean]).double(),
        zero,
    ).betas.numpy()
    truth = people.truth["betas"][clean]
    print(
        f"  shape transfer on {len(clean)} clean kept rows: mean |SMPL-X beta - truth| "
        f"{np.abs(shapes.betas[clean] - truth).mean():.3f} (expert noise alone would give "
        f"{np.abs(models.betas.to_smplx(body.betas[clean]) - truth).mean():.3f}"
        f"); with SPIN's SMPL hand joints zeroed first {np.abs(no_hands - truth).mean():.3f}"
    )
    assert np.median(error.vertex_mm[kept & (kind == CLEAN)]) < 200.0


@pytest.mark.benchmark
def test_label_quality_wrist_rules(world):
    _, people, _, labels, rows, errors = world
    common = np.all([labels[rule].outcome.kept[rows] for rule in RULES], axis=0)
    kind = people.gross[rows]
    valid = labels[DEFAULT_RULE].outcome.part_valid[rows][:, [h.column for h in HANDS]]
    twisted = _twisted_hands(people)[rows]
    groups = {
        "clean hands": valid & (common & (kind == CLEAN))[:, None],
        "twisted hand": valid & twisted & common[:, None],
        "flipped hands": valid & (common & (kind == "flipped_hands"))[:, None],
    }
    print("\nwrist rules on the hands valid in rows kept by every rule; medians (mean)")
    print("  rule        group           hands   wrist deg      hand kp mm    forearm mm")
    for rule in RULES:
        error = errors[rule]
        for group, mask in groups.items():
            cells = "  ".join(
                f"{np.median(v[mask]):6.1f} ({v[mask].mean():6.1f})"
                for v in (error.wrist_deg, error.hand_keypoints_mm, error.forearm_mm)
            )
            print(f"  {rule:10s}  {group:14s} {mask.sum():5d}  {cells}")
    excess = labels["adaptive"].stored.wrist_twist_excess_rad[rows]
    for group, mask in groups.items():
        print(
            f"  adaptive moved twist into the elbow on {(excess[mask] != 0).mean():.3f} of {group}"
        )
    copy, furpe = errors["copy-paste"], errors["furpe"]
    # the hands both rules labelled (a rule's suppressed hand has no wrist angle: NaN)
    clean = groups["clean hands"] & np.isfinite(copy.wrist_deg) & np.isfinite(furpe.wrist_deg)
    assert clean.sum() > 100
    assert np.median(copy.wrist_deg[clean]) < np.median(furpe.wrist_deg[clean])


def _first_rows(args: dict, count: int) -> dict:
    """``score_reprojection`` arguments of the first ``count`` rows, all of them scored."""
    rows = np.arange(count)
    return {
        **args,
        "rows": None,
        "params": {k: v[:count] for k, v in args["params"].items()},
        "camera": type(args["camera"])(args["camera"].cam[:count]),
        "frame": args["frame"].take(rows),
        "keypoints2d": args["keypoints2d"][:count],
        "part_valid": args["part_valid"][:count],
    }


@pytest.mark.benchmark
def test_label_quality_step3_throughput(world):
    models, _, _, labels, _, _ = world
    fast = _first_rows(labels[DEFAULT_RULE].step3, N)
    small = _first_rows(fast, BASELINE_ROWS)
    baseline = {**small, "layer": FullForwardKeypoints(models.smplx)}
    diff = np.nanmax(np.abs(score_reprojection(**small)[1] - score_reprojection(**baseline)[1]))
    threads = torch.get_num_threads()
    print(
        f"\nstep 3 on the simulated labels ({DEFAULT_RULE}), CPU, samples/s: wall-clock with "
        f"{threads} threads | wall-clock with 1 thread | per CPU-second of 1 thread "
        f"(load average before {_load()})"
    )
    rates = {}
    for name, kwargs, rows, repeats in (
        ("baseline", baseline, BASELINE_ROWS, 3),
        ("fast", fast, N, REPEATS),
    ):
        wall, _ = median_wall_and_cpu(lambda kw=kwargs: score_reprojection(**kw), repeats)
        torch.set_num_threads(1)  # one thread: robust to the other users of the machine
        try:
            wall_1, cpu = median_wall_and_cpu(lambda kw=kwargs: score_reprojection(**kw), repeats)
        finally:
            torch.set_num_threads(threads)
        rates[name] = np.array([rows / wall, rows / wall_1, rows / cpu])
        cells = " | ".join(f"{rate:10,.0f}" for rate in rates[name])
        print(f"  {name:8s} ({rows:5d} rows) {cells}")
    ratio = " | ".join(f"{r:.1f}x" for r in rates["fast"] / rates["baseline"])
    print(
        f"  speed-up {ratio}; goal >= {TARGET_SAMPLES_PER_S:,} samples/s; max |projection "
        f"diff| {diff:.1e} px; load average after {_load()}"
    )
    assert diff < 1e-2
