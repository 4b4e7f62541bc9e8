"""Benchmark: the selection beyond FuRPE's three steps on synthetic truth (issue 13, section 2).

The label-quality simulator (``tests/support/quality_sim.py``: 30 % gross errors spread over
flipped hands, a hand twisted +-90 degrees about its forearm, left/right limbs swapped, a body
facing backwards) labels one seed the way a shard run does (``tests/support/quality_eval.py``:
steps 1-3, the signal scores, fusion). The signal rules' thresholds are chosen on that seed
(:func:`tests.support.selection_choice.choose_thresholds`: a false-alarm budget on the clean
rows for the generic rules, a search for the error-specific ones). Another seed, with three
error kinds no threshold was chosen on (``HELD_OUT_ERRORS``: a head turned 90 degrees, a body
turned 90 degrees about its vertical axis, a shape far off), is then judged by FuRPE's three
steps alone (``SelectionConfig.furpe()``) and by the default selection (``SelectionConfig()``)
side by side: per kind the share caught (a hand error counts as caught when the wrong hand is
suppressed), precision and recall of flagging gross errors, clean labels lost and clean hands
suppressed; and the body vertex error of the swapped-limb labels the rules leave in.

    pytest tests/benchmarks -m benchmark -s -k beyond_furpe
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from furpe_label.experts.fusion.config import FusionConfig
from furpe_label.selection import SelectionConfig
from tests.support.quality_eval import label_errors, label_people, transfer_shapes
from tests.support.quality_models import QualityModels
from tests.support.quality_sim import CLEAN, GROSS_ERRORS, HELD_OUT_ERRORS, simulate_people
from tests.support.selection_choice import choose_thresholds, figures_table

N = 4096
CHOOSE_SEED = 7
REPORT_SEED = 8
GROSS_FRACTION = 0.3
RULE = FusionConfig().wrist


@pytest.mark.benchmark
def test_selection_beyond_furpe(synthetic_models_dir):
    models = QualityModels.load(synthetic_models_dir)
    start = time.perf_counter()
    people = simulate_people(models, N, CHOOSE_SEED, GROSS_FRACTION)
    run = label_people(models, people, transfer_shapes(models, people), RULE)
    chosen = choose_thresholds(people, run.metrics)
    default = SelectionConfig()
    print(
        f"\nsignal thresholds chosen on seed {CHOOSE_SEED} ({N} people, kinds "
        f"{', '.join(GROSS_ERRORS)}; {time.perf_counter() - start:.0f} s):"
    )
    for name, value in chosen.items():
        print(f"  {name:28s} chosen {value!s:>6}   default {getattr(default, name)!s:>6}")
    start = time.perf_counter()
    kinds = GROSS_ERRORS + HELD_OUT_ERRORS
    report = simulate_people(models, N, REPORT_SEED, GROSS_FRACTION, kinds=kinds)
    run = label_people(models, report, transfer_shapes(models, report), RULE)
    print(
        f"report seed {REPORT_SEED}: {N} people, {len(kinds)} error kinds "
        f"({', '.join(HELD_OUT_ERRORS)} held out), {time.perf_counter() - start:.0f} s"
    )
    table, before, after = figures_table(report, run.metrics, SelectionConfig.furpe(), default)
    print(table)
    rows = np.flatnonzero(run.outcome.kept & np.isin(report.gross, [CLEAN, "swapped_limbs"]))
    error = label_errors(models, report.truth, {"after": run.stored}, rows)["after"].vertex_mm
    kind = report.gross[rows]
    print(
        "kept labels' vertex error, mm (median / 90th percentile): clean "
        f"{np.median(error[kind == CLEAN]):.0f} / {np.percentile(error[kind == CLEAN], 90):.0f}; "
        f"swapped limbs left in ({(kind != CLEAN).sum()}) {np.median(error[kind != CLEAN]):.0f}"
        f" / {np.percentile(error[kind != CLEAN], 90):.0f}"
    )
    assert chosen == {name: getattr(default, name) for name in chosen}  # the defaults' origin
    assert before.recall < 0.5
    assert after.precision >= 0.9 and after.recall >= 0.9  # the figures
    assert after.kinds["flipped_hands"][1] >= 0.85 and after.kinds["wrist_twist"][1] >= 0.85
    assert after.clean_lost <= 0.05 and after.clean_hands_suppressed <= 0.05
