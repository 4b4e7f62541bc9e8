"""Validate the content of one body-model file against its official specification."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from furpe_label.experts.bodymodels import specs
from furpe_label.experts.safe_load import SafeLoadError, safe_load_any


class BodyModelFileError(ValueError):
    """A body-model file is unreadable, unsafe, or lacks official keys/shapes."""


@dataclass(frozen=True)
class LoadedModelFile:
    """Content of one validated file.

    Attributes:
        path: the file read.
        data: its keys mapped to numpy arrays / scipy.sparse matrices / plain values.
        synthetic: the synthetic-family marker (generator description), None for real files.
    """

    path: Path
    data: dict[str, Any]
    synthetic: dict[str, Any] | None


def _shape_of(value: Any) -> tuple[int, ...] | None:
    shape = getattr(value, "shape", None)
    return tuple(int(n) for n in shape) if shape is not None else None


def check_arrays(data: dict[str, Any], arrays: dict[str, specs.ArraySpec]) -> list[str]:
    """Problems (missing keys, wrong shapes) of ``data`` against ``arrays``; empty if valid."""
    problems = []
    for key, spec in arrays.items():
        if key not in data:
            problems.append(f"missing key '{key}'")
            continue
        shape = _shape_of(data[key])
        if shape is None:
            problems.append(f"key '{key}' is not an array ({type(data[key]).__name__})")
            continue
        problem = spec.problem(shape)
        if problem:
            problems.append(f"key '{key}': {problem}")
    return problems


def synthetic_marker(data: dict[str, Any]) -> dict[str, Any] | None:
    """Decode the synthetic-family marker of a loaded file, if present."""
    marker = data.get(specs.SYNTHETIC_MARKER_KEY)
    if marker is None:
        return None
    text = marker.item() if hasattr(marker, "item") else marker
    try:
        decoded = json.loads(str(text))
    except json.JSONDecodeError:
        decoded = {"description": str(text)}
    return decoded if isinstance(decoded, dict) else {"description": decoded}


def load_and_validate(path: Path, arrays: dict[str, specs.ArraySpec]) -> LoadedModelFile:
    """Safely load ``path`` and check it against ``arrays``.

    Raises:
        BodyModelFileError: unreadable, refused by the safe unpickler, not a dict, or with
            missing/mis-shaped keys; the message names the file and every problem.
    """
    path = Path(path)
    try:
        data = safe_load_any(path)
    except (SafeLoadError, OSError) as error:  # refused, corrupt, truncated, unreadable
        raise BodyModelFileError(str(error)) from error
    if not isinstance(data, dict):
        raise BodyModelFileError(f"{path}: expected a dict of arrays, found {type(data).__name__}")
    problems = check_arrays(data, arrays)
    if problems:
        raise BodyModelFileError(f"{path}: " + "; ".join(problems))
    return LoadedModelFile(path=path, data=data, synthetic=synthetic_marker(data))


def summary(loaded: LoadedModelFile, spec: specs.ModelSpec | None) -> str:
    """One-line description of a valid file for the check table."""
    parts = []
    if spec is not None:
        shapedirs = loaded.data["shapedirs"]
        parts.append(
            f"{spec.n_vertices} verts, {spec.n_joints} joints, "
            f"{shapedirs.shape[-1]} shape(+expr) dirs"
        )
    else:
        parts.append(", ".join(sorted(k for k in loaded.data if not k.startswith("furpe_"))))
    if loaded.synthetic is not None:
        parts.append("SYNTHETIC (not for real labels)")
    return "; ".join(parts)
