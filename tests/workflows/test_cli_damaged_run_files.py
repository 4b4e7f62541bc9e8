"""A damaged run file or an output path that cannot be used is one sentence naming the file and
the problem (exit 1; 2 for a usage error), never a traceback: a stats JSON with missing keys or
that is not JSON, a truncated manifest, a label-store file whose checksum fails, ``run --out``
under a regular file, ``inspect -o`` on an existing file that is not a PNG."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from furpe_label.workflows.cli import main
from tests.support.real_data import SPIN_EXAMPLE

pytestmark = pytest.mark.slow


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def _run_args(images: Path, out: Path) -> list[str]:
    return [
        "run",
        "--dataset",
        "image-folder",
        "--root",
        str(images),
        "--out",
        str(out),
        "--models",
        "synthetic",
        "--executor",
        "inline",
        "--fitting-iterations",
        "8",
    ]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path]:
    """(image folder, run folder) of a finished run of SPIN's example photo (one person) and a
    zero-byte file."""
    base = tmp_path_factory.mktemp("damaged")
    images = base / "images"
    images.mkdir()
    shutil.copy(SPIN_EXAMPLE / "im1010.jpg", images / "im1010.jpg")
    (images / "zero.jpg").write_bytes(b"")
    code, output = _cli(*_run_args(images, base / "run"))
    assert code == 0, output
    return images, base / "run"


def _copy(finished: tuple[Path, Path], tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(finished[1], out)
    return out


def _one_sentence(output: str, *words: str) -> None:
    assert "Traceback" not in output
    error = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(error) == 1, output
    for word in words:
        assert word in error[0], (word, output)


@pytest.mark.parametrize("content", ['{"samples": 1}', '{"samples": 1, '])
def test_a_damaged_stats_file_is_named_by_the_report_and_redone_on_resume(
    finished, tmp_path, content
):
    out = _copy(finished, tmp_path)
    stats = out / "stats" / "00000.json"
    stats.write_text(content)
    code, output = _cli("report", str(out), "--gallery", "0")
    assert code == 1  # the shard's marker recorded the file's digest: named, refused
    _one_sentence(output, "00000.json", "damaged")
    code, output = _cli(*_run_args(finished[0], out))
    assert code == 0, output  # the resume redoes the damaged shard
    assert json.loads(stats.read_text())["samples"] >= 1 and "kept" in json.loads(stats.read_text())


def test_a_truncated_manifest_is_named(finished, tmp_path):
    out = _copy(finished, tmp_path)
    manifest = out / "manifest.parquet"
    manifest.write_bytes(manifest.read_bytes()[:200])
    code, output = _cli(*_run_args(finished[0], out))
    assert code == 1
    _one_sentence(output, str(manifest), "not a readable Parquet file")
    code, output = _cli("export", str(out), "--format", "humandata", "--dest", str(tmp_path / "x"))
    assert code == 1
    _one_sentence(output, "manifest.parquet", "not a readable Parquet file")


def test_a_label_store_file_whose_checksum_fails_is_named(finished, tmp_path):
    out = _copy(finished, tmp_path)
    shard = out / "labels.zarr" / "keypoints2d" / "c" / "0" / "0" / "0"
    data = bytearray(shard.read_bytes())
    data[-6] ^= 0xFF  # inside the shard index, whose crc32c zarr checks
    shard.write_bytes(bytes(data))
    code, output = _cli("export", str(out), "--format", "humandata", "--dest", str(tmp_path / "x"))
    assert code == 1
    _one_sentence(output, str(Path("labels.zarr") / "keypoints2d"), "damaged")


def test_out_under_a_regular_file_is_a_usage_error(finished, tmp_path):
    (tmp_path / "plain").write_text("a file")
    code, output = _cli(*_run_args(finished[0], tmp_path / "plain" / "run"))
    assert code == 2
    _one_sentence(output, str(tmp_path / "plain"), "is a file, not a folder")


def test_inspect_output_on_an_existing_non_png_file_is_a_usage_error(finished, tmp_path):
    existing = tmp_path / "notes.txt"
    existing.write_text("keep me")
    code, output = _cli("inspect", str(finished[1]), "--sample", "0", "-o", str(existing))
    assert code == 2
    _one_sentence(output, str(existing), "not a PNG")
    assert existing.read_text() == "keep me"
    code, output = _cli("inspect", str(finished[1]), "--sample", "0", "-o", f"{existing}/a.png")
    assert code == 2
    _one_sentence(output, str(existing), "is a file")
