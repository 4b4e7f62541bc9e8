"""The selection file: thresholds as JSON, written by ``calibrate``, read by ``run --selection``
and ``audit --what-if``.

Layout::

    {"format": "furpe-label selection", "version": 1,
     "selection": {<SelectionConfig field>: value, ...},
     "calibrated_on": {...}}          # optional: what calibrate measured (informative)

Missing ``selection`` fields take FuRPE's defaults; unknown fields and bad values are refused
with a sentence naming the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from furpe_label.selection.config import SelectionConfig

__all__ = [
    "SELECTION_FILE_FORMAT",
    "SelectionFileError",
    "read_selection_file",
    "write_selection_file",
]

SELECTION_FILE_FORMAT = "furpe-label selection"
_VERSION = 1
_MAX_BYTES = 16 * 2**20


class SelectionFileError(ValueError):
    """A selection file that cannot be used; the message names the file and the problem."""


def write_selection_file(
    path: str | os.PathLike[str], config: SelectionConfig, calibrated_on: dict[str, Any] | None
) -> Path:
    """Write ``config`` (and what calibration measured) atomically to ``path``."""
    target = Path(path)
    document: dict[str, Any] = {
        "format": SELECTION_FILE_FORMAT,
        "version": _VERSION,
        "selection": config.to_dict(),
    }
    if calibrated_on is not None:
        document["calibrated_on"] = calibrated_on
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(temporary, target)
    return target


def read_selection_file(path: str | os.PathLike[str]) -> tuple[SelectionConfig, dict[str, Any]]:
    """The thresholds of a selection file and its ``calibrated_on`` block ({} when absent).

    Raises:
        SelectionFileError: unreadable, not JSON, not a selection file, or a bad value.
    """
    source = Path(path)
    try:
        if source.stat().st_size > _MAX_BYTES:
            raise SelectionFileError(f"{source}: larger than {_MAX_BYTES} bytes")
        document = json.loads(source.read_text(encoding="utf-8"))
    except SelectionFileError:
        raise
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise SelectionFileError(
            f"{source}: not a readable JSON selection file ({error})"
        ) from None
    if not isinstance(document, dict) or document.get("format") != SELECTION_FILE_FORMAT:
        raise SelectionFileError(
            f'{source}: not a selection file (no "format": "{SELECTION_FILE_FORMAT}")'
        )
    if document.get("version") != _VERSION:
        raise SelectionFileError(
            f"{source}: selection file version {document.get('version')!r} is not {_VERSION}"
        )
    settings = document.get("selection")
    if not isinstance(settings, dict):
        raise SelectionFileError(f'{source}: "selection" must be an object of thresholds')
    try:
        config = SelectionConfig.from_dict(settings)
    except (TypeError, ValueError) as error:
        raise SelectionFileError(f"{source}: {error}") from None
    calibrated = document.get("calibrated_on", {})
    return config, calibrated if isinstance(calibrated, dict) else {}
