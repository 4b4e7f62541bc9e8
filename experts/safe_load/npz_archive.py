"""``.npz`` archives read member by member, each checked against the limits before inflating.

:class:`NpzMembers` reads the zip directory once and is a read-only mapping from member name
(without ``.npy``) to its value; a member is inflated only when it is looked up, and only after

* its declared uncompressed size is at most :data:`~.limits.MAX_NPZ_MEMBER_BYTES`;
* above :data:`~.limits.NPZ_INFLATION_CHECKED_FROM` bytes, it inflates at most
  :data:`~.limits.MAX_NPZ_INFLATION` times its compressed size (a zip bomb does not), and the
  members read so far together at most that many times the archive's size (many small bombs);
* its ``.npy`` header's shape x itemsize fits in the declared size;

and it is then read in bounded chunks that stop at the declared size (a stream that inflates
further than its directory entry declares fails zip's CRC check instead). Object members go
through the restricted unpickler (or are refused with ``allow_objects=False``). Every problem is
a :class:`~.errors.SafeLoadError` naming ``path:member``; a member beyond a limit is a
:class:`~.errors.SizeLimitError`.

The size and inflation checks are :class:`NpzInflationBudget`, the one piece of code every
reader of ``.npz`` members goes through: :class:`NpzMembers` (a member read whole) and the
streamed row blocks of large dataset files
(:func:`furpe_label.workflows.datasets.npz_stream.npz_row_blocks`) alike.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from furpe_label.experts.safe_load.errors import SizeLimitError, attributed
from furpe_label.experts.safe_load.limits import (
    MAX_NPZ_INFLATION,
    MAX_NPZ_MEMBER_BYTES,
    NPZ_INFLATION_CHECKED_FROM,
)
from furpe_label.experts.safe_load.npy_format import read_npy

_LIMITS = "furpe_label.experts.safe_load.limits"


class NpzMembers(Mapping[str, Any]):
    """The members of one ``.npz`` file, read lazily (each at most once) and checked.

    Args:
        path: the archive.
        allow_objects: unpickle object members with the restricted unpickler (True) or refuse
            them (False: plain numeric/string arrays only).

    Raises:
        FileNotFoundError: no such file.
        SafeLoadError: not a zip archive (on opening); a member that cannot be read or is
            refused (on lookup), naming ``path:member``.
    """

    def __init__(self, path: Path | str, allow_objects: bool = True) -> None:
        self.path = Path(path)
        self.allow_objects = allow_objects
        with attributed(self.path), zipfile.ZipFile(self.path) as archive:
            infos = archive.infolist()
        self._infos = {info.filename.removesuffix(".npy"): info for info in infos}
        self._read: dict[str, Any] = {}
        self._budget = NpzInflationBudget(self.path)

    def __getitem__(self, key: str) -> Any:
        if key not in self._read:
            info = self._infos[key]  # KeyError for a missing member, as a mapping should
            self._read[key] = self._load(key, info)
        return self._read[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._infos)

    def __len__(self) -> int:
        return len(self._infos)

    def _load(self, key: str, info: zipfile.ZipInfo) -> Any:
        source = f"{self.path}:{key}"
        self._budget.admit(key, info)
        with (
            attributed(source),
            zipfile.ZipFile(self.path) as archive,
            archive.open(info) as handle,
        ):
            return read_npy(handle, info.file_size, self.allow_objects)  # type: ignore[arg-type]


class NpzInflationBudget:
    """The size limits of one ``.npz`` archive's members, checked before any is inflated.

    :meth:`admit` is called once for every member a reader is about to inflate (whole, or
    streamed in row blocks); it refuses a member whose declared size passes
    :data:`~.limits.MAX_NPZ_MEMBER_BYTES`, one above :data:`~.limits.NPZ_INFLATION_CHECKED_FROM`
    bytes that inflates more than :data:`~.limits.MAX_NPZ_INFLATION` times its compressed size
    (a zip bomb), and a member with which the members admitted so far together inflate more
    than that many times the archive's size (many small bombs).

    A reader that streams members in row blocks never holds a whole member, so it passes
    ``whole_members=False``: the member size cap, which bounds the memory of a whole-member
    read, is then not applied (a 10^7-row ``S`` member is 16 GB in float64), while both
    inflation checks still are (a member can still not inflate more than the limit, so what
    is streamed is bounded by the file on disk).

    Args:
        path: the archive (its size on disk is the measure of the archive-wide check).
        whole_members: whether the reader inflates each member whole (the member size cap
            applies) or in bounded blocks (it does not).
    """

    def __init__(self, path: Path | str, whole_members: bool = True) -> None:
        self.path = Path(path)
        self.whole_members = whole_members
        self.archive_bytes = max(self.path.stat().st_size, 1)
        self.inflated = 0
        """Declared uncompressed bytes of the members admitted so far."""

    def admit(self, key: str, info: zipfile.ZipInfo) -> None:
        """Count member ``key`` (its directory entry ``info``) or refuse it.

        Raises:
            SizeLimitError: naming ``path:key``, the sizes and the limit passed; nothing of
                the member was inflated and it is not counted.
        """
        source = f"{self.path}:{key}"
        check_declared_size(source, info, self.whole_members)
        inflated = self.inflated + info.file_size
        ratio = inflated // self.archive_bytes
        if inflated > NPZ_INFLATION_CHECKED_FROM and ratio > MAX_NPZ_INFLATION:
            raise SizeLimitError(
                source,
                f"refused: with this member the archive's members inflate {ratio}-fold "
                f"({self.archive_bytes} -> {inflated} bytes), more than the limit of "
                f"{MAX_NPZ_INFLATION}-fold (MAX_NPZ_INFLATION in {_LIMITS}; many small zip "
                "bombs); nothing more was inflated",
            )
        self.inflated = inflated


def check_declared_size(source: str, info: zipfile.ZipInfo, whole_member: bool = True) -> None:
    """Refuse a member whose declared size passes the limits (before anything is inflated).

    ``whole_member=False`` (a member read in bounded blocks) skips the member size cap and
    keeps the inflation limit.
    """
    size, packed = info.file_size, max(info.compress_size, 1)
    if whole_member and size > MAX_NPZ_MEMBER_BYTES:
        raise SizeLimitError(
            source,
            f"refused: the member declares {size} bytes uncompressed, more than the limit of "
            f"{MAX_NPZ_MEMBER_BYTES} (MAX_NPZ_MEMBER_BYTES in {_LIMITS}); nothing was inflated",
        )
    if size > NPZ_INFLATION_CHECKED_FROM and size > MAX_NPZ_INFLATION * packed:
        raise SizeLimitError(
            source,
            f"refused: the member inflates {size // packed}-fold ({packed} -> {size} bytes), "
            f"more than the limit of {MAX_NPZ_INFLATION}-fold for members over "
            f"{NPZ_INFLATION_CHECKED_FROM} bytes (MAX_NPZ_INFLATION in {_LIMITS}; a zip bomb); "
            "nothing was inflated",
        )
