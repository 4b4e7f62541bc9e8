"""Does a body-model file come from the synthetic family? Read from the file itself.

Every file the synthetic family writes holds the key :data:`specs.SYNTHETIC_MARKER_KEY`: a
pickle as a dict key (the key's text is stored verbatim in the stream), an ``.npz`` as a member
``<key>.npy`` (member names are stored verbatim in the zip directory, compressed or not). So
the marker is found by looking for the key's bytes, without unpickling or inflating anything:
the run records ``synthetic`` from the files it uses, whatever the folder is called and
whether or not the family's ``SYNTHETIC_MODELS.json`` came along.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable
from pathlib import Path

from furpe_label.experts.bodymodels import specs

__all__ = ["carries_synthetic_marker", "synthetic_files"]

_MARKER = specs.SYNTHETIC_MARKER_KEY.encode()


def carries_synthetic_marker(path: str | Path) -> bool:
    """True when the file holds the synthetic-family marker key (False for an empty file)."""
    with open(path, "rb") as handle:
        try:
            view = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # empty file: nothing to map
            return False
        with view:
            return view.find(_MARKER) >= 0


def synthetic_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files of ``paths`` that carry the marker."""
    return [Path(path) for path in paths if carries_synthetic_marker(path)]
