"""`furpe-label export`: a --dest inside the run folder and an OUT that is not a finished run
are refused with a sentence, before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.pipeline_support import run_cli


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``folder`` -> (size, mtime_ns): what an export must leave as it is."""
    return {
        str(path.relative_to(folder)): (path.lstat().st_size, path.lstat().st_mtime_ns)
        for path in folder.rglob("*")
    }


def _refused(out: Path, dest: Path, fmt: str = "furpe") -> str:
    code, output = run_cli("export", str(out), "--format", fmt, "--dest", str(dest))
    assert code != 0, output
    assert "Traceback" not in output and "Errno" not in output, output
    return output


@pytest.mark.slow
def test_a_dest_inside_the_run_folder_is_refused_and_nothing_is_written(demo_run, tmp_path):
    before = _tree(demo_run)
    link = tmp_path / "link-to-logs"
    link.symlink_to(demo_run / "logs", target_is_directory=True)
    inside = (
        demo_run / "labels.zarr" / "x",
        demo_run,
        demo_run / "exports" / "furpe",
        demo_run / "run.json" / "x",
        link / "sub",
        tmp_path / ".." / tmp_path.name / "link-to-logs",
    )
    for dest in inside:
        for fmt in ("furpe", "expose", "humandata"):
            output = _refused(demo_run, dest, fmt)
            assert f"--dest {dest} is inside the run folder {demo_run}" in output, output
            assert "choose a --dest outside the run folder" in output
    assert _tree(demo_run) == before


@pytest.mark.slow
def test_a_dest_holding_files_is_refused(demo_run, tmp_path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "old.npy").write_bytes(b"old")
    output = _refused(demo_run, used)
    assert f"{used} exists and is not an empty folder: choose a new --dest" in output
    assert [p.name for p in used.iterdir()] == ["old.npy"]
    output = _refused(demo_run, used / "old.npy")
    assert f"Directory '{used / 'old.npy'}' is a file" in output


@pytest.mark.parametrize("fmt", ["furpe", "expose", "humandata"])
def test_an_out_that_is_not_a_run_gets_a_sentence_naming_what_is_missing(tmp_path, fmt):
    dest = tmp_path / "dest"
    plain = tmp_path / "plain"
    plain.mkdir()
    output = _refused(plain, dest, fmt)
    assert f"{plain} is not a furpe-label run folder: it has no run.json, no " in output
    assert "no manifest.parquet, no labels.zarr" in output

    started = tmp_path / "started"  # killed before its manifest and store were written
    started.mkdir()
    (started / "run.json").write_text("{}")
    output = _refused(started, dest, fmt)
    assert f"{started} is not a furpe-label run folder: it has no manifest.parquet, " in output
    assert "no labels.zarr (a run folder holds run.json" in output

    no_store = tmp_path / "no-store"
    no_store.mkdir()
    for name in ("run.json", "manifest.parquet"):
        (no_store / name).write_text("{}")
    output = _refused(no_store, dest, fmt)
    assert f"{no_store} is not a furpe-label run folder: it has no labels.zarr (" in output

    a_file = tmp_path / "run.json"
    a_file.write_text("{}")
    output = _refused(a_file, dest, fmt)
    assert f"{a_file} is a file, not a run folder" in output

    output = _refused(tmp_path / "absent", dest, fmt)
    assert f"{tmp_path / 'absent'} does not exist" in output
    assert not dest.exists()


@pytest.mark.slow
def test_a_dest_that_cannot_be_made_is_a_sentence(demo_run, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_bytes(b"")
    output = _refused(demo_run, a_file / "x", "humandata")
    assert f"cannot use {a_file / 'x'}: not a directory" in output
