"""`furpe-label calibrate`: thresholds from ground truth, the selection file, the report curve."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pytest

from furpe_label.selection import SelectionConfig, decide
from furpe_label.selection.selection_file import read_selection_file
from furpe_label.workflows.audit import load_audit, parse_what_if, recompute, stored_metrics
from furpe_label.workflows.calibration_record import read_calibration_record
from furpe_label.workflows.report.page import build_report
from tests.support.pipeline_support import audit_frame, run_cli, spin_layout_h36m
from tests.support.report_support import (
    CHROMIUM,
    audit_only_run,
    chromium,
    console_messages,
    random_audit,
)


def _correlated_audit(n: int, seed: int):
    """A random audit whose label error grows with the step-3 reprojection error (as real
    runs' do), 10 % gross errors step 3 cannot see."""
    table = random_audit(n, seed=seed)
    rng = np.random.default_rng(seed)
    config = SelectionConfig()
    mse = decide(stored_metrics(table, config), config).reprojection["reproj_mse_norm"]
    reached = np.isfinite(table.column("gt_mpjpe_mm").to_numpy(zero_copy_only=False).astype(float))
    error = 40 + 400 * np.sqrt(np.nan_to_num(mse, nan=1.0)) + rng.normal(0, 8, n)
    error[rng.random(n) < 0.1] = 300.0
    values = pa.array(np.where(reached, error, np.nan), pa.float32(), mask=~reached)
    index = table.column_names.index("gt_mpjpe_mm")
    return table.set_column(index, table.schema.field(index), values)


def _printed_what_if(output: str) -> list[str]:
    line = next(
        line for line in output.splitlines() if line.startswith("see it: furpe-label audit")
    )
    return re.findall(r"--what-if (\S+)", line)


def test_calibrate_reaches_the_target_and_prints_the_same_what_if(tmp_path):
    table = _correlated_audit(800, seed=7)
    out = audit_only_run(tmp_path / "run", table)
    code, output = run_cli("calibrate", str(out), "--max-error-mm", "60", "--min-precision", "0.7")
    assert code == 0, output
    config = read_selection_file(out / "calibrated_selection.json")
    record = read_calibration_record(out / "calibration.json")
    assert record["feasible"] and record["chosen"]["precision"] >= 0.7
    assert record["chosen"]["kept_good"] >= record["run"]["kept_good"] or (
        record["run"]["precision"] < 0.7
    )
    # the printed what-if line gives exactly the written thresholds
    stored, base = load_audit(out)
    printed = parse_what_if(_printed_what_if(output), base)
    for name in ("min_count", "hand_max_abs", "betas_max_abs", "hand_min_keypoints"):
        assert getattr(printed, name) == getattr(config, name), name
    assert printed.max_mse == pytest.approx(config.max_mse, rel=1e-5)
    frame = recompute(stored, base, config)
    kept = frame["drop_stage"].astype(str).to_numpy() == "kept"
    error = frame["gt_mpjpe_mm"].to_numpy(dtype=np.float64)
    judged = kept & np.isfinite(error)
    assert (error[judged] <= 60).mean() == pytest.approx(record["chosen"]["precision"])


def test_calibrate_without_ground_truth_says_so(tmp_path):
    table = random_audit(50, seed=1)
    index = table.column_names.index("gt_mpjpe_mm")
    nulls = pa.nulls(table.num_rows, pa.float32())
    out = audit_only_run(
        tmp_path / "run", table.set_column(index, table.schema.field(index), nulls)
    )
    code, output = run_cli("calibrate", str(out), "--max-error-mm", "60")
    assert code == 2 and "no row has a ground-truth error" in output


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_the_report_draws_the_calibration_curve(tmp_path):
    out = audit_only_run(tmp_path / "run", _correlated_audit(600, seed=3))
    code, output = run_cli("calibrate", str(out), "--max-error-mm", "60", "--min-precision", "0.7")
    assert code == 0, output
    page = build_report(out, gallery=0)
    dom, log = chromium(page.resolve().as_uri(), tmp_path, "--dump-dom")
    assert console_messages(log) == []
    card = dom[dom.index('id="calibration-card"') :]
    card = card[: card.index("</svg>")]
    assert "good = GT error &lt;= 60 mm" in card
    assert card.count('class="mark"') == 3  # chosen, run, the what-if now
    assert card.count("<circle") >= 5


@pytest.mark.slow
def test_calibrate_on_the_spin_layout_h36m_fixture(tmp_path):
    root = spin_layout_h36m(tmp_path / "h36m", drops=True)
    out = tmp_path / "run"
    code, output = run_cli(
        "run",
        "--dataset",
        "h36m",
        "--root",
        str(root),
        "--out",
        str(out),
        "--models",
        "synthetic",
        "--detector",
        "ground-truth",
        "--executor",
        "inline",
    )
    assert code == 0, output
    errors = audit_frame(out).set_index("subject")["gt_mpjpe_mm"]
    # good: the rows whose label is nearer the truth than the median fused row
    cut = float(np.nanmedian(errors.to_numpy(np.float64)))
    code, output = run_cli(
        "calibrate", str(out), "--max-error-mm", f"{cut + 0.01:.3f}", "--min-precision", "0.6"
    )
    assert code == 0, output
    record = read_calibration_record(out / "calibration.json")
    assert record["judged_rows"] == 3  # S1, S9 kept, S6 dropped after fusion
    # S1 and S9 are the same photo with the same keypoints (identical scores, other truths):
    # no threshold parts them; the run's step 3 dropped S6, the label nearest its truth, so
    # the best is to keep all three: precision 2/3 over the run's 1/2, every good label kept
    assert record["run"]["precision"] == 0.5 and record["run"]["kept_good"] == 1
    assert record["chosen"]["precision"] >= 0.6 and record["chosen"]["kept_good"] == 2
    what_if = [part for key in _printed_what_if(output) for part in ("--what-if", key)]
    code, output = run_cli("audit", str(out), *what_if)
    assert code == 0, output
