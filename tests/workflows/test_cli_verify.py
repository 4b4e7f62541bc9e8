"""`furpe-label verify`, and `audit` / `report` on damaged and unfinished runs (issue 15
items 7 and 8); run folders written directly (no model runs)."""

from __future__ import annotations

from click.testing import CliRunner

from furpe_label.workflows.cli import main
from tests.support.run_folders import write_run_folder


def _cli(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_verify_accepts_an_intact_run_and_names_every_damaged_file(tmp_path):
    run = write_run_folder(tmp_path / "run", rows=8, shard_size=2)
    result = _cli("verify", run.root)
    assert result.exit_code == 0, result.output
    assert "intact, finished: 4 of 4 shards complete (8 of 8 person instances)" in result.output
    (run.labels / "valid" / "c" / "1").unlink()
    run.audit_file("h36m", 3).write_bytes(b"PAR1")
    result = _cli("verify", run.root)
    assert result.exit_code == 1, result.output
    assert "shard 1: labels.zarr/valid/c/1 is missing" in result.output
    assert "shard 3: audit/dataset=h36m/part-00003.parquet differs" in result.output
    assert "DAMAGED, 2 problem(s); 2 of 4 shards complete" in result.output
    assert _cli("verify", tmp_path).exit_code == 2  # not a run folder: a usage error


def test_audit_and_report_refuse_a_damaged_run(tmp_path):
    run = write_run_folder(tmp_path / "run", rows=8, shard_size=2)
    run.audit_file("h36m", 2).unlink()
    for command in ("audit", "report"):
        result = _cli(command, run.root)
        assert result.exit_code == 1, result.output
        assert "part-00002.parquet is missing" in result.output, result.output
        assert "Traceback" not in result.output


def test_audit_and_report_of_an_unfinished_run_say_so_at_the_top(tmp_path):
    """Before: 2 of 8 shards showed as if the run were whole."""
    run = write_run_folder(tmp_path / "run", rows=16, shard_size=2, shards=[0, 5])
    result = _cli("audit", run.root)
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("UNFINISHED RUN: 2 of 8 shards complete (4 of 16 person instances)")
    assert "4 person instances" in result.output
    result = _cli("report", run.root, "--gallery", "0")
    assert result.exit_code == 0, result.output
    page = (run.root / "report" / "index.html").read_text()
    top = page[: page.index('<div id="notes">')]
    assert '<div class="unfinished">UNFINISHED RUN: 2 of 8 shards complete' in top


def test_verify_of_an_unfinished_run_and_export_of_a_damaged_one(tmp_path):
    run = write_run_folder(tmp_path / "run", rows=8, shard_size=2, shards=[1])
    result = _cli("verify", run.root)
    assert result.exit_code == 0, result.output
    assert "intact, UNFINISHED: 1 of 4 shards complete (2 of 8 person instances)" in result.output
    run = write_run_folder(tmp_path / "done", rows=8, shard_size=2)
    (run.labels / "global_orient" / "c" / "3" / "0").unlink()  # before: NaN poses, exit 0
    models = tmp_path / "models"
    models.mkdir()
    dest = tmp_path / "export"
    result = _cli("export", run.root, "--format", "humandata", "--dest", dest, "--models", models)
    assert result.exit_code == 1, result.output
    assert "shard 3: labels.zarr/global_orient/c/3/0 is missing" in result.output
    assert not dest.exists() or not any(dest.iterdir())
