"""How a run's N input samples are cut into shards (the unit of work and of Zarr writes).

Shard ``k`` holds samples ``[k * shard_size, min((k + 1) * shard_size, N))``; only the last
shard may be shorter. The same shard size is the Zarr shard length of every label array, so a
task writes exactly one Zarr shard per array.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_SHARD_SIZE", "ShardPlan"]

DEFAULT_SHARD_SIZE = 10_240
"""Samples per shard (task and Zarr shard) unless the run says otherwise."""


@dataclass(frozen=True)
class ShardPlan:
    """Shard arithmetic for ``n_samples`` inputs cut into shards of ``shard_size``."""

    n_samples: int
    shard_size: int = DEFAULT_SHARD_SIZE

    def __post_init__(self) -> None:
        if self.n_samples < 0:
            raise ValueError(f"n_samples must be >= 0, got {self.n_samples}")
        if self.shard_size < 1:
            raise ValueError(f"shard_size must be >= 1, got {self.shard_size}")

    @property
    def count(self) -> int:
        """Number of shards (0 for an empty run)."""
        return -(-self.n_samples // self.shard_size)

    def ids(self) -> range:
        """Every shard id, in order."""
        return range(self.count)

    def check(self, shard_id: int) -> int:
        """``shard_id`` as an int, or a ValueError naming the valid range."""
        if not 0 <= shard_id < self.count:
            raise ValueError(
                f"shard {shard_id} does not exist: this run has shards 0..{self.count - 1}"
            )
        return int(shard_id)

    def bounds(self, shard_id: int) -> tuple[int, int]:
        """``(start, stop)`` sample indices of the shard (stop exclusive)."""
        start = self.check(shard_id) * self.shard_size
        return start, min(start + self.shard_size, self.n_samples)

    def length(self, shard_id: int) -> int:
        """Number of samples in the shard (``shard_size`` except possibly for the last)."""
        start, stop = self.bounds(shard_id)
        return stop - start
