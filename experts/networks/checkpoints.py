"""Checking official expert checkpoints' keys strictly.

Every checkpoint is read by :func:`furpe_label.experts.safe_load.read_checkpoint` (tensors,
dicts, lists, numbers and strings only, never code, every tensor checked against its stored
data; SPIN's training checkpoint, its optimizer state and DECA's dict of state dicts all pass;
legacy pre-1.6 and zip files alike). Its errors and the layout errors here are one family:
:class:`~furpe_label.experts.safe_load.CheckpointFormatError` is a ``SafeLoadError``.

Key policy (what is tolerated, compared with the official loaders)
-------------------------------------------------------------------
- SPIN's ``demo.py`` calls ``load_state_dict(checkpoint['model'], strict=False)`` and DECA's
  ``util.copy_state_dict`` silently skips missing and mis-shaped tensors: both would run a
  half-random network from a damaged or foreign file. FrankMocap's ``H3DWModel`` loads its
  file with ``strict=True``. Here every expert is checked strictly: a missing, unexpected or
  mis-shaped tensor is an error (:class:`CheckpointMismatchError`) that lists them all.
- Tolerated when missing: ``*.num_batches_tracked`` (the BatchNorm training counter; absent
  from files written before PyTorch 0.4.1, which BatchNorm's own loader fills in, and never
  read in eval mode) and the per-expert keys named by the caller (SPIN's ``init_pose``,
  ``init_shape``, ``init_cam`` buffers, which the official constructor fills from
  ``smpl_mean_params.npz`` and ``strict=False`` leaves at those values).
- A tensor present with the wrong shape is always an error (``load_state_dict`` refuses it
  even with ``strict=False``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from furpe_label.experts.filecheck import sha256_of_file
from furpe_label.experts.safe_load import CheckpointFormatError

__all__ = [
    "ALWAYS_TOLERATED_MISSING_SUFFIXES",
    "CheckpointFormatError",
    "CheckpointMismatchError",
    "ShapeMismatch",
    "check_state_dict",
    "load_into",
    "sha256_of_file",
    "state_dict_entry",
]

ALWAYS_TOLERATED_MISSING_SUFFIXES: tuple[str, ...] = ("num_batches_tracked",)

_LISTED = 12  # names listed per category in an error message; the count is always given


@dataclass(frozen=True)
class ShapeMismatch:
    """One tensor whose shape differs from the network's: ``name``, expected and found shape."""

    name: str
    expected: tuple[int, ...]
    found: tuple[int, ...]

    def __str__(self) -> str:
        return f"{self.name} (expected {list(self.expected)}, found {list(self.found)})"


class CheckpointMismatchError(ValueError):
    """A state dict does not match the network: missing, unexpected or mis-shaped tensors.

    Attributes:
        path: the checkpoint file.
        section: which state dict inside the file (e.g. ``"model"``, ``"E_flame"``, or ``""``).
        missing: network keys absent from the file (after the tolerated ones).
        unexpected: file keys the network does not have.
        mismatched: tensors present with a different shape.
    """

    def __init__(
        self,
        path: Path,
        section: str,
        missing: list[str],
        unexpected: list[str],
        mismatched: list[ShapeMismatch],
    ) -> None:
        self.path = Path(path)
        self.section = section
        self.missing = missing
        self.unexpected = unexpected
        self.mismatched = mismatched
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.path}" + (f" [{self.section}]" if self.section else "")
        parts = []
        for label, items in (
            ("missing", self.missing),
            ("unexpected", self.unexpected),
            ("wrong shape", [str(m) for m in self.mismatched]),
        ):
            if items:
                shown = ", ".join(items[:_LISTED])
                more = f", ... ({len(items) - _LISTED} more)" if len(items) > _LISTED else ""
                parts.append(f"{len(items)} {label}: {shown}{more}")
        return f"{where}: checkpoint does not match the network: " + "; ".join(parts)

    @property
    def first_problem(self) -> str:
        """The first broken key with what is wrong with it (for one-line reports)."""
        if self.mismatched:
            return f"wrong shape {self.mismatched[0]}"
        if self.missing:
            return f"missing key {self.missing[0]}"
        return f"unexpected key {self.unexpected[0]}"


def state_dict_entry(obj: Any, section: str | None, path: Path) -> Mapping[str, Any]:
    """The state dict stored at ``obj[section]`` (or ``obj`` itself when ``section`` is None)."""
    where = f"{path}" + (f" [{section}]" if section else "")
    if section is not None:
        if not isinstance(obj, Mapping) or section not in obj:
            found = sorted(map(str, obj.keys()))[:10] if isinstance(obj, Mapping) else type(obj)
            raise CheckpointFormatError(path, f"no '{section}' entry (found {found})")
        obj = obj[section]
    if not isinstance(obj, Mapping):
        raise CheckpointFormatError(where, f"expected a state dict, found {type(obj).__name__}")
    bad = [str(k) for k, v in obj.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        raise CheckpointFormatError(where, f"entries that are not named tensors: {bad[:10]}")
    return obj


def _tolerated(name: str, tolerated_missing: Collection[str]) -> bool:
    return name in tolerated_missing or name.rsplit(".", 1)[-1] in ALWAYS_TOLERATED_MISSING_SUFFIXES


def check_state_dict(
    expected: Mapping[str, torch.Tensor],
    found: Mapping[str, torch.Tensor],
    path: Path,
    section: str = "",
    tolerated_missing: Collection[str] = (),
) -> None:
    """Compare a file's state dict with a network's (see the module's key policy).

    Args:
        expected: the network's ``state_dict()``.
        found: the state dict read from the file.
        path: the file (for messages).
        section: the entry of the file the state dict came from (for messages).
        tolerated_missing: extra exact key names that may be absent.

    Raises:
        CheckpointMismatchError: listing every missing, unexpected and mis-shaped tensor.
    """
    missing = [k for k in expected if k not in found and not _tolerated(k, tolerated_missing)]
    unexpected = [k for k in found if k not in expected]
    mismatched = [
        ShapeMismatch(k, tuple(expected[k].shape), tuple(found[k].shape))
        for k in expected
        if k in found and tuple(found[k].shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or mismatched:
        raise CheckpointMismatchError(Path(path), section, missing, unexpected, mismatched)


def load_into(
    module: nn.Module,
    found: Mapping[str, torch.Tensor],
    path: Path,
    section: str = "",
    tolerated_missing: Collection[str] = (),
) -> None:
    """Check ``found`` strictly against ``module`` and copy it in (tolerated keys keep values).

    Raises:
        CheckpointMismatchError: see :func:`check_state_dict`.
        CheckpointFormatError: a tensor has a dtype that cannot be copied (e.g. complex).
    """
    check_state_dict(module.state_dict(), found, path, section, tolerated_missing)
    bad_dtype = [k for k, v in found.items() if v.is_complex()]
    if bad_dtype:
        raise CheckpointFormatError(f"{path} [{section}]", f"complex tensors {bad_dtype[:10]}")
    module.load_state_dict(dict(found), strict=False)
