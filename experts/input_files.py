"""What an input path (image or video) is before anything opens it.

A path under a dataset root can be a regular file, a symbolic link to nothing (dangling), a
FIFO, a socket, a device or a folder. Only a regular file is ever opened: opening a FIFO for
reading blocks until some other process writes to it, and a device can be endless. Every other
case gets a named reason and a sentence naming the path:

* no such path, or a symbolic link whose target does not exist: ``image_missing``;
* a FIFO, socket, device or folder: ``not_a_regular_file`` (never opened);
* a path that cannot be looked at (permission denied, name too long): ``image_unreadable``.

:func:`open_regular` opens with ``O_NONBLOCK`` and checks the opened descriptor again, so a
path swapped for a FIFO between the check and the open is still refused without blocking.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from furpe_label.experts.vocabulary import Reason

__all__ = ["InputFileError", "input_file_problem", "open_regular"]

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


class InputFileError(Exception):
    """An input path that is not a readable regular file: ``reason`` and a ``detail``
    sentence naming the path."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _kind(mode: int) -> str:
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "not a regular file"


def _not_regular(path: Path, mode: int) -> InputFileError:
    return InputFileError(
        Reason.NOT_A_REGULAR_FILE, f"{path}: {_kind(mode)}, not a regular file (never opened)"
    )


def input_file_problem(path: str | Path) -> InputFileError | None:
    """Why ``path`` cannot be read as an input file (see the module docstring), or None."""
    path = Path(path)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return InputFileError(
                Reason.IMAGE_MISSING,
                f"{path}: a symbolic link to {target}, which does not exist",
            )
        return InputFileError(Reason.IMAGE_MISSING, f"{path}: no such file")
    except OSError as error:
        return InputFileError(
            Reason.IMAGE_UNREADABLE, f"{path}: cannot be looked at ({error.strerror or error})"
        )
    if not stat.S_ISREG(status.st_mode):
        return _not_regular(path, status.st_mode)
    return None


def open_regular(path: str | Path) -> BinaryIO:
    """Open a regular file for binary reading without ever blocking on a FIFO.

    Raises:
        InputFileError: the path is missing, not a regular file, or cannot be opened.
    """
    problem = input_file_problem(path)
    if problem is not None:
        raise problem
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise InputFileError(
            Reason.IMAGE_UNREADABLE, f"{path}: cannot be opened ({error.strerror or error})"
        ) from error
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        raise _not_regular(Path(path), status.st_mode)
    os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb")
