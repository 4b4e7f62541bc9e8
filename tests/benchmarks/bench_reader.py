"""Benchmark: trainer reads from labels.zarr, samples/s in one process (goal >= 1 000).

Store: every required label field (26 arrays, ~11 KiB per sample, four 1024-d float16
features included), N = 16 384 samples in shards of 4 096, written once per chunk size and
read from the page cache (warm, as in a training epoch after the first). Batch 256, all
fields, median of REPEATS batches after one warm-up, all in the same run:

- ``per-sample zarr`` (the named baseline): ``array[row]`` for each sample and field through
  zarr's own LocalStore, what a naive ``Dataset.__getitem__`` does;
- ``random, zarr``: a uniformly random batch read with one sorted zarr-python
  ``get_orthogonal_selection`` per array (``LabelDataset(engine="zarr").read_batch``);
- ``random, tensorstore``: the same batch through TensorStore (the reader's default);
- ``block-shuffle, zarr`` / ``block-shuffle, tensorstore``: batches from
  :class:`BlockShuffleBatchSampler` (random order of chunk-sized blocks);
- ``random, DataLoader``: a uniformly random batch through ``DataLoader(batch_sampler=...)``
  (``__getitems__`` + default_collate, num_workers=0, tensorstore);
- ``numpy memmap`` (reference ceiling): fancy indexing of .npy copies of the same arrays.

    pytest tests/benchmarks -m benchmark -s -k reader
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.reader import LabelDataset
from furpe_label.storage.samplers import BlockShuffleBatchSampler

N, SHARD, BATCH, REPEATS = 16_384, 4_096, 256, 7
PER_SAMPLE_ROWS = 16  # the baseline is slow: time 16 samples and scale
GOAL = 1_000.0


def _build(path, chunk_size: int) -> LabelStore:
    store = LabelStore.create(path, N, shard_size=SHARD, chunk_size=chunk_size)
    rng = np.random.default_rng(0)
    for shard_id in store.plan.ids():
        rows = store.plan.length(shard_id)
        arrays = {}
        for field in store.fields:
            shape = (rows, *field.shape)
            arrays[field.name] = (
                rng.random(shape) < 0.7
                if field.dtype == "bool"
                else rng.standard_normal(shape).astype(field.dtype)
            )
        store.write_shard(shard_id, arrays)
    return store


def _samples_per_second(read: Callable[[], int]) -> tuple[float, float]:
    """Median samples/s over REPEATS calls: (per wall second, per CPU second of the process)."""
    read()  # warm-up
    wall, cpu = [], []
    for _ in range(REPEATS):
        start, start_cpu = time.perf_counter(), time.process_time()
        samples = read()
        wall.append(samples / (time.perf_counter() - start))
        cpu.append(samples / max(time.process_time() - start_cpu, 1e-9))
    return statistics.median(wall), statistics.median(cpu)


def _reader(dataset: LabelDataset, batches: Callable[[], list[int]]) -> Callable[[], int]:
    return lambda: len(dataset.read_batch(batches())["sample_idx"])


@pytest.mark.benchmark
@pytest.mark.parametrize("chunk_size", [16, 32, 64])
def test_reader_throughput(tmp_path, chunk_size):
    store = _build(tmp_path / "labels.zarr", chunk_size)
    fast = LabelDataset(tmp_path / "labels.zarr", kept_only=False)
    reference = LabelDataset(tmp_path / "labels.zarr", kept_only=False, engine="zarr")
    memmaps = {}
    for name in fast.fields:
        np.save(tmp_path / f"{name}.npy", store.array(name)[:])
        memmaps[name] = np.load(tmp_path / f"{name}.npy", mmap_mode="r")
    rng = np.random.default_rng(1)

    def random_batch() -> list[int]:
        return np.sort(rng.choice(len(fast), BATCH, replace=False)).tolist()

    sampler = BlockShuffleBatchSampler.for_dataset(fast, BATCH, seed=0)
    block_batches = iter(())

    def block_batch() -> list[int]:
        nonlocal block_batches
        batch = next(block_batches, None)
        if batch is None:
            sampler.set_epoch(sampler.epoch + 1)
            block_batches = iter(sampler)
            batch = next(block_batches)
        return batch

    def per_sample() -> int:
        arrays = {name: store.array(name) for name in fast.fields}
        for row in rng.choice(N, PER_SAMPLE_ROWS, replace=False):
            {name: torch.from_numpy(np.asarray(a[int(row)])) for name, a in arrays.items()}
        return PER_SAMPLE_ROWS

    def loader_batch() -> int:
        loader = DataLoader(fast, batch_sampler=[random_batch()], num_workers=0)
        return len(next(iter(loader))["sample_idx"])

    def memmap_batch() -> int:
        rows = random_batch()
        {name: torch.from_numpy(m[rows]) for name, m in memmaps.items()}
        return BATCH

    check = random_batch()
    for dataset in (fast, reference):
        for name, value in dataset.read_batch(check).items():
            expected = memmaps[name][check] if name != "sample_idx" else check
            assert np.array_equal(value.numpy(), expected, equal_nan=True), name

    rates = {
        "per-sample zarr (baseline)": _samples_per_second(per_sample),
        "random, zarr": _samples_per_second(_reader(reference, random_batch)),
        "random, tensorstore": _samples_per_second(_reader(fast, random_batch)),
        "block-shuffle, zarr": _samples_per_second(_reader(reference, block_batch)),
        "block-shuffle, tensorstore": _samples_per_second(_reader(fast, block_batch)),
        "random, DataLoader": _samples_per_second(loader_batch),
        "numpy memmap (reference)": _samples_per_second(memmap_batch),
    }
    baseline = rates["per-sample zarr (baseline)"][0]
    load = os.getloadavg()[0]
    print(
        f"\nreader, chunk {chunk_size}, {len(fast.fields)} arrays, batch {BATCH}, median of "
        f"{REPEATS}, {os.cpu_count()} CPUs at load {load:.1f} (samples/s per wall second, "
        "and per CPU second of this process ~ one free core; goal >= 1000/s):"
    )
    for name, (wall, cpu) in rates.items():
        print(
            f"  {name:28s} {wall:9.0f} /s wall {cpu:9.0f} /s CPU {wall / baseline:7.1f}x baseline"
        )
    assert all(wall > 0 for wall, _ in rates.values())
