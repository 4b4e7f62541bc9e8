"""One row of a folder check (`furpe-label check --models/--experts`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class CheckStatus(StrEnum):
    """Outcome of checking one expected file."""

    OK = "ok"
    MISSING = "missing"
    INVALID = "invalid"
    OPTIONAL_MISSING = "optional-missing"


@dataclass(frozen=True)
class FileCheck:
    """What was found for one expected file of a user-provided folder.

    Attributes:
        component: human name of the file's role, e.g. "SMPL-X neutral" or "SPIN checkpoint".
        expected: official file name(s) and the relative location they are looked for at.
        status: outcome of the check.
        detail: a summary of the valid file (sizes, synthetic or not) or the precise problem
            (missing keys, wrong shapes, refused pickle global).
        required: whether a run refuses to start without it.
        source: where users obtain the official file.
        path: the file that was found and checked, if any.
    """

    component: str
    expected: str
    status: CheckStatus
    detail: str
    required: bool
    source: str
    path: Path | None = None

    @property
    def blocking(self) -> bool:
        """True when this row must stop a run: required and not OK, or present but invalid."""
        if self.status is CheckStatus.INVALID:
            return True
        return self.required and self.status is not CheckStatus.OK

    def as_dict(self) -> dict[str, str | bool | None]:
        """JSON-ready form (status as its string, path as text)."""
        return {
            "component": self.component,
            "expected": self.expected,
            "status": self.status.value,
            "detail": self.detail,
            "required": self.required,
            "blocking": self.blocking,
            "source": self.source,
            "path": None if self.path is None else str(self.path),
        }


def any_blocking(rows: Iterable[FileCheck]) -> bool:
    """True when at least one row blocks a run."""
    return any(row.blocking for row in rows)


def sha256_of_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks (recorded for provenance)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
