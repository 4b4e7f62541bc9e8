"""What ``calibrate`` measured, kept beside its selection file: ``OUT/calibration.json``.

The selection file (``OUT/calibrated_selection.json``) holds only thresholds, so that ``run
--selection`` and ``audit --what-if`` take it as it is; the record holds the target, the
run's and the chosen operating points and the precision / recall curve the report draws.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from furpe_label.storage.run_dir import atomic_write_bytes

__all__ = ["read_calibration_record", "write_calibration_record"]

_MAX_BYTES = 64 * 2**20


def write_calibration_record(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` (plain JSON data) atomically."""
    text = json.dumps(record, indent=2, allow_nan=False) + "\n"
    atomic_write_bytes(Path(path), text.encode("utf-8"))


def read_calibration_record(path: Path) -> dict[str, Any] | None:
    """The record at ``path``; None when there is none.

    Raises:
        ValueError: a sentence naming the file when it is there but unusable.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise ValueError("larger than 64 MiB")
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ValueError(f"calibration record {path} is unreadable: {error}") from None
    points = [record.get(key) for key in ("run", "chosen")] if isinstance(record, dict) else []
    curve = record.get("curve") if isinstance(record, dict) else None
    fields = ("recall", "precision")
    valid = all(
        isinstance(p, dict) and all(isinstance(p.get(f), int | float) for f in fields)
        for p in [*points, *(curve if isinstance(curve, list) else [None])]
    )
    if not valid:
        raise ValueError(f"calibration record {path} is not one `furpe-label calibrate` wrote")
    return record
