"""`furpe-label check --dataset`: what the run would read, before any work."""

from __future__ import annotations

import json
import os

from tests.support.pipeline_support import run_cli, spin_layout_h36m


def test_check_reports_a_spin_layout_dataset(tmp_path):
    root = spin_layout_h36m(tmp_path / "h36m")
    os.remove(root / "images" / "S9_Walking.60457274_000006.jpg")
    code, output = run_cli("check", "--dataset", "h36m", "--root", str(root), "--json")
    assert code == 0, output
    found = json.loads(output)["dataset"]
    assert found["person_instances"] == 2 and found["files"] == 2
    assert found["files_missing"] == 1 and "S9_Walking" in found["missing_examples"][0]
    assert found["rows_with"]["joints3d"] == 2
    assert found["annotations"][0].endswith("h36m_train.npz")


def test_check_names_an_unreadable_dataset(tmp_path):
    code, output = run_cli("check", "--dataset", "h36m", "--root", str(tmp_path / "none"))
    assert code == 1 and "does not exist" in output
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "h36m_train.npz").write_text("not an npz")
    code, output = run_cli("check", "--dataset", "h36m", "--root", str(tmp_path / "bad"))
    assert code == 1 and "h36m_train.npz" in output
