"""The selection file: a run's thresholds as JSON, for ``run --selection FILE`` and
``audit --what-if FILE`` (and what a calibration writes).

The file is one JSON object whose keys are :class:`SelectionConfig` field names (every field
of :meth:`SelectionConfig.to_dict`); a field left out takes its default, and ``null`` turns a
signal rule off. :func:`write_selection_file` writes every field, sorted as the config
declares them; :func:`read_selection_file` is its inverse and says in a sentence what is wrong
with a bad file (not JSON, not an object, an unknown key, a value of the wrong kind).
``--selection`` also takes two names: ``furpe`` (FuRPE's three steps alone,
:meth:`SelectionConfig.furpe`) and ``default`` (FuRPE's steps and every signal rule at its
default threshold).
"""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path

from furpe_label.selection.config import SelectionConfig

__all__ = [
    "SELECTION_PRESETS",
    "read_selection_file",
    "resolve_selection",
    "write_selection_file",
]

SELECTION_PRESETS = ("default", "furpe")
"""The names ``--selection`` takes besides a file."""


def write_selection_file(path: str | os.PathLike[str], config: SelectionConfig) -> Path:
    """Write ``config`` as a selection file (every field); returns the path."""
    path = Path(path)
    text = json.dumps(config.to_dict(), indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "a whole number", float: "a number", str: "a string"}.get(
        type(value), type(value).__name__
    )


def read_selection_file(path: str | os.PathLike[str]) -> SelectionConfig:
    """The :class:`SelectionConfig` of a selection file (module docstring).

    Raises:
        FileNotFoundError: no such file.
        ValueError: a sentence naming the file and what is wrong with it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"selection file {path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"selection file {path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(
            f"selection file {path} must hold a JSON object of selection settings, "
            f"not {_kind(data)}"
        )
    known = {f.name: f for f in fields(SelectionConfig)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(
            f"selection file {path} has unknown settings {unknown}; the settings are "
            f"{', '.join(known)}"
        )
    defaults = SelectionConfig()
    for name, value in data.items():
        default = getattr(defaults, name)
        if isinstance(value, bool | list | dict):
            raise ValueError(f"selection file {path}: {name} must be a number, got {value!r}")
        if isinstance(default, int) and not isinstance(value, int):
            raise ValueError(f"selection file {path}: {name} must be a whole number, got {value!r}")
    try:
        return SelectionConfig(**data)
    except (TypeError, ValueError) as error:
        raise ValueError(f"selection file {path}: {error}") from None


def resolve_selection(choice: str | os.PathLike[str]) -> SelectionConfig:
    """``--selection``'s value: ``default``, ``furpe`` or a selection file's path."""
    if str(choice) == "default":
        return SelectionConfig()
    if str(choice) == "furpe":
        return SelectionConfig.furpe()
    return read_selection_file(choice)
