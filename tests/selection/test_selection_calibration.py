"""calibrate: thresholds chosen on rows with ground truth, for a target precision."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from furpe_label.experts.vocabulary import Reason
from furpe_label.selection import SelectionConfig, SelectionMetrics
from furpe_label.selection.calibration import calibrate, calibration_evaluator
from furpe_label.selection.columns import METRIC_COLUMNS

N = 400
BASE = SelectionConfig()


def _stored(seed: int = 0) -> tuple[SelectionMetrics, np.ndarray, np.ndarray]:
    """N rows that pass steps 1 and 2, whose step-3 error (body only) predicts the label error
    (mm) with noise, 10 % gross errors hidden at low reprojection error, and 15 % never fused."""
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for name, spec in METRIC_COLUMNS.items():
        if spec.holds_reasons:
            columns[name] = np.full(N, Reason.OK, dtype=object)
        elif spec.dtype == "bool":
            columns[name] = np.zeros(N, bool)
        elif spec.dtype.startswith("float"):
            columns[name] = np.full(N, np.nan, spec.dtype)  # no evidence: no rule fires
        else:
            columns[name] = np.zeros(N, spec.dtype)
    columns["n_confident_kp"][:] = rng.integers(12, 80, N)
    columns["step2_scored"][:] = columns["step3_scored"][:] = True
    columns["n_visible_kp_left_hand"][:] = columns["n_visible_kp_right_hand"][:] = 20
    mse = rng.uniform(0.0, 0.3, N) ** 2
    columns["reproj_n_kp_body"][:] = 20
    for frame in ("px", "norm"):
        columns[f"reproj_mse_{frame}_body"][:] = mse * (1e4 if frame == "px" else 1)
        columns[f"reproj_mean_{frame}_body"][:] = np.sqrt(mse)
    error = 40 + 2500 * mse + rng.normal(0, 10, N)
    error[rng.random(N) < 0.1] = 400.0  # gross errors step 3 cannot see
    error[rng.random(N) < 0.15] = np.nan  # never reached fusion
    inputs = np.full(N, Reason.OK.value, dtype=object)
    return SelectionMetrics(columns, BASE.scoring_parameters()), inputs, error


def test_chosen_thresholds_reach_the_precision_and_beat_any_max_mse_alone():
    metrics, inputs, error = _stored()
    result = calibrate(metrics, inputs, error, BASE, max_error_mm=100.0, min_precision=0.85)
    assert result.feasible and result.chosen.precision >= 0.85
    assert result.judged == int(np.isfinite(error).sum())
    evaluate = calibration_evaluator(metrics, inputs, error, 100.0)
    best_alone = max(
        (
            p.kept_good
            for p in (
                evaluate(dataclasses.replace(BASE, max_mse=m)) for m in np.geomspace(1e-4, 0.2, 200)
            )
            if p.precision >= 0.85
        ),
        default=0,
    )
    assert best_alone > 0 and result.chosen.kept_good >= best_alone
    assert result.chosen.config.max_mse != BASE.max_mse
    assert set(result.changed()) >= {"step3.max_mse"}
    # the curve sweeps max_mse around the chosen value: recall grows with it
    recalls = [p.recall for p in result.curve]
    assert recalls == sorted(recalls) and recalls[0] < result.chosen.recall <= recalls[-1]


def test_an_unreachable_precision_is_said_and_gives_the_highest_found():
    metrics, inputs, error = _stored()
    result = calibrate(metrics, inputs, error, BASE, max_error_mm=5.0, min_precision=0.5)
    assert not result.feasible
    assert result.chosen.precision >= result.base.precision and result.chosen.kept_judged > 0


def test_no_ground_truth_or_bad_targets_are_refused():
    metrics, inputs, error = _stored()
    with pytest.raises(ValueError, match="ground-truth error"):
        calibrate(metrics, inputs, np.full(N, np.nan), BASE, 100.0, 0.9)
    with pytest.raises(ValueError, match="max-error-mm"):
        calibrate(metrics, inputs, error, BASE, -1.0, 0.9)
    with pytest.raises(ValueError, match="min-precision"):
        calibrate(metrics, inputs, error, BASE, 100.0, 1.5)


def test_a_rule_that_is_off_is_turned_on_where_its_score_separates_the_gross_errors():
    """The agreement rule is off by default; where its score flags the gross errors that step 3
    cannot see, calibrate turns it on at a value from the run's own scores (and a rule that is
    off and has no scores stays off)."""
    metrics, inputs, error = _stored()
    rng = np.random.default_rng(5)
    gross = error > 300
    agreement = np.where(gross, rng.uniform(150, 300, N), rng.uniform(10, 90, N))
    columns = {**metrics.columns, "agreement_body_mm": agreement.astype(np.float32)}
    metrics = SelectionMetrics(columns, metrics.scoring)
    assert BASE.max_body_agreement_mm is None and BASE.max_face_agreement_mm is None
    result = calibrate(metrics, inputs, error, BASE, max_error_mm=100.0, min_precision=0.85)
    chosen = result.chosen.config.max_body_agreement_mm
    assert chosen is not None and 90 <= chosen <= 150
    assert result.changed()["signals.max_body_agreement_mm"] == (None, chosen)
    assert result.chosen.config.max_face_agreement_mm is None  # no face scores: stays off
    blind = {**columns, "agreement_body_mm": np.full(N, np.nan, np.float32)}
    without = calibrate(SelectionMetrics(blind, metrics.scoring), inputs, error, BASE, 100.0, 0.85)
    assert without.chosen.config.max_body_agreement_mm is None  # no scores: nothing to turn on
    assert result.chosen.kept_good > without.chosen.kept_good
