"""A read-only zarr ``LocalStore`` for trainers' many small random reads.

zarr-python 3.1's ``LocalStore`` serves every read by sending ``open + seek + read + close``
to a thread pool; for the 100-byte to 64-KiB inner-chunk reads of a training loop, that
hand-off costs more than the read. :class:`PreadStore` answers reads inline with ``os.pread``
on a small LRU cache of open descriptors (measured in tests/benchmarks/bench_reader.py).

Meant for finished stores: a descriptor keeps the file it opened, so a shard rewritten after
its first read here is seen as it was (use a fresh store to see rewrites). Descriptors are
per process: open the store after a fork (the reader does).
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

from zarr.abc.store import ByteRequest, OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype
from zarr.storage import LocalStore

__all__ = ["PreadStore"]


class PreadStore(LocalStore):
    """Read-only ``LocalStore`` reading with ``os.pread`` on cached file descriptors."""

    def __init__(self, root: Path | str, *, read_only: bool = True, max_open_files: int = 256):
        if not read_only:
            raise ValueError("PreadStore is read-only; write with zarr.storage.LocalStore")
        super().__init__(root, read_only=True)
        self.max_open_files = max_open_files
        self._descriptors: OrderedDict[str, int] = OrderedDict()

    def with_read_only(self, read_only: bool = True) -> PreadStore:
        return type(self)(self.root, read_only=read_only, max_open_files=self.max_open_files)

    def _descriptor(self, key: str) -> int:
        fd = self._descriptors.get(key)
        if fd is not None:
            self._descriptors.move_to_end(key)
            return fd
        fd = os.open(self.root / key, os.O_RDONLY)
        self._descriptors[key] = fd
        if len(self._descriptors) > self.max_open_files:
            os.close(self._descriptors.popitem(last=False)[1])
        return fd

    def _read(self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None):
        try:
            fd = self._descriptor(key)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        if isinstance(byte_range, RangeByteRequest):
            start, length = byte_range.start, byte_range.end - byte_range.start
        else:
            size = os.fstat(fd).st_size
            if byte_range is None:
                start = 0
            elif isinstance(byte_range, OffsetByteRequest):
                start = byte_range.offset
            elif isinstance(byte_range, SuffixByteRequest):
                start = max(0, size - byte_range.suffix)
            else:
                raise TypeError(f"unexpected byte range {byte_range!r}")
            length = size - start
        return prototype.buffer.from_bytes(os.pread(fd, length, start))

    async def get(
        self, key: str, prototype: BufferPrototype | None = None,
        byte_range: ByteRequest | None = None,
    ) -> Buffer | None:  # fmt: skip
        if not self._is_open:
            await self._open()
        return self._read(key, prototype or default_buffer_prototype(), byte_range)

    async def get_partial_values(
        self, prototype: BufferPrototype, key_ranges: Iterable[tuple[str, ByteRequest | None]]
    ) -> list[Buffer | None]:
        return [self._read(key, prototype, byte_range) for key, byte_range in key_ranges]

    def close(self) -> None:
        """Close every cached descriptor."""
        while self._descriptors:
            os.close(self._descriptors.popitem()[1])
        super().close()

    def __del__(self) -> None:
        descriptors = getattr(self, "_descriptors", {})
        for fd in descriptors.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        descriptors.clear()
