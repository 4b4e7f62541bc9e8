"""A run folder made by another furpe-label version (settings, run.json fields or manifest
columns this version does not write) is refused on resume with what to do instead."""

from __future__ import annotations

import dataclasses
import json

import pyarrow.parquet as pq
import pytest

from furpe_label.storage.run_dir import RunDir
from furpe_label.storage.run_info import RunConfigChangedError, config_hash
from furpe_label.storage.run_layout import OtherVersionRunError, free_sibling
from tests.support.run_folders import run_info, write_run_folder


def _newer(shard_size: int = 2, setting: bool = True):
    """What a newer version would write for the same run: one more setting (``setting``)."""
    info = dataclasses.replace(run_info(shard_size), code_version="furpe-label newer")
    if not setting:
        return info
    return dataclasses.replace(info, config={**info.config, "whole_person": {"tolerance": 0.15}})


def _drop_manifest_columns(run: RunDir, *names: str) -> None:
    table = pq.read_table(run.manifest).drop_columns(list(names))
    pq.write_table(table, run.manifest)


def test_a_folder_lacking_a_setting_and_manifest_columns_names_them_and_what_to_do(tmp_path):
    run = write_run_folder(tmp_path / "out")
    _drop_manifest_columns(run, "track_id", "input_reason", "input_detail")
    before = {p: p.read_bytes() for p in run.root.rglob("*") if p.is_file()}
    (tmp_path / "out-2").mkdir()  # taken: the suggestion is the next free name
    with pytest.raises(OtherVersionRunError) as refused:
        run.start(_newer())
    message = str(refused.value)
    assert message.startswith(f"{run.root} was made by another furpe-label version")
    assert "(furpe-label test; this is furpe-label newer)" in message
    for gap in ("setting whole_person is missing", "manifest column track_id is missing"):
        assert f"\n  {gap}\n" in message
    assert "manifest column input_detail is missing" in message
    assert f"rerun the same command with --out {tmp_path / 'out-3'} (a new folder)" in message
    assert f"or delete {run.root} and rerun the same command" in message
    assert "resume it with the version that made it (furpe-label test)" in message
    assert "stored settings" not in message  # no advice the user cannot follow
    assert before == {p: p.read_bytes() for p in run.root.rglob("*") if p.is_file()}


def test_a_manifest_of_another_layout_alone_is_refused_before_any_shard_reads_it(tmp_path):
    run = write_run_folder(tmp_path / "out")
    _drop_manifest_columns(run, "track_id")
    with pytest.raises(OtherVersionRunError) as refused:
        run.start(_newer(shard_size=4, setting=False))
    assert "\n  manifest column track_id is missing\n" in str(refused.value)
    assert "\n  changed: config.shard_size: 2 -> 4\n" in str(refused.value)  # named too


def test_run_json_fields_and_settings_unknown_to_this_version_are_named(tmp_path):
    run = write_run_folder(tmp_path / "out")
    document = json.loads(run.run_json.read_text())
    del document["checkpoint_sha256"]
    document["config"]["wrist"] = "furpe"  # a flat key of an older version
    document["config_hash"] = config_hash(document["config"])
    run.run_json.write_text(json.dumps(document))
    with pytest.raises(OtherVersionRunError) as refused:
        run.start(_newer(setting=False))
    assert "run.json field checkpoint_sha256 is missing" in str(refused.value)
    assert "setting wrist is unknown to this version" in str(refused.value)


def test_same_layout_resumes_and_a_changed_value_keeps_the_ordinary_refusal(tmp_path):
    run = write_run_folder(tmp_path / "out")
    assert run.start(run_info(2)) == run_info(2)
    assert run.start(_newer(setting=False)) == run_info(2)  # another version, same layout
    with pytest.raises(RunConfigChangedError) as refused:
        run.start(run_info(4))
    assert not isinstance(refused.value, OtherVersionRunError)
    assert "config.shard_size: 2 -> 4" in str(refused.value)


def test_free_sibling_skips_taken_names(tmp_path):
    assert free_sibling(tmp_path / "run") == tmp_path / "run-2"
    (tmp_path / "run-2").write_text("")
    assert free_sibling(tmp_path / "run") == tmp_path / "run-3"
