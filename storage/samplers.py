"""Batch samplers that keep random training order cheap to read from a chunked store.

A uniformly random batch of B samples touches about B inner chunks of every array (one zarr
chunk read each); a block-shuffled batch of the same size touches about B / block_size. Blocks
are the dataset positions whose store rows share one chunk (``sample_idx // block_size``), so
with ``block_size`` = the store's ``chunk_size`` each chunk is read once per epoch.

:class:`TrackClipSampler` serves temporal models instead: each item is one clip of a person's
consecutive frames (:meth:`~furpe_label.storage.reader.LabelDataset.tracks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
from torch.utils.data import Sampler

if TYPE_CHECKING:
    from furpe_label.storage.reader import LabelDataset
    from furpe_label.storage.tracks import Track

__all__ = ["BlockShuffleBatchSampler", "TrackClipSampler"]


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


class TrackClipSampler(Sampler[list[int]]):
    """Clips of one track each: lists of dataset positions of consecutive track rows, in frame
    order. Use it as a DataLoader ``batch_sampler``: one clip is one batch, read in one call per
    array and collated to ``(T, *field shape)`` tensors.

    With a ``LabelDataset(kept_only=False)`` every row of a track is in the dataset and a clip
    covers consecutive frames of the track, dropped labels included (read ``valid`` to mask
    them: their arrays are NaN). With ``kept_only=True`` only kept rows have positions and a
    clip is consecutive *kept* rows (dropped frames are skipped, not masked). A track can also
    skip frames where its person was not found (see :mod:`~furpe_label.storage.tracks`).

    Per track, clips start every ``stride`` rows (``clip_length`` rows each, the last full
    clip included); a track shorter than ``clip_length`` gives one shorter clip unless
    ``drop_short``. Clips with fewer than ``min_valid`` kept rows are left out. ``shuffle``
    permutes the clips' order per epoch (seeded by ``(seed, epoch)``, :meth:`set_epoch`),
    never the frames inside a clip.

    Args:
        tracks: from :meth:`LabelDataset.tracks` of the dataset the loader reads.
        clip_length: rows per clip (>= 1).
        stride: rows between clip starts (default ``clip_length``: clips do not overlap).
    """

    def __init__(
        self,
        tracks: list[Track],
        clip_length: int,
        stride: int | None = None,
        *,
        min_valid: int = 1,
        drop_short: bool = False,
        shuffle: bool = True,
        seed: int = 0,
    ) -> None:
        stride = clip_length if stride is None else stride
        if clip_length < 1 or stride < 1 or min_valid < 0:
            raise ValueError(
                f"clip_length and stride must be >= 1 and min_valid >= 0 "
                f"(got {clip_length}, {stride}, {min_valid})"
            )
        self.clips: list[list[int]] = []
        for track in tracks:
            present = track.positions >= 0
            positions, valid = track.positions[present], track.valid[present]
            if len(positions) < clip_length and drop_short:
                continue
            last = max(len(positions) - clip_length, 0)
            for start in range(0, last + 1, stride):
                window = slice(start, start + clip_length)
                if positions[window].size and int(valid[window].sum()) >= min_valid:
                    self.clips.append(positions[window].tolist())
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Use the clip order of ``epoch``."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def __iter__(self) -> Iterator[list[int]]:
        order = range(len(self.clips))
        if self.shuffle:
            order = np.random.default_rng((self.seed, self.epoch)).permutation(len(self.clips))
        for index in order:
            yield list(self.clips[index])
