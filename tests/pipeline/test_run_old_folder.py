"""`furpe-label run` on a run folder an older version made (its run.json without the settings
added since, its manifest without ``track_id``, ``input_reason``, ``input_detail``): the resume
is refused in one message that names what differs and what to do, the folder is left as it
was, and the command the message suggests labels the dataset."""

from __future__ import annotations

import json
import re

import pyarrow.parquet as pq
import pytest

from furpe_label.storage.run_info import config_hash
from tests.support.pipeline_support import run_cli, spin_layout_h36m

pytestmark = pytest.mark.slow

NEWER_SETTINGS = ("duplicates", "whole_person", "allow_outside_root")
NEWER_COLUMNS = ("track_id", "input_reason", "input_detail")


def _as_an_older_version_left_it(out) -> None:
    document = json.loads((out / "run.json").read_text())
    for key in NEWER_SETTINGS:
        del document["config"][key]
    document["config_hash"] = config_hash(document["config"])
    document["code_version"] = "furpe-label 0.1.0 git c09fede"
    (out / "run.json").write_text(json.dumps(document, indent=2))
    manifest = pq.read_table(out / "manifest.parquet").drop_columns(list(NEWER_COLUMNS))
    pq.write_table(manifest, out / "manifest.parquet")


def _results(out) -> dict:
    """Every file of the run but its logs and its lock (each command rewrites those)."""
    files = (p for p in out.rglob("*") if p.is_file() and p.name != ".lock")
    return {p: p.read_bytes() for p in files if "logs" not in p.relative_to(out).parts}


def test_an_old_run_folder_is_refused_with_what_to_do(tmp_path):
    root = spin_layout_h36m(tmp_path / "h36m")
    out = tmp_path / "run"
    args = ["run", "--dataset", "h36m", "--root", str(root), "--models", "synthetic"]
    args += ["--detector", "ground-truth", "--executor", "inline"]
    code, output = run_cli(*args, "--out", str(out))
    assert code == 0, output
    _as_an_older_version_left_it(out)
    before = _results(out)

    code, output = run_cli(*args, "--out", str(out))
    assert code == 1 and "Traceback" not in output, output
    assert (
        f"{out} was made by another furpe-label version (furpe-label 0.1.0 git c09fede;" in output
    )
    for key in NEWER_SETTINGS:
        assert f"setting {key} is missing" in output
    for column in NEWER_COLUMNS:
        assert f"manifest column {column} is missing" in output
    assert "resume it with the version that made it (furpe-label 0.1.0 git c09fede)" in output
    assert _results(out) == before

    suggested = re.search(r"rerun the same command with --out (\S+) \(a new folder\)", output)
    assert suggested and suggested.group(1) == str(tmp_path / "run-2")
    code, output = run_cli(*args, "--out", suggested.group(1))
    assert code == 0, output
    assert set(NEWER_COLUMNS) <= set(pq.read_schema(tmp_path / "run-2" / "manifest.parquet").names)
