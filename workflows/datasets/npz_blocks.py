"""SPIN-layout ``.npz`` annotation files read in row blocks (a flat driver at 10^6-10^7 rows).

SPIN's members are plain arrays (:mod:`.npz_stream` streams them), so
:func:`npz_column_blocks` gives the manifest columns of ``block_rows`` rows at a time
(:func:`.spin_npz.spin_columns` on each block) and the manifest writer
(:func:`furpe_label.storage.manifest_stream.write_manifest_blocks`) sorts and numbers them; the
rows' ``person_idx`` is left out, for the writer to number each image's rows in file order as
:func:`.spin_npz.spin_columns` does for a whole file. Files it cannot stream (HumanData's
object members, a SPIN member that is not a plain array) are read whole, as one block.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from furpe_label.storage.manifest import ColumnValues
from furpe_label.workflows.datasets.npz_layouts import CameraKey, npz_columns
from furpe_label.workflows.datasets.npz_stream import (
    DEFAULT_BLOCK_ROWS,
    npz_row_blocks,
    streamable_members,
)
from furpe_label.workflows.datasets.spin_npz import NameParser, spin_columns

__all__ = ["npz_column_blocks"]

_SPIN_REQUIRED = ("imgname", "center", "scale")
_SPIN_OPTIONAL = ("S", "openpose", "pose", "shape", "has_smpl")


def _spin_members(path: Path) -> list[str] | None:
    """The SPIN members to stream, or None when the file is not SPIN's layout or one of the
    members :func:`spin_columns` reads cannot be streamed."""
    try:
        streamable = streamable_members(path)
    except ValueError:
        return None
    if not all(name in streamable for name in _SPIN_REQUIRED):
        return None
    with zipfile.ZipFile(path) as archive:
        present = {name[: -len(".npy")] for name in archive.namelist() if name.endswith(".npy")}
    wanted = [*_SPIN_REQUIRED, *(name for name in _SPIN_OPTIONAL if name in present)]
    if any(name not in streamable for name in wanted):
        return None
    return wanted


def npz_column_blocks(
    path: Path,
    root: Path,
    parse_name: NameParser,
    camera_key: CameraKey | None = None,
    block_rows: int = DEFAULT_BLOCK_ROWS,
) -> Iterator[dict[str, ColumnValues]]:
    """Manifest columns of a SPIN or HumanData npz, ``block_rows`` rows at a time (SPIN) or
    all at once (see the module docstring)."""
    members = _spin_members(path)
    if members is None:
        yield npz_columns(path, root, parse_name, camera_key)
        return
    for block in npz_row_blocks(path, members, block_rows):
        columns = spin_columns(block, path, root, parse_name)
        del columns["person_idx"]  # numbered over the whole file by the manifest writer
        yield columns
