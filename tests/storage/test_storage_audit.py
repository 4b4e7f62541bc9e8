"""Parquet audit: schema from the one table, dictionary-encoded reasons, atomic files, and the
same rows read back by duckdb, pandas and dask."""

from __future__ import annotations

import dask.dataframe as dd
import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from furpe_label.experts.vocabulary import Reason
from furpe_label.storage import audit as audit_module
from furpe_label.storage.audit import audit_file, audit_table, read_audit, write_audit_shard
from furpe_label.storage.schema import AUDIT_FIELDS
from tests.support.storage_data import audit_columns

SHARDS = {"h36m": [(0, 0, 8), (1, 8, 13)], "coco-wholebody": [(0, 0, 6)]}  # (shard, start, stop)


@pytest.fixture
def audit_root(tmp_path):
    root = tmp_path / "audit"
    for dataset, shards in SHARDS.items():
        for shard, start, stop in shards:
            write_audit_shard(root, dataset, shard, audit_columns(start, stop, shard, seed=shard))
    (root / "dataset=h36m" / ".part-00002.parquet.999.tmp").write_bytes(b"torn")  # a killed write
    return root


def _expected_keys() -> set[tuple[str, int]]:
    return {(d, i) for d, shards in SHARDS.items() for _, a, b in shards for i in range(a, b)}


def test_layout_and_file_schema(audit_root):
    path = audit_file(audit_root, "h36m", 1)
    assert path == audit_root / "dataset=h36m" / "part-00001.parquet"
    schema = pq.read_schema(path)
    names = [f.name for f in AUDIT_FIELDS if not f.partition]
    assert schema.names == names
    assert schema.field("drop_reason").type == pa.dictionary(pa.int8(), pa.string())
    assert schema.field("gt_mpjpe_mm").metadata[b"unit"] == b"mm"
    dictionary = pq.read_table(path).column("drop_reason").chunk(0).dictionary
    assert dictionary.to_pylist() == [r.value for r in Reason]  # the full, fixed dictionary
    stages = pq.read_table(path).column("drop_stage").chunk(0).dictionary
    assert stages.to_pylist() == [
        "kept",
        "input",
        "keypoints",
        "experts",
        "fusion",
        "reprojection",
        "signals",
        "temporal",
    ]
    assert schema.field("drop_step").type == pa.int8() and schema.field("drop_step").nullable


def test_pandas_reads_every_row_with_its_partition(audit_root):
    frame = pd.read_parquet(audit_root)
    assert set(zip(frame["dataset"].astype(str), frame["sample_idx"], strict=True)) == (
        _expected_keys()
    )
    kept = frame[frame["drop_reason"] == "ok"]
    assert (kept["drop_stage"] == "kept").all() and kept["drop_detail"].isna().all()
    assert kept["drop_step"].isna().all()
    step1 = frame[frame["drop_reason"] == "few_confident_keypoints"]
    assert (step1["drop_stage"] == "keypoints").all() and (step1["drop_step"] == 1).all()
    assert frame["drop_stage"].dtype.name == "category"
    assert frame["drop_reason"].dtype.name == "category"
    assert frame.loc[frame["sample_idx"] == 0, "suppressed_parts"].map(list).tolist() == [
        ["left_hand"],
        ["left_hand"],
    ]


def test_duckdb_reads_every_row(audit_root):
    glob = str(audit_root / "*" / "*.parquet")
    rows = duckdb.sql(
        f"SELECT dataset, drop_reason, count(*) AS n FROM read_parquet('{glob}', "
        "hive_partitioning = true) GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    counts = pd.read_parquet(audit_root).groupby(["dataset", "drop_reason"], observed=True).size()
    assert rows == [(d, r, n) for (d, r), n in sorted(counts.items())]
    assert sum(n for *_, n in rows) == len(_expected_keys())


def test_dask_reads_every_row(audit_root):
    frame = dd.read_parquet(audit_root).compute()
    assert set(zip(frame["dataset"].astype(str), frame["sample_idx"], strict=True)) == (
        _expected_keys()
    )
    assert (
        frame["gt_pa_mpjpe_mm"].isna().sum()
        == pd.read_parquet(audit_root)["gt_pa_mpjpe_mm"].isna().sum()
    )


def test_read_audit_unifies_every_file(audit_root):
    table = read_audit(audit_root)
    assert table.num_rows == len(_expected_keys())
    assert table.schema.field("status_face").type == pa.dictionary(pa.int8(), pa.string())


def test_nullable_columns_may_be_left_out():
    columns = audit_columns(0, 4, 0)
    for name in ("gt_mpjpe_mm", "gt_pa_mpjpe_mm", "subject", "frame", "status_face"):
        del columns[name]
    table = audit_table(columns)
    assert table.column("gt_mpjpe_mm").null_count == 4
    assert table.column("status_face").null_count == 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"drop_reason": ["ok", "made_up", "ok", "ok"]}, r"unknown values \['made_up'\]"),
        ({"suppressed_parts": [["tail"], [], [], []]}, r"suppressed_parts: unknown values"),
        ({"image_path": [None, "a", "b", "c"]}, "image_path may not be null"),
        ({"shard": [0, 0, 0]}, "shard has 3 rows, expected 4"),
        ({"person_idx": [0.5, 0, 0, 0]}, "person_idx needs whole numbers"),
        ({"n_confident_kp": np.full(4, 70_000)}, "n_confident_kp: Integer value 70000 not in"),
        ({"dataset": ["h36m"] * 4}, "partition key"),
        ({"colour": [1, 2, 3, 4]}, r"unknown \['colour'\]"),
    ],
)
def test_bad_columns_are_refused_by_name(change, message):
    with pytest.raises(ValueError, match=message):
        audit_table({**audit_columns(0, 4, 0), **change})


def test_missing_required_columns_are_named():
    columns = audit_columns(0, 4, 0)
    del columns["drop_reason"]
    with pytest.raises(ValueError, match=r"missing \['drop_reason'\]"):
        audit_table(columns)


def test_bad_dataset_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match="dataset name"):
        write_audit_shard(tmp_path, "../escape", 0, audit_columns(0, 2, 0))


def test_a_failed_write_leaves_the_old_file_and_no_temporary(audit_root, monkeypatch):
    path = audit_file(audit_root, "coco-wholebody", 0)
    before = path.read_bytes()

    def torn_write(table, where, **kwargs):
        with open(where, "wb") as handle:
            handle.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(audit_module.pq, "write_table", torn_write)
    with pytest.raises(OSError, match="disk full"):
        write_audit_shard(audit_root, "coco-wholebody", 0, audit_columns(0, 6, 0, seed=5))
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["part-00000.parquet"]


def test_floats_keep_nan_and_null_apart():
    columns = audit_columns(0, 3, 0)
    columns["reproj_mse_px"] = [np.nan, None, 1.5]
    values = audit_table(columns).column("reproj_mse_px").to_pylist()
    assert np.isnan(values[0]) and values[1:] == [None, 1.5]
