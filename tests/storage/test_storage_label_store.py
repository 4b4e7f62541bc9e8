"""labels.zarr: whole-shard writes (short tail included), schema attributes, concurrent writers."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
import zarr

from furpe_label.storage.label_store import LabelStore, LabelStoreMismatchError
from furpe_label.storage.schema import LABEL_FIELDS, label_fields, schema_json
from tests.support.storage_data import label_rows

N, SHARD, CHUNK = 21, 8, 4  # three shards: 8, 8 and a short tail of 5


def _write(store: LabelStore, shard_id: int) -> None:
    start, stop = store.plan.bounds(shard_id)
    store.write_shard(shard_id, label_rows(store.fields, start, stop))


def _assert_rows(store: LabelStore, start: int, stop: int) -> None:
    expected = label_rows(store.fields, start, stop)
    for name, values in expected.items():
        np.testing.assert_array_equal(store.array(name)[start:stop], values, err_msg=name)


@pytest.fixture
def store(tmp_path):
    return LabelStore.create(tmp_path / "labels.zarr", N, shard_size=SHARD, chunk_size=CHUNK)


def test_arrays_follow_the_schema(store, tmp_path):
    assert store.names == tuple(f.name for f in LABEL_FIELDS if not f.optional)
    group = zarr.open_group(tmp_path / "labels.zarr", mode="r")
    assert group.attrs["flat_hand_mean"] is True
    meta = group.attrs["furpe_label"]
    assert meta["fields"] == schema_json(store.fields)
    assert meta["conventions"]["flat_hand_mean"] is True
    assert (meta["n_samples"], meta["shard_size"], meta["chunk_size"]) == (N, SHARD, CHUNK)
    for field in store.fields:
        array = group[field.name]
        assert array.shape == (N, *field.shape)
        assert array.dtype == np.dtype(field.dtype)
        assert array.shards == (SHARD, *field.shape)
        assert array.chunks == (CHUNK, *field.shape)
        assert array.attrs["unit"] == field.unit
    assert [p.name for p in tmp_path.iterdir()] == ["labels.zarr"]  # no creation leftovers


def test_unwritten_rows_read_as_missing(store):
    _write(store, 1)
    assert np.isnan(store.array("body_pose")[:8]).all()
    assert not store.array("valid")[16:].any()
    _assert_rows(store, 8, 16)


def test_every_shard_round_trips_including_the_short_tail(store):
    assert [store.plan.length(k) for k in store.plan.ids()] == [8, 8, 5]
    for shard_id in reversed(store.plan.ids()):
        _write(store, shard_id)
    reopened = LabelStore.open(store.group.store.root)
    _assert_rows(reopened, 0, N)
    assert reopened.read_shard(2, ["valid"])["valid"].shape == (5,)


@pytest.mark.parametrize("shard_id", [0, 2])
def test_whole_shard_write_never_reads_the_old_shard(store, tmp_path, shard_id):
    """A corrupt old shard file is replaced, not merged (zarr fails to decode it if read)."""
    _write(store, shard_id)
    shard_file = tmp_path / "labels.zarr" / "body_pose" / "c" / str(shard_id) / "0" / "0"
    shard_file.write_bytes(shard_file.read_bytes()[:37])
    with pytest.raises(Exception):  # noqa: B017 - zarr's own decode error
        store.array("body_pose")[store.plan.bounds(shard_id)[0]]
    _write(store, shard_id)
    _assert_rows(store, *store.plan.bounds(shard_id))


def test_rewriting_a_shard_leaves_nothing_of_the_old_one(store):
    _write(store, 0)
    rows = label_rows(store.fields, 0, 8)
    rows["valid"][:] = False
    rows["body_pose"][:CHUNK] = np.nan  # a whole inner chunk of fill values is not stored
    store.write_shard(0, rows)
    assert not store.array("valid")[:8].any()
    assert np.isnan(store.array("body_pose")[:CHUNK]).all()
    np.testing.assert_array_equal(store.array("body_pose")[CHUNK:8], rows["body_pose"][CHUNK:])


def test_write_shard_refuses_partial_or_mistyped_shards(store):
    rows = label_rows(store.fields, 16, 21)
    with pytest.raises(ValueError, match=r"missing fields \['valid'\]"):
        store.write_shard(2, {k: v for k, v in rows.items() if k != "valid"})
    with pytest.raises(ValueError, match=r"unknown fields \['extra'\]"):
        store.write_shard(2, {**rows, "extra": rows["valid"]})
    with pytest.raises(
        ValueError, match=r"body_pose has shape \(4, 21, 3\), expected \(5, 21, 3\)"
    ):
        store.write_shard(2, {**rows, "body_pose": rows["body_pose"][:4]})
    with pytest.raises(TypeError, match="valid is float32, expected bool"):
        store.write_shard(2, {**rows, "valid": rows["valid"].astype(np.float32)})
    with pytest.raises(TypeError, match="betas is bool"):
        store.write_shard(2, {**rows, "betas": np.ones((5, 10), bool)})
    with pytest.raises(ValueError, match=r"shard 3 does not exist: this run has shards 0..2"):
        store.write_shard(3, rows)
    assert not store.array("valid")[:].any()  # nothing was written by the refused calls


def test_float64_input_is_stored_as_the_schema_dtype(store):
    rows = {
        k: (v.astype(np.float64) if v.dtype.kind == "f" else v)
        for k, v in label_rows(store.fields, 0, 8).items()
    }
    store.write_shard(0, rows)
    assert store.array("betas").dtype == np.float32
    _assert_rows(store, 0, 8)


def test_optional_fields_and_resume_checks(tmp_path):
    path = tmp_path / "labels.zarr"
    store = LabelStore.open_or_create(
        path, N, SHARD, CHUNK, optional_fields=["feature_pooled_face"]
    )
    assert "feature_pooled_face" in store.names and "feature_pooled_body" not in store.names
    assert store.array("feature_pooled_face").dtype == np.float16
    again = LabelStore.open_or_create(
        path, N, SHARD, CHUNK, optional_fields=["feature_pooled_face"]
    )
    assert again.names == store.names
    with pytest.raises(LabelStoreMismatchError, match="n_samples: store has 21, run wants 22"):
        LabelStore.open_or_create(path, N + 1, SHARD, CHUNK, ["feature_pooled_face"])
    with pytest.raises(LabelStoreMismatchError, match="fields: store has"):
        LabelStore.open_or_create(path, N, SHARD, CHUNK)
    with pytest.raises(FileExistsError):
        LabelStore.create(path, N, SHARD, CHUNK)
    with pytest.raises(ValueError, match="always stored"):
        label_fields(["betas"])
    with pytest.raises(ValueError, match="chunk_size 3 must divide shard_size 8"):
        LabelStore.create(tmp_path / "other.zarr", N, SHARD, 3)
    with pytest.raises(FileNotFoundError, match="no label store"):
        LabelStore.open(tmp_path / "missing.zarr")


def _write_shards(path: str, shard_ids: list[int]) -> None:
    store = LabelStore.open(path, mode="r+")
    for shard_id in shard_ids:
        _write(store, shard_id)


def test_concurrent_writers_of_different_shards_lose_nothing(tmp_path):
    path = tmp_path / "labels.zarr"
    n, shard = 150, 16  # ten shards, the last 6 rows long
    LabelStore.create(path, n, shard_size=shard, chunk_size=4)
    processes = 4
    context = multiprocessing.get_context("fork")
    with context.Pool(processes) as pool:
        pool.starmap(
            _write_shards, [(str(path), list(range(i, 10, processes))) for i in range(processes)]
        )
    _assert_rows(LabelStore.open(path), 0, n)
