"""Issue 15 item 7: a damaged run folder is refused by every reader, naming shard and file;
item 8: an unfinished run says so. Run folders are written directly (no model runs)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from furpe_label.storage.exports.run_rows import read_run_rows
from furpe_label.storage.reader import LabelDataset
from furpe_label.storage.run_check import RunDamagedError, check_run
from furpe_label.workflows.audit import load_audit, load_checked_audit
from tests.support.run_folders import DATASET, write_run_folder


@pytest.fixture
def run(tmp_path):
    return write_run_folder(tmp_path / "run", rows=8, shard_size=2)


def test_an_intact_run_is_accepted_everywhere(run):
    check = check_run(run.root)
    assert check.finished and check.done == [0, 1, 2, 3] and check.done_rows == 8
    assert check.unfinished_note() is None
    dataset = LabelDataset(run.labels)
    assert dataset.sample_idx.tolist() == [0, 3, 6]  # kept: i % 3 == 0
    assert dataset.unfinished is None
    assert float(dataset[1]["global_orient"][0]) == pytest.approx(3.0)
    assert len(read_run_rows(run.root)) == 3
    table, _ = load_audit(run.root)
    assert sorted(table.column("sample_idx").to_pylist()) == list(range(8))


def test_a_deleted_valid_chunk_is_refused_by_the_reader_and_the_export(run):
    """Before: the export and LabelDataset returned fewer samples than the audit kept."""
    (run.labels / "valid" / "c" / "1").unlink()
    expected = "shard 1: labels.zarr/valid/c/1 is missing"
    with pytest.raises(RunDamagedError, match=expected):
        LabelDataset(run.labels)
    with pytest.raises(RunDamagedError, match=expected):
        read_run_rows(run.root)
    assert check_run(run.root).damaged == {1: [f"{expected} (deleted after the shard ended)"]}


def test_a_changed_pose_chunk_is_refused_when_first_read(run):
    """Before: a deleted global_orient chunk gave NaN poses in a HumanData export, exit 0."""
    path = run.labels / "global_orient" / "c" / "2" / "0"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RunDamagedError, match=r"shard 2: labels.zarr/global_orient/c/2/0 differs"):
        read_run_rows(run.root)
    dataset = LabelDataset(run.labels)  # construction checks `valid` only: training starts fast
    dataset.read_rows(np.array([0, 1]))  # shard 0 is intact
    with pytest.raises(RunDamagedError, match=r"shard 2: labels.zarr/global_orient/c/2/0"):
        dataset.read_rows(np.array([4]))
    path.unlink()
    with pytest.raises(RunDamagedError, match=r"global_orient/c/2/0 is missing"):
        LabelDataset(run.labels, fields=["global_orient"]).read_rows(np.array([5]))


def test_deleted_or_duplicated_audit_parts_are_refused(run):
    """Before: `audit` showed 6 of 8 rows, or 8 rows of which 6 unique."""
    part = run.audit_file(DATASET, 1)
    copy = part.with_name("part-00001 (copy).parquet")
    shutil.copy(part, copy)
    with pytest.raises(RunDamagedError, match=r"part-00001 \(copy\).parquet was not written"):
        load_audit(run.root)
    copy.unlink()
    shutil.copy(run.audit_file(DATASET, 0), part)  # shard 0's rows in shard 1's name
    with pytest.raises(RunDamagedError, match=r"shard 1: audit/dataset=h36m/part-00001.parquet"):
        load_audit(run.root)
    part.unlink()
    with pytest.raises(RunDamagedError, match=r"part-00001.parquet is missing"):
        load_audit(run.root)


def test_markers_manifest_and_run_json_damage_is_named(run):
    run.marker(3).write_text("{")
    check = check_run(run.root)
    assert check.done == [0, 1, 2]
    assert "its completion marker" in check.damaged[3][0] and "is damaged" in check.damaged[3][0]
    run.marker(3).unlink()
    data = bytearray(run.manifest.read_bytes())
    data[len(data) // 2] ^= 0x01
    run.manifest.write_bytes(bytes(data))
    problems = check_run(run.root).problems
    assert any("manifest.parquet" in p for p in problems), problems
    with pytest.raises(RunDamagedError, match=r"manifest\.parquet"):
        read_run_rows(run.root)


def test_an_unfinished_run_says_so_and_reads_its_complete_shards_only(tmp_path):
    """Item 8: 2 of 4 shards done. Before: summaries showed them as if the run were whole."""
    run = write_run_folder(tmp_path / "run", rows=8, shard_size=2, shards=[0, 2])
    table, _, check = load_checked_audit(run.root)
    assert sorted(table.column("sample_idx").to_pylist()) == [0, 1, 4, 5]
    note = check.unfinished_note()
    assert note.startswith("UNFINISHED RUN: 2 of 4 shards complete (4 of 8 person instances)")
    dataset = LabelDataset(run.labels)
    assert dataset.sample_idx.tolist() == [0] and "2 of 4 shards" in dataset.unfinished
    with pytest.raises(RunDamagedError, match="has not completed that shard"):
        dataset.read_rows(np.array([2]))


def test_a_marker_under_another_name_is_a_stray_not_a_done_shard(tmp_path):
    run = write_run_folder(tmp_path / "run", rows=8, shard_size=2, shards=[0])
    shutil.copy(run.marker(0), run.complete / "1")
    shutil.copy(run.marker(0), run.complete / "00002")  # shard 0's marker in shard 2's name
    assert run.completed_shards() == {0, 2}
    check = check_run(run.root)
    assert check.done == [0]
    assert any("complete/1 is not a completion marker" in line for line in check.strays)
    assert "is for shard 0 with 2 rows" in check.damaged[2][0]
