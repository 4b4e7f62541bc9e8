"""The agreement signal end to end: `furpe-label run --experts DIR` (network-expert test doubles:
random weights saved as each official producer saved them) also fits every part from the
network's output, stores ``agreement_{part}_mm`` / ``agreement_pa_{part}_mm`` where both exist,
and its rules suppress (face, hands) or drop (body) when their thresholds are tight, at run time
and in ``audit --what-if``. Without the extra fit (``--no-agreement-fit``) or without network
experts the columns are null."""

from __future__ import annotations

import numpy as np
import pytest

from furpe_label.experts.fitting.agreement import agreement_columns
from furpe_label.experts.vocabulary import Part, Reason
from furpe_label.selection import SelectionConfig, write_selection_file
from furpe_label.workflows.audit import load_audit, recompute
from tests.support.doubles.official_checkpoints import write_experts_folder
from tests.support.pipeline_support import audit_frame, run_cli, store_arrays

pytestmark = pytest.mark.slow

COLUMNS = [name for part in Part for name in agreement_columns(part)]
TIGHT_MM = 1.0


@pytest.fixture(scope="module")
def experts_dir(tmp_path_factory):
    return write_experts_folder(tmp_path_factory.mktemp("experts"), seed=0)


def _run(out, experts, *extra: str) -> None:
    args = ["run", "--dataset", "samples", "--out", str(out), "--models", "synthetic"]
    code, output = run_cli(*args, "--experts", str(experts), "--executor", "inline", *extra)
    assert code == 0, output


@pytest.fixture(scope="module")
def tight_run(tmp_path_factory, experts_dir):
    """Step 3 wide open (random weights reproject badly), the other signal rules off, the
    face and hand agreement rules tight, the body's off."""
    folder = tmp_path_factory.mktemp("agreement")
    selection = SelectionConfig.furpe(
        max_mse=1e9, max_face_agreement_mm=TIGHT_MM, max_hand_agreement_mm=TIGHT_MM
    )
    selection_file = write_selection_file(folder / "selection.json", selection)
    out = folder / "run"
    _run(out, experts_dir, "--selection", str(selection_file))
    return out


def test_agreement_columns_are_filled_exactly_where_a_network_output_reached_the_signals(
    tight_run,
):
    frame = audit_frame(tight_run)
    reached = (frame["step3_status"].astype(str) == "ok").to_numpy()
    assert reached.any()
    filled = set()
    for part in Part:
        ran = (frame[f"expert_reason_{part.value}"].astype(str) == "ok").to_numpy()
        for name in agreement_columns(part):
            values = frame[name].to_numpy(dtype=np.float64)
            assert np.isnan(values[~ran]).all(), (name, "no network output, yet a score")
            assert (values[np.isfinite(values)] >= 0).all()
            if np.isfinite(values).any():
                filled.add(part)
        assert np.isfinite(frame[agreement_columns(part)[0]].to_numpy()[~reached]).sum() == 0
    assert {Part.BODY, Part.FACE} <= filled, filled  # the shipped photos show bodies and faces
    body = frame["agreement_body_mm"].to_numpy(dtype=np.float64)
    assert np.isfinite(body[reached]).all()  # random weights: every fit starts and moves


def test_tight_agreement_rules_suppress_at_run_time_and_drop_in_what_if(tight_run):
    frame, arrays = audit_frame(tight_run), store_arrays(tight_run)
    face = frame["agreement_face_mm"].to_numpy(dtype=np.float64)
    kept = (frame["drop_stage"].astype(str) == "kept").to_numpy()
    over = kept & (face > TIGHT_MM)
    assert over.any(), frame[["drop_reason", "agreement_face_mm"]]
    status = frame["signal_status_face"].astype(str).to_numpy()
    assert (status[over] == Reason.FIT_DISAGREEMENT.value).all()
    assert not arrays["part_valid"][over, Part.FACE.column].any()  # the face suppressed
    assert all("face" in list(parts) for parts in frame["suppressed_parts"][over])

    table, base = load_audit(tight_run)
    body = frame["agreement_body_mm"].to_numpy(dtype=np.float64)
    strict = recompute(table, base, SelectionConfig.furpe(max_mse=1e9, max_body_agreement_mm=1.0))
    dropped = strict["drop_reason"].astype(str).to_numpy() == Reason.FIT_DISAGREEMENT.value
    np.testing.assert_array_equal(dropped, kept & (body > 1.0))
    assert dropped.any()
    off = recompute(table, base, SelectionConfig.furpe(max_mse=1e9))
    assert (off["drop_stage"].astype(str) == "kept").sum() == kept.sum()
    code, output = run_cli(
        "audit", str(tight_run), "--what-if", "signals.max_body_agreement_mm=1.0"
    )
    assert code == 0 and Reason.FIT_DISAGREEMENT.value in output, output


def test_no_agreement_fit_leaves_the_columns_null(tmp_path, experts_dir):
    out = tmp_path / "run"
    _run(out, experts_dir, "--no-agreement-fit")
    frame = audit_frame(out)
    assert (frame["expert_reason_body"].astype(str) == "ok").any()
    for name in COLUMNS:
        assert frame[name].isna().all(), name


def test_without_network_experts_the_columns_are_null(demo_run):
    frame = audit_frame(demo_run)
    assert (frame["expert_reason_body"].astype(str) == "ok").any()
    for name in COLUMNS:
        assert frame[name].isna().all(), name
