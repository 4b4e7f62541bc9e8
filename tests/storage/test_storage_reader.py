"""Trainer reader: kept samples by smplx names, batched sorted reads, block-shuffle batches,
DataLoader workers (fork after the parent has read), the pread store."""

from __future__ import annotations

import multiprocessing
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.reader import LabelDataset
from furpe_label.storage.samplers import BlockShuffleBatchSampler
from tests.support.storage_data import label_rows

N, SHARD, CHUNK = 50, 16, 4


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("reader") / "labels.zarr"
    store = LabelStore.create(path, N, shard_size=SHARD, chunk_size=CHUNK)
    for shard_id in store.plan.ids():
        store.write_shard(shard_id, label_rows(store.fields, *store.plan.bounds(shard_id)))
    return path


@pytest.fixture(scope="module")
def expected(store_path):
    return label_rows(LabelStore.open(store_path).fields, 0, N)


def _assert_sample(sample: dict[str, torch.Tensor], expected: dict[str, np.ndarray]) -> None:
    row = int(sample["sample_idx"])
    for name, tensor in sample.items():
        if name != "sample_idx":
            np.testing.assert_array_equal(tensor.numpy(), expected[name][row], err_msg=name)


def test_kept_samples_by_smplx_names(store_path, expected):
    dataset = LabelDataset(store_path)
    np.testing.assert_array_equal(dataset.sample_idx, np.flatnonzero(expected["valid"]))
    sample = dataset[3]
    assert int(sample["sample_idx"]) == dataset.sample_idx[3]
    assert "valid" not in sample
    assert sample["body_pose"].shape == (21, 3) and sample["body_pose"].dtype == torch.float32
    assert sample["left_hand_pose"].shape == (15, 3)
    assert sample["part_valid"].dtype == torch.bool and sample["part_valid"].shape == (4,)
    assert sample["feature_face"].dtype == torch.float16
    _assert_sample(sample, expected)


def test_read_batch_keeps_the_requested_order_and_repeats(store_path, expected):
    dataset = LabelDataset(store_path, fields=["betas", "part_valid"])
    positions = [7, 2, 7, 30, 0]
    batch = dataset.read_batch(positions)
    assert batch["betas"].shape == (5, 10)
    np.testing.assert_array_equal(batch["sample_idx"].numpy(), dataset.sample_idx[positions])
    for i in range(len(positions)):
        _assert_sample({k: v[i] for k, v in batch.items()}, expected)
    assert dataset.read_batch([])["betas"].shape == (0, 10)
    with pytest.raises(IndexError):
        dataset.read_batch([len(dataset)])


def test_all_rows_with_unwritten_shards(tmp_path):
    store = LabelStore.create(tmp_path / "labels.zarr", 20, shard_size=8, chunk_size=4)
    store.write_shard(0, label_rows(store.fields, 0, 8))
    everything = LabelDataset(tmp_path / "labels.zarr", kept_only=False)
    assert len(everything) == 20
    tail = everything.read_batch([8, 19])
    assert not tail["valid"].any() and torch.isnan(tail["transl"]).all()
    assert len(LabelDataset(tmp_path / "labels.zarr")) == 5  # rows 1, 2, 4, 5, 7 of shard 0
    with pytest.raises(KeyError, match="not in"):
        LabelDataset(tmp_path / "labels.zarr", fields=["pose"])


def test_dataloader_workers_after_the_parent_read(store_path, expected):
    dataset = LabelDataset(store_path)
    dataset[0]  # the parent opens the store before the workers fork
    sampler = BlockShuffleBatchSampler.for_dataset(dataset, batch_size=6, seed=3)
    loader = DataLoader(
        dataset, batch_sampler=sampler, num_workers=2, multiprocessing_context="fork"
    )
    seen = []
    for batch in loader:
        assert batch["body_pose"].shape[1:] == (21, 3)
        seen += batch["sample_idx"].tolist()
        for i in range(len(batch["sample_idx"])):
            _assert_sample({k: v[i] for k, v in batch.items()}, expected)
    assert sorted(seen) == dataset.sample_idx.tolist()


def _engine_and_first_row(dataset: LabelDataset) -> tuple[str, int]:
    return dataset._open().engine, int(dataset[0]["sample_idx"])


@pytest.mark.parametrize(("method", "engine"), [("fork", "zarr"), ("forkserver", "tensorstore")])
def test_workers_after_the_parent_used_tensorstore(store_path, method, engine):
    """TensorStore aborts a forked child of a process that used it: forked workers fall back
    to zarr-python; forkserver workers keep TensorStore."""
    dataset = LabelDataset(store_path, fields=["betas"])
    dataset[0]
    assert dataset._open().engine == "tensorstore"
    with multiprocessing.get_context(method).Pool(1) as pool:
        assert pool.apply(_engine_and_first_row, (dataset,)) == (engine, dataset.sample_idx[0])


def test_pickled_dataset_reopens_lazily(store_path, expected):
    dataset = LabelDataset(store_path, fields=["transl"])
    dataset[0]
    copy = pickle.loads(pickle.dumps(dataset))
    assert copy._reader is None
    _assert_sample(copy[5], expected)


def test_block_shuffle_covers_every_position_once_with_few_chunks_per_batch():
    sample_idx = np.flatnonzero(np.arange(200) % 3 != 0)  # kept rows with gaps
    sampler = BlockShuffleBatchSampler(sample_idx, batch_size=12, block_size=8, seed=1)
    epochs = []
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler) == 12  # 134 positions, last batch short
        flat = [p for b in batches for p in b]
        assert sorted(flat) == list(range(len(sample_idx)))
        for batch in batches:
            assert len(np.unique(sample_idx[batch] // 8)) <= 4  # 5-6 kept rows per chunk
        epochs.append(flat)
    assert epochs[0] != epochs[1]
    sampler.set_epoch(0)
    assert [p for b in sampler for p in b] == epochs[0]  # deterministic per epoch


def test_block_shuffle_options():
    sample_idx = np.arange(40)
    ordered = BlockShuffleBatchSampler(sample_idx, 16, 4, shuffle=False)
    assert [p for b in ordered for p in b] == list(range(40))
    assert len(BlockShuffleBatchSampler(sample_idx, 16, 4, drop_last=True)) == 2
    ranks = [list(BlockShuffleBatchSampler(sample_idx, 6, 4, rank=r, world_size=2)) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == 3
    assert not {p for b in ranks[0] for p in b} & {p for b in ranks[1] for p in b}
    with pytest.raises(ValueError, match="strictly increasing"):
        BlockShuffleBatchSampler(np.array([3, 1]), 4, 4)


@pytest.mark.parametrize("kept_only", [True, False])
def test_engines_read_the_same_values(tmp_path, kept_only):
    store = LabelStore.create(tmp_path / "labels.zarr", 20, shard_size=8, chunk_size=4)
    store.write_shard(1, label_rows(store.fields, 8, 16))  # shards 0 and 2 never written
    fast = LabelDataset(tmp_path / "labels.zarr", kept_only=kept_only)
    reference = LabelDataset(tmp_path / "labels.zarr", kept_only=kept_only, engine="zarr")
    positions = np.arange(len(fast))[::-1]
    a, b = fast.read_batch(positions), reference.read_batch(positions)
    assert fast._open().engine == "tensorstore" and reference._open().engine == "zarr"
    for name in a:
        torch.testing.assert_close(a[name], b[name], equal_nan=True, rtol=0, atol=0)
    with pytest.raises(ValueError, match="unknown engine"):
        LabelDataset(tmp_path / "labels.zarr", engine="h5py")
