"""`furpe-label synth-models`: bad option values are usage errors (exit 2), never tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from furpe_label.experts.bodymodels.synthetic import family
from furpe_label.workflows.cli import main


@pytest.mark.parametrize(
    "args, option, message",
    [
        (
            ["--genders", "foo"],
            "--genders",
            "'foo': not a gender; choose among neutral,male,female",
        ),
        (["--genders", "neutral,Male"], "--genders", "'Male': not a gender"),
        (["--genders", " , "], "--genders", "no gender given"),
        (["--seed", "-1"], "--seed", "-1 is not in the range 0<=x<=4294967295"),
        (["--seed", str(2**32)], "--seed", "is not in the range"),
        (["--seed", "1.5"], "--seed", "'1.5' is not a valid integer"),
    ],
)
def test_bad_values_are_usage_errors(tmp_path, args, option, message):
    out_dir = tmp_path / "models"
    result = CliRunner().invoke(main, ["synth-models", str(out_dir), *args])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Usage: main synth-models" in result.output
    assert f"Invalid value for '{option}'" in result.output and message in result.output
    assert not out_dir.exists()  # nothing written


def test_console_script_prints_usage_not_traceback(tmp_path):
    """The installed entry point, in a fresh interpreter (what a user runs)."""
    script = Path(sys.executable).with_name("furpe-label")
    run_main = "from furpe_label.workflows.cli import main; main(prog_name='furpe-label')"
    command = [str(script)] if script.exists() else [sys.executable, "-c", run_main]
    for args in (["--genders", "foo"], ["--seed", "-1"]):
        done = subprocess.run(
            [*command, "synth-models", str(tmp_path / "m"), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("Usage: furpe-label synth-models")
        assert "Traceback" not in done.stderr and "Error: Invalid value" in done.stderr


def test_parsed_genders_reach_the_writer(tmp_path, monkeypatch):
    calls = []

    def recording_writer(out_dir, seed, genders):  # test double: records, writes nothing
        calls.append((out_dir, seed, genders))
        manifest = out_dir / "SYNTHETIC_MODELS.json"
        return family.SyntheticFamilyInfo(out_dir, seed, genders, files=(), manifest=manifest)

    monkeypatch.setattr(family, "write_synthetic_family", recording_writer)
    args = ["synth-models", str(tmp_path), "--seed", "7", "--genders", " male, neutral,male "]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert calls == [(tmp_path, 7, ("male", "neutral"))]
