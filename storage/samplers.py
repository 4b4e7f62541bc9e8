"""Batch samplers that keep random training order cheap to read from a chunked store.

A uniformly random batch of B samples touches about B inner chunks of every array (one zarr
chunk read each); a block-shuffled batch of the same size touches about B / block_size. Blocks
are the dataset positions whose store rows share one chunk (``sample_idx // block_size``), so
with ``block_size`` = the store's ``chunk_size`` each chunk is read once per epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
from torch.utils.data import Sampler

if TYPE_CHECKING:
    from furpe_label.storage.reader import LabelDataset

__all__ = ["BlockShuffleBatchSampler"]


class BlockShuffleBatchSampler(Sampler[list[int]]):
    """Batches of dataset positions: whole blocks in random order, shuffled within each batch.

    Per epoch (seeded by ``(seed, epoch)``, see :meth:`set_epoch`): the blocks are permuted,
    concatenated and cut into batches of ``batch_size``; each batch's positions are then
    permuted. With ``world_size > 1`` rank ``r`` takes batches ``r, r + world_size, ...`` of
    the first ``world_size * (n_batches // world_size)`` batches, so every rank yields the same
    number of batches.

    Args:
        sample_idx: (len,) increasing store rows of the dataset positions
            (``LabelDataset.sample_idx``).
        batch_size: positions per batch.
        block_size: store rows per block (the store's ``chunk_size`` is the natural choice).
        shuffle: False keeps blocks and positions in store order (evaluation).
        drop_last: drop a final batch shorter than ``batch_size``.
    """

    def __init__(
        self,
        sample_idx: np.ndarray,
        batch_size: int,
        block_size: int,
        *,
        shuffle: bool = True,
        drop_last: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        sample_idx = np.asarray(sample_idx, dtype=np.int64)
        if sample_idx.size and np.any(np.diff(sample_idx) <= 0):
            raise ValueError("sample_idx must be strictly increasing")
        if batch_size < 1 or block_size < 1:
            raise ValueError(f"batch_size and block_size must be >= 1 ({batch_size}, {block_size})")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} not in 0..{world_size - 1}")
        block_id = sample_idx // block_size
        starts = np.flatnonzero(np.r_[True, block_id[1:] != block_id[:-1]]) if block_id.size else []
        self.blocks: list[np.ndarray] = np.split(np.arange(len(sample_idx)), starts[1:])
        self.blocks = [b for b in self.blocks if b.size]
        self.n_positions = len(sample_idx)
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.epoch = 0

    @classmethod
    def for_dataset(
        cls, dataset: LabelDataset, batch_size: int, **kwargs
    ) -> BlockShuffleBatchSampler:
        """A sampler over ``dataset`` with blocks of the store's chunk size."""
        kwargs.setdefault("block_size", dataset.chunk_size)
        return cls(dataset.sample_idx, batch_size, **kwargs)

    def set_epoch(self, epoch: int) -> None:
        """Use the order of ``epoch`` (call before each epoch, as with DistributedSampler)."""
        self.epoch = epoch

    def _total_batches(self) -> int:
        full, rest = divmod(self.n_positions, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __len__(self) -> int:
        return self._total_batches() // self.world_size

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng((self.seed, self.epoch))
        order = rng.permutation(len(self.blocks)) if self.shuffle else range(len(self.blocks))
        positions = np.concatenate([self.blocks[i] for i in order]) if self.blocks else []
        usable = len(self) * self.world_size
        for number in range(self.rank, usable, self.world_size):
            batch = positions[number * self.batch_size : (number + 1) * self.batch_size]
            yield (rng.permutation(batch) if self.shuffle else batch).tolist()
