"""Run folder: run.json and the resume check, the driver lock (real processes), completion
markers, stats merging, leftovers of killed writers, the manifest."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pytest

from furpe_label.storage.audit import audit_table, read_audit, write_audit_shard
from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.run_dir import NotARunFolderError, RunDir
from furpe_label.storage.run_info import RunConfigChangedError, RunInfo, config_hash
from furpe_label.storage.run_lock import RunLock, RunLockedError
from furpe_label.storage.shards import ShardPlan
from furpe_label.storage.stats import ShardStats
from tests.support.storage_data import audit_columns, label_rows


def _info(**changes) -> RunInfo:
    base = {
        "config": {"dataset": "h36m", "shard_size": 8, "step3": {"max_mse": 0.02}},
        "code_version": "furpe-label 0.1.0 git abc",
        "synthetic": True,
        "detector": "mediapipe 0.10.21",
        "experts": {"body": "spin", "face": "deca"},
        "model_sha256": {"SMPLX_NEUTRAL.npz": "11" * 32},
        "checkpoint_sha256": {"spin/model_checkpoint.pt": "22" * 32},
    }
    return RunInfo(**{**base, **changes})


def test_run_json_records_everything(tmp_path):
    run = RunDir(tmp_path / "out")
    run.start(_info())
    stored = json.loads(run.run_json.read_text())
    assert stored["config_hash"] == config_hash(_info().config)
    assert stored["synthetic"] is True and stored["experts"]["body"] == "spin"
    assert stored["checkpoint_sha256"] == {"spin/model_checkpoint.pt": "22" * 32}
    assert run.read_info() == _info()
    assert config_hash({"b": 1, "a": 2}) == config_hash({"a": 2, "b": 1})


def test_resume_with_other_settings_names_every_difference(tmp_path, caplog):
    run = RunDir(tmp_path)
    run.start(_info())
    assert run.start(_info()) == _info()
    with caplog.at_level(logging.WARNING):
        run.start(_info(code_version="furpe-label 0.2.0"))  # allowed, reported
    assert "furpe-label 0.2.0" in caplog.text
    changed = _info(
        config={"dataset": "h36m", "shard_size": 8, "step3": {"max_mse": 0.05}, "seed": 1},
        checkpoint_sha256={"spin/model_checkpoint.pt": "33" * 32},
        synthetic=False,
    )
    with pytest.raises(RunConfigChangedError) as error:
        run.start(changed)
    message = str(error.value)
    assert "config.step3.max_mse: 0.02 -> 0.05" in message
    assert "config.seed: added (1)" in message
    assert f"checkpoint_sha256.spin/model_checkpoint.pt: '{'22' * 32}' -> '{'33' * 32}'" in message
    assert "synthetic: True -> False" in message
    assert "detector" not in message


def test_damaged_run_json_is_reported_with_its_path(tmp_path):
    run = RunDir(tmp_path)
    run.start(_info())
    data = json.loads(run.run_json.read_text())
    data["config"]["step3"]["max_mse"] = 1.0  # edited by hand: the hash no longer matches
    run.run_json.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"run.json is damaged: .*config_hash does not match"):
        run.start(_info())
    run.run_json.write_text("{")
    with pytest.raises(ValueError, match=r"run\.json is damaged"):
        run.read_info()


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from furpe_label.storage.run_lock import RunLock
    lock = RunLock(sys.argv[1]).acquire()
    print("locked", flush=True)
    time.sleep(120)
    """
)


def test_second_run_on_the_same_folder_refuses_until_the_holder_dies(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError, match=rf"pid {holder.pid} on .*use another --out"):
            RunDir(tmp_path).lock().acquire()
        other = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from furpe_label.storage.run_lock import RunLock;"
                " RunLock(sys.argv[1]).acquire()",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert other.returncode != 0 and "RunLockedError" in other.stderr
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=60)
    with RunDir(tmp_path).lock() as lock:  # kill -9 released it
        assert lock.held
        assert RunLock(tmp_path).path.read_text().startswith(f"pid {os.getpid()} ")
    assert not lock.held


def _finish(run: RunDir, plan: ShardPlan, shard_id: int) -> ShardStats:
    start, stop = plan.bounds(shard_id)
    columns = audit_columns(start, stop, shard_id)
    write_audit_shard(run.audit, "h36m", shard_id, columns)
    stats = ShardStats.from_audit(audit_table(columns), extra_seconds={"write": 0.5})
    run.finish_shard(shard_id, stats)
    return stats


def test_markers_drive_resume_and_stats_merge(tmp_path):
    run, plan = RunDir(tmp_path), ShardPlan(21, 8)
    assert run.pending_shards(plan) == [0, 1, 2]
    first = _finish(run, plan, 0)
    last = _finish(run, plan, 2)
    assert run.completed_shards() == {0, 2}
    assert run.pending_shards(plan) == [1]
    marker = json.loads(run.marker(2).read_text())
    assert {k: marker[k] for k in ("shard", "samples", "kept")} == {
        "shard": 2,
        "samples": 5,
        "kept": 1,
    }
    assert set(marker["files"]) == {"stats/00002.json"}  # the digest of what it was given
    total = run.merged_stats()
    assert total == first + last and total.shards == 2
    assert total.samples == 13 and total.seconds["write"] == 1.0
    assert run.audit_file("h36m", 2).is_file()
    with pytest.raises(ValueError, match=r"marks shards \[2\] done but the run has 2 shards"):
        run.pending_shards(ShardPlan(16, 8))


def test_stats_are_counted_from_the_audit_rows():
    columns = audit_columns(0, 9, 0)
    stats = ShardStats.from_audit(audit_table(columns))
    assert (stats.samples, stats.kept) == (9, 3)
    assert stats.drops == {
        "keypoints": {"few_confident_keypoints": 3},
        "reprojection": {"reprojection_error": 3},
    }
    assert stats.seconds["experts"] == pytest.approx(float(sum(columns["seconds_experts"])))
    assert ShardStats.from_json(json.loads(json.dumps(stats.to_json()))) == stats
    doubled = stats + stats
    assert doubled.drops["keypoints"]["few_confident_keypoints"] == 6
    assert doubled.kept_fraction == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="do not add up"):
        ShardStats(samples=3, kept=1, drops={"input": {"image_missing": 1}})


def test_leftovers_of_killed_writers_are_found_and_removed(tmp_path):
    run = RunDir(tmp_path)
    LabelStore.create(run.labels, 8, shard_size=8, chunk_size=4, journal=run.journal)
    junk = [
        run.audit / "dataset=h36m" / ".part-00000.parquet.77.tmp",
        run.complete / ".00000.77.tmp",
        run.stats / ".00000.json.77.tmp",
        run.root / ".labels.zarr.creating-77" / "zarr.json",
    ]
    for path in junk:  # what killed writers of the run left: their names are journalled
        path.parent.mkdir(parents=True, exist_ok=True)
        run.journal.record(path if path.name != "zarr.json" else path.parent)
        path.write_bytes(b"half")
    partial = run.labels / "betas" / "c" / "0" / "0.1234abcd.partial"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"half")
    _finish(run, ShardPlan(8, 8), 0)
    assert sorted(run.leftovers()) == sorted([*junk[:-1], junk[-1].parent, partial])
    assert run.remove_leftovers() == 5
    assert not list(run.leftovers())
    assert run.completed_shards() == {0} and run.read_stats(0).samples == 8


def test_leftover_cleanup_touches_only_names_the_run_wrote(tmp_path):
    """Issue 15 item 5: files that merely look like leftovers are the user's and stay."""
    run = RunDir(tmp_path)
    users = [
        run.root / ".notes.tmp",
        run.root / ".labels.zarr.creating-12" / "thesis.tex",
        run.stats / ".draft.json.5.tmp",
        run.audit / "dataset=h36m" / ".part-00000.parquet.9.tmp",
    ]
    for path in users:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"mine")
    run.start(_info())
    _finish(run, ShardPlan(8, 8), 0)
    assert run.remove_leftovers() == 0
    assert all(path.read_bytes() == b"mine" for path in users)


def test_leftover_cleanup_never_follows_a_linked_label_store(tmp_path):
    """A labels.zarr that is a link to a folder elsewhere is not the run's own: its
    ``*.partial`` files are neither listed nor deleted (they belong to whatever is there)."""
    elsewhere = tmp_path / "elsewhere"
    partial = elsewhere / "betas" / "c" / "0" / "0.5678abcd.partial"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"theirs")
    run = RunDir(tmp_path / "run")
    run.root.mkdir()
    run.labels.symlink_to(elsewhere, target_is_directory=True)
    assert list(run.leftovers()) == []
    assert run.remove_leftovers() == 0
    assert partial.read_bytes() == b"theirs"


def test_an_existing_folder_that_is_no_run_folder_is_refused(tmp_path):
    """Issue 15 item 5: `run --out` on a folder of the user's refuses before writing."""
    (tmp_path / "empty").mkdir()
    RunDir(tmp_path / "empty").refuse_foreign()  # an empty folder is fine
    RunDir(tmp_path / "new").refuse_foreign()  # so is a new one
    mine = tmp_path / "mine"
    (mine / "logs").mkdir(parents=True)
    (mine / "logs" / "driver.log").write_text("")
    (mine / ".lock").write_text("")
    RunDir(mine).refuse_foreign()  # what a run killed before writing run.json leaves
    (mine / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(NotARunFolderError, match=r"holds holiday\.jpg and no run\.json"):
        RunDir(mine).refuse_foreign()
    RunDir(mine).start(_info())
    RunDir(mine).refuse_foreign()  # a run folder is resumed


def test_manifest_rows_and_checks(tmp_path):
    run = RunDir(tmp_path)
    run.write_manifest(pa.table({"sample_idx": [0, 1, 2], "image_path": ["a", "b", "c"]}))
    assert run.manifest_rows() == 3
    with pytest.raises(ValueError, match=r"0\.\.N-1"):
        run.write_manifest(pa.table({"sample_idx": [0, 2]}))
    with pytest.raises(ValueError, match="needs a sample_idx"):
        run.write_manifest(pa.table({"image_path": ["a"]}))
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == [".journal", "manifest.parquet"]  # no temporary left; its name journalled


def _shard_outputs(plan: ShardPlan, store: LabelStore, shard_id: int):
    start, stop = plan.bounds(shard_id)
    audit = audit_columns(start, stop, shard_id)
    labels = label_rows(store.fields, start, stop)
    labels["valid"] = np.array(audit["drop_stage"]) == "kept"
    return labels, audit


def test_commit_shard_writes_everything_in_order_and_resumes(tmp_path):
    run, plan = RunDir(tmp_path), ShardPlan(21, 8)
    store = LabelStore.create(run.labels, plan.n_samples, plan.shard_size, chunk_size=4)
    for shard_id in (0, 2):  # a run that stopped after two shards
        run.commit_shard(store, "h36m", shard_id, *_shard_outputs(plan, store, shard_id))
    assert run.pending_shards(plan) == [1]
    stats = run.commit_shard(store, "h36m", 1, *_shard_outputs(plan, store, 1), {"write": 0.1})
    assert stats.samples == 8 and stats.seconds["write"] == 0.1
    assert run.pending_shards(plan) == []
    assert run.merged_stats().samples == 21
    kept = read_audit(run.audit).to_pandas().sort_values("sample_idx")["drop_stage"] == "kept"
    np.testing.assert_array_equal(store.array("valid")[:], kept.to_numpy())


def test_commit_shard_refuses_inconsistent_outputs_before_writing(tmp_path):
    run, plan = RunDir(tmp_path), ShardPlan(16, 8)
    store = LabelStore.create(run.labels, plan.n_samples, plan.shard_size, chunk_size=4)
    labels, audit = _shard_outputs(plan, store, 1)
    short = {k: v[:-1] for k, v in audit.items()}
    with pytest.raises(ValueError, match=r"one row per sample 8..15 in order, got 7 rows"):
        run.commit_shard(store, "h36m", 1, labels, short)
    flipped = {**labels, "valid": ~labels["valid"]}
    with pytest.raises(ValueError, match="True exactly where the audit's drop_stage is kept"):
        run.commit_shard(store, "h36m", 1, flipped, audit)
    assert not store.array("valid")[:].any()
    assert not run.audit.exists() and run.completed_shards() == set()


def test_missing_for_reading_names_what_a_run_folder_lacks(tmp_path):
    run_dir = RunDir(tmp_path / "out")
    assert run_dir.missing_for_reading() == ["run.json", "manifest.parquet", "labels.zarr"]
    run_dir.root.mkdir()
    run_dir.run_json.write_text("{}")
    assert run_dir.missing_for_reading() == ["manifest.parquet", "labels.zarr"]
    run_dir.manifest.write_bytes(b"")
    run_dir.labels.mkdir()
    assert run_dir.missing_for_reading() == []
