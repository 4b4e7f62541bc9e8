"""Run folders made by another furpe-label version: refused with what to do instead.

A run folder records what its version knew: ``run.json`` holds every setting of that version's
config (and the fields of its :class:`~.run_info.RunInfo`), ``manifest.parquet`` the columns of
its manifest schema. A later version adds settings (``duplicates``, ``whole_person``,
``allow_outside_root`` ...) and manifest columns (``track_id``, ``input_reason``,
``input_detail``); it cannot resume a folder that lacks them (the rows would be labelled
under two versions' rules, and the old manifest cannot be read with the new schema), and
"rerun with the stored settings" is no advice there: the stored run has no value for a
setting it did not know.

:func:`refuse_other_layout` compares a folder made by another code version with what this
version writes and raises :class:`OtherVersionRunError` naming each setting, run.json field and
manifest column that is missing or unknown (and any setting whose value differs), the version
that made the folder, and what to do: rerun the same command with a new ``--out`` (a free name
is suggested) or after deleting the folder, or finish the run with the version that made it.
A folder of the same code version, or one whose layout matches, is left to the ordinary resume
check (:func:`~.run_info.differences`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from furpe_label.storage.manifest import manifest_schema
from furpe_label.storage.run_info import RunConfigChangedError, RunInfo, differences

__all__ = ["OtherVersionRunError", "layout_gaps", "refuse_other_layout"]


class OtherVersionRunError(RunConfigChangedError):
    """A run folder made by another furpe-label version, which this one cannot resume."""


def _key_gaps(where: str, stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """Keys missing from ``stored`` or unknown to ``wanted``, nested dicts followed."""
    gaps = []
    for key in sorted(set(stored) | set(wanted), key=str):
        name = f"{where}.{key}" if where else str(key)
        if key not in stored:
            gaps.append(f"{name} is missing")
        elif key not in wanted:
            gaps.append(f"{name} is unknown to this version")
        elif isinstance(stored[key], Mapping) and isinstance(wanted[key], Mapping):
            gaps += _key_gaps(name, stored[key], wanted[key])
    return gaps


def _manifest_gaps(manifest: Path) -> list[str]:
    """Manifest columns missing or unknown (nothing when there is no readable manifest: other
    checks name a damaged one)."""
    try:
        names = pq.read_schema(manifest).names
    except (OSError, pa.ArrowException):
        return []
    expected = manifest_schema().names
    missing = [f"manifest column {name} is missing" for name in expected if name not in names]
    return missing + [
        f"manifest column {name} is unknown to this version"
        for name in names
        if name not in expected
    ]


def layout_gaps(run_json: Path, manifest: Path, wanted: RunInfo) -> list[str]:
    """What the folder's ``run.json`` and ``manifest.parquet`` lack, or hold beyond what this
    version writes (``wanted``: the run.json this version would write), one line each; empty
    for a folder of this version's layout (or a run.json that is no JSON object: damaged, for
    the ordinary read to name)."""
    try:
        stored = json.loads(run_json.read_text())
    except (OSError, ValueError, RecursionError):
        return []
    if not isinstance(stored, Mapping):
        return []
    document = wanted.to_json()
    gaps = [f"run.json field {name} is missing" for name in document if name not in stored]
    config = stored.get("config")
    if isinstance(config, Mapping):
        gaps += [f"setting {line}" for line in _key_gaps("", config, document["config"])]
    return gaps + _manifest_gaps(manifest)


def free_sibling(root: Path) -> Path:
    """``root-2``, ``root-3`` ...: the first such folder that does not exist."""
    number = 2
    while root.with_name(f"{root.name}-{number}").exists():
        number += 1
    return root.with_name(f"{root.name}-{number}")


def _changed_values(stored: Mapping[str, Any], wanted: RunInfo) -> list[str]:
    """The ordinary differences of values (not of layout), when the stored run.json reads."""
    try:
        old = RunInfo.from_json(stored)
    except (ValueError, TypeError):
        return []
    layout = (": added (", ": removed (")  # config keys: named as settings already
    lines = differences(old, wanted)
    return [
        line
        for line in lines
        if not (line.startswith("config.") and any(w in line for w in layout))
    ]


def refuse_other_layout(root: Path, run_json: Path, manifest: Path, wanted: RunInfo) -> None:
    """Raise :class:`OtherVersionRunError` when the run folder ``root`` was made by another
    version with another layout (see the module docstring); return quietly otherwise."""
    try:
        stored = json.loads(run_json.read_text())
    except (OSError, ValueError, RecursionError):
        return  # damaged: the ordinary read names it
    if not isinstance(stored, Mapping) or stored.get("code_version") == wanted.code_version:
        return
    gaps = layout_gaps(run_json, manifest, wanted)
    if not gaps:
        return
    made_by = str(stored.get("code_version") or "unknown")
    gaps += [f"changed: {line}" for line in _changed_values(stored, wanted)]
    raise OtherVersionRunError(
        f"{root} was made by another furpe-label version ({made_by}; this is "
        f"{wanted.code_version}), which this version cannot resume: its files differ from what "
        "this version writes:\n  " + "\n  ".join(gaps) + "\nTo label the dataset with this "
        f"version, rerun the same command with --out {free_sibling(root)} (a new folder), or "
        f"delete {root} and rerun the same command. To finish this run as it was started, "
        f"resume it with the version that made it ({made_by})."
    )
