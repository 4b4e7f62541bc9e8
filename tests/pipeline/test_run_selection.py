"""``run --selection``: ``furpe`` reproduces FuRPE's three steps alone (the decisions the runs
made before the signal rules), a selection file is read as ``audit --what-if FILE`` reads it,
and a bad file refuses before any work."""

from __future__ import annotations

import json

import numpy as np
import pytest

from furpe_label.experts.vocabulary import Part
from furpe_label.selection import METRIC_COLUMNS, SelectionConfig
from furpe_label.selection.selection_file import write_selection_file
from furpe_label.workflows.audit import load_audit, parse_what_if, recompute
from tests.support.pipeline_support import audit_frame, run_cli, spin_layout_h36m

pytestmark = pytest.mark.slow

FURPE_STAGES = {
    "S11": "input",  # the missing image
    "S1": "kept",
    "S5": "keypoints",  # no confident keypoint
    "S6": "reprojection",  # fused, then dropped: the head at the feet
    "S9": "kept",
}
"""The h36m fixture's decisions under FuRPE's steps (tests/pipeline/test_run_pipeline.py)."""
FURPE_COLUMNS = (
    "n_confident_kp",
    "step2_scored",
    "step3_scored",
    "reproj_mse_norm",
    "step3_status",
    *(f"status_{part.value}" for part in Part),
)


def _run(root, out, *selection: str) -> None:
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
        *selection,
    )
    assert code == 0, output


def test_selection_furpe_reproduces_furpe_and_a_file_is_read_alike(tmp_path):
    root = spin_layout_h36m(tmp_path / "h36m", drops=True)
    _run(root, tmp_path / "default")
    _run(root, tmp_path / "furpe", "--selection", "furpe")
    path = write_selection_file(tmp_path / "furpe.json", SelectionConfig.furpe())
    _run(root, tmp_path / "file", "--selection", str(path))
    default, furpe, file = (
        audit_frame(tmp_path / name).set_index("subject") for name in ("default", "furpe", "file")
    )
    assert furpe["drop_stage"].astype(str).to_dict() == FURPE_STAGES
    assert file["drop_stage"].astype(str).to_dict() == FURPE_STAGES
    assert set(furpe["drop_reason"]) == set(file["drop_reason"])
    for name in FURPE_COLUMNS:  # FuRPE's own scores and decisions do not depend on the rules
        np.testing.assert_array_equal(
            default[name].astype(str).to_numpy(), furpe[name].astype(str).to_numpy(), name
        )
    for name, spec in METRIC_COLUMNS.items():  # the signal scores are stored either way
        if spec.group == "signals":
            np.testing.assert_array_equal(
                default[name].to_numpy(np.float64), furpe[name].to_numpy(np.float64), name
            )
    assert np.isfinite(furpe.loc[["S1", "S9"], "limbs_swap_ratio"].to_numpy(np.float64)).all()
    info = json.loads((tmp_path / "furpe" / "run.json").read_text())
    assert info["config"]["selection"] == SelectionConfig.furpe().to_dict()
    # the default run, re-decided under the file: the furpe run's decisions
    table, base = load_audit(tmp_path / "default")
    redecided = recompute(table, base, parse_what_if([str(path)], base)).set_index("subject")
    assert redecided["drop_stage"].astype(str).to_dict() == FURPE_STAGES
    assert (redecided["drop_reason"] == furpe["drop_reason"]).all()
    code, output = run_cli("audit", str(tmp_path / "default"), "--what-if", str(path))
    assert code == 0 and "what-if" in output


def test_a_bad_selection_file_refuses_before_any_work(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"max_mse": 0.05, "max_errors": 3}))
    out = tmp_path / "never"
    code, output = run_cli(
        "run", "--dataset", "samples", "--out", str(out), "--selection", str(bad)
    )
    assert code != 0 and "unknown settings ['max_errors']" in output
    assert not out.exists()
    code, output = run_cli("run", "--dataset", "samples", "--out", str(out), "--selection", "x")
    assert code != 0 and "selection file x does not exist" in output
