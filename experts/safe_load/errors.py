"""The one error family of the safe loader.

Every problem the loader finds is a :class:`SafeLoadError` (a ``ValueError``) whose message
starts with the file (``path`` or ``path:member``) and says what was refused or unreadable::

    SafeLoadError                  unreadable: truncated, corrupt, not this kind of file
    ├── SizeLimitError             refused: an .npz member whose declared size passes a limit of
    │                              :mod:`.limits` (nothing was inflated)
    ├── UnsafePickleError          refused: a global off the allow-list, or an object that would
    │                              not be memory-safe (edited dtype, out-of-range sparse
    │                              indices, tensor larger than its stored data); nothing ran
    └── CheckpointFormatError      a torch file that is not a readable tensors-only checkpoint
        │                          (also raised by the experts for a wrong checkpoint layout)
        └── UnsafeCheckpointError  refused content inside a torch file (also UnsafePickleError)

A missing file is a ``FileNotFoundError`` naming it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "CheckpointFormatError",
    "SafeLoadError",
    "SizeLimitError",
    "UnsafeCheckpointError",
    "UnsafePickleError",
]


class SafeLoadError(ValueError):
    """A file the safe loader could not read or refused; the message names the file.

    Attributes:
        source: the file (``path``, or ``path:member`` for a member of an archive).
        problem: what was refused or why the file cannot be read.
    """

    def __init__(self, source: object, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


class UnsafePickleError(SafeLoadError):
    """Refused content: nothing it names was run and nothing it built was used."""

    def __init__(self, source: object, problem: str) -> None:
        super().__init__(source, f"refused to load: {problem} (nothing was run)")


class SizeLimitError(SafeLoadError):
    """Refused before reading: a member larger than a limit of :mod:`.limits`."""


class CheckpointFormatError(SafeLoadError):
    """A torch file that cannot be read as a tensors-only checkpoint, or has the wrong layout."""


class UnsafeCheckpointError(CheckpointFormatError, UnsafePickleError):
    """Refused content inside a torch checkpoint file."""

    def __init__(self, source: object, problem: str) -> None:
        UnsafePickleError.__init__(self, source, problem)


class RefusedError(Exception):
    """Internal: a refusal found while unpickling, before the file it belongs to is attached.

    The loading functions turn it into :class:`UnsafePickleError` / :class:`UnsafeCheckpointError`.
    """


@contextmanager
def attributed(source: object, torch_file: bool = False) -> Iterator[None]:
    """Turn everything a load raises into the family, naming ``source``.

    :class:`RefusedError` becomes :class:`UnsafePickleError` (torch files:
    :class:`UnsafeCheckpointError`); any other failure to parse (truncated stream, corrupt
    zip, bad header, out of memory...) becomes :class:`SafeLoadError` (torch files:
    :class:`CheckpointFormatError`). Errors of the family and missing files pass through.
    """
    try:
        yield
    except (SafeLoadError, FileNotFoundError):
        raise
    except RefusedError as refusal:
        refused = UnsafeCheckpointError if torch_file else UnsafePickleError
        raise refused(source, str(refusal)) from None
    except Exception as error:
        unreadable = CheckpointFormatError if torch_file else SafeLoadError
        kind = " as a tensors-only torch checkpoint" if torch_file else ""
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise unreadable(
            source, f"cannot be read{kind}: {type(error).__name__}: {reason}".rstrip(": ")
        ) from error
