"""Test double: write pickles that look like the official chumpy-era SMPL/MANO/FLAME files.

A module named ``chumpy.ch`` with a class ``Ch`` is registered only while writing, so the
pickle stream names ``chumpy.ch.Ch`` exactly as the official Python 2 files do; the class
pickles its ``__dict__`` (``{'x': array}``), like chumpy's ``Ch``.
"""

from __future__ import annotations

import pickle
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np


class ChTestDouble:
    """Stand-in for chumpy's ``Ch``: an array stored under ``x`` in the instance dict."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = np.asarray(x)
        self._cache = {}  # chumpy keeps cache state too; it must be ignored when loading


def write_chumpy_style_pickle(path: Path, content: dict[str, Any]) -> None:
    """Pickle ``content`` (protocol 2) with values wrapped as ``chumpy.ch.Ch`` where asked.

    Values that are ``ChTestDouble`` instances are written as ``chumpy.ch.Ch`` objects.
    """
    chumpy = types.ModuleType("chumpy")
    chumpy_ch = types.ModuleType("chumpy.ch")
    ChTestDouble.__module__ = "chumpy.ch"
    ChTestDouble.__qualname__ = "Ch"
    ChTestDouble.__name__ = "Ch"
    chumpy_ch.Ch = ChTestDouble
    chumpy.ch = chumpy_ch
    saved = {name: sys.modules.get(name) for name in ("chumpy", "chumpy.ch")}
    sys.modules["chumpy"], sys.modules["chumpy.ch"] = chumpy, chumpy_ch
    try:
        with open(path, "wb") as handle:
            pickle.dump(content, handle, protocol=2)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        ChTestDouble.__module__ = __name__
        ChTestDouble.__qualname__ = ChTestDouble.__name__ = "ChTestDouble"


class MaliciousPayload:
    """Pickles to ``os.system('touch <marker>')``: must never run when loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))
