"""`furpe-label check --experts DIR` on official-format files and on a damaged one."""

from __future__ import annotations

import shutil

import torch
from click.testing import CliRunner

from furpe_label.workflows.cli import main
from tests.support.doubles.official_checkpoints import write_experts_folder


def test_check_experts_passes_then_names_the_broken_key(tmp_path):
    experts_dir = write_experts_folder(tmp_path / "experts", seed=3)
    result = CliRunner().invoke(main, ["check", "--experts", str(experts_dir)])
    assert result.exit_code == 0, result.output
    assert "model_checkpoint.pt" in result.output and "nothing blocking" in result.output

    frank = experts_dir / "frankmocap" / "pose_shape_best.pth"
    state = torch.load(frank, weights_only=True)
    state["main_encoder.layer3.2.conv2.weight"] = state.pop("main_encoder.layer3.2.conv2.weight")[
        :, :128
    ]
    torch.save(state, frank)
    shutil.rmtree(experts_dir / "deca")
    result = CliRunner().invoke(main, ["check", "--experts", str(experts_dir)])
    assert result.exit_code == 1
    assert "main_encoder.layer3.2.conv2.weight" in result.output
    assert "MISSING" in result.output and "deca_model.tar" in result.output


def test_check_without_folders_is_a_usage_error(monkeypatch):
    monkeypatch.delenv("FURPE_MODELS", raising=False)
    monkeypatch.delenv("FURPE_EXPERTS", raising=False)
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 2
    assert "--models" in result.output


def test_check_json_output(tmp_path):
    import json

    result = CliRunner().invoke(main, ["check", "--experts", str(tmp_path), "--json"])
    assert result.exit_code == 1
    rows = json.loads(result.output)["experts"]
    spin = next(row for row in rows if row["expected"] == "spin/model_checkpoint.pt")
    assert spin["status"] == "missing" and spin["blocking"] is True and spin["path"] is None
