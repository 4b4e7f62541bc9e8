"""Reading an ``.npz`` archive's members in row blocks, without inflating a member whole.

``np.load`` inflates a member whole to read it; a zip member is a (deflated or stored) stream,
so :func:`npz_row_blocks` opens each ``.npy`` member as a stream, reads its header, and then
reads the same ``block_rows`` rows of every member at a time: the memory is one block of every
member, whatever the number of rows. Only plain C-ordered arrays stream (numbers, fixed-width
strings); a member with Python objects (HumanData's dicts), in Fortran order, whose header
disagrees with the member's size, or whose first dimension differs from the others' is not
streamed: :func:`streamable_members` says which members stream, and callers read the rest with
the safe loader (:func:`furpe_label.workflows.datasets.readers.load_npz`).

A streamed member is held to the safe loader's inflation limits before any of it is inflated,
through the same code (:class:`furpe_label.experts.safe_load.NpzInflationBudget`: compression
ratio of the member, and of the members read together against the archive's size): a zip bomb
refuses the file with the member named, rather than writing billions of rows. The whole-member
size cap does not apply (a block, not the member, is in memory), so a 10^7-row file streams.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from furpe_label.experts.safe_load import NpzInflationBudget, SizeLimitError
from furpe_label.workflows.datasets.readers import DatasetError

__all__ = ["DEFAULT_BLOCK_ROWS", "MemberInfo", "npz_row_blocks", "streamable_members"]

DEFAULT_BLOCK_ROWS = 8192
"""Rows read at a time (a SPIN h36m row is about 2.1 KB in the file, about 10 KB while its
manifest columns are made: about 80 MB a block)."""


@dataclass(frozen=True)
class MemberInfo:
    """One ``.npy`` member: ``shape`` (rows first), ``dtype``, bytes of one row."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def row_bytes(self) -> int:
        return int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize


def _read_header(stream) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(stream)
    raise ValueError(f"npy format version {version}")


def streamable_members(path: Path) -> dict[str, MemberInfo]:
    """Members that :func:`npz_row_blocks` can stream (see the module docstring), by name
    without ``.npy``; raises :class:`DatasetError` for a file that is not a zip archive."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise DatasetError(f"{path}: not a readable .npz archive ({err})") from err
    found: dict[str, MemberInfo] = {}
    with archive:
        for entry in archive.infolist():
            if not entry.filename.endswith(".npy"):
                continue
            try:
                with archive.open(entry) as stream:
                    shape, fortran, dtype = _read_header(stream)
                    header_bytes = stream.tell()
            except (ValueError, OSError, zipfile.BadZipFile, EOFError):
                continue  # the safe loader reads it, or names what is wrong
            if dtype.hasobject or fortran or not shape:
                continue
            info = MemberInfo(tuple(int(s) for s in shape), dtype)
            if header_bytes + info.shape[0] * info.row_bytes != entry.file_size:
                continue
            found[entry.filename[: -len(".npy")]] = info
    return found


def _read_exactly(stream, size: int, where: str) -> bytearray:
    """``size`` bytes of ``stream`` in a writable buffer."""
    data = bytearray(size)
    view, done = memoryview(data), 0
    while done < size:
        got = stream.readinto(view[done:])
        if not got:
            raise DatasetError(f"{where}: the member ends early")
        done += got
    return data


def npz_row_blocks(
    path: Path, members: Sequence[str], block_rows: int = DEFAULT_BLOCK_ROWS
) -> Iterator[dict[str, np.ndarray]]:
    """Rows ``[k * block_rows, (k + 1) * block_rows)`` of every member, block after block.

    Args:
        path: the ``.npz`` file.
        members: names (without ``.npy``) among :func:`streamable_members`, all with the
            same number of rows.

    Yields:
        member -> (B, *shape[1:]) array of the block (B = ``block_rows`` except at the end).

    Raises:
        DatasetError: a member that cannot be streamed, members with different row counts, or
            a member beyond the safe loader's size limits (``path:member``, the limit named).
    """
    infos = streamable_members(path)
    unknown = [name for name in members if name not in infos]
    if unknown:
        raise DatasetError(f"{path}: members {unknown} cannot be read in blocks")
    rows = {infos[name].shape[0] for name in members}
    if len(rows) > 1:
        listed = ", ".join(f"{name} {infos[name].shape[0]}" for name in members)
        raise DatasetError(f"{path}: members have different numbers of rows ({listed})")
    total = rows.pop() if rows else 0
    with zipfile.ZipFile(path) as archive:
        budget = NpzInflationBudget(path, whole_members=False)
        try:
            for name in members:
                budget.admit(name, archive.getinfo(f"{name}.npy"))
        except SizeLimitError as err:
            raise DatasetError(str(err)) from err
        streams = {name: archive.open(f"{name}.npy") for name in members}
        try:
            for stream in streams.values():
                _read_header(stream)
            for start in range(0, total, block_rows):
                count = min(block_rows, total - start)
                block = {}
                for name, stream in streams.items():
                    info = infos[name]
                    data = _read_exactly(stream, count * info.row_bytes, f"{path}: {name}")
                    block[name] = np.frombuffer(data, info.dtype).reshape(count, *info.shape[1:])
                yield block
        finally:
            for stream in streams.values():
                stream.close()
