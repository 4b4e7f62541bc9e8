"""`furpe-label run --experts DIR` end to end with checkpoints written as the official code
wrote them: ``torch.save`` of the networks' ``state_dict()`` (with its ``_metadata``), SPIN's
training checkpoint and FrankMocap's bare state dict in the legacy format (PyTorch < 1.6),
DECA's ``model_dict`` in the zip format (random weights, fixed seed).

With random weights few rows pass FuRPE's selection and the shipped photos show few hands, so
the proof is made on every row that reached an expert: each network expert (SPIN, DECA,
FrankMocap for both hands) ran on at least one row, and a row's 1024-d feature in labels.zarr
is finite exactly where that part's expert ran (NaN elsewhere); kept rows carry the body's.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.doubles.official_checkpoints import write_experts_folder
from tests.support.pipeline_support import audit_frame, run_cli, store_arrays

pytestmark = pytest.mark.slow

FEATURE_DIM = 1024
PARTS = ("body", "face", "left_hand", "right_hand")


def test_run_and_check_with_official_format_checkpoints(tmp_path):
    experts = write_experts_folder(tmp_path / "experts", seed=0)  # each producer's format
    assert (experts / "spin/model_checkpoint.pt").read_bytes()[:2] == b"\x80\x02"  # legacy
    assert (experts / "deca/deca_model.tar").read_bytes()[:4] == b"PK\x03\x04"  # zip

    code, output = run_cli("check", "--experts", str(experts))
    assert code == 0, output
    for name in ("model_checkpoint.pt", "deca_model.tar", "pose_shape_best.pth"):
        line = next(line for line in output.splitlines() if line.endswith(name))
        assert " ok " in line, output
    assert "6 of 6 files valid" in output and "nothing blocking" in output

    out = tmp_path / "run"
    args = ["run", "--dataset", "samples", "--out", str(out), "--models", "synthetic"]
    code, output = run_cli(*args, "--experts", str(experts), "--executor", "inline")
    assert code == 0, output
    frame, arrays = audit_frame(out), store_arrays(out)
    kept = arrays["valid"]
    for part in PARTS:
        features = arrays[f"feature_{part}"].astype(np.float32)
        assert features.shape == (len(frame), FEATURE_DIM)
        ran = (frame[f"expert_reason_{part}"].astype(str) == "ok").to_numpy()
        assert ran.any(), f"the {part} expert never ran"
        assert np.isfinite(features[ran]).all(), part
        assert np.isnan(features[~ran]).all(), part
        assert np.abs(features[ran]).max() > 0, part
    assert kept.any(), frame["drop_reason"].astype(str).tolist()
    assert np.isfinite(arrays["feature_body"][kept].astype(np.float32)).all()
