"""``OUT/run.json``: everything the labels depend on, and the resume check against it.

A run records its config (JSON-able) and the config's SHA-256, the code version, the SHA-256
of every body-model and checkpoint file, whether the body models were synthetic, and which
experts and detector produced the labels. Resuming with a different config, different model or
checkpoint files, a different synthetic flag, experts or detector refuses to start and names
every difference; a different code version is allowed (bug-fix releases) and only reported.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "RunConfigChangedError",
    "RunInfo",
    "config_hash",
    "current_code_version",
    "differences",
]

_IDENTITY = ("config", "model_sha256", "checkpoint_sha256", "synthetic", "experts", "detector")
"""The fields that must be equal to resume (``config`` is compared key by key)."""


class RunConfigChangedError(RuntimeError):
    """A resume would mix labels made under different settings."""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the config's canonical JSON (sorted keys, no whitespace)."""
    return hashlib.sha256(_canonical(config).encode()).hexdigest()


def current_code_version() -> str:
    """``furpe-label <version>`` plus ``git <commit>[-dirty]`` when run from a git checkout."""
    try:
        version = f"furpe-label {metadata.version('furpe-label')}"
    except metadata.PackageNotFoundError:
        version = "furpe-label (not installed)"
    root = str(Path(__file__).resolve().parents[1])

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", root, *args], capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        commit, dirty = git("rev-parse", "HEAD"), git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version} git {commit}{'-dirty' if dirty else ''}"


@dataclass(frozen=True)
class RunInfo:
    """What a run's labels depend on.

    Attributes:
        config: the run configuration (JSON-able; thresholds, shard size, options).
        code_version: :func:`current_code_version` of the run that created the folder.
        synthetic: True when the body models are the synthetic family (labels not real).
        detector: keypoint detector name and version.
        experts: part -> expert name (e.g. ``{"body": "spin", "face": "deca"}``).
        model_sha256: body-model file name -> SHA-256 hex.
        checkpoint_sha256: expert checkpoint file name -> SHA-256 hex.
    """

    config: Mapping[str, Any]
    code_version: str
    synthetic: bool
    detector: str
    experts: Mapping[str, str]
    model_sha256: Mapping[str, str] = field(default_factory=dict)
    checkpoint_sha256: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _canonical(self.config)  # TypeError / ValueError now rather than at write time

    @property
    def config_hash(self) -> str:
        """SHA-256 hex of :attr:`config`."""
        return config_hash(self.config)

    def to_json(self) -> dict[str, Any]:
        """The ``run.json`` document (all fields plus ``config_hash``)."""
        return {**asdict(self), "config_hash": self.config_hash}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunInfo:
        """Inverse of :meth:`to_json`; ValueError when the stored hash does not match."""
        names = {f for f in cls.__dataclass_fields__}
        missing = sorted(names - set(data))
        if missing:
            raise ValueError(f"run.json lacks {missing}")
        info = cls(**{k: data[k] for k in names})
        if data.get("config_hash") != info.config_hash:
            raise ValueError("run.json's config_hash does not match its config (edited by hand?)")
        return info


def _diff(path: str, old: Any, new: Any) -> list[str]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}"
            if key not in old:
                out.append(f"{sub}: added ({new[key]!r})")
            elif key not in new:
                out.append(f"{sub}: removed (was {old[key]!r})")
            else:
                out += _diff(sub, old[key], new[key])
        return out
    return [] if _canonical(old) == _canonical(new) else [f"{path}: {old!r} -> {new!r}"]


def differences(stored: RunInfo, wanted: RunInfo) -> list[str]:
    """Every difference that forbids resuming, as ``"field.path: old -> new"`` lines."""
    return [
        line
        for name in _IDENTITY
        for line in _diff(name, getattr(stored, name), getattr(wanted, name))
    ]
